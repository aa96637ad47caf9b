import { ChildProcess, execFile, spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Prefix of every run directory, network namespace and process tag the test bed creates. */
export const TESTBED_PREFIX = 'ycn';

/** Default bound for one command run by the test bed. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Data written to the command's stdin. */
  input?: string;
  /** Do not throw on a non-zero exit; return the result instead. */
  allowFailure?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Error of a command that exited non-zero or timed out; carries the full command line and its output. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
    reason: string,
  ) {
    super(`${reason}: ${command}\n${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/** Runs a command (no shell) with a bounded timeout and returns its output. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeout = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const line = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      [...args],
      { timeout, killSignal: 'SIGKILL', env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const result: RunResult = { code: 0, stdout: String(stdout), stderr: String(stderr) };
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
          result.code = typeof e.code === 'number' ? e.code : -1;
          if (e.killed) return reject(new CommandError(line, result, `timed out after ${timeout} ms`));
          if (!opts.allowFailure) return reject(new CommandError(line, result, `exit ${String(e.code)}`));
        }
        resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs a command and returns its trimmed stdout. */
export async function runText(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await run(cmd, args, opts)).stdout.trim();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns a non-undefined value or throws past the deadline; the error names what was
 * awaited and the last probe failure, so a failed wait explains itself.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let interval = opts.intervalMs ?? 50;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${opts.timeoutMs ?? 30_000} ms waiting for ${what}${why}`);
    }
    await sleep(interval);
    interval = Math.min(interval * 2, 500);
  }
}

/** A TCP port on 127.0.0.1 free right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Creates a fresh run directory `/tmp/ycn-XXXXXX` owned by this process: `owner` records our pid so that
 * `cleanupStale` can tell a crashed run from one still in progress in another process.
 */
export async function makeRunDir(parent?: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(parent ?? os.tmpdir(), `${TESTBED_PREFIX}-`));
  await fs.writeFile(path.join(dir, 'owner'), `${process.pid} ${await processStartTime(process.pid)}\n`);
  return dir;
}

/** Start time of a process in clock ticks since boot (/proc/<pid>/stat field 22); '' if it is gone. */
export async function processStartTime(pid: number): Promise<string> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? '';
}

/** Short id of a run directory: `/tmp/ycn-a1B2c3` -> `a1B2c3` (used in namespace names). */
export function runIdOf(dir: string): string {
  return path.basename(dir).slice(TESTBED_PREFIX.length + 1);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True if `p` settles within `ms`; the timer is cleared so it never holds the event loop open. */
async function exitsWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

export interface DaemonOptions {
  /** Human name used in errors ("ovsdb-server nb"). */
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** stdout/stderr go here (the daemon's own --log-file is separate). */
  consoleLog: string;
}

/**
 * A foreground child process we own. The test bed never uses --detach: the pid is the child's, exit is
 * observed directly, and `stop` is SIGTERM then SIGKILL, both bounded.
 */
export class Daemon {
  private exited = false;
  private exitInfo = '';
  private readonly exitPromise: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly consoleLog: string,
  ) {
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = signal ? `signal ${signal}` : `exit ${code}`;
        resolve();
      });
    });
  }

  static async spawn(opts: DaemonOptions): Promise<Daemon> {
    const fd = openSync(opts.consoleLog, 'a');
    let child: ChildProcess;
    try {
      child = spawn(opts.cmd, opts.args, { env: opts.env ?? process.env, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new Error(`cannot start ${opts.name} (${opts.cmd}): ${e.message}`)));
    });
    return new Daemon(opts.name, child, opts.consoleLog);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Throws with the tail of its console log if the daemon has died (call inside readiness probes). */
  async assertRunning(): Promise<void> {
    if (!this.exited) return;
    const tail = await fs.readFile(this.consoleLog, 'utf8').catch(() => '');
    throw new Error(`${this.name} exited (${this.exitInfo}): ${tail.split('\n').slice(-15).join('\n')}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    if (await exitsWithin(this.exitPromise, graceMs)) return;
    await this.kill();
  }

  /** SIGKILL; resolves once the process is gone (bounded at 10 s). */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    if (!(await exitsWithin(this.exitPromise, 10_000)))
      throw new Error(`${this.name} (pid ${this.pid}) did not exit after SIGKILL`);
  }
}
