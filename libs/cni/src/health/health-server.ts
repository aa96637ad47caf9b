import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { HealthState } from './service-health';

/** Where the worker program lives (a plain .js file beside this one). */
export const HEALTH_WORKER_JS = path.join(__dirname, 'health-worker.js');

export interface HealthServerOptions {
  /** Network namespace of the node's host network (simulated nodes); undefined serves in the agent's own. */
  netns?: string;
  log?: (line: string) => void;
  /** A listener that could not open (port taken): kube-proxy records an Event; the agent logs it. */
  onListenError?: (port: number, message: string) => void;
}

/**
 * Serves the node's health checks through a long-lived worker in the node's network namespace (so the ports are
 * on the node's own addresses, where external load balancers probe them). `update()` sends the whole state when
 * it changed; a worker that died is restarted with the last state on the next update.
 */
export class HealthServer {
  private child?: ChildProcessWithoutNullStreams;
  private sent = '';
  private last?: HealthState;
  private closed = false;

  constructor(private readonly opts: HealthServerOptions = {}) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  update(state: HealthState): void {
    if (this.closed) return;
    this.last = state;
    const line = JSON.stringify(state);
    if (!this.child) this.start();
    if (line === this.sent) return;
    this.sent = line;
    this.child!.stdin.write(line + '\n');
  }

  private start(): void {
    const node = process.execPath;
    const [cmd, args] = this.opts.netns
      ? ['ip', ['netns', 'exec', this.opts.netns, node, HEALTH_WORKER_JS]]
      : [node, [HEALTH_WORKER_JS]];
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.sent = '';
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const m = JSON.parse(line) as { port?: number; listening?: boolean; error?: string };
        if (m.error) {
          this.opts.log?.(`health: port ${m.port ?? '?'}: ${m.error}`);
          if (m.port) this.opts.onListenError?.(m.port, m.error);
        } else if (m.listening) this.opts.log?.(`health: listening on ${m.port}`);
      } catch {
        this.opts.log?.(`health: ${line}`);
      }
    });
    child.stderr.on('data', (d: Buffer) => this.opts.log?.(`health worker: ${d.toString().trim()}`));
    child.stdin.on('error', () => undefined); // a dead worker is seen on exit
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.closed) return;
      this.opts.log?.(`health worker exited (${code ?? signal}); restarting`);
      const state = this.last;
      if (state) setTimeout(() => state === this.last && this.update(state), 1000).unref();
    });
  }

  /** Stops the worker (its listeners close with it). */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 2000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.stdin.end();
    });
  }
}
