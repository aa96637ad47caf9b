import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { ControllerConfig } from '@ycloud/api';
import {
  Controller,
  EventRecorder,
  Informer,
  KubeClient,
  Logger,
  SharedInformers,
  enqueueHandler,
  type KeyMapper,
  type KubeObject,
  type QueuePriority,
  type SyncSource,
} from '@ycloud/k8s';
import {
  DriftMetrics,
  DriftMonitor,
  DriftThrottle,
  RESYNC_REASON,
  driftReason,
  type ApplyRecord,
  type Drift,
  type Owner,
} from '@ycloud/ovn';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { buildControllerEnv, coreCaches, type CoreCaches } from './common/controller-env';
import type { EventSink, ObjectReference } from './common/ports';
import type {
  ControllerBuilder,
  ControllerEnv,
  ControllerHandle,
  ControllerRegistration,
  OwnerKey,
  Reconciler,
  Watchable,
} from './common/registration';
import { CONTROLLERS } from './controllers';
import {
  NORTHBOUND_TABLES,
  Northbound,
  recordNorthboundFeatures,
  type NorthboundOptions,
} from './northbound/northbound';
import type { ProbeRuntimeOptions } from './probe/network-probe.registration';

export interface ControllerManagerOptions {
  config: ControllerConfig;
  kube: KubeClient;
  northbound: NorthboundOptions;
  logger?: Logger;
  registry?: Registry;
  events?: EventSink;
  /** Called for every committed NB transaction (the change journal, metrics). */
  onApply?: (record: ApplyRecord) => void;
  workers?: number;
  /** How often to look for KubeVirt's VMI API while it is not served (YusurService VM backends; default 30 s). */
  vmDiscoveryIntervalMs?: number;
  /** Run NetworkProbes in this process (a node with OVS; ADR 0003). Omitted: probes are not run here. */
  probe?: ProbeRuntimeOptions;
  /** The controllers to run (default: every controller of ycloud, `CONTROLLERS`). */
  controllers?: readonly ControllerRegistration[];
}

/** A controller the manager runs, with the NB owners it repairs and the keys its periodic resync queues. */
interface Running {
  controller: Controller;
  ownerKey?: OwnerKey;
  resyncKeys: Array<() => string[]>;
}

/**
 * Runs ycloud's controllers in one process: informers fill caches, the Northbound client replicates the rows
 * ycloud uses, and each registered controller turns keys into desired states that the applier writes. The
 * manager knows no controller by name: it runs the registrations (`controllers.ts`) and repairs for all of them.
 * Repair: once caches are synced every owner found in the Northbound database is queued to the controller that
 * covers it (rows of objects deleted while the controller was down are removed by the ordinary reconcile); while
 * running, an owned row another client changes queues its owner (drift), and a jittered periodic full reconcile
 * queues every key (writing nothing when nothing drifted).
 */
export class ControllerManager {
  readonly log: Logger;
  readonly registry: Registry;
  private nb?: Northbound;
  private readonly informers: SharedInformers;
  private readonly caches: CoreCaches;
  private readonly running: Running[] = [];
  private readonly stops: Array<() => Promise<void> | void> = [];
  private resyncTimer?: NodeJS.Timeout;
  private env?: ControllerEnv;
  private started = false;
  private stopped = false;

  readonly services: Informer<V1Service & KubeObject>;
  readonly endpointSlices: Informer<V1EndpointSlice & KubeObject>;
  readonly nodes: Informer<V1Node & KubeObject>;
  readonly pods: Informer<V1Pod & KubeObject>;

  constructor(private readonly options: ControllerManagerOptions) {
    this.log = options.logger ?? new Logger({ fields: { component: 'ycloud-controller' } });
    this.registry = options.registry ?? new Registry();
    this.informers = new SharedInformers(options.kube, this.log.child({ part: 'informer' }));
    this.caches = coreCaches(this.informers);
    this.services = this.caches.services;
    this.endpointSlices = this.caches.endpointSlices;
    this.nodes = this.caches.nodes;
    this.pods = this.caches.pods;
  }

