import * as path from 'node:path';
import { registerAgentDiagnoseRoutes } from '@ycloud/diagnose';
import { CniAgentConfig } from './agent-config';
import { CniHandler } from './cni-handler';
import { CniMetrics } from './cni-metrics';
import { CniServer } from './cni-server';
import { ClientNodeKubeApi, KubeApi } from '../k8s/kube-api';
import { CommandRunner, ExecCommandRunner, NetnsCommandRunner } from '../ovs/command-runner';
import { OvsVsctl } from '../ovs/ovs-vsctl';
import { OvsPortPlumber } from '../plumbing/ovs-port.plumber';
import { PodPlumber } from '../plumbing/pod-plumber';
import { NodeBootstrapper } from '../node/node-bootstrap';
import { NodePortManager } from '../node/node-port';
import { NodePortWatcher } from '../node/nodeport.programmer';
import { NodeHealth } from '../health/node-health';
import { KubeClient, OpsServer, type InClusterEnv } from '@ycloud/k8s';
import { DPU_LEASE_RENEW_SECONDS } from '../offload/dpu-annotations';
import { DpuSideReconciler } from '../offload/dpu-side';
import { DpuHostPlumber, SmartNicPlumber } from '../offload/offload-plumbers';
import { OFFLOAD_ANNOTATION, OFFLOAD_MODE_LABEL, buildOffloadReport } from '../offload/offload-report';
import { SriovSysfs } from '../offload/sriov-sysfs';
import { VfPool } from '../offload/vf-pool';
import { DatapathMetrics, DatapathMonitor } from '../datapath/datapath-monitor';
import { DatapathProbe, controlSocket } from '../datapath/datapath-probe';
import { udpLbFlows } from '../conntrack/lb-flows';
import { StaleLbFlowSweeper } from '../conntrack/stale-flow-sweeper';
import { AffinityRescue, commandRescueOvs, servicesUseAffinityTimeout } from '../conntrack/affinity-rescue';
import { EventRecorder, Logger } from '@ycloud/k8s';

const NODE_PERIOD_MS = 5_000;
const DPU_PERIOD_MS = 500;

export interface CniAgentDeps {
  kube?: KubeApi;
  runner?: CommandRunner;
  /** Client for the Service informer (host NodePorts); default from cfg.kubeconfig, else `inCluster`. */
  kubeClient?: KubeClient;
  /** The in-cluster API server address when cfg.kubeconfig is empty; the app reads it from its environment. */
  inCluster?: InClusterEnv;
  log?: (line: string) => void;
}

/**
 * The node agent: serves the CNI shim, keeps the node's OVS configured, plugs the node port, reports offload
 * capability, and on a DPU runs the DPU side of the handshake. `start()` / `stop()`; all wiring here so the
 * app stays a shell.
 */
export class CniAgent {
  readonly metrics = new CniMetrics();
  readonly kube: KubeApi;
  readonly runner: CommandRunner;
  readonly ovs: OvsVsctl;
  readonly sysfs: SriovSysfs;
  private readonly log: (line: string) => void;
  private server?: CniServer;
  private metricsServer?: OpsServer;
  private readonly timers: NodeJS.Timeout[] = [];
  private bootstrap?: NodeBootstrapper;
  private nodePort?: NodePortManager;
  private nodePorts?: NodePortWatcher;
  private health?: NodeHealth;
  private staleFlows?: StaleLbFlowSweeper;
  private affinityRescue?: AffinityRescue;
  private pool?: VfPool;
  private dpuSide?: DpuSideReconciler;
  private dpuHost?: DpuHostPlumber;
  private busy = new Set<string>();
  private client?: KubeClient;
  private events?: EventRecorder;
  /** Watches ovs-vswitchd and ovn-controller (absent in mode dpu-host or when disabled). */
  datapath?: DatapathMonitor;

