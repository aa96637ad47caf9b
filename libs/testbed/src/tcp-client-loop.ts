import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

// Runs inside the namespace (`ip netns exec … node -e`): a new connection every `period` ms, each sending a line and
// waiting for the server's reply, bounded by `timeout`; one JSON line per attempt on stdout. Attempts overlap when
// one takes longer than the period, so a slow or lost connection does not thin out the loop.
const LOOP_JS = `
const net = require('net');
const [host, port, period, timeout] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
let seq = 0;
function attempt() {
  const id = seq++;
  const start = Date.now();
  let out = '';
  let done = false;
  const s = net.connect({ host, port });
  const finish = (ok, detail) => {
    if (done) return;
    done = true;
    clearTimeout(t);
    s.destroy();
    const r = { seq: id, start, end: Date.now(), ok };
    if (ok) r.reply = detail; else r.error = detail;
    process.stdout.write(JSON.stringify(r) + '\\n');
  };
  const t = setTimeout(() => finish(false, 'timeout'), timeout);
  s.on('connect', () => s.write('hello\\n'));
  s.on('data', (d) => (out += d));
  s.on('end', () => (out ? finish(true, out.trim()) : finish(false, 'closed without reply')));
  s.on('error', (e) => finish(false, e.code || e.message));
}
process.on('SIGTERM', () => process.exit(0));
attempt();
setInterval(attempt, period);
`;

/** One connection attempt of a {@link TcpClientLoop}. Times are this host's `Date.now()`. */
export interface ClientAttempt {
  seq: number;
  start: number;
  end: number;
  ok: boolean;
  /** The server's reply line (trimmed) when ok. */
  reply?: string;
  /** `ECONNREFUSED`, `timeout`, … when not ok. */
  error?: string;
}

export interface TcpClientLoopOptions {
  /** Milliseconds between connection starts (default 100). */
  periodMs?: number;
  /** Milliseconds one attempt may take, connect to reply (default 500). */
  timeoutMs?: number;
}

/**
 * A steady TCP client in a network namespace: a new connection to host:port every `periodMs`, each recorded with
 * start/end time, outcome and the reply (who answered). For "no failure after …" assertions on real traffic.
 */
export class TcpClientLoop {
  readonly attempts: ClientAttempt[] = [];
  private readonly exited: Promise<void>;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.attempts.push(JSON.parse(line) as ClientAttempt);
      } catch {
        this.stderr += `unparsed: ${line}\n`;
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4_000)));
  }

  /** Starts the loop in `netns`; resolves once the first attempt has been recorded. */
  static async start(
    netns: string,
    host: string,
    port: number,
    opts: TcpClientLoopOptions = {},
  ): Promise<TcpClientLoop> {
    const period = opts.periodMs ?? 100;
    const timeout = opts.timeoutMs ?? 500;
    const child = spawn(
      'ip',
      ['netns', 'exec', netns, process.execPath, '-e', LOOP_JS, host, String(port), String(period), String(timeout)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const loop = new TcpClientLoop(child);
    const deadline = Date.now() + timeout + 10_000;
    while (!loop.attempts.length) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await loop.stop();
        throw new Error(`client loop in ${netns} did not start: ${loop.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return loop;
  }

  /** Attempts that started at or after `t` (ms), in start order. */
  since(t: number): ClientAttempt[] {
    return this.attempts.filter((a) => a.start >= t).sort((a, b) => a.start - b.start);
  }

  /** Who answered (first word of the reply) among `attempts`. */
  static answeredBy(attempts: ClientAttempt[]): Set<string> {
    return new Set(attempts.filter((a) => a.ok).map((a) => a.reply!.split(' ')[0]));
  }

  /** Stops the loop and waits for the process to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
      await this.exited;
      clearTimeout(t);
    }
  }
}
