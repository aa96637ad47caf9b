import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
// Not '@ycloud/cni': its index loads @kubernetes/client-node, about 0.3 s of CPU at the controller's start.
import { ExecCommandRunner } from '@ycloud/cni/ovs/command-runner';
import { ControllerManager, type EventSink, type ProbeRuntimeOptions } from '@ycloud/controllers';
import { registerControllerDiagnoseRoutes, registerServiceBackendMetrics } from '@ycloud/diagnose';
import { Journal, parseJournalConfig } from '@ycloud/journal';
import { EventRecorder, KubeClient, LeaderElector, Logger, OpsServer } from '@ycloud/k8s';
import type { ApplyRecord } from '@ycloud/ovn';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { ControllerAppConfig } from './controller-options';
import { ControllerTelemetry, journalEntryOf } from './controller-telemetry';
import { probePortHost } from './probe-port-host';

export const CONTROLLER_APP_CONFIG = Symbol('CONTROLLER_APP_CONFIG');
export const CONTROLLER_RUNTIME = Symbol('CONTROLLER_RUNTIME');

/** What the process gives the runner besides its config (injected, so nothing reads globals). */
export interface ControllerRuntime {
  kube: KubeClient;
  /** This replica's identity in the Lease and in Events (pod name + random suffix). */
  identity: string;
  log: Logger;
  /** Ends the process; called when leadership is lost or the controllers cannot start. */
  exit: (code: number) => void;
}

/**
 * Runs ycloud-controller for the lifetime of the Nest application context.
 *
 * Leader election: every replica serves /healthz, /readyz and /metrics and campaigns for the Lease; only the
 * leader starts the ControllerManager (NB connection, informers, controllers), so NB is written by one
 * replica. A standby is ready (`leader-election ok (standby)`) so it can be scraped and take over. A leader
 * that loses the Lease exits with status 1 and is restarted by its Deployment (controller-runtime's
 * behaviour): stopping controllers mid-flight and campaigning again would risk writes racing the new leader.
 * On SIGTERM the leader drains its queues, then releases the Lease so a standby takes over at once.
 */
