import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { Daemon, freePort, makeRunDir, sleep } from '../process';
import { resolveK8sBinDir, resolveK8sTool } from './k8s-binaries';

/**
 * kube-controller-manager controllers a test cluster needs by default: EndpointSlices from Services and Pods
 * (and mirrored from custom Endpoints), owner-reference garbage collection, namespace finalization, the
 * `default` ServiceAccount every namespace needs before Pods can be created, its tokens and `kube-root-ca.crt`.
 */
export const DEFAULT_CONTROLLERS: readonly string[] = [
  'endpointslice',
  'endpointslicemirroring',
  'garbagecollector',
  'namespace',
  'serviceaccount',
  'serviceaccount-token',
  'root-ca-cert-publisher',
];

export interface KubeControlPlaneOptions {
  /** Parent of the run directory (a fresh `ycn-*` dir is made inside it); default the OS temp dir. */
  dir?: string;
  /** kube-controller-manager `--controllers`; default DEFAULT_CONTROLLERS. An empty list skips the manager. */
  controllers?: readonly string[];
  /** Service ClusterIP range; default 10.96.0.0/16. */
  serviceClusterIpRange?: string;
  /**
   * Also run kube-scheduler (built by test/k8s-bin/build-tool.sh): DaemonSet and Deployment pods on real kubelet
   * nodes are bound by it. Default false (tests that name `spec.nodeName` need none).
   */
  scheduler?: boolean;
  /** Appended to kube-apiserver's arguments (later flags win), e.g. the benchmark request-limit flags. */
  extraApiserverArgs?: readonly string[];
  /** Directory with the binaries; default YCLOUD_K8S_BIN_DIR or test/k8s-bin/build.sh. */
  binDir?: string;
  /** Budget for kube-apiserver to answer /readyz; default 90 s (slow shared runners needed 35 s). */
  readyTimeoutMs?: number;
}

/** Flags that lift kube-apiserver's request limits, for benchmarks (pass as `extraApiserverArgs`). */
export const UNLIMITED_APISERVER_ARGS: readonly string[] = [
  '--max-requests-inflight=0',
  '--max-mutating-requests-inflight=0',
  '--enable-priority-and-fairness=false',
];

/** Time each phase of `start()` took, in ms (for reports and slow-runner diagnosis). */
export interface StartTimings {
  etcdMs: number;
  apiserverMs: number;
  controllerManagerMs: number;
  totalMs: number;
}

const POLL_MS = 100;
const PROBE_TIMEOUT_MS = 5_000;
const ETCD_READY_MS = 30_000;
const CONTROLLER_MANAGER_READY_MS = 60_000;
const ADMIN_USER = 'ycloud-admin';

/** Why a start failed: the component and the tail of its log, so a CI failure explains itself. */
export class ControlPlaneStartError extends Error {
  constructor(
    readonly component: string,
    reason: string,
    readonly logTail: string,
  ) {
    super(`${component}: ${reason}\n--- last lines of ${component}'s log ---\n${logTail}`);
    this.name = 'ControlPlaneStartError';
  }
}

/**
 * A private Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) on random 127.0.0.1 ports
 * in a temporary directory, started like controller-runtime's envtest but with real controllers. There is no
 * kubelet: create Nodes and set Pod status with the helpers in `cluster-objects.ts`.
 */
export class KubeControlPlane {
  private stopped = false;

  /** @internal Use `KubeControlPlane.start()`. */
  constructor(
    /** Run directory; removed by `stop()`. */
    readonly dir: string,
    readonly binDir: string,
    /** Admin kubeconfig (CA and a system:masters token embedded). */
    readonly kubeconfigPath: string,
    readonly kubeConfig: KubeConfig,
    /** `https://127.0.0.1:<port>` */
    readonly server: string,
    readonly serviceClusterIpRange: string,
    readonly timings: StartTimings,
    private readonly daemons: Daemon[],
    /** Starts kube-apiserver again with its first flags (same port, certificates and etcd); used by restartApiserver. */
    private readonly launchApiserver?: () => Promise<Daemon>,
  ) {}