  constructor(
    readonly cfg: CniAgentConfig,
    private readonly deps: CniAgentDeps = {},
  ) {
    this.log = deps.log ?? ((l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`));
    this.kube = deps.kube ?? ClientNodeKubeApi.fromKubeconfig(cfg.kubeconfig);
    const exec = new ExecCommandRunner();
    this.runner = deps.runner ?? (cfg.nodeNetns ? new NetnsCommandRunner(exec, cfg.nodeNetns) : exec);
    this.ovs = new OvsVsctl(this.runner, cfg.ovsDb);
    this.sysfs = new SriovSysfs(cfg.offload.sysfsRoot);
  }

  /** Where VFs return to on DEL: the node's namespace. */
  private hostNetnsPath(): string {
    return this.cfg.nodeNetns ? `/var/run/netns/${this.cfg.nodeNetns}` : `/proc/${process.pid}/ns/net`;
  }

  private plumber(): PodPlumber {
    const cfg = this.cfg;
    switch (cfg.mode) {
      case 'smartnic':
        this.pool = new VfPool(this.sysfs, cfg.offload.pf);
        return new SmartNicPlumber(
          this.runner,
          this.ovs,
          this.sysfs,
          this.pool,
          cfg.bridge,
          this.hostNetnsPath(),
          cfg.datapathType === 'netdev',
        );
      case 'dpu-host':
        this.pool = new VfPool(this.sysfs, cfg.offload.pf);
        this.dpuHost = new DpuHostPlumber(
          this.runner,
          this.kube,
          this.pool,
          cfg.nodeName,
          cfg.offload.leaseNamespace,
          cfg.offload.dpuStatusTimeoutMs,
          this.hostNetnsPath(),
        );
        return this.dpuHost;
      default:
        return new OvsPortPlumber(this.runner, this.ovs, cfg.bridge, cfg.datapathType);
    }
  }

  /** STATUS: why this node cannot take pods now, or undefined. */
  async notReadyReason(): Promise<string | undefined> {
    if (this.dpuHost) {
      return this.dpuHost.assertDpuHealthy().then(
        () => undefined,
        (e: Error) => e.message,
      );
    }
    const r = await this.runner.run('ovs-vsctl', [
      ...(this.cfg.ovsDb ? [`--db=${this.cfg.ovsDb}`] : []),
      '--timeout=5',
      'br-exists',
      this.cfg.bridge,
    ]);
    if (r.code === 2) return `bridge ${this.cfg.bridge} does not exist yet (ovn-controller creates it)`;
    if (r.code !== 0) return `Open vSwitch is not reachable: ${r.stderr.trim()}`;
    return undefined;
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    this.metrics.offloadMode.labels(cfg.mode).set(1);
    if (cfg.mode !== 'dpu-host') {
      this.bootstrap = new NodeBootstrapper(this.ovs, this.kube, cfg, this.log);
      await this.bootstrap.reconcile().catch((e: Error) => this.log(`node bootstrap: ${e.message}`));
    }
    if (cfg.nodePort.enabled && cfg.mode !== 'dpu-host') {
      this.nodePort = new NodePortManager(this.runner, this.ovs, this.kube, cfg, this.log);
      const client = this.kubeClient();
      const nodePort = this.nodePort;
      this.nodePorts = new NodePortWatcher(client, this.runner, cfg.nodeName, this.log, () =>
        nodePort.hasIpv6Address(),
      );
      this.health = new NodeHealth(client, this.nodePorts, {
        nodeName: cfg.nodeName,
        proxyPort: cfg.proxyHealthPort,
        netns: cfg.nodeNetns || undefined,
        log: this.log,
      });
      const watcher = this.nodePorts;
      const staleFlows = new StaleLbFlowSweeper(
        this.runner,
        () => udpLbFlows(watcher.serviceList(), (key) => watcher.slicesOf(key)),
        () => controlSocket(cfg.datapath.vswitchd, 'ovs-vswitchd'),
        this.log,
      );
      this.staleFlows = staleFlows;
      // Turns OVN's lost first connection of a ClientIP-affinity session into a SYN retransmit's delay.
      this.affinityRescue = new AffinityRescue(
        commandRescueOvs(this.runner, path.join(cfg.diagnose.ovsRundir, `${cfg.bridge}.mgmt`), () =>
          controlSocket(cfg.datapath.vswitchd, 'ovs-vswitchd'),
        ),
        { enabled: () => watcher.synced() && servicesUseAffinityTimeout(watcher.serviceList()), log: this.log },
      );
      this.affinityRescue.start();
      watcher.onChange(() => {
        if (watcher.synced()) staleFlows.observe();
      });
      // Not awaited: the CNI socket must not wait for the Service list; the watcher programs once synced.
      void watcher
        .start()
        .then(() => staleFlows.observe())
        .catch((e: Error) => this.log(`nodeports: ${e.message}`));
      this.health.start();
    }
    if (cfg.mode === 'dpu') {
      this.dpuSide = new DpuSideReconciler(this.kube, this.ovs, this.sysfs, {
        hostNodeName: cfg.offload.hostNodeName,
        leaseNamespace: cfg.offload.leaseNamespace,
        bridge: cfg.bridge,
        switchId: cfg.offload.switchId,
        ovnInstallTimeoutMs: cfg.plugTimeoutMs,
        log: this.log,
      });
      this.every('dpu-lease', DPU_LEASE_RENEW_SECONDS * 1000, () => this.dpuSide!.renewLease());
      this.every('dpu-reconcile', DPU_PERIOD_MS, () => this.dpuSide!.reconcile());
    } else {
      const handler = new CniHandler(
        this.kube,
        this.plumber(),
        this.ovs,
        {
          allocationTimeoutMs: cfg.allocationTimeoutMs,
          plugTimeoutMs: cfg.plugTimeoutMs,
          notReadyReason: () => this.notReadyReason(),
          log: this.log,
        },
        this.metrics,
      );
      this.server = new CniServer(
        cfg.socketPath,
        (r) => handler.handle(r),
        cfg.allocationTimeoutMs + cfg.plugTimeoutMs + 10_000,
      );
      await this.server.listen();
      this.log(`cni agent (${cfg.mode}) listening on ${cfg.socketPath}`);
    }
    this.every('node', NODE_PERIOD_MS, () => this.nodeTick());
    if (cfg.datapath.enabled && cfg.mode !== 'dpu-host') {
      try {
        this.startDatapathMonitor();
      } catch (e) {
        this.log(`datapath health: not started: ${(e as Error).message}`);
      }
    }
    if (cfg.metricsAddress) await this.startMetrics(cfg.metricsAddress);
  }

  private kubeClient(): KubeClient {
    const cfg = this.cfg;
    this.client ??=
      this.deps.kubeClient ??
      (cfg.kubeconfig
        ? KubeClient.fromKubeconfigFile(cfg.kubeconfig)
        : KubeClient.inCluster(this.deps.inCluster ?? {}));
    return this.client;
  }

  private startDatapathMonitor(): void {
    const cfg = this.cfg;
    const probe = new DatapathProbe(this.runner, {
      vswitchd: cfg.datapath.vswitchd,
      controller: cfg.datapath.controller,
      ovsDb: cfg.ovsDb,
      sbRemote: cfg.ovn.remote,
      bridge: cfg.bridge,
      timeoutSec: cfg.datapath.timeoutSec,
    });
    this.events = new EventRecorder(this.kubeClient(), {
      reportingController: 'ycloud.io/agent',
      reportingInstance: `ycloud-agent-${cfg.nodeName}`,
      logger: new Logger({ sink: (line) => this.log(line) }),
    });
    const metrics = new DatapathMetrics(this.metrics.registry);
    this.datapath = new DatapathMonitor(cfg.nodeName, probe, this.kubeClient(), this.events, metrics, this.log);
    this.every('datapath', cfg.datapath.periodMs, () => this.datapath!.tick());
  }

  /** Node-level upkeep: OVS bootstrap (re-applied after an OVS restart), node port, offload report. */
  private async nodeTick(): Promise<void> {
    await this.bootstrap?.reconcile();
    await this.nodePort?.reconcile();
    this.nodePorts?.resync();
    this.health?.tick();
    if (this.cfg.mode !== 'none') {
      const report = await buildOffloadReport(
        this.cfg.mode,
        this.sysfs,
        this.runner,
        this.cfg.offload.pf,
        this.pool?.usage(),
      );
      this.metrics.vfs.labels(report.pf ?? '', 'free').set(report.vfsFree);
      this.metrics.vfs.labels(report.pf ?? '', 'used').set(report.vfsUsed);
      const node = await this.kube.getNode(this.cfg.nodeName);
      const value = JSON.stringify(report);
      if (
        node &&
        (node.annotations[OFFLOAD_ANNOTATION] !== value || node.labels[OFFLOAD_MODE_LABEL] !== this.cfg.mode)
      ) {
        await this.kube.patchNode(this.cfg.nodeName, {
          annotations: { [OFFLOAD_ANNOTATION]: value },
          labels: { [OFFLOAD_MODE_LABEL]: this.cfg.mode },
        });
      }
    }
  }

  /** Runs `work` now and then every `periodMs`, never overlapping itself; errors are logged. */
  private every(name: string, periodMs: number, work: () => Promise<unknown>): void {
    const tick = (): void => {
      if (this.busy.has(name)) return;
      this.busy.add(name);
      void work()
        .catch((e: Error) => this.log(`${name}: ${e.message}`))
        .finally(() => this.busy.delete(name));
    };
    tick();
    this.timers.push(setInterval(tick, periodMs));
  }

  /** /metrics and the read-only diagnose routes (`ycloud diagnose` reaches them through the apiserver's proxy). */
  private async startMetrics(address: string): Promise<void> {
    const [host, port] = address.includes(':')
      ? [address.slice(0, address.lastIndexOf(':')), address.slice(address.lastIndexOf(':') + 1)]
      : ['127.0.0.1', address];
    this.metricsServer = new OpsServer({ host, port: Number(port), registry: this.metrics.registry });
    this.metricsServer.addHealthCheck('ping', () => true);
    // Kubelet's readiness probe: the node can plug pods (OVS bridge present, or the DPU healthy); says why not.
    this.metricsServer.addReadyCheck('plumbing', async () => {
      const reason = await this.notReadyReason();
      if (reason) throw new Error(reason);
    });
    registerAgentDiagnoseRoutes(
      this.metricsServer,
      {
        runner: this.runner,
        sbRemote: this.cfg.ovn.remote,
        ovsDb: this.cfg.ovsDb,
        // In smartnic / dpu mode the node route also reports whether the VIPs' flows are offloaded.
        mode: this.cfg.mode,
        vswitchdCtl: () => controlSocket(this.cfg.datapath.vswitchd, 'ovs-vswitchd'),
        node: this.cfg.nodeName,
        bridge: this.cfg.bridge,
        ...this.cfg.diagnose,
      },
      this.metrics.registry,
    );
    await this.metricsServer.listen();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await this.server?.close();
    await this.nodePorts?.stop();
    await this.staleFlows?.stop();
    await this.affinityRescue?.stop();
    await this.health?.stop();
    await this.events?.flush();
    await this.metricsServer?.close();
    for (let i = 0; i < 100 && this.busy.size; i++) await new Promise((r) => setTimeout(r, 50));
  }
}