@Injectable()
export class ControllerRunnerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log: Logger;
  private readonly registry = new Registry();
  private readonly servers: OpsServer[] = [];
  private manager?: ControllerManager;
  private elector?: LeaderElector;
  private journal?: Journal;
  private recorder?: EventRecorder;
  private telemetry?: ControllerTelemetry;
  private leading = false;
  private started = false;
  private stopping = false;

  constructor(
    @Inject(CONTROLLER_APP_CONFIG) private readonly cfg: ControllerAppConfig,
    @Inject(CONTROLLER_RUNTIME) private readonly rt: ControllerRuntime,
  ) {
    this.log = rt.log;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { cfg, rt } = this;
    if (cfg.journal) {
      this.journal = await Journal.open(parseJournalConfig(cfg.journal));
      this.log.info('journal open', { db: cfg.journal.type === 'sqlite' ? cfg.journal.path : 'postgres' });
    }
    collectDefaultMetrics({ register: this.registry });
    const telemetry = new ControllerTelemetry({
      registry: this.registry,
      ownedCounts: () => (this.started ? this.manager?.northbound.view.ownedCounts() : undefined),
      journalDropped: this.journal ? () => this.journal!.droppedCount : undefined,
      // Without the nb_cfg barrier (northbound.nbCfgBarrier: false) nothing says when the nodes have a change.
      whenInstalled: () =>
        this.started && this.manager?.northbound.tracksNodeInstall
          ? this.manager.northbound.nbCfg.whenInstalled()
          : undefined,
    });
    this.telemetry = telemetry;
    this.recorder = new EventRecorder(rt.kube, {
      reportingController: 'ycloud.io/ycloud-controller',
      reportingInstance: rt.identity,
      logger: this.log,
    });
    const recorder = this.recorder;
    const events: EventSink = {
      warning: (ref, reason, message) => recorder.event(ref, 'Warning', reason, message),
      normal: (ref, reason, message) => recorder.event(ref, 'Normal', reason, message),
    };
    this.manager = new ControllerManager({
      config: cfg.config,
      kube: rt.kube,
      northbound: { remotes: cfg.config.nbRemote, ...(cfg.nbTls ? { tls: cfg.nbTls } : {}) },
      logger: this.log,
      registry: this.registry,
      events,
      onApply: (record) => this.onApply(record),
      probe: this.probeRuntime(),
    });
    const slices = this.manager.endpointSlices.store;
    registerServiceBackendMetrics(this.registry, () => slices.list());
    this.manager.endpointSlices.addHandler({
      onAdd: (s) => telemetry.onEndpointSlice(s),
      onUpdate: (_, s) => telemetry.onEndpointSlice(s),
    });
    await this.serve();

    if (!cfg.leaderElection.enabled) {
      this.log.warn('leader election disabled: run exactly one replica');
      void this.lead();
      return;
    }
    const { namespace, id } = cfg.leaderElection;
    this.elector = new LeaderElector(rt.kube, {
      namespace,
      name: id,
      identity: rt.identity,
      logger: this.log,
      onStartedLeading: () => void this.lead(),
      onStoppedLeading: () => this.lostLease(),
      onNewLeader: (leader) => this.log.info('another replica leads; standing by', { leader }),
    });
    this.elector.start();
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.stopping = true;
    this.log.info('shutting down', { signal });
    // Drain while still holding the Lease, then release it so a standby takes over without waiting for expiry.
    await this.manager?.stop();
    await this.elector?.stop();
    await this.recorder?.flush();
    await this.journal?.close();
    await Promise.all(this.servers.map((s) => s.close()));
    this.log.info('stopped');
  }

  /** NetworkProbes run in this process on the node it runs on (ADR 0003), or not at all without a node name. */
  private probeRuntime(): ProbeRuntimeOptions | undefined {
    const { nodeName, ovsDb, ovsNetns } = this.cfg.probe;
    if (!nodeName) {
      this.log.info('NetworkProbes off: no --probe-node and no NODE_NAME');
      return undefined;
    }
    this.log.info('NetworkProbes run on this node', { node: nodeName, ovsDb, ovsNetns });
    return { nodeName, host: probePortHost(ovsDb, new ExecCommandRunner(), ovsNetns) };
  }

  private onApply(record: ApplyRecord): void {
    this.telemetry?.onApply(record);
    if (record.written) this.journal?.record(journalEntryOf(record));
  }

  private async lead(): Promise<void> {
    if (this.stopping || this.leading) return;
    this.leading = true;
    this.telemetry?.leader.set(1);
    this.log.info('leading: starting controllers');
    try {
      await this.manager!.start();
      this.started = true;
    } catch (err) {
      if (this.stopping) return;
      this.log.error('controllers failed to start; exiting', { err });
      this.rt.exit(1);
    }
  }

  private lostLease(): void {
    this.telemetry?.leader.set(0);
    if (this.stopping) return;
    this.log.error('lost the leader election lease; exiting so that the Deployment restarts this replica');
    this.rt.exit(1);
  }

  /** What `ycloud diagnose` reads from this replica: the NB view while leading, the journal's last entry. */
  private diagnoseSources(): Parameters<typeof registerControllerDiagnoseRoutes>[1] {
    return {
      northbound: () => {
        const client = this.started ? this.manager?.northbound.client : undefined;
        return client && { rows: { rows: (t) => client.table(t).all() as never }, connected: client.connected };
      },
      lastChange: async (ownerKind, owner) => {
        const [last] = (await this.journal?.query({ ownerKind, owner, limit: 1 })) ?? [];
        return last && { time: last.at.toISOString(), summary: `${last.reason} (${last.opCount} op(s))` };
      },
    };
  }

  /** Health and metrics servers: one when the ports are equal, else /metrics apart from the probes. */
  private async serve(): Promise<void> {
    const { bindAddress: host, healthPort, metricsPort } = this.cfg;
    const shared = healthPort === metricsPort;
    const health = new OpsServer({ host, port: healthPort, registry: shared ? this.registry : new Registry() });
    const electionOn = this.cfg.leaderElection.enabled;
    health
      .addHealthCheck('ping', () => true)
      .addReadyCheck('leader-election', () => (!electionOn ? 'disabled' : this.leading ? 'leader' : 'standby'))
      .addReadyCheck('caches-synced', () => (this.leading ? this.started : 'standby'))
      .addReadyCheck('nb-connected', () =>
        this.leading ? this.started && this.manager!.northbound.client.connected : 'standby',
      );
    this.servers.push(health);
    const urls = { health: (await health.listen()).url, metrics: '' };
    if (shared) urls.metrics = urls.health;
    else {
      const metrics = new OpsServer({ host, port: metricsPort, registry: this.registry });
      this.servers.push(metrics);
      urls.metrics = (await metrics.listen()).url;
    }
    for (const server of this.servers) registerControllerDiagnoseRoutes(server, this.diagnoseSources());
    this.log.info('serving', { healthz: `${urls.health}/healthz`, metrics: `${urls.metrics}/metrics` });
  }
}