  /** Starts etcd, kube-apiserver and kube-controller-manager; on failure tears down what it started and throws. */
  static async start(opts: KubeControlPlaneOptions = {}): Promise<KubeControlPlane> {
    const binDir = opts.binDir ?? (await resolveK8sBinDir());
    // Ports are picked free then handed over, so another process can take one in between: retry that case only.
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOnce(binDir, opts);
      } catch (err) {
        if (attempt < 3 && err instanceof ControlPlaneStartError && /address already in use/.test(err.logTail)) {
          continue;
        }
        throw err;
      }
    }
  }

  /** The running components: name, pid and console log (for a failing test to print). */
  components(): { name: string; pid: number; log: string }[] {
    return this.daemons.map((d) => ({ name: d.name, pid: d.pid, log: d.consoleLog }));
  }

  /**
   * Stops kube-apiserver (SIGTERM) and starts it again with the same flags, port and serving certificate; etcd keeps
   * the cluster's state, so clients reconnect with their kubeconfigs unchanged. Resolves once /readyz answers 200,
   * with how long the apiserver was away (ms).
   */
  async restartApiserver(): Promise<number> {
    const i = this.daemons.findIndex((d) => d.name === 'kube-apiserver');
    if (i < 0 || !this.launchApiserver) throw new Error('this control plane cannot restart its kube-apiserver');
    const t0 = Date.now();
    await this.daemons[i].stop();
    const apiserver = await this.launchApiserver();
    this.daemons[i] = apiserver;
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    await pollUntil(apiserver, `kube-apiserver ${this.server} after a restart`, 90_000, async () => {
      await core.readNamespace({ name: 'default' });
      return true;
    });
    return Date.now() - t0;
  }

  /** Kills every process (controller manager, apiserver, etcd, in that order) and removes the run directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await stopAll(this.daemons);
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

async function startOnce(binDir: string, opts: KubeControlPlaneOptions): Promise<KubeControlPlane> {
  const t0 = Date.now();
  const dir = await makeRunDir(opts.dir);
  const daemons: Daemon[] = [];
  const launch = async (name: string, program: string, args: string[]): Promise<Daemon> => {
    // setpriv --pdeathsig: if the test process dies without stop(), the kernel kills the child too.
    const d = await Daemon.spawn({
      name,
      cmd: 'setpriv',
      args: ['--pdeathsig', 'KILL', '--', path.resolve(binDir, program), ...args],
      consoleLog: path.join(dir, `${name}.log`),
    });
    daemons.push(d);
    return d;
  };
  try {
    const serviceRange = opts.serviceClusterIpRange ?? '10.96.0.0/16';
    const [etcdClientPort, etcdPeerPort, apiPort, kcmPort] = await distinctFreePorts(4);

    // etcd
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = await launch('etcd', 'etcd', [
      '--name=default',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await pollUntil(etcd, `etcd /health at ${etcdUrl}`, ETCD_READY_MS, async () => {
      const r = await httpGet(`${etcdUrl}/health`);
      return r.status === 200 && /"health":\s*"true"/.test(r.body);
    });
    const tEtcd = Date.now();

    // Credentials: one key signs and verifies service-account tokens; static tokens in system:masters.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(dir, 'sa.key');
    await fs.writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const adminToken = randomBytes(24).toString('hex');
    const kcmToken = randomBytes(24).toString('hex');
    const tokenFile = path.join(dir, 'tokens.csv');
    await fs.writeFile(
      tokenFile,
      `${adminToken},${ADMIN_USER},${ADMIN_USER},"system:masters"\n` +
        `${kcmToken},system:kube-controller-manager,system:kube-controller-manager,"system:masters"\n`,
      { mode: 0o600 },
    );

    // kube-apiserver
    const server = `https://127.0.0.1:${apiPort}`;
    const certDir = path.join(dir, 'apiserver-certs');
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      `--cert-dir=${certDir}`,
      // Without a default route kube-apiserver cannot pick an address; a fixed one needs no endpoint reconciler.
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      `--service-cluster-ip-range=${serviceRange}`,
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      `--token-auth-file=${tokenFile}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${saKey}`,
      `--service-account-signing-key-file=${saKey}`,
      ...(opts.extraApiserverArgs ?? []),
    ];
    const apiserver = await launch('kube-apiserver', 'kube-apiserver', apiserverArgs);
    const readyBudget = opts.readyTimeoutMs ?? 90_000;
    let lastReadyz = '';
    await pollUntil(
      apiserver,
      `kube-apiserver ${server}/readyz`,
      readyBudget,
      async () => {
        const r = await httpGet(`${server}/readyz`, adminToken);
        lastReadyz = `HTTP ${r.status}: ${r.body.slice(-300)}`;
        return r.status === 200;
      },
      () => lastReadyz,
    );

    // The self-signed serving cert file holds the certificate and the CA that signed it.
    const ca = await fs.readFile(path.join(certDir, 'apiserver.crt'));
    const kubeconfigPath = path.join(dir, 'admin.kubeconfig');
    await fs.writeFile(kubeconfigPath, kubeconfigYaml(server, ca, ADMIN_USER, adminToken), { mode: 0o600 });
    const kcmKubeconfig = path.join(dir, 'kube-controller-manager.kubeconfig');
    const kcmUser = 'system:kube-controller-manager';
    await fs.writeFile(kcmKubeconfig, kubeconfigYaml(server, ca, kcmUser, kcmToken), { mode: 0o600 });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await pollUntil(apiserver, 'the `default` namespace', readyBudget, async () => {
      await core.readNamespace({ name: 'default' });
      return true;
    });
    const tApi = Date.now();

    // kube-controller-manager
    const controllers = opts.controllers ?? DEFAULT_CONTROLLERS;
    if (controllers.length > 0) {
      const kcm = await launch('kube-controller-manager', 'kube-controller-manager', [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        `--controllers=${controllers.join(',')}`,
        '--leader-elect=false',
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${path.join(certDir, 'apiserver.crt')}`,
        `--secure-port=${kcmPort}`,
        '--bind-address=127.0.0.1',
        `--cert-dir=${path.join(dir, 'kcm-certs')}`,
      ]);
      await pollUntil(
        kcm,
        `kube-controller-manager /healthz on 127.0.0.1:${kcmPort}`,
        CONTROLLER_MANAGER_READY_MS,
        async () => {
          const r = await httpGet(`https://127.0.0.1:${kcmPort}/healthz`);
          return r.status === 200;
        },
      );
      if (controllers.includes('serviceaccount')) {
        // Pods are rejected until their namespace has its `default` ServiceAccount.
        await pollUntil(kcm, 'ServiceAccount default/default', CONTROLLER_MANAGER_READY_MS, async () => {
          await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
          return true;
        });
      }
    }
    if (opts.scheduler) {
      const schedulerPort = await freePort();
      const scheduler = await launch('kube-scheduler', await resolveK8sTool('kube-scheduler'), [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        '--leader-elect=false',
        `--secure-port=${schedulerPort}`,
        '--bind-address=127.0.0.1',
      ]);
      await pollUntil(
        scheduler,
        `kube-scheduler /healthz on 127.0.0.1:${schedulerPort}`,
        CONTROLLER_MANAGER_READY_MS,
        async () => (await httpGet(`https://127.0.0.1:${schedulerPort}/healthz`)).status === 200,
      );
    }
    const tEnd = Date.now();
    const timings: StartTimings = {
      etcdMs: tEtcd - t0,
      apiserverMs: tApi - tEtcd,
      controllerManagerMs: tEnd - tApi,
      totalMs: tEnd - t0,
    };
    // A restarted apiserver is not in `daemons` through `launch` (the caller puts it in the old one's place).
    const relaunch = () =>
      Daemon.spawn({
        name: 'kube-apiserver',
        cmd: 'setpriv',
        args: ['--pdeathsig', 'KILL', '--', path.resolve(binDir, 'kube-apiserver'), ...apiserverArgs],
        consoleLog: apiserver.consoleLog,
      });
    return new KubeControlPlane(
      dir,
      binDir,
      kubeconfigPath,
      kubeConfig,
      server,
      serviceRange,
      timings,
      daemons,
      relaunch,
    );
  } catch (err) {
    await stopAll(daemons).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function stopAll(daemons: Daemon[]): Promise<void> {
  for (const d of [...daemons].reverse()) await d.stop();
}

/** Distinct free 127.0.0.1 ports (two calls can return the same one after it is released). */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * Probes every 100 ms until `probe` returns true; fails fast with the log tail if the process dies, and with the
 * log tail and the last probe result once `budgetMs` is spent.
 */
