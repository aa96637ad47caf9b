/**
 * Programming latency, side by side (issue 14): one real kube-apiserver with N selector-less Services x M
 * hand-made endpoints; ycloud (controller + OVN central + one node's ovn-controller and ovs-vswitchd) and the
 * real kube-proxy in nftables / iptables / ipvs mode (each as root in its own network namespace) consume the
 * same objects in the same run. Change blocks are interleaved round-robin; while one system's block runs, the
 * other systems are frozen (SIGSTOP) so they neither steal its CPU nor see its changes late, and on thaw they
 * catch up before their own block is measured.
 *
 * ycloud is measured per change, to the node's flows: trigger -> NB commit (our NB monitor sees the LB) ->
 * northd wrote that nb_cfg to SB -> the chassis's ovn-controller reported it installed (Chassis_Private nb_cfg,
 * its own timestamp) -> NB hv_cfg. The controller appends an nb_cfg increment to each of its transactions
 * (NbCfgBarrier), so the nb_cfg of the update that carried an LB change identifies it downstream.
 * kube-proxy is measured by its own kubeproxy_network_programming_duration_seconds (the slices carry
 * endpoints.kubernetes.io/last-change-trigger-time) and sync durations, as deltas over its own blocks.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { VersionApi, type KubeConfig, type V1EndpointSlice, type V1Service } from '@kubernetes/client-node';
import { KubeClient, Resources, type KubeObject } from '@ycloud/k8s';
import {
  KubeControlPlane,
  OvnCentral,
  OvnNode,
  UNLIMITED_APISERVER_ARGS,
  createNode,
  installCrds,
  makeRunDir,
  netnsAdd,
  runIdOf,
  netnsDel,
  run,
  startKubeProxy,
  waitFor,
  type KubeProxy,
  type KubeProxyMode,
} from '@ycloud/testbed';
import { SbCfgWatch, nowMs } from './cfg-timeline';
import { ControllerProcess } from './controller-process';
import {
  daemonVersion,
  load1,
  loadAverages,
  machine,
  schemaVersion,
  type BenchMachine,
  type BenchVersions,
} from './environment';
import { histogramDelta, histogramQuantile, parseHistogram, parseScalar, type HistogramSnapshot } from './histogram';
import { NbWatch } from './nb-watch';
import { ProcessSet } from './process-usage';
import { forEachLimit, summarize, type LatencySummary } from './service-bench';

export type ProgrammingSystem = 'ycloud' | KubeProxyMode;
export const PROGRAMMING_SYSTEMS: readonly ProgrammingSystem[] = ['ycloud', 'nftables', 'iptables', 'ipvs'];

export interface ProgrammingBenchOptions {
  services: number;
  endpoints: number;
  /** EndpointSlice changes measured per system (default 200). */
  changes?: number;
  /** Blocks per system; each system gets changes/rounds per block (default 4). */
  rounds?: number;
  /** Changes per second within a block (default 20). */
  rate?: number;
  systems?: ProgrammingSystem[];
  parallelism?: number;
  log?: (line: string) => void;
  /**
   * Called with the report so far after every measured part (objects created, each cold start, each block, the
   * idle restart), so a caller can write figures as they come and a run that dies still leaves them.
   */
  onProgress?: (partial: ProgrammingBenchReport) => void;
  /** How long kube-proxy may leave its metrics endpoint unanswered before its mode is given up (120 s). */
  metricsPatienceMs?: number;
  /** Who bumps nb_cfg to mark ycloud's changes (default 'controller'; see NbCfgBarrierOwner). */
  barrier?: NbCfgBarrierOwner;
}

/**
 * Who increments NB_Global nb_cfg so a change can be followed to the node's flows. `controller`: the controller
 * itself, in each transaction it commits (config `northbound.nbCfgBarrier: true`, the default). `bench`: the
 * controller runs with `northbound.nbCfgBarrier: false` and never writes NB_Global; the benchmark bumps nb_cfg in
 * a transaction of its own as soon as it sees a change committed (as `ovn-nbctl --wait=hv sync` would), so the
 * figure to the node's flows includes the benchmark's reaction time and possibly one more northd pass: an upper
 * bound.
 */
export type NbCfgBarrierOwner = 'controller' | 'bench';
export const NB_CFG_BARRIER_OWNERS: readonly NbCfgBarrierOwner[] = ['controller', 'bench'];

