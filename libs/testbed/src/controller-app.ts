import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from './k8s/k8s-binaries';
import { eventually } from './eventually';

export interface ControllerAppOptions {
  /** Controller config file (`--config`). */
  configFile: string;
  kubeconfigPath: string;
  /** POD_NAME: the first part of the leader-election identity. */
  podName?: string;
  /** Extra flags, e.g. `--leader-election-namespace=ycloud-system`. */
  args?: string[];
  /** Log level of the process (default info: the lease lines are info). */
  logLevel?: string;
}

/**
 * The ycloud-controller process (`apps/controller/src/main.ts`) as a Deployment runs it, for tests that must see
 * it survive (or not): its stderr is kept, `exitCode`/`signal` tell whether it is still the same process, and
 * `fatalLines()` lists what a crash or an unhandled error would have printed.
 */
export class ControllerApp {
  stderr = '';
  readonly exited: Promise<number | null>;
  url?: string;

  private constructor(readonly proc: ChildProcess) {
    this.exited = new Promise((res) => proc.once('exit', (code) => res(code)));
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Starts the process and waits until it serves /healthz (both servers on random local ports). */
  static async start(opts: ControllerAppOptions): Promise<ControllerApp> {
    const proc = spawn(
      process.execPath,
      [
        '-r',
        './scripts/register.js',
        'apps/controller/src/main.ts',
        `--config=${opts.configFile}`,
        `--kubeconfig=${opts.kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        '--health-port=0',
        '--metrics-port=0',
        `--log-level=${opts.logLevel ?? 'info'}`,
        ...(opts.args ?? []),
      ],
      // No NODE_NAME: probes off (no OVS for probe ports in a control-plane-only test bed).
      {
        cwd: repoRoot(),
        env: { ...process.env, POD_NAME: opts.podName ?? 'ctl', NODE_NAME: '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const app = new ControllerApp(proc);
    let line: string | undefined;
    try {
      line = await eventually(
        async () => app.stderr.split('\n').find((l) => l.includes('"msg":"serving"')),
        (l) => l !== undefined || app.proc.exitCode !== null,
        'the controller to serve (its "serving" line is logged at info level)',
        120_000,
      );
      if (!line) throw new Error(`controller exited (${app.proc.exitCode}): ${app.stderr.slice(-3000)}`);
    } catch (err) {
      await app.kill(); // never leave it running
      throw err;
    }
    app.url = (JSON.parse(line) as { healthz: string }).healthz.replace(/\/healthz$/, '');
    return app;
  }

  /** Still the process that was started (no exit, no restart). */
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Lines that say the process hit an error it did not handle (a crash, an unhandled rejection, a thrown handler). */
  fatalLines(): string[] {
    return this.stderr
      .split('\n')
      .filter((l) =>
        /unhandled|uncaught|event handler threw|ycloud-controller: |retry cap reached|"level":"fatal"/i.test(l),
      );
  }

  async get(p: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.url}${p}`);
    return { status: res.status, body: await res.text() };
  }

  /** Waits until /readyz answers 200 (caches synced, leading or standing by, NB connected). */
  async ready(timeoutMs = 120_000): Promise<void> {
    try {
      await eventually(
        () => this.get('/readyz?verbose'),
        (r) => r.status === 200,
        'controller ready',
        timeoutMs,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- controller log ---\n${this.tail()}`);
    }
  }

  /** The last lines of its log, for failure messages. */
  tail(lines = 40): string {
    return this.stderr.split('\n').slice(-lines).join('\n');
  }

  /** SIGTERM (clean shutdown) and wait; SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<number | null> {
    if (!this.alive) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): Promise<number | null> {
    if (this.alive) this.proc.kill('SIGKILL');
    return this.exited;
  }
}
