import { KubeConfig } from '@kubernetes/client-node';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Daemon, makeRunDir, run, sleep } from '../process';
import { resolveK8sBinDir } from './k8s-binaries';

export type KubeProxyMode = 'iptables' | 'ipvs' | 'nftables';

export interface KubeProxyOptions {
  /** Kubeconfig of the cluster (e.g. KubeControlPlane.kubeconfigPath); its server is relayed into the netns. */
  kubeconfig: string;
  mode: KubeProxyMode;
  /** Network namespace (`ip netns` name) whose rules kube-proxy programs; it must exist. */
  netns: string;
  /** `--hostname-override`: the name of a Node created first (createNode). */
  hostname: string;
  /** `--cluster-cidr` (pod CIDR), so traffic from outside it is masqueraded. */
  clusterCidr?: string;
  extraArgs?: readonly string[];
  binDir?: string;
  /** Parent of the run directory; default the OS temp dir. */
  dir?: string;
  /** Budget for the first successful sync (/healthz 200); default 60 s. */
  readyTimeoutMs?: number;
}

/** Loopback ports inside the netns (each netns has its own port space, so fixed ports cannot clash). */
const METRICS_PORT = 10249;
const HEALTHZ_PORT = 10256;
const APISERVER_RELAY_PORT = 16443;

/**
 * kube-proxy from the test bed's build, as root inside a network namespace, as the baseline for ycloud's
 * programming latency. The apiserver listens on the root namespace's loopback, which the netns cannot reach:
 * a relay (socat in the netns on 127.0.0.1:16443 -> a unix socket -> this process -> the apiserver) carries
 * the connection, so the apiserver's certificate (valid for 127.0.0.1) still verifies.
 */
export class KubeProxy {
  private stopped = false;

  /** @internal Use `startKubeProxy`. */
  constructor(
    readonly dir: string,
    readonly netns: string,
    readonly mode: KubeProxyMode,
    private readonly daemons: Daemon[],
    private readonly relay: net.Server,
  ) {}

  /** Prometheus text from kube-proxy's metrics endpoint (127.0.0.1 inside the netns). */
  async metrics(): Promise<string> {
    const r = await curlIn(this.netns, `http://127.0.0.1:${METRICS_PORT}/metrics`);
    if (r.status !== 200) throw new Error(`kube-proxy metrics in ${this.netns}: HTTP ${r.status}`);
    return r.body;
  }

  /** Process ids of kube-proxy and the relay's socat. */
  get pids(): number[] {
    return this.daemons.map((d) => d.pid);
  }

  /** The kube-proxy process's console log. */
  get logPath(): string {
    return this.daemons[this.daemons.length - 1].consoleLog;
  }

  /** Kills kube-proxy and the relay and removes the run directory; the rules it wrote stay in the netns. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const d of [...this.daemons].reverse()) await d.stop();
    await new Promise<void>((r) => this.relay.close(() => r()));
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

/** `ip` arguments that run `argv` in `netns`, killed when this process dies (setpriv --pdeathsig). */
function inNetnsTiedToUs(netns: string, ...argv: string[]): string[] {
  return ['netns', 'exec', netns, 'setpriv', '--pdeathsig', 'KILL', '--', ...argv];
}

/** Starts kube-proxy in `netns` and resolves once its /healthz reports a first successful sync. */
export async function startKubeProxy(opts: KubeProxyOptions): Promise<KubeProxy> {
  const binDir = opts.binDir ?? (await resolveK8sBinDir());
  const dir = await makeRunDir(opts.dir);
  const daemons: Daemon[] = [];
  let relay: net.Server | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    const target = new URL(kc.getCurrentCluster()!.server);
    const sock = path.join(dir, 'apiserver.sock');
    relay = await listenRelay(sock, target.hostname, Number(target.port || 443));
    daemons.push(
      await Daemon.spawn({
        name: `apiserver relay in ${opts.netns}`,
        cmd: 'ip',
        args: inNetnsTiedToUs(
          opts.netns,
          'socat',
          `TCP-LISTEN:${APISERVER_RELAY_PORT},bind=127.0.0.1,fork,reuseaddr`,
          `UNIX-CONNECT:${sock}`,
        ),
        consoleLog: path.join(dir, 'relay.log'),
      }),
    );
    // Same credentials, server rewritten to the relay's end inside the netns.
    const cluster = kc.getCurrentCluster()!;
    kc.clusters = kc.clusters.map((c) =>
      c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${APISERVER_RELAY_PORT}` } : c,
    );
    const kubeconfig = path.join(dir, 'kube-proxy.kubeconfig');
    await fs.writeFile(kubeconfig, kc.exportConfig(), { mode: 0o600 });

    const proxy = await Daemon.spawn({
      name: `kube-proxy (${opts.mode}) in ${opts.netns}`,
      cmd: 'ip',
      args: inNetnsTiedToUs(
        opts.netns,
        path.join(binDir, 'kube-proxy'),
        `--kubeconfig=${kubeconfig}`,
        `--proxy-mode=${opts.mode}`,
        `--hostname-override=${opts.hostname}`,
        // Leave the host's conntrack table size and timeouts alone.
        '--conntrack-max-per-core=0',
        '--conntrack-tcp-timeout-established=0',
        '--conntrack-tcp-timeout-close-wait=0',
        `--metrics-bind-address=127.0.0.1:${METRICS_PORT}`,
        `--healthz-bind-address=127.0.0.1:${HEALTHZ_PORT}`,
        ...(opts.clusterCidr ? [`--cluster-cidr=${opts.clusterCidr}`] : []),
        ...(opts.extraArgs ?? []),
      ),
      consoleLog: path.join(dir, 'kube-proxy.log'),
    });
    daemons.push(proxy);

    const budget = opts.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + budget;
    let last = '';
    for (;;) {
      await proxy.assertRunning();
      const r = await curlIn(opts.netns, `http://127.0.0.1:${HEALTHZ_PORT}/healthz`).catch((e: Error) => ({
        status: 0,
        body: e.message,
      }));
      if (r.status === 200) break;
      last = `HTTP ${r.status} ${r.body.slice(0, 200)}`;
      if (Date.now() > deadline) {
        const log = await fs.readFile(proxy.consoleLog, 'utf8').catch(() => '');
        throw new Error(
          `timed out after ${budget} ms waiting for kube-proxy /healthz in ${opts.netns} (last: ${last})\n` +
            log.trimEnd().split('\n').slice(-25).join('\n'),
        );
      }
      await sleep(200);
    }
    return new KubeProxy(dir, opts.netns, opts.mode, daemons, relay);
  } catch (err) {
    for (const d of [...daemons].reverse()) await d.stop().catch(() => undefined);
    if (relay) await new Promise<void>((r) => relay!.close(() => r()));
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A unix-socket listener that pipes each connection to host:port (TLS passes through untouched). */
function listenRelay(sock: string, host: string, port: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve(server));
  });
}

async function curlIn(netns: string, url: string): Promise<{ status: number; body: string }> {
  const r = await run('ip', ['netns', 'exec', netns, 'curl', '-s', '-m', '2', '-w', '\n%{http_code}', url], {
    allowFailure: true,
    timeoutMs: 5_000,
  });
  const i = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(i + 1)) || 0, body: r.stdout.slice(0, Math.max(i, 0)) };
}
