import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { ProbeOutcome } from './target-state';

/** One probe as the worker runs it. */
export interface ProbeRequest {
  type: 'tcp' | 'http' | 'udp' | 'icmp';
  host: string;
  port?: number;
  path?: string;
  expectedStatus?: number;
  timeoutMs: number;
  /** UDP: fail when nothing answers (otherwise only an ICMP unreachable fails). */
  expectReply?: boolean;
}

export interface WorkerStats {
  cpuUserMs: number;
  cpuSystemMs: number;
  rssBytes: number;
}

/** Where the worker program lives (a plain .js file beside this one). */
export const PROBE_WORKER_JS = path.join(__dirname, 'probe-worker.js');

export interface NetnsProbeWorkerOptions {
  /** Network namespace to run in; undefined runs in the caller's namespace (tests of the worker itself). */
  netns?: string;
  nodePath?: string;
  workerJs?: string;
  /** Extra time over a probe's own timeout before the caller gives up on the worker. Default 2 s. */
  graceMs?: number;
}

type Pending = { resolve: (r: ProbeOutcome & Partial<WorkerStats>) => void; timer: NodeJS.Timeout };

/**
 * A long-lived probe worker inside one network namespace (`ip netns exec <ns> node probe-worker.js`), talking
 * JSON lines over stdin/stdout. Probes use the namespace's own sockets and routes, so they leave through the
 * namespace's interface (the VPC's probe port). If the worker dies, pending probes fail and the next probe
 * restarts it.
 */
export class NetnsProbeWorker {
  private child?: ChildProcessWithoutNullStreams;
  private ready?: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;
  private restarts = 0;

  constructor(private readonly opts: NetnsProbeWorkerOptions = {}) {}

  get netns(): string | undefined {
    return this.opts.netns;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get restartCount(): number {
    return this.restarts;
  }

  /** Runs one probe; never throws (a broken worker is a failed probe with a message). */
  async probe(req: ProbeRequest): Promise<ProbeOutcome> {
    try {
      const r = await this.call({ ...req }, req.timeoutMs + (this.opts.graceMs ?? 2_000));
      return { ok: r.ok, message: r.message, rttMs: r.rttMs };
    } catch (e) {
      return { ok: false, message: `probe worker: ${(e as Error).message}` };
    }
  }

  /** CPU and RSS of the worker process (its own accounting). */
  async stats(): Promise<WorkerStats> {
    const r = await this.call({ type: 'stats' }, 5_000);
    return { cpuUserMs: r.cpuUserMs ?? 0, cpuSystemMs: r.cpuSystemMs ?? 0, rssBytes: r.rssBytes ?? 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((res) => c.once('exit', () => res()));
    c.stdin.end();
    const kill = setTimeout(() => c.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(kill);
  }

  private async call(msg: Record<string, unknown>, timeoutMs: number): Promise<ProbeOutcome & Partial<WorkerStats>> {
    if (this.closed) throw new Error('closed');
    await this.start();
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      this.child!.stdin.write(JSON.stringify({ ...msg, id }) + '\n');
    });
  }

  private start(): Promise<void> {
    if (this.ready && this.child && this.child.exitCode === null) return this.ready;
    if (this.child) this.restarts++;
    const node = this.opts.nodePath ?? process.execPath;
    const js = this.opts.workerJs ?? PROBE_WORKER_JS;
    const [cmd, args] = this.opts.netns ? ['ip', ['netns', 'exec', this.opts.netns, node, js]] : [node, [js]];
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2_000)));
    this.ready = new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const m = JSON.parse(line) as ProbeOutcome & Partial<WorkerStats> & { id: number };
        if (m.id === 0) return resolve();
        const p = this.pending.get(m.id);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(m.id);
        p.resolve(m);
      });
      child.on('error', reject);
      child.on('exit', (code) => {
        const err = new Error(`worker exited (${code}): ${stderr.trim()}`);
        reject(err);
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          this.pending.delete(id);
          p.resolve({ ok: false, message: err.message });
        }
      });
    });
    return this.ready;
  }
}