  get northbound(): Northbound {
    if (!this.nb) throw new Error('not started');
    return this.nb;
  }

  /** Keys queued or being reconciled now, over every controller (not those waiting on a retry or resync timer). */
  get pendingKeys(): number {
    return this.running.reduce((n, r) => n + r.controller.queue.len() + r.controller.queue.inFlight(), 0);
  }

  /** Connects, syncs caches, sets every registered controller up (in list order), then starts them all. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { config } = this.options;
    const nb = await Northbound.connect({
      ...this.options.northbound,
      trackNodeInstall: this.options.northbound.trackNodeInstall ?? config.northbound.nbCfgBarrier,
    });
    this.nb = nb;
    this.log.info('OVN Northbound features', recordNorthboundFeatures(this.registry, nb.features));
    const drift = new DriftMetrics(this.registry, NORTHBOUND_TABLES);
    nb.applier.onApply((record) => drift.observeApply(record));
    if (this.options.onApply) nb.applier.onApply(this.options.onApply);
    this.informers.start();
    await this.informers.waitForSync();
    this.log.info('caches synced', {
      services: this.services.store.list().length,
      nodes: this.nodes.store.list().length,
    });

    const events =
      this.options.events ??
      new RecorderEventSink(
        new EventRecorder(this.options.kube, {
          reportingController: 'ycloud.io/controller',
          reportingInstance: hostname(),
          logger: this.log,
        }),
      );
    const env = await buildControllerEnv({
      ...{ config, kube: this.options.kube, log: this.log, events, northbound: nb },
      ...{ caches: this.caches, informers: this.informers, probe: this.options.probe },
      vmDiscoveryIntervalMs: this.options.vmDiscoveryIntervalMs,
    });
    this.env = env;
    for (const reg of this.options.controllers ?? CONTROLLERS) await this.setUp(reg, env);

    for (const owner of nb.view.allOwners()) this.queueOwner(owner, 'startup repair', 0, 'resync');
    const throttle = new DriftThrottle();
    new DriftMonitor(nb.schema, nb.view, nb.applier).follow(nb.client as never).onDrift((d: Drift) => {
      drift.observeDrift(d);
      if (!config.drift.repairOnChange) {
        this.log.warn('owned row changed by another writer; not repaired (drift.repairOnChange: false)', {
          owner: d.owner,
          table: d.table,
        });
        return;
      }
      const delay = throttle.delayFor(d.owner, Date.now());
      if (delay > 0) this.log.warn('owner keeps drifting: another writer?', { owner: d.owner, table: d.table, delay });
      this.queueOwner(d.owner, driftReason(d), delay);
    });
    this.scheduleResync(env);
    await Promise.all(this.running.map((r) => r.controller.start()));
    this.log.info('controllers started', { controllers: this.running.map((r) => r.controller.name) });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.resyncTimer);
    await Promise.all(this.running.map((r) => r.controller.stop({ drain: true })));
    for (const stop of this.stops) await stop();
    await this.informers.stop();
    await this.nb?.close();
  }

  /**
   * Queues every key now, as the periodic full reconcile does: every controller's keys and every NB owner. Level-
   * based reconciles write only what drifted, so with nothing drifted this writes nothing. The keys go in at the
   * queues' `resync` level: at 10k Services that is about 20k keys, and a real change queued meanwhile is still
   * reconciled first (results/programming-latency.md).
   */
  resyncNow(): void {
    if (!this.nb) return;
    for (const r of this.running)
      for (const keys of r.resyncKeys) for (const k of keys()) r.controller.enqueue(k, RESYNC_REASON, 'resync');
    for (const owner of this.nb.view.allOwners()) this.queueOwner(owner, RESYNC_REASON, 0, 'resync');
  }

  private scheduleResync(env: ControllerEnv): void {
    const { intervalSeconds, jitter } = this.options.config.resync;
    if (!(intervalSeconds > 0) || this.stopped) return;
    const delay = intervalSeconds * 1000 * (1 + jitter * Math.random());
    this.resyncTimer = setTimeout(() => {
      env.log.debug('periodic full reconcile');
      this.resyncNow();
      this.scheduleResync(env);
    }, delay);
    this.resyncTimer.unref?.();
  }

