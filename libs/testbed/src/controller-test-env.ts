import { API_VERSION, parseControllerConfig, type ControllerConfig } from '@ycloud/api';
import { ControllerManager, TOPOLOGY_RESOURCES, type ControllerManagerOptions } from '@ycloud/controllers';
import { KubeClient, Logger } from '@ycloud/k8s';
import type { ApplyRecord } from '@ycloud/ovn';
import { createNamespace, createNode } from './k8s/cluster-objects';
import { installCrds } from './k8s/crds';
import { eventually } from './eventually';
import { KubeControlPlane, type KubeControlPlaneOptions } from './k8s/kube-control-plane';
import { OvnCentral, type OvnCentralOptions } from './ovn-central';
import { OvnTestbed } from './testbed';

export interface ControllerTestEnvOptions {
  /** The control plane's options (Service range, kube-controller-manager controllers, ...). */
  kube?: KubeControlPlaneOptions;
  ovn?: OvnCentralOptions;
  /** Simulated nodes (OVN chassis with OVS, see OvnTestbed) beside OVN central; default none (central only). */
  nodes?: string[];
  /** Of `nodes`, the OVN gateway chassis (see OvnTestbed). */
  gatewayNodes?: string[];
  /** Register each of `nodes` as a Ready Kubernetes Node, the i-th at InternalIP 192.168.100.<i+1>. Default false. */
  kubeNodes?: boolean;
  /** Namespaces to create (each waited for until its `default` ServiceAccount exists) before the manager starts. */
  namespaces?: Array<string | { name: string; labels: Record<string, string> }>;
  /** Install ycloud's CRDs (and wait until Established). Default true. */
  crds?: boolean;
  /** The controller config as a user writes it (parsed with parseControllerConfig). Default `{}`. */
  config?: unknown;
  /** Start a ControllerManager in start(). Default true; otherwise call startManager(). */
  manager?: boolean;
  /** Log level of the manager's logger. Default 'error'. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * Starts OVN (`startOvn`: a test bed or central only) and a kube control plane side by side. When either fails the
 * other is stopped before the error is thrown, so there is nothing for an afterAll to clean up.
 */
export async function startOvnAndKube<T extends OvnTestbed | OvnCentral>(
  startOvn: () => Promise<T>,
  kube?: KubeControlPlaneOptions,
): Promise<[T, KubeControlPlane]> {
  const [ovnStarted, k8sStarted] = await Promise.allSettled([startOvn(), KubeControlPlane.start(kube)]);
  if (ovnStarted.status === 'fulfilled' && k8sStarted.status === 'fulfilled') {
    return [ovnStarted.value, k8sStarted.value];
  }
  await Promise.all([
    ovnStarted.status === 'fulfilled' ? ovnStarted.value.stop() : undefined,
    k8sStarted.status === 'fulfilled' ? k8sStarted.value.stop() : undefined,
  ]);
  throw ovnStarted.status === 'rejected' ? ovnStarted.reason : (k8sStarted as PromiseRejectedResult).reason;
}

/**
 * Everything an integration test of the controllers needs, in the spirit of controller-runtime's envtest: a real
 * kube-apiserver (+ etcd, kube-controller-manager), OVN central (NB, SB, northd; with `nodes`, the OVN test bed
 * with those simulated nodes), ycloud's CRDs, and a
 * ControllerManager connected to both; every committed NB transaction is kept in `records`. `stop()` tears all of
 * it down (call it in afterAll). The manager can be stopped and started again to test restarts.
 */
export class ControllerTestEnv {
  manager?: ControllerManager;
  /** Every NB transaction the current and earlier managers committed (ApplyRecords), oldest first. */
  readonly records: ApplyRecord[] = [];

  private constructor(
    readonly k8s: KubeControlPlane,
    readonly ovn: OvnCentral,
    readonly kube: KubeClient,
    readonly config: ControllerConfig,
    private readonly logLevel: NonNullable<ControllerTestEnvOptions['logLevel']>,
    /** The OVN test bed, when started with `nodes` (`ovn` is its central). */
    readonly bed?: OvnTestbed,
  ) {}

