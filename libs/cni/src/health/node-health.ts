import type { V1Node } from '@kubernetes/client-node';
import { Informer, KubeClient, Logger, Resources, type KubeObject } from '@ycloud/k8s';
import type { NodePortWatcher } from '../node/nodeport.programmer';
import { HealthServer } from './health-server';
import { serviceHealthChecks, type HealthState } from './service-health';

/** The taint the cluster autoscaler puts on a node it is about to remove: kube-proxy's healthz then says 503. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

export interface NodeHealthOptions {
  nodeName: string;
  /** Port of `/healthz` and `/livez` (kube-proxy's 10256); 0 for none. */
  proxyPort: number;
  /** A change not programmed after this long makes the proxy unhealthy. Default 60 s. */
  healthTimeoutMs?: number;
  netns?: string;
  log?: (line: string) => void;
}

/**
 * The agent's answers to external load balancers, as kube-proxy gives them: per `externalTrafficPolicy: Local`
 * Service, `healthCheckNodePort` says 200 with the count of this node's ready endpoints (503 with none), and the
 * proxy's `/healthz` (NodePort rules programmed in time, node not being deleted) and `/livez`. Fed from the
 * NodePort watcher's caches, re-evaluated on every change and every `tick()`.
 */
export class NodeHealth {
  private readonly node: Informer<V1Node & KubeObject>;
  private readonly server: HealthServer;

  constructor(
    client: KubeClient,
    private readonly watcher: NodePortWatcher,
    private readonly opts: NodeHealthOptions,
  ) {
    this.node = new Informer<V1Node & KubeObject>(client, Resources.nodes, {
      logger: Logger.silent(),
      fieldSelector: `metadata.name=${opts.nodeName}`,
    });
    this.server = new HealthServer({ netns: opts.netns, log: opts.log });
    const update = (): void => this.tick();
    watcher.onChange(update);
    this.node.addHandler({ onAdd: update, onUpdate: update, onDelete: update });
  }

  start(): void {
    this.node.start();
    this.tick();
  }

  /** The state now; pure apart from the clock and the caches. */
  state(now = Date.now()): HealthState {
    const { healthy, lastUpdated } = this.watcher.programmer.health(this.opts.healthTimeoutMs ?? 60_000, now);
    const node = this.node.store.list()[0];
    const eligible =
      !!node &&
      !node.metadata?.deletionTimestamp &&
      !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
    return {
      proxy: {
        port: this.opts.proxyPort,
        healthy: healthy && this.watcher.synced(),
        nodeEligible: eligible,
        lastUpdated: lastUpdated.toISOString(),
      },
      services: this.watcher.synced()
        ? serviceHealthChecks(this.watcher.serviceList(), (k) => this.watcher.slicesOf(k), this.opts.nodeName)
        : [],
    };
  }

  tick(): void {
    this.server.update(this.state());
  }

  async stop(): Promise<void> {
    await this.node.stop();
    await this.server.close();
  }
}