/** Quantiles read from a Prometheus histogram (interpolated inside buckets). */
export interface HistogramSummary {
  count: number;
  meanMs: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface SystemResult {
  system: ProgrammingSystem;
  /** False when the system could not run here (e.g. no IPVS in this kernel); `error` says why. */
  ran: boolean;
  error?: string;
  /**
   * The system failed part-way (e.g. kube-proxy nftables stopped answering its metrics endpoint at 10k): the
   * phase, why, and the load then. Its figures up to that point are kept; the run went on with the others.
   */
  failure?: { phase: string; reason: string; load1: number };
  coldStart?: {
    /** Start of the process(es) -> every Service programmed into the node (ycloud: chassis nb_cfg). */
    ms: number;
    /** ycloud: the stages of the cold start (NB converged, SB written, chassis installed), ms from fork. */
    stages?: Record<string, number>;
    load1: number;
    /** CPU ms per process during the cold start. */
    cpuMs: Record<string, number>;
  };
  change?: {
    /** Trigger -> node flows, ms. ycloud: per change; kube-proxy: from its histogram. */
    total: LatencySummary | HistogramSummary;
    /** ycloud's stages per change, ms (each from the previous stage). */
    stages?: Record<string, LatencySummary>;
    /** ycloud: trigger -> NB hv_cfg (what the ycloud_network_programming_duration_seconds metric reads). */
    toHvCfg?: LatencySummary;
    /** ycloud: the controller's work-queue depth when thawed before each block, and how long it took to drain. */
    backlogAtThaw?: Array<{ queueDepth: number; drainMs: number }>;
    /** kube-proxy: its sync durations during its blocks. */
    syncs?: HistogramSummary;
    timedOut: number;
    /** CPU ms per process during this system's blocks, and per change. */
    cpuMs: Record<string, number>;
    cpuMsPerChange: number;
    load1: number[];
  };
  /** VmHWM per process at the end. */
  peakRssBytes: Record<string, number>;
}

export interface ProgrammingBenchReport {
  /** When the run started (names its files); `phase` is how far it got when this report was written. */
  date: string;
  complete: boolean;
  phase: string;
  revision: string;
  machine: BenchMachine;
  versions: BenchVersions;
  services: number;
  endpoints: number;
  changesPerSystem: number;
  rounds: number;
  rate: number;
  /** Who bumped nb_cfg for ycloud's per-change figures (absent in older reports: the controller). */
  barrier?: NbCfgBarrierOwner;
  /** How far NB nb_cfg rose while the benchmark watched, and how much of it was the benchmark's own bumps. */
  nbCfgRise?: { total: number; byBench: number };
  load: { start: number; end: number };
  /** `uptime`'s 1, 5 and 15 minute load averages at the start and when this report was written. */
  loadAverages: { start: number[]; end: number[] };
  create: { ms: number };
  systems: SystemResult[];
  /** ycloud controller restarted with nothing changed: its transactions, NB row changes and nb_cfg bumps. */
  idleRestart?: { writes: number; nbRowChanges: number; nbCfgBumps: number; reconciles: number };
}

const NAMESPACE = 'default';
const SERVICE_CIDR = '10.96.0.0/16';
const NODE = 'bench-node';
const NODE_IP = '10.200.0.1';
/** kube-proxy runs one proxier per IP family (the IPv6 one syncs too, with nothing to program): IPv4 only. */
const IPV4 = { ip_family: 'IPv4' };
const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
const PROBE_PORT = 'bench-node-probe';
/** A timer that does not keep the process alive (the races below leave theirs pending). */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

const serviceName = (i: number): string => `svc-${i}`;
const lbName = (i: number): string => `Service_${NAMESPACE}/${serviceName(i)}_TCP`;
/** Endpoint address j in 10.16.0.0/12 (base 16) or, for changes, 10.200.0.0/12 and up (base 200). */
const endpointIp = (j: number, base = 16): string => `10.${base + (j >> 16)}.${(j >> 8) & 255}.${j & 255}`;
const backendsOf = (ips: string[]): string => ips.map((ip) => `${ip}:8080`).join(',');

function sliceEndpoints(ips: string[]): V1EndpointSlice['endpoints'] {
  return ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } }));
}

function hsummary(h: HistogramSnapshot, scale = 1000): HistogramSummary {
  return {
    count: h.count,
    meanMs: h.count ? (h.sum / h.count) * scale : NaN,
    p50: histogramQuantile(h, 0.5) * scale,
    p90: histogramQuantile(h, 0.9) * scale,
    p99: histogramQuantile(h, 0.99) * scale,
  };
}

interface KubeProxyRun {
  mode: KubeProxyMode;
  netns: string;
  proxy: KubeProxy;
}

/** Runs the whole benchmark and tears everything down. */
export async function runProgrammingBench(opts: ProgrammingBenchOptions): Promise<ProgrammingBenchReport> {
  const bench = new ProgrammingBenchRun(opts);
  try {
    return await bench.run();
  } finally {
    await bench.teardown();
  }
}

