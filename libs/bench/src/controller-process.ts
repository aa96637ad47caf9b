import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunnerConfig, RunnerMessage, RunnerRequest, RunnerStats } from './controller-runner';

const REPO_ROOT = path.resolve(__dirname, '../../..');

export interface ControllerProcessOptions {
  config: RunnerConfig;
  /** stdout+stderr of the controller go here. */
  logFile: string;
  /** When set, the process runs with `--cpu-prof` and writes its profile into this directory on stop. */
  cpuProfDir?: string;
  readyTimeoutMs?: number;
}

/** The parent's handle on one `controller-runner` process (see controller-runner.ts for the protocol). */
export class ControllerProcess {
  private nextId = 1;
  private readonly pending = new Map<number, (s: RunnerStats) => void>();
  private stoppedWaiter?: () => void;
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly logFile: string,
    /** ms from fork to `ControllerManager.start()` resolved, and the part inside start(). */
    readonly bootMs: number,
    readonly startMs: number,
  ) {
    child.on('message', (m: RunnerMessage) => {
      if (m.type === 'stats') {
        this.pending.get(m.id)?.(m.stats);
        this.pending.delete(m.id);
      } else if (m.type === 'stopped') this.stoppedWaiter?.();
    });
    child.on('exit', () => {
      this.exited = true;
      this.stoppedWaiter?.();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Forks the runner; resolves when the manager has started (caches synced, workers running). */
  static async start(opts: ControllerProcessOptions): Promise<ControllerProcess> {
    const fd = openSync(opts.logFile, 'a');
    const t0 = performance.now();
    const child = fork(path.join(__dirname, 'controller-runner.ts'), [JSON.stringify(opts.config)], {
      cwd: REPO_ROOT,
      execArgv: [
        '-r',
        path.join(REPO_ROOT, 'scripts/register.js'),
        ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
      ],
      stdio: ['ignore', fd, fd, 'ipc'],
    });
    closeSync(fd);
    const timeout = opts.readyTimeoutMs ?? 300_000;
    const startMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`controller not ready within ${timeout} ms (log ${opts.logFile})`));
      }, timeout);
      child.on('message', (m: RunnerMessage) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(m.startMs);
        } else if (m.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`controller failed: ${m.error}`));
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`controller exited with ${code} before ready; log:\n${tail(opts.logFile)}`));
      });
    });
    return new ControllerProcess(child, opts.logFile, performance.now() - t0, startMs);
  }

  /** Stats; `appliesSince` skips that many apply samples already fetched. */
  stats(appliesSince = 0): Promise<RunnerStats> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error('controller process has exited'));
      this.pending.set(id, resolve);
      this.child.send({ type: 'stats', id, appliesSince } satisfies RunnerRequest);
    });
  }

  /** Orderly stop (drains the queue, writes the CPU profile); SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => (this.stoppedWaiter = r));
    this.child.send({ type: 'stop' } satisfies RunnerRequest);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await done;
    await new Promise<void>((r) => (this.exited ? r() : this.child.once('exit', () => r())));
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}