async function pollUntil(
  daemon: Daemon,
  what: string,
  budgetMs: number,
  probe: () => Promise<boolean>,
  lastResult: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + budgetMs;
  let lastErr = '';
  for (;;) {
    if (!daemon.running) {
      throw new ControlPlaneStartError(daemon.name, `exited while waiting for ${what}`, await logTail(daemon));
    }
    try {
      // A request that never answers must not outlive the budget (client-node sets no timeout of its own).
      if (await withTimeout(probe(), PROBE_TIMEOUT_MS, what)) return;
      lastErr = '';
    } catch (err) {
      lastErr = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const last = [lastResult(), lastErr].filter(Boolean).join('; ');
      const reason = `timed out after ${budgetMs} ms waiting for ${what}${last ? ` (last: ${last})` : ''}`;
      throw new ControlPlaneStartError(daemon.name, reason, await logTail(daemon));
    }
    await sleep(POLL_MS);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`one probe for ${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function logTail(daemon: Daemon, lines = 25): Promise<string> {
  const text = await fs.readFile(daemon.consoleLog, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** One GET with a 2 s timeout; TLS is not verified here (the kubeconfig client verifies the CA afterwards). */
function httpGet(url: string, bearer?: string): Promise<{ status: number; body: string }> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(
      url,
      {
        timeout: 2_000,
        rejectUnauthorized: false,
        headers: bearer ? { Authorization: `Bearer ${bearer}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/** A kubeconfig with the CA and a bearer token embedded, so it works from any directory. */
export function kubeconfigYaml(server: string, ca: Buffer, user: string, token: string): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'ycloud-test', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'ycloud-test', context: { cluster: 'ycloud-test', user } }],
    'current-context': 'ycloud-test',
  });
}
