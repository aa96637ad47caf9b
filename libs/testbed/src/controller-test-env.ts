import { parseControllerConfig, type ControllerConfig } from '@ycloud/api';
import { ControllerManager, type ControllerManagerOptions } from '@ycloud/controllers';
import { KubeClient, Logger } from '@ycloud/k8s';
import type { ApplyRecord } from '@ycloud/ovn';
import { installCrds } from './k8s/crds';
import { KubeControlPlane, type KubeControlPlaneOptions } from './k8s/kube-control-plane';
import { OvnCentral, type OvnCentralOptions } from './ovn-central';

export interface ControllerTestEnvOptions {
  /** The control plane's options (Service range, kube-controller-manager controllers, ...). */
  kube?: KubeControlPlaneOptions;
  ovn?: OvnCentralOptions;
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
 * Everything an integration test of the controllers needs, in the spirit of controller-runtime's envtest: a real
 * kube-apiserver (+ etcd, kube-controller-manager), OVN central (NB, SB, northd), ycloud's CRDs, and a
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
  ) {}

  static async start(options: ControllerTestEnvOptions = {}): Promise<ControllerTestEnv> {
    const config = parseControllerConfig(options.config ?? {});
    const started = await Promise.allSettled([KubeControlPlane.start(options.kube), OvnCentral.start(options.ovn)]);
    const [k8s, ovn] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined)) as [
      KubeControlPlane | undefined,
      OvnCentral | undefined,
    ];
    if (!k8s || !ovn) {
      await Promise.all([k8s?.stop(), ovn?.stop()]);
      throw (started.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
    }
    const env = new ControllerTestEnv(
      k8s,
      ovn,
      KubeClient.fromKubeconfigFile(k8s.kubeconfigPath),
      config,
      options.logLevel ?? 'error',
    );
    try {
      if (options.crds ?? true) await installCrds(env.kube);
      if (options.manager ?? true) await env.startManager();
    } catch (err) {
      await env.stop();
      throw err;
    }
    return env;
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

  /** ovn-nbctl against the test bed's NB. */
  nbctl(...args: string[]): Promise<string> {
    return this.ovn.nbctl(...args);
  }

  /** Stops the manager, the control plane and OVN; safe to call after a failed start. */
  async stop(): Promise<void> {
    await this.stopManager().catch(() => undefined);
    this.kube.close();
    await Promise.all([this.k8s.stop(), this.ovn.stop()]);
  }
}