  static async start(options: ControllerTestEnvOptions = {}): Promise<ControllerTestEnv> {
    const config = parseControllerConfig(options.config ?? {});
    const nodes = options.nodes ?? [];
    const [ovn, k8s] = await startOvnAndKube<OvnTestbed | OvnCentral>(
      () =>
        nodes.length ? OvnTestbed.start({ nodes, gatewayNodes: options.gatewayNodes }) : OvnCentral.start(options.ovn),
      options.kube,
    );
    const bed = ovn instanceof OvnTestbed ? ovn : undefined;
    const env = new ControllerTestEnv(
      k8s,
      bed ? bed.central : (ovn as OvnCentral),
      KubeClient.fromKubeconfigFile(k8s.kubeconfigPath),
      config,
      options.logLevel ?? 'error',
      bed,
    );
    try {
      if (options.crds ?? true) await installCrds(env.kube);
      if (options.kubeNodes) {
        for (const [i, name] of nodes.entries()) await createNode(k8s.kubeConfig, name, `192.168.100.${i + 1}`);
      }
      for (const ns of options.namespaces ?? []) {
        const { name, labels } = typeof ns === 'string' ? { name: ns, labels: undefined } : ns;
        await createNamespace(k8s.kubeConfig, name, undefined, labels);
      }
      if (options.manager ?? true) await env.startManager();
    } catch (err) {
      await env.stop();
      throw err;
    }
    return env;
  }

  /** The OVN test bed (throws when started without `nodes`). */
  get testbed(): OvnTestbed {
    if (!this.bed) throw new Error('no OVN test bed: start the ControllerTestEnv with nodes');
    return this.bed;
  }

  /** Creates one of ycloud's cluster-scoped topology objects (Vpc, Subnet, EipPool, Eip). */
  createTopology(kind: keyof typeof TOPOLOGY_RESOURCES, name: string, spec: unknown): Promise<unknown> {
    return this.kube.create(TOPOLOGY_RESOURCES[kind], undefined, {
      apiVersion: API_VERSION,
      kind,
      metadata: { name },
      spec,
    } as never);
  }

  /** The running manager (throws when none runs). */
  get running(): ControllerManager {
    if (!this.manager) throw new Error('no ControllerManager running: call startManager()');
    return this.manager;
  }

  /** Starts a ControllerManager (stopping the running one first); `overrides` replace the default options. */
  async startManager(overrides: Partial<ControllerManagerOptions> = {}): Promise<ControllerManager> {
    await this.stopManager();
    const m = new ControllerManager({
      config: this.config,
      kube: this.kube,
      northbound: { remotes: this.ovn.nbRemote },
      logger: new Logger({ level: this.logLevel }),
      ...overrides,
      onApply: (r) => {
        this.records.push(r);
        overrides.onApply?.(r);
      },
    });
    this.manager = m;
    await m.start();
    return m;
  }

  async stopManager(): Promise<void> {
    const m = this.manager;
    this.manager = undefined;
    await m?.stop();
  }

  /**
   * Waits until the running manager has nothing queued or in flight for `quietMs` in a row: after a restart, its
   * start-up repair has run, so "it wrote nothing" means something however slow the machine is.
   */
  async settled(quietMs = 1_000, timeoutMs = 60_000): Promise<void> {
    const m = this.running;
    let quietSince = Date.now();
    await eventually(
      async () => {
        if (m.pendingKeys > 0) quietSince = Date.now();
        return { pending: m.pendingKeys, quietMs: Date.now() - quietSince };
      },
      (s) => s.pending === 0 && s.quietMs >= quietMs,
      'the controllers to have nothing queued or in flight',
      timeoutMs,
      50,
    );
  }

  /** Reconciles the running manager's `controller` has finished (`ycloud_controller_reconcile_total`). */
  async reconciles(controller: string): Promise<number> {
    const metric = this.running.registry.getSingleMetric('ycloud_controller_reconcile_total');
    const values = (await metric?.get())?.values ?? [];
    return values.filter((v) => v.labels.controller === controller).reduce((sum, v) => sum + v.value, 0);
  }

  /** ovn-nbctl against the test bed's NB. */
  nbctl(...args: string[]): Promise<string> {
    return this.ovn.nbctl(...args);
  }

  /** Stops the manager, the control plane and OVN; safe to call after a failed start. */
  async stop(): Promise<void> {
    await this.stopManager().catch(() => undefined);
    this.kube.close();
    await Promise.all([this.k8s.stop(), this.bed ? this.bed.stop() : this.ovn.stop()]);
  }
}