  /** Queues an NB owner to the first controller covering it (after `delayMs`, if given). */
  private queueOwner(owner: Owner, reason: string, delayMs = 0, priority: QueuePriority = 'event'): void {
    const env = this.env;
    if (!env) return;
    for (const r of this.running) {
      const key = r.ownerKey?.(owner, env.config);
      if (key === undefined) continue;
      if (delayMs > 0) r.controller.enqueueAfter(key, delayMs, reason, priority);
      else r.controller.enqueue(key, reason, priority);
      return;
    }
  }

  private async setUp(reg: ControllerRegistration, env: ControllerEnv): Promise<void> {
    const served = reg.requires ? await env.informers.served(...reg.requires) : true;
    if (!served || (reg.enabled && !reg.enabled(env))) {
      // Not served: its CRDs are not installed (clusters and tests without them still run the rest): say so loudly.
      if (served) this.log.info('controller not run here', { controller: reg.name });
      else this.log.warn('controller not started: the resources it needs are not served', { controller: reg.name });
      await reg.notRun?.(env);
      return;
    }
    const main = this.add(reg.name, reg.ownerKey);
    const builder: ControllerBuilder = {
      env,
      name: reg.name,
      enqueue: (k, reason) => main.handle.enqueue(k, reason),
      watch(source, reason, map) {
        main.handle.watch(source, reason, map);
        return this;
      },
      resyncKeys(keys) {
        main.handle.resyncKeys(keys);
        return this;
      },
      controller: (name, reconcile, opts) => {
        const extra = this.add(name, opts?.ownerKey);
        extra.bind(reconcile);
        return extra.handle;
      },
      waitFor(...sources: SyncSource[]) {
        main.running.controller.waitFor(...sources);
        return this;
      },
      onStop: (stop) => {
        this.stops.push(stop);
        return builder;
      },
    };
    main.bind(await reg.setup(builder));
  }

  /** A controller whose reconciler is bound after its registration's setup declared its watches. */
  private add(
    name: string,
    ownerKey?: OwnerKey,
  ): { running: Running; handle: ControllerHandle; bind(r: Reconciler): void } {
    let reconciler: Reconciler | undefined;
    const controller = new Controller({
      name,
      // Reconciles mostly wait on their NB transaction's round trip: several in flight keep ovsdb-server busy.
      // Concurrent applies are safe: each owner's rows are its own, and membership mutations commute.
      workers: this.options.workers ?? 16,
      registry: this.registry,
      logger: this.log,
      reconcile: async (key, ctx) => {
        await reconciler!(key, ctx);
        return {};
      },
    });
    controller.waitFor(...Object.values(this.caches));
    const running: Running = { controller, ownerKey, resyncKeys: [] };
    this.running.push(running);
    const handle: ControllerHandle = {
      name,
      enqueue: (key, reason) => controller.enqueue(key, reason),
      watch<T extends KubeObject>(source: Watchable<T>, reason: string, map?: KeyMapper<T>) {
        source.addHandler(
          enqueueHandler<T>({ enqueue: (key, priority) => controller.enqueue(key, reason, priority) }, map),
        );
        controller.waitFor(source);
        return this;
      },
      resyncKeys(keys) {
        running.resyncKeys.push(keys);
        return this;
      },
    };
    return { running, handle, bind: (r) => (reconciler = r) };
  }
}

/** Kubernetes Events through the recorder (which aggregates repeats and never throws). */
export class RecorderEventSink implements EventSink {
  constructor(private readonly recorder: EventRecorder) {}
  warning(object: ObjectReference, reason: string, message: string): void {
    this.recorder.event(object, 'Warning', reason, message);
  }
  normal(object: ObjectReference, reason: string, message: string): void {
    this.recorder.event(object, 'Normal', reason, message);
  }
}