/** One run's state: the processes, the watches, the objects' current endpoints and the results so far. */
class ProgrammingBenchRun {
  private readonly log: (line: string) => void;
  private readonly N: number;
  private readonly M: number;
  private readonly rounds: number;
  private readonly perBlock: number;
  private readonly rate: number;
  private readonly systems: ProgrammingSystem[];
  private readonly loadStart = load1();
  private readonly loadAveragesStart = loadAverages();
  private readonly startedAt = new Date().toISOString();
  private readonly onProgress?: (partial: ProgrammingBenchReport) => void;
  private readonly metricsPatienceMs: number;
  private readonly barrier: NbCfgBarrierOwner;
  private versionsInfo: BenchVersions = { node: process.version };
  private revision = 'unknown';
  private createMs = NaN;
  private idle?: ProgrammingBenchReport['idleRestart'];
  private nbCfgAtWatch = 0;
  /**
   * A test-bed run directory (`/tmp/ycn-<id>` with an owner file): other engineers' `cleanupStale` kills the
   * processes and deletes the namespaces of `ycn-<id>-*` runs whose directory or owner is gone.
   */
  private workDir = '';
  private runId = '';
  private readonly ps = new ProcessSet();
  private readonly results = new Map<ProgrammingSystem, SystemResult>();
  private readonly procsOf = new Map<ProgrammingSystem, string[]>();
  private readonly proxies: KubeProxyRun[] = [];
  private readonly netnses: string[] = [];
  private k8s?: KubeControlPlane;
  private central?: OvnCentral;
  private node?: OvnNode;
  private watch?: NbWatch;
  private sbWatch?: SbCfgWatch;
  private controller?: ControllerProcess;
  private kube?: KubeClient;
  private vips: string[] = [];
  private ips: string[][] = [];
  private changeNo = 0;
  private stride = 1;
  private readonly ycloudSamples: Array<Record<string, number>> = [];
  private ycloudTimedOut = 0;
  private readonly ycloudBacklog: Array<{ queueDepth: number; drainMs: number }> = [];
  /** kube-proxy's programming-latency count at its start (observations of changes made before it are none). */
  private readonly kpBaseline = new Map<KubeProxyMode, number>();
  private readonly kpDelta = new Map<
    KubeProxyMode,
    { prog?: HistogramSnapshot; sync?: HistogramSnapshot; timedOut: number }
  >();
  private readonly blockCpu = new Map<ProgrammingSystem, Record<string, number>>();
  private readonly blockLoads = new Map<ProgrammingSystem, number[]>();

  constructor(opts: ProgrammingBenchOptions) {
    this.log = opts.log ?? (() => undefined);
    this.N = opts.services;
    this.M = opts.endpoints;
    this.rounds = opts.rounds ?? 4;
    this.perBlock = Math.ceil((opts.changes ?? 200) / this.rounds);
    this.rate = opts.rate ?? 20;
    this.systems = opts.systems ?? [...PROGRAMMING_SYSTEMS];
    this.parallelism = opts.parallelism ?? 32;
    this.onProgress = opts.onProgress;
    this.metricsPatienceMs = opts.metricsPatienceMs ?? 120_000;
    this.barrier = opts.barrier ?? 'controller';
  }
  private readonly parallelism: number;

  private get controllerConfig() {
    return {
      kubeconfig: this.k8s!.kubeconfigPath,
      nbRemote: this.central!.nbRemote,
      serviceCIDRs: [SERVICE_CIDR],
      nbCfgBarrier: this.barrier === 'controller',
    };
  }

  async run(): Promise<ProgrammingBenchReport> {
    this.workDir = await makeRunDir();
    this.runId = runIdOf(this.workDir);
    this.revision = await gitRevision();
    await this.startInfrastructure();
    this.versionsInfo = await this.versions();
    if (this.systems.includes('ycloud')) await this.prepareYcloudNode();
    this.createMs = await this.createObjects();
    this.watch = await NbWatch.connect(this.central!.nbRemote, { nbGlobal: true });
    this.sbWatch = await SbCfgWatch.connect(this.central!.sbRemote, NODE);
    this.nbCfgAtWatch = this.watch.nbCfg();
    for (let i = 0; i < this.N; i++)
      this.watch.expect(lbName(i), { vip: this.vips[i], backends: backendsOf(this.ips[i]) });
    this.checkpoint('objects created');

    if (this.systems.includes('ycloud')) {
      await this.guard('ycloud', 'cold start', () => this.coldStartYcloud());
      this.checkpoint('ycloud cold start');
    }
    for (const mode of this.systems.filter((x): x is KubeProxyMode => x !== 'ycloud')) {
      await this.guard(mode, 'cold start', () => this.coldStartKubeProxy(mode));
      this.checkpoint(`kube-proxy ${mode} cold start`);
    }

    const active = this.systems.filter((s) => this.alive(s));
    this.stride = Math.max(1, Math.floor(this.N / Math.max(1, this.perBlock * this.rounds * active.length)));
    for (let r = 0; r < this.rounds; r++) {
      for (let j = 0; j < active.length; j++) {
        const s = active[(j + r) % active.length];
        if (!this.alive(s)) continue;
        await this.guard(s, `round ${r + 1}/${this.rounds}`, () => this.block(s, r));
        this.checkpoint(`round ${r + 1}/${this.rounds}: ${s}`);
      }
    }
    for (const s of active) if (this.alive(s)) this.freeze(s, 'SIGCONT');
    if (this.controller && this.alive('ycloud')) {
      await this.guard('ycloud', 'idle restart', async () => {
        this.idle = await this.idleRestart();
      });
    }
    return this.report('complete', true);
  }

  /** A system that ran and has not failed since. */
  private alive(s: ProgrammingSystem): boolean {
    const r = this.results.get(s);
    return !!r?.ran && !r.failure;
  }

