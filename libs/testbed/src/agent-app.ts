import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from './eventually';
import { repoRoot } from './k8s/k8s-binaries';
import { freePort } from './process';
import type { OvnTestbed } from './testbed';

export interface AgentAppOptions {
  /** Where its config file (`cni.yaml`) and, by default, its CNI socket go. */
  dir: string;
  /** The test bed whose node `nodeName` the agent runs on: its OVS, namespace and the bed's SB. */
  bed: OvnTestbed;
  nodeName: string;
  /** More top-level config, as YAML lines. */
  config?: string[];
  /** More settings of the `ovn:` section, as YAML lines (unindented). */
  ovn?: string[];
  kubeconfigPath: string;
  /** The CNI socket (`--socket`); default `<dir>/cni.sock`. */
  socket?: string;
}

/**
 * The node agent process (`apps/cni/src/main.ts`) as its DaemonSet runs it, from sources: its stdout and stderr are
 * kept in `log`, /metrics and the probes are on `url` (a free local port).
 */
export class AgentApp {
  log = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly proc: ChildProcess,
    /** `http://127.0.0.1:<port>`: /metrics, /healthz, /readyz. */
    readonly url: string,
  ) {
    this.exited = new Promise((res) => proc.once('exit', (code) => res(code)));
    proc.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
  }

  /** Writes the config, starts the process and waits until it listens on its CNI socket and its ops port. */
  static async start(opts: AgentAppOptions): Promise<AgentApp> {
    const configFile = join(opts.dir, 'cni.yaml');
    const node = opts.bed.node(opts.nodeName);
    const config = [
      'datapathType: netdev',
      `ovsDb: ${node.ovsRemote}`,
      `nodeNetns: ${node.netns}`,
      'ovn:',
      `  systemId: ${opts.nodeName}`,
      `  remote: "${opts.bed.central.sbRemote}"`,
      '  encapIp: 127.0.0.1',
      ...(opts.ovn ?? []).map((line) => `  ${line}`),
      ...(opts.config ?? []),
    ];
    writeFileSync(configFile, config.join('\n'));
    const port = await freePort();
    const root = repoRoot();
    const proc = spawn(
      process.execPath,
      [
        '-r',
        join(root, 'scripts/register.js'),
        join(root, 'apps/cni/src/main.ts'),
        '--config',
        configFile,
        '--node-name',
        opts.nodeName,
        '--kubeconfig',
        opts.kubeconfigPath,
        '--socket',
        opts.socket ?? join(opts.dir, 'cni.sock'),
        '--metrics',
        `127.0.0.1:${port}`,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const app = new AgentApp(proc, `http://127.0.0.1:${port}`);
    try {
      // Compiling the sources on a loaded machine takes a while.
      await eventually(
        async () => app.log.includes('listening on') || !app.alive,
        Boolean,
        'the agent to listen on its CNI socket',
        60_000,
      );
      if (!app.alive) throw new Error(`agent exited (${app.proc.exitCode}):\n${app.log}`);
      // Its ops server (/metrics, the probes) starts after the CNI socket.
      await eventually(
        () =>
          fetch(`${app.url}/healthz`).then(
            (r) => r.status,
            () => (app.alive ? 0 : -1),
          ),
        (status) => status !== 0,
        'the agent to serve /healthz',
        60_000,
      );
      if (!app.alive) throw new Error(`agent exited (${app.proc.exitCode}):\n${app.log}`);
    } catch (err) {
      await app.stop(0);
      throw err;
    }
    return app;
  }

  /** Still the process that was started. */
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGTERM (clean shutdown) and wait; SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<number | null> {
    if (!this.alive) return this.proc.exitCode;
    this.proc.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
