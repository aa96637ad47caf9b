/**
 * Service benchmark (issue 4): N selector-less Services with M endpoints each in a real kube-apiserver, a real
 * OVN NB (with ovn-northd, or a bare NB ovsdb-server), the controller as its own process. Measures cold-start
 * convergence, EndpointSlice-change-to-NB latency, controller RSS, NB transactions, and writes on an idle restart.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL } from '@ycloud/api';
import { KubeClient, Resources, type KubeObject } from '@ycloud/k8s';
import {
  KubeControlPlane,
  NB_SCHEMA,
  OvnCentral,
  OvnRelease,
  UNLIMITED_APISERVER_ARGS,
  startOvsdbServer,
  installCrds,
  type OvsdbServerHandle,
} from '@ycloud/testbed';
import { ControllerProcess } from './controller-process';
import type { RunnerStats } from './controller-runner';
import { topSelfTime, type ProfileEntry } from './cpu-profile';
import { NbWatch, normalizeBackends } from './nb-watch';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, '../../..');
const NAMESPACE = 'default';
const SERVICE_CIDR = '10.96.0.0/16';

export interface ServiceBenchOptions {
  services: number;
  endpoints: number;
  /** EndpointSlice changes in the latency phase, and their rate per second. */
  changes?: number;
  changeRate?: number;
  /** Parallel requests while creating the objects. */
  parallelism?: number;
  /** `central`: NB+SB+ovn-northd (realistic); `bare`: one NB ovsdb-server. */
  nb?: 'central' | 'bare';
  /** Profile the controller process (--cpu-prof) during the cold start and the change phase. */
  profile?: boolean;
  workers?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ServiceBenchReport {
  date: string;
  /** `git describe`-like revision the run used; "+dirty" when controller sources had uncommitted changes. */
  revision: string;
  services: number;
  endpoints: number;
  nb: 'central' | 'bare';
  /** The OVN / Open vSwitch release of the NB (and northd) it ran against: 'OVN 25.03.0 / OVS 3.5.0'. */
  ovn?: string;
  cpus: number;
  /** 1-minute load average at start, before the cold start, and at the end. */
  load: { start: number; coldStart: number; end: number };
  create: { ms: number; perSecond: number };
  coldStart: {
    /** fork -> every LB matches in NB (the headline figure). */
    convergedMs: number;
    /** fork -> ControllerManager.start() resolved (module load, NB dump, informer lists, topology). */
    readyMs: number;
    /** The part inside ControllerManager.start(). */
    startMs: number;
    /** NB converged -> ovn-northd caught up (`ovn-nbctl --wait=sb sync`); central only. */
    northdCatchUpMs?: number;
    /** LBs found right by `ovn-nbctl list Load_Balancer`, independently of our client. */
    verifiedByNbctl: number;
    writes: number;
    operations: number;
    controllerCpuMs: number;
    /** CPU of the NB ovsdb-server from fork to converged, and of ovn-northd from fork to caught up (central). */
    nbServerCpuMs?: number;
    northdCpuMs?: number;
  };
  change: {
    /** apiserver write completion -> NB update showing the change (seen by our NB monitor). */
    endToEnd: LatencySummary;
    /** The controller's own commit latency (ApplyRecord.latencyMs) for these changes. */
    apply: LatencySummary;
    writes: number;
    /** Changes whose NB update arrived before the apiserver's write reply (counted as 0 ms). */
    beforeReply: number;
    timedOut: number;
  };
  rssPeakBytes: number;
  idleRestart: {
    readyMs: number;
    /** Controller-side committed transactions during the restart. */
    writes: number;
    /** NB row changes our monitor saw meanwhile (northd's NB_Global excluded). */
    nbRowChanges: number;
    reconciles: number;
    rssPeakBytes: number;
  };
  profile?: { file: string; totalMs: number; top: ProfileEntry[] };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `fn(i)` for i in [0, n) with at most `limit` in flight; rejects on the first error. */
export async function forEachLimit(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

export function summarize(xs: number[]): LatencySummary {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => (s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : NaN);
  return { count: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.length ? s[s.length - 1] : NaN };
}

/** Endpoint address number j as an IPv4 address in 10.16.0.0/12 (unique for j < 2^20). */
function endpointIp(j: number, base = 16): string {
  return `10.${base + (j >> 16)}.${(j >> 8) & 255}.${j & 255}`;
}

const serviceName = (i: number): string => `svc-${i}`;
const lbName = (i: number): string => `Service_${NAMESPACE}/${serviceName(i)}_TCP`;

function serviceBody(i: number): V1Service & KubeObject {
  return <V1Service & KubeObject>{
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName(i), namespace: NAMESPACE },
    spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 as never }] },
  };
}