  /**
   * Runs one part of one system's measurement; if it throws (a kube-proxy that stops answering its metrics, a
   * process that died), the failure is recorded for that system, its processes are stopped so they no longer take
   * CPU, and the run goes on with the other systems.
   */
  private async guard(s: ProgrammingSystem, phase: string, part: () => Promise<void>): Promise<void> {
    try {
      await part();
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0].slice(0, 300);
      this.log(`${s} failed in ${phase}: ${reason}; going on with the other systems`);
      const res = this.results.get(s) ?? { system: s, ran: false, error: reason, peakRssBytes: {} };
      if (res.ran) res.failure = { phase, reason, load1: load1() };
      this.results.set(s, res);
      await this.stopSystem(s);
    }
  }

  /** Stops a failed system's process(es) (thawed first, so they can exit). */
  private async stopSystem(s: ProgrammingSystem): Promise<void> {
    this.ps.mark('stopped');
    const res = this.results.get(s);
    if (res) res.peakRssBytes = this.ps.peakRss(this.procsOf.get(s) ?? []);
    if (s === 'ycloud') {
      if (this.controller) {
        sendSignal(this.controller.pid, 'SIGCONT');
        this.controller.kill();
      }
      return;
    }
    const kp = this.proxies.find((p) => p.mode === s);
    if (!kp) return;
    sendSignal(kp.proxy.pids[kp.proxy.pids.length - 1], 'SIGCONT');
    await kp.proxy.stop().catch(() => undefined);
    // Its iptables-restore / nft children outlive it (a 10k first sync ran 8 minutes here): the namespace is ours.
    await killNetnsProcesses(kp.netns);
  }

  /** Hands the report so far to `onProgress` (a failing writer is logged, never ends the run). */
  private checkpoint(phase: string): void {
    if (!this.onProgress) return;
    try {
      this.onProgress(this.report(phase, false));
    } catch (err) {
      this.log(`could not write the figures so far (${phase}): ${(err as Error).message}`);
    }
  }

  /** The figures measured so far (all of them when `complete`). */
  private report(phase: string, complete: boolean): ProgrammingBenchReport {
    this.ps.mark('report');
    for (const s of this.systems) {
      const res = this.results.get(s);
      if (!res?.ran) continue;
      this.summarizeSystem(s);
      // A stopped system keeps the peak read when it was stopped.
      if (!res.failure) res.peakRssBytes = this.ps.peakRss(this.procsOf.get(s) ?? []);
    }
    return {
      date: this.startedAt,
      complete,
      phase,
      revision: this.revision,
      machine: machine(),
      versions: this.versionsInfo,
      services: this.N,
      endpoints: this.M,
      changesPerSystem: this.perBlock * this.rounds,
      rounds: this.rounds,
      rate: this.rate,
      barrier: this.barrier,
      nbCfgRise: this.watch ? { total: this.watch.nbCfg() - this.nbCfgAtWatch, byBench: this.watch.bumps } : undefined,
      load: { start: this.loadStart, end: load1() },
      loadAverages: { start: this.loadAveragesStart, end: loadAverages() },
      create: { ms: this.createMs },
      systems: this.systems.map(
        (s) =>
          this.results.get(s) ?? {
            system: s,
            ran: false,
            error: complete ? 'not run' : 'not measured yet',
            peakRssBytes: {},
          },
      ),
      idleRestart: this.idle,
    };
  }

  private async startInfrastructure(): Promise<void> {
    this.log('starting kube-apiserver, OVN central and one node (ovs-vswitchd + ovn-controller)');
    [this.k8s, this.central] = await Promise.all([
      KubeControlPlane.start({
        controllers: [],
        serviceClusterIpRange: SERVICE_CIDR,
        extraApiserverArgs: [...UNLIMITED_APISERVER_ARGS],
      }),
      OvnCentral.start({ dir: this.workDir }),
    ]);
    this.kube = KubeClient.fromKubeconfigFile(this.k8s.kubeconfigPath);
    await installCrds(this.kube);
    this.node = await OvnNode.start({
      name: NODE,
      sbRemote: this.central.sbRemote,
      runDir: this.workDir,
      runId: this.runId,
    });
    await createNode(this.k8s.kubeConfig, NODE, NODE_IP);
    const pidFile = (f: string): number | undefined => {
      try {
        return Number(readFileSync(path.join(this.central!.dir, f), 'utf8').trim()) || undefined;
      } catch {
        return undefined;
      }
    };
    const [confPid, vswitchdPid, ovnControllerPid] = this.node.pids;
    const ovnProcs: Array<[string, number | undefined]> = [
      ['ovsdb-server NB', pidFile('nb.pid')],
      ['ovsdb-server SB', pidFile('sb.pid')],
      ['ovn-northd', this.central.northdPid],
      ['ovn-controller', ovnControllerPid],
      ['ovs-vswitchd', vswitchdPid],
      ['ovsdb-server node', confPid],
    ];
    for (const [n, pid] of ovnProcs) this.ps.add(n, pid);
    this.procsOf.set('ycloud', ['ycloud controller', ...ovnProcs.map(([n]) => n)]);
  }

  /**
   * The node joined before the Services exist: the controller builds the topology, and a port bound on this
   * chassis puts the pod switch (which carries the VPC's LB group) into the node's local datapaths.
   */
  private async prepareYcloudNode(): Promise<void> {
    this.log('ycloud: topology and a port bound on the node (before the Services exist)');
    const central = this.central!;
    const c0 = await ControllerProcess.start({
      config: this.controllerConfig,
      logFile: path.join(this.workDir, 'controller-0.log'),
    });
    try {
      const ls = await waitFor('a pod switch with the VPC load balancer group', async () => {
        const out = await central.nbctl('--bare', '--columns=name,load_balancer_group', 'list', 'Logical_Switch');
        const blocks = out.split('\n\n').map((b) => b.split('\n').filter(Boolean));
        return blocks.find((b) => b.length > 1)?.[0];
      });
      await central.nbctl('lsp-add', ls, PROBE_PORT, '--', 'lsp-set-addresses', PROBE_PORT, '0a:58:0a:fa:00:02');
      await this.node!.plugPod({
        netns: 'probe',
        ifaceId: PROBE_PORT,
        mac: '0a:58:0a:fa:00:02',
        ips: ['10.250.0.2/24'],
      });
    } finally {
      await c0.stop();
    }
  }

  private async createObjects(): Promise<number> {
    const { N, M } = this;
    const kube = this.kube!;
    this.log(`creating ${N} Services and ${N} EndpointSlices x ${M} endpoints`);
    this.vips = new Array<string>(N);
    this.ips = new Array<string[]>(N);
    const t = performance.now();
    await forEachLimit(N, this.parallelism, async (i) => {
      const svc = await kube.create<V1Service & KubeObject>(Resources.services, NAMESPACE, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: serviceName(i), namespace: NAMESPACE },
        spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 as never }] },
      });
      this.vips[i] = `${svc.spec!.clusterIP}:80`;
      this.ips[i] = Array.from({ length: M }, (_, k) => endpointIp(i * M + k));
      await kube.create(Resources.endpointSlices, NAMESPACE, <V1EndpointSlice & KubeObject>{
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: `${serviceName(i)}-bench`,
          namespace: NAMESPACE,
          labels: { 'kubernetes.io/service-name': serviceName(i) },
          annotations: { [TRIGGER_TIME]: new Date().toISOString() },
        },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: sliceEndpoints(this.ips[i]),
      });
      if ((i + 1) % 2000 === 0) this.log(`  created ${i + 1}`);
    });
    const ms = performance.now() - t;
    this.log(`created in ${(ms / 1000).toFixed(1)} s`);
    return ms;
  }

  private freeze(s: ProgrammingSystem, sig: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.results.get(s)?.failure) return;
    const pids =
      s === 'ycloud'
        ? [this.controller?.pid ?? -1]
        : (this.proxies.find((p) => p.mode === s)?.proxy.pids.slice(-1) ?? []);
    for (const pid of pids) {
      if (pid <= 0) continue;
      try {
        process.kill(pid, sig);
      } catch (err) {
        throw new Error(`${s} (pid ${pid}) is gone: ${(err as Error).message}`);
      }
    }
  }

  private async coldStartYcloud(): Promise<void> {
    const w = this.watch!;
    const sbw = this.sbWatch!;
    const loadCold = load1();
    this.log(`ycloud cold start (load ${loadCold})`);
    this.ps.mark('ycloud-cold-0');
    const t0 = nowMs();
    const allMatched = w.waitForAll();
    this.controller = await ControllerProcess.start({
      config: this.controllerConfig,
      logFile: path.join(this.workDir, 'controller-1.log'),
    });
    this.ps.add('ycloud controller', this.controller.pid);
    this.results.set('ycloud', { system: 'ycloud', ran: true, peakRssBytes: {} });
    const tNb = performance.timeOrigin + (await allMatched);
    // Everything the controller wrote for the cold start, then the node's ovn-controller has it all.
    let s = await this.controller.stats();
    while (s.queueDepth > 0) {
      await sleep(100);
      s = await this.controller.stats();
    }
    const cfg = this.barrier === 'bench' ? await w.bumpNbCfg() : w.nbCfg();
    const tSb = await sbw.sb.reach(cfg, 600_000);
    const tInstalled = await sbw.installed.reach(cfg, 600_000);
    this.ps.mark('ycloud-cold-1');
    if (tInstalled === undefined) throw new Error(`ycloud cold start: the chassis never reported nb_cfg ${cfg}`);
    s = await this.controller.stats();
    const cpu = {
      ...this.ps.cpuBetween('ycloud-cold-0', 'ycloud-cold-1', this.procsOf.get('ycloud')!.slice(1)),
      'ycloud controller': s.cpuUserMs + s.cpuSystemMs,
    };
    this.results.set('ycloud', {
      system: 'ycloud',
      ran: true,
      coldStart: {
        ms: tInstalled - t0,
        stages: {
          controllerReady: this.controller.bootMs,
          nbConverged: tNb - t0,
          sbWritten: (tSb ?? NaN) - t0,
          chassisInstalled: tInstalled - t0,
        },
        load1: loadCold,
        cpuMs: cpu,
      },
      peakRssBytes: {},
    });
    this.log(
      `ycloud programmed the node in ${((tInstalled - t0) / 1000).toFixed(2)} s (NB ${((tNb - t0) / 1000).toFixed(2)} s)`,
    );
    this.freeze('ycloud', 'SIGSTOP');
  }

  private async coldStartKubeProxy(mode: KubeProxyMode): Promise<void> {
    const netns = `ycn-${this.runId}-kp-${mode}`;
    await netnsAdd(netns);
    this.netnses.push(netns);
    const loadCold = load1();
    this.log(`kube-proxy ${mode} cold start (load ${loadCold})`);
    const t0 = nowMs();
    let proxy: KubeProxy;
    try {
      proxy = await startKubeProxy({
        kubeconfig: this.k8s!.kubeconfigPath,
        mode,
        netns,
        hostname: NODE,
        dir: this.workDir,
        readyTimeoutMs: 600_000,
      });
    } catch (err) {
      this.log(`kube-proxy ${mode} could not run: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
      this.results.set(mode, { system: mode, ran: false, error: firstReason(err as Error), peakRssBytes: {} });
      return;
    }
    const tReady = nowMs();
    this.proxies.push({ mode, netns, proxy });
    const name = `kube-proxy ${mode}`;
    const pid = proxy.pids[proxy.pids.length - 1];
    this.ps.add(name, pid);
    this.procsOf.set(mode, [name]);
    // It runs: a first sync that never comes is this mode's failure, with its figures so far.
    this.results.set(mode, { system: mode, ran: true, peakRssBytes: {} });
    // /healthz answers 200 before the first sync (nothing is queued yet): programmed means its first sync is
    // done. That first sync is a full one (kube-proxy does not sync before its informers have synced).
    let text = '';
    let syncs = parseHistogram('', 'kubeproxy_sync_proxy_rules_duration_seconds');
    await waitFor(
      `kube-proxy ${mode} first sync`,
      async () => {
        text = await proxy.metrics();
        syncs = parseHistogram(text, 'kubeproxy_sync_proxy_rules_duration_seconds', IPV4);
        return syncs.count >= 1;
      },
      { timeoutMs: 600_000, intervalMs: 100 },
    );
    this.kpBaseline.set(mode, parseHistogram(text, 'kubeproxy_network_programming_duration_seconds', IPV4).count);
    const lastSync = parseScalar(text, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', IPV4) * 1000;
    // With a single sync so far its end is exact; otherwise our poll (100 ms steps) bounds it.
    const end = syncs.count === 1 && Number.isFinite(lastSync) ? lastSync : nowMs();
    this.results.set(mode, {
      system: mode,
      ran: true,
      coldStart: {
        ms: end - t0,
        stages: { healthz: tReady - t0, firstSyncDuration: syncs.count === 1 ? syncs.sum * 1000 : NaN },
        load1: loadCold,
        // CPU since its start is all cold start (it was not running before).
        cpuMs: { [name]: cpuSinceStart(pid) },
      },
      peakRssBytes: {},
    });
    this.log(`kube-proxy ${mode} programmed the node in ${((end - t0) / 1000).toFixed(2)} s`);
    this.freeze(mode, 'SIGSTOP');
  }

  /** Thawed, a system first catches up with the changes made while it was frozen. */
  private async settle(s: ProgrammingSystem): Promise<void> {
    if (s === 'ycloud') {
      // Thawed after a long freeze, the controller finds its periodic resync overdue (every key queued at once)
      // and perhaps watches to re-list: its queue is drained first (and its depth recorded), or the block's
      // changes would wait behind it.
      const t0 = nowMs();
      let st = await this.controller!.stats();
      const depth = st.queueDepth;
      while (st.queueDepth > 0 && nowMs() - t0 < 300_000) {
        await sleep(200);
        st = await this.controller!.stats();
      }
      this.ycloudBacklog.push({ queueDepth: depth, drainMs: nowMs() - t0 });
      await Promise.race([this.watch!.waitForAll(), sleep(300_000)]);
      const cfg = this.barrier === 'bench' ? await this.watch!.bumpNbCfg() : this.watch!.nbCfg();
      await this.sbWatch!.installed.reach(cfg, 300_000);
      return;
    }
    // kube-proxy observes each change's trigger time exactly once, at the sync that programs it: caught up means
    // it has observed every change made so far (those made while it was frozen carry the freeze in their
    // latency, which is why they must be observed before this block's snapshot).
    await this.awaitObserved(s, this.changeNo, 600_000);
  }

  /** Waits until kube-proxy `s` has observed `changes` trigger times since it started; returns its snapshot. */
  private async awaitObserved(
    s: KubeProxyMode,
    changes: number,
    timeoutMs: number,
  ): Promise<{ prog: HistogramSnapshot; sync: HistogramSnapshot }> {
    const want = (this.kpBaseline.get(s) ?? 0) + changes;
    const deadline = Date.now() + timeoutMs;
    let snap = await this.kpSnapshot(s);
    while (snap.prog.count < want && Date.now() < deadline) {
      await sleep(250);
      snap = await this.kpSnapshot(s);
    }
    return snap;
  }

  private async kpSnapshot(mode: KubeProxyMode): Promise<{ prog: HistogramSnapshot; sync: HistogramSnapshot }> {
    const kp = this.proxies.find((p) => p.mode === mode)!;
    // A kube-proxy busy in a long sync on a loaded machine can miss the 2 s metrics timeout: retry for a while.
    const t = await waitFor(`kube-proxy ${mode} metrics`, () => kp.proxy.metrics(), {
      timeoutMs: this.metricsPatienceMs,
      intervalMs: 500,
    }).catch((err: Error) => {
      const why = err.message.replace(/^timed out after \d+ ms waiting for [^:]*:?\s*/, '');
      throw new Error(
        `kube-proxy ${mode} stopped answering its metrics endpoint for ${this.metricsPatienceMs / 1000} s` +
          (why ? ` (${why})` : ''),
      );
    });
    return {
      prog: parseHistogram(t, 'kubeproxy_network_programming_duration_seconds', IPV4),
      sync: parseHistogram(t, 'kubeproxy_sync_proxy_rules_duration_seconds', IPV4),
    };
  }

  /** One block of changes for system `s`, the others frozen. */
  private async block(s: ProgrammingSystem, round: number): Promise<void> {
    this.freeze(s, 'SIGCONT');
    await this.settle(s);
    const before = s === 'ycloud' ? undefined : await this.kpSnapshot(s);
    const loadBlock = load1();
    (this.blockLoads.get(s) ?? this.blockLoads.set(s, []).get(s)!).push(loadBlock);
    this.log(`round ${round + 1}/${this.rounds}: ${s}, ${this.perBlock} changes (load ${loadBlock})`);
    this.ps.mark('block-0');
    const pending: Promise<void>[] = [];
    const tBlock = performance.now();
    for (let c = 0; c < this.perBlock; c++) {
      const wait = tBlock + (c * 1000) / this.rate - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(this.change(s === 'ycloud'));
    }
    await Promise.all(pending);
    if (s !== 'ycloud') await this.collectKubeProxy(s, before!);
    else await this.sbWatch!.installed.reach(this.watch!.nbCfg(), 120_000);
    this.ps.mark('block-1');
    const acc = this.blockCpu.get(s) ?? {};
    for (const [n, v] of Object.entries(this.ps.cpuBetween('block-0', 'block-1', this.procsOf.get(s))))
      acc[n] = (acc[n] ?? 0) + v;
    this.blockCpu.set(s, acc);
    this.freeze(s, 'SIGSTOP');
  }

  /** One EndpointSlice change (a new last endpoint), stamped with its trigger time; ycloud's stages when `trace`. */
  private async change(trace: boolean): Promise<void> {
    const w = this.watch!;
    const sbw = this.sbWatch!;
    const i = (this.changeNo++ * this.stride) % this.N;
    const next = [...this.ips[i].slice(0, this.M - 1), endpointIp(this.changeNo, 200)];
    this.ips[i] = next;
    w.expect(lbName(i), { vip: this.vips[i], backends: backendsOf(next) });
    const seen = trace ? w.waitFor(lbName(i)) : undefined;
    const tTrigger = nowMs();
    await this.kube!.mergePatch(Resources.endpointSlices, NAMESPACE, `${serviceName(i)}-bench`, {
      metadata: { annotations: { [TRIGGER_TIME]: new Date(tTrigger).toISOString() } },
      endpoints: sliceEndpoints(next),
    });
    if (!seen) return;
    const nb = await Promise.race([seen, sleep(120_000).then(() => -1)]);
    if (nb < 0) {
      this.ycloudTimedOut++;
      return;
    }
    const tNb = performance.timeOrigin + nb;
    const cfg = this.barrier === 'bench' ? await w.bumpNbCfg() : (w.cfgOfMatch(lbName(i)) ?? w.nbCfg());
    const [tSb, tInst, tSeen, tHv] = await Promise.all([
      sbw.sb.reach(cfg, 120_000),
      sbw.installed.reach(cfg, 120_000),
      sbw.seen.reach(cfg, 120_000),
      w.hvCfg.reach(cfg, 120_000),
    ]);
    if (tSb === undefined || tInst === undefined || tSeen === undefined) {
      this.ycloudTimedOut++;
      return;
    }
    // The total ends at ovn-controller's own timestamp; the stages are all our monitors' receipt times, so
    // they add up without mixing clocks.
    this.ycloudSamples.push({
      total: tInst - tTrigger,
      nbCommit: tNb - tTrigger,
      northdToSb: tSb - tNb,
      ovnControllerInstall: tSeen - tSb,
      hvCfg: tHv === undefined ? NaN : tHv - tTrigger,
    });
  }

  /** kube-proxy observes each trigger time once, at the sync that programs it: wait for them all, keep the delta. */
  private async collectKubeProxy(
    s: KubeProxyMode,
    before: { prog: HistogramSnapshot; sync: HistogramSnapshot },
  ): Promise<void> {
    const after = await this.awaitObserved(s, this.changeNo, 300_000);
    const acc = this.kpDelta.get(s) ?? { timedOut: 0 };
    const dProg = histogramDelta(after.prog, before.prog);
    const dSync = histogramDelta(after.sync, before.sync);
    acc.timedOut += Math.max(0, this.perBlock - dProg.count);
    acc.prog = acc.prog ? addHistograms(acc.prog, dProg) : dProg;
    acc.sync = acc.sync ? addHistograms(acc.sync, dSync) : dSync;
    this.kpDelta.set(s, acc);
  }

  private summarizeSystem(s: ProgrammingSystem): void {
    const res = this.results.get(s)!;
    const cpu = this.blockCpu.get(s) ?? {};
    const cpuTotal = Object.values(cpu).reduce((a, b) => a + b, 0);
    const load = this.blockLoads.get(s) ?? [];
    if (s === 'ycloud') {
      if (!this.ycloudSamples.length && !this.ycloudTimedOut) return;
      const col = (k: string): number[] => this.ycloudSamples.map((x) => x[k]).filter((x) => Number.isFinite(x));
      res.change = {
        total: summarize(col('total')),
        stages: {
          nbCommit: summarize(col('nbCommit')),
          northdToSb: summarize(col('northdToSb')),
          ovnControllerInstall: summarize(col('ovnControllerInstall')),
        },
        toHvCfg: summarize(col('hvCfg')),
        timedOut: this.ycloudTimedOut,
        cpuMs: cpu,
        cpuMsPerChange: cpuTotal / Math.max(1, this.ycloudSamples.length),
        backlogAtThaw: [...this.ycloudBacklog],
        load1: load,
      };
      return;
    }
    const d = this.kpDelta.get(s);
    if (!d?.prog || !d.sync) return;
    res.change = {
      total: hsummary(d.prog!),
      syncs: hsummary(d.sync!),
      timedOut: d.timedOut,
      cpuMs: cpu,
      cpuMsPerChange: cpuTotal / Math.max(1, d.prog?.count ?? 0),
      load1: load,
    };
  }

  /** The controller restarted with nothing changed: nothing may be written (not even an nb_cfg bump). */
  private async idleRestart(): Promise<ProgrammingBenchReport['idleRestart']> {
    const w = this.watch!;
    this.log('ycloud idle restart');
    await this.controller!.stop();
    const changesBefore = w.totalChanges();
    const cfgBefore = w.nbCfg();
    const c2 = await ControllerProcess.start({
      config: this.controllerConfig,
      logFile: path.join(this.workDir, 'controller-2.log'),
    });
    this.controller = c2;
    let st = await c2.stats();
    const deadline = performance.now() + 300_000;
    while ((st.reconciles < this.N || st.queueDepth > 0) && performance.now() < deadline) {
      await sleep(200);
      st = await c2.stats();
    }
    await sleep(2000);
    st = await c2.stats();
    const idle = {
      writes: st.writes,
      nbRowChanges: w.totalChanges() - changesBefore,
      nbCfgBumps: w.nbCfg() - cfgBefore,
      reconciles: st.reconciles,
    };
    this.log(
      `idle restart: ${st.writes} transactions, ${idle.nbRowChanges} NB row changes, ${idle.nbCfgBumps} nb_cfg bumps`,
    );
    return idle;
  }

  private async versions(): Promise<BenchVersions> {
    const node = this.node!;
    const central = this.central!;
    const first = (t: string): string | undefined => t.split('\n')[0] || undefined;
    return {
      ovnNorthd: await daemonVersion('ovn-appctl', central.northdCtl),
      ovnController: first(await node.appctl('controller', 'version').catch(() => '')),
      ovsVswitchd: first(await node.appctl('vswitchd', 'version').catch(() => '')),
      nbSchema: await schemaVersion(central.nbRemote, 'OVN_Northbound'),
      sbSchema: await schemaVersion(central.sbRemote, 'OVN_Southbound'),
      kubernetes: await kubeVersion(this.k8s!.kubeConfig),
      node: process.version,
    };
  }

  async teardown(): Promise<void> {
    for (const p of this.proxies) {
      sendSignal(p.proxy.pids[p.proxy.pids.length - 1], 'SIGCONT');
      await p.proxy.stop().catch(() => undefined);
    }
    if (this.controller) {
      sendSignal(this.controller.pid, 'SIGCONT');
      this.controller.kill();
    }
    for (const n of this.netnses) {
      await killNetnsProcesses(n);
      await netnsDel(n).catch(() => undefined);
    }
    await this.watch?.close().catch(() => undefined);
    await this.sbWatch?.close().catch(() => undefined);
    await this.node?.stop().catch(() => undefined);
    await this.central?.stop().catch(() => undefined);
    await this.k8s?.stop().catch(() => undefined);
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** SIGKILLs what still runs in a namespace this benchmark made (kube-proxy's rule-loading children). */
async function killNetnsProcesses(netns: string): Promise<void> {
  const r = await run('ip', ['netns', 'pids', netns], { allowFailure: true });
  for (const pid of r.stdout.split('\n').filter(Boolean).map(Number)) sendSignal(pid, 'SIGKILL');
}

/** Signals a process we started, if it is still there. */
function sendSignal(pid: number | undefined, sig: NodeJS.Signals): void {
  try {
    if (pid && pid > 0) process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function addHistograms(a: HistogramSnapshot, b: HistogramSnapshot): HistogramSnapshot {
  const m = new Map(b.buckets);
  return {
    buckets: a.buckets.map(([le, c]) => [le, c + (m.get(le) ?? 0)]),
    sum: a.sum + b.sum,
    count: a.count + b.count,
  };
}

function cpuSinceStart(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return NaN;
  }
}

/** The line of a start failure that says why (kube-proxy's own error if its log shows one). */
export function firstReason(err: Error): string {
  const lines = err.message.split('\n');
  const why = lines.find((l) => /can't use|Can't|not available|failed to|error/i.test(l) && !/timed out/.test(l));
  return (why ?? lines[0]).trim().slice(0, 300);
}

async function kubeVersion(kc: KubeConfig): Promise<string | undefined> {
  try {
    return (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
  } catch {
    return undefined;
  }
}

/** The checkout's short commit, `+dirty` when libs/ or apps/ have uncommitted changes. */
export async function gitRevision(): Promise<string> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = promisify(execFile);
  const root = path.resolve(__dirname, '../../..');
  try {
    const head = (await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })).stdout.trim();
    const dirty = (await run('git', ['status', '--porcelain', '--', 'libs', 'apps'], { cwd: root })).stdout.trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}