function sliceBody(i: number, ips: string[]): V1EndpointSlice & KubeObject {
  return <V1EndpointSlice & KubeObject>{
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${serviceName(i)}-bench`,
      namespace: NAMESPACE,
      labels: { [SERVICE_NAME_LABEL]: serviceName(i) },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

/** User + system CPU of a process so far (Linux /proc, clock ticks of 10 ms); undefined if unreadable. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (!pid || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15)
  } catch {
    return undefined;
  }
}

function pidFromFile(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

const cpuSince = (pid: number | undefined, before: number | undefined): number | undefined => {
  const now = processCpuMs(pid);
  return now !== undefined && before !== undefined ? now - before : undefined;
};

const backendsOf = (ips: string[]): string => ips.map((ip) => `${ip}:8080`).join(',');
const load1 = (): number => os.loadavg()[0];

/** Runs the whole benchmark and tears everything down. */
export async function runServiceBench(opts: ServiceBenchOptions): Promise<ServiceBenchReport> {
  const log = opts.log ?? (() => undefined);
  const N = opts.services;
  const M = opts.endpoints;
  const K = Math.min(opts.changes ?? 200, N);
  const rate = opts.changeRate ?? 20;
  const nbKind = opts.nb ?? 'central';
  const loadStart = load1();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ycloud-service-bench-'));
  const profDir = opts.profile ? path.join(workDir, 'prof') : undefined;

  let k8s: KubeControlPlane | undefined;
  let central: OvnCentral | undefined;
  let bareNb: OvsdbServerHandle | undefined;
  let watch: NbWatch | undefined;
  let kube: KubeClient | undefined;
  const controllers: ControllerProcess[] = [];
  try {
    const release = await OvnRelease.resolve();
    log(`starting kube-apiserver (request limits lifted) and OVN NB (${nbKind}; ${release.description})`);
    const startNb = async (): Promise<string> => {
      if (nbKind === 'central') {
        central = await OvnCentral.start({ release });
        return central.nbRemote;
      }
      bareNb = await startOvsdbServer({ schema: NB_SCHEMA, release });
      await run(...release.command('ovn-nbctl', ['--db', bareNb.unixRemote, 'init']));
      return bareNb.unixRemote;
    };
    let nbRemote: string;
    [k8s, nbRemote] = await Promise.all([
      KubeControlPlane.start({
        controllers: [], // selector-less Services: no EndpointSlice controller needed
        serviceClusterIpRange: SERVICE_CIDR,
        extraApiserverArgs: [...UNLIMITED_APISERVER_ARGS],
      }),
      startNb(),
    ]);
    kube = KubeClient.fromKubeconfigFile(k8s.kubeconfigPath);
    const kc = kube;
    // ycloud's CRDs: the manager's topology informers list them, as in a real cluster.
    await installCrds(kc);

    // --- objects ---
    log(`creating ${N} Services and ${N} EndpointSlices x ${M} endpoints`);
    const vips: string[] = new Array<string>(N);
    const ips: string[][] = new Array<string[]>(N);
    const tCreate = performance.now();
    await forEachLimit(N, opts.parallelism ?? 32, async (i) => {
      const svc = await kc.create<V1Service & KubeObject>(Resources.services, NAMESPACE, serviceBody(i));
      vips[i] = `${svc.spec!.clusterIP}:80`;
      ips[i] = Array.from({ length: M }, (_, k) => endpointIp(i * M + k));
      await kc.create(Resources.endpointSlices, NAMESPACE, sliceBody(i, ips[i]));
      if ((i + 1) % 1000 === 0) log(`  created ${i + 1}`);
    });
    const createMs = performance.now() - tCreate;
    log(`created in ${(createMs / 1000).toFixed(1)} s`);

    watch = await NbWatch.connect(nbRemote);
    for (let i = 0; i < N; i++) watch.expect(lbName(i), { vip: vips[i], backends: backendsOf(ips[i]) });

    // --- cold start ---
    const config = { kubeconfig: k8s.kubeconfigPath, nbRemote, serviceCIDRs: [SERVICE_CIDR], workers: opts.workers };
    const loadCold = load1();
    log(`cold start (load ${loadCold.toFixed(2)})`);
    const nbPid = central ? pidFromFile(path.join(central.dir, 'nb.pid')) : bareNb?.pid;
    const northdPid = central?.northdPid;
    const nbCpu0 = processCpuMs(nbPid);
    const northdCpu0 = processCpuMs(northdPid);
    const tFork = performance.now();
    const allMatched = watch.waitForAll();
    const c1 = await ControllerProcess.start({
      config,
      logFile: path.join(workDir, 'controller-1.log'),
      cpuProfDir: profDir,
    });
    controllers.push(c1);
    const readyMs = c1.bootMs;
    const tConverged = await allMatched;
    const convergedMs = tConverged - tFork;
    const nbServerCpuMs = cpuSince(nbPid, nbCpu0);
    log(`converged in ${(convergedMs / 1000).toFixed(2)} s (ready after ${(readyMs / 1000).toFixed(2)} s)`);
    let northdCatchUpMs: number | undefined;
    let northdCpuMs: number | undefined;
    if (central) {
      const t = performance.now();
      await central.syncSb();
      northdCatchUpMs = performance.now() - t;
      northdCpuMs = cpuSince(northdPid, northdCpu0);
      log(`northd caught up ${(northdCatchUpMs / 1000).toFixed(2)} s later`);
    }
    const verifiedByNbctl = await verifyWithNbctl(nbRemote, vips, ips);
    const afterCold: RunnerStats = await c1.stats(0);
    log(`verified by ovn-nbctl: ${verifiedByNbctl}/${N}; ${afterCold.writes} transactions`);

    // --- changes, one at a time at a steady rate ---
    log(`changing ${K} EndpointSlices at ${rate}/s`);
    const e2e: number[] = [];
    let beforeReply = 0;
    let timedOut = 0;
    const stride = Math.max(1, Math.floor(N / K));
    const tChanges = performance.now();
    const changes: Promise<void>[] = [];
    for (let c = 0; c < K; c++) {
      const due = tChanges + (c * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const i = (c * stride) % N;
      const next = [...ips[i].slice(0, M - 1), endpointIp(c, 200)];
      ips[i] = next;
      const w = watch;
      changes.push(
        (async () => {
          w.expect(lbName(i), { vip: vips[i], backends: backendsOf(next) });
          const seen = w.waitFor(lbName(i));
          await kc.mergePatch(Resources.endpointSlices, NAMESPACE, `${serviceName(i)}-bench`, {
            endpoints: next.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
          });
          const tReply = performance.now();
          const tNb = await Promise.race([seen, sleep(30_000).then(() => -1)]);
          if (tNb < 0) timedOut++;
          else if (tNb < tReply) {
            beforeReply++;
            e2e.push(0);
          } else e2e.push(tNb - tReply);
        })(),
      );
    }
    await Promise.all(changes);
    await sleep(500);
    const afterChanges = await c1.stats(afterCold.writes);
    const applyLat = afterChanges.applies.filter((a) => a.reason.includes('EndpointSlice')).map((a) => a.latencyMs);
    log(`p50 ${summarize(e2e).p50.toFixed(1)} ms, p99 ${summarize(e2e).p99.toFixed(1)} ms`);
    await c1.stop();

    // --- idle restart: nothing changed, nothing may be written ---
    log('idle restart');
    const changesBefore = watch.totalChanges();
    const c2 = await ControllerProcess.start({ config, logFile: path.join(workDir, 'controller-2.log') });
    controllers.push(c2);
    let s2 = await c2.stats();
    const deadline = performance.now() + 120_000;
    // Start-up repair queues every owner: wait until they were all reconciled and the queue is empty.
    while ((s2.reconciles < N || s2.queueDepth > 0) && performance.now() < deadline) {
      await sleep(200);
      s2 = await c2.stats();
    }
    await sleep(2000);
    s2 = await c2.stats();
    const idleChanges = watch.totalChanges() - changesBefore;
    await c2.stop();
    log(`idle restart: ${s2.writes} transactions, ${idleChanges} NB row changes`);

    let profile: ServiceBenchReport['profile'];
    if (profDir) {
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        // Kept outside the repository (profiles are large): open it in Chrome DevTools or speedscope.
        const keep = path.join(os.tmpdir(), `ycloud-service-bench-${N}x${M}.cpuprofile`);
        copyFileSync(path.join(profDir, file), keep);
        profile = { file: keep, ...topSelfTime(keep, REPO_ROOT) };
      }
    }

    return {
      date: new Date().toISOString(),
      revision: await revision(),
      services: N,
      endpoints: M,
      nb: nbKind,
      ovn: `OVN ${release.ovnVersion} / OVS ${release.ovsVersion}`,
      cpus: os.cpus().length,
      load: { start: loadStart, coldStart: loadCold, end: load1() },
      create: { ms: createMs, perSecond: (2 * N) / (createMs / 1000) },
      coldStart: {
        convergedMs,
        readyMs,
        startMs: c1.startMs,
        northdCatchUpMs,
        verifiedByNbctl,
        writes: afterCold.writes,
        operations: afterCold.operations,
        controllerCpuMs: afterCold.cpuUserMs + afterCold.cpuSystemMs,
        nbServerCpuMs,
        northdCpuMs,
      },
      change: {
        endToEnd: summarize(e2e),
        apply: summarize(applyLat),
        writes: afterChanges.writes - afterCold.writes,
        beforeReply,
        timedOut,
      },
      rssPeakBytes: afterChanges.rssPeak,
      idleRestart: {
        readyMs: c2.bootMs,
        writes: s2.writes,
        nbRowChanges: idleChanges,
        reconciles: s2.reconciles,
        rssPeakBytes: s2.rssPeak,
      },
      profile,
    };
  } finally {
    for (const c of controllers) c.kill();
    await watch?.close().catch(() => undefined);
    kube?.close();
    await Promise.allSettled([k8s?.stop(), central?.stop(), bareNb?.stop()]);
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function revision(): Promise<string> {
  try {
    const head = (await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT })).stdout.trim();
    const dirty = (
      await run(
        'git',
        ['status', '--porcelain', '--', 'libs/controllers', 'libs/ovn', 'libs/ovsdb', 'libs/k8s', 'libs/translate'],
        {
          cwd: REPO_ROOT,
        },
      )
    ).stdout.trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** Counts the expected LBs that `ovn-nbctl list Load_Balancer` (the C IDL, not our client) shows right. */
async function verifyWithNbctl(remote: string, vips: string[], ips: string[][]): Promise<number> {
  const { stdout } = await run(
    'ovn-nbctl',
    ['--db', remote, '--format=json', '--columns=name,vips', 'list', 'Load_Balancer'],
    { maxBuffer: 1 << 30 },
  );
  const table = JSON.parse(stdout) as { data: [string, ['map', [string, string][]]][] };
  const byName = new Map(table.data.map(([name, v]) => [name, Object.fromEntries(v[1])]));
  let ok = 0;
  for (let i = 0; i < vips.length; i++) {
    const got = byName.get(lbName(i))?.[vips[i]];
    if (got !== undefined && normalizeBackends(got) === normalizeBackends(backendsOf(ips[i]))) ok++;
  }
  return ok;
}
