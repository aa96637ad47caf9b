export interface ProbeSchedulerOptions {
  /** Wheel resolution. Default 10 ms. */
  tickMs?: number;
  /** Probes in flight at most; due probes beyond wait in FIFO order. Default 256. */
  maxInFlight?: number;
  /** Each period is shortened by up to this fraction at random (spreads bursts, never lengthens). Default 0.1. */
  jitter?: number;
  /** [0, 1) source, for tests. */
  random?: () => number;
  now?: () => number;
}

export interface SchedulerStats {
  /** Probes started since creation. */
  started: number;
  /** Firings skipped because the previous probe of the same job was still running. */
  skipped: number;
  inFlight: number;
  queued: number;
  /** Recent lateness samples (start − due, ms), most recent last; at most 20 000. */
  lateness: number[];
}

interface Job {
  id: string;
  intervalMs: number;
  run: () => Promise<void>;
  due: number;
  running: boolean;
  removed: boolean;
}

const MAX_SAMPLES = 20_000;

/**
 * One hashed timer wheel for every probe target: jobs sit in the bucket of their due tick, a single timer
 * advances the wheel, and due jobs start under a concurrency cap. Periods are measured from the previous due
 * time (no drift from probe duration), shortened by a random jitter so targets added together spread out;
 * a job whose previous probe is still running skips that firing instead of piling up.
 */
export class ProbeScheduler {
  private readonly tickMs: number;
  private readonly maxInFlight: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly buckets = new Map<number, Set<Job>>();
  private readonly jobs = new Map<string, Job>();
  private readonly ready: Array<{ job: Job; due: number }> = [];
  private timer?: NodeJS.Timeout;
  private cursor: number;
  private inFlight = 0;
  private stopped = false;
  private readonly stat = { started: 0, skipped: 0, lateness: [] as number[] };

  constructor(opts: ProbeSchedulerOptions = {}) {
    this.tickMs = opts.tickMs ?? 10;
    this.maxInFlight = opts.maxInFlight ?? 256;
    this.jitter = Math.min(Math.max(opts.jitter ?? 0.1, 0), 0.1);
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.cursor = this.tick(this.now());
  }

  /** Adds or replaces a job. The first run is spread uniformly over one interval. */
  add(id: string, intervalMs: number, run: () => Promise<void>): void {
    if (!(intervalMs > 0)) throw new Error(`probe interval must be > 0 (job ${id})`);
    const old = this.jobs.get(id);
    if (old && old.intervalMs === intervalMs) {
      old.run = run;
      return;
    }
    this.remove(id);
    const job: Job = {
      id,
      intervalMs,
      run,
      due: this.now() + this.random() * intervalMs,
      running: false,
      removed: false,
    };
    this.jobs.set(id, job);
    this.place(job);
  }

  remove(id: string): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.removed = true;
    this.jobs.delete(id);
    this.buckets.get(this.tick(job.due))?.delete(job);
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  get size(): number {
    return this.jobs.size;
  }

  stats(): SchedulerStats {
    return { ...this.stat, lateness: [...this.stat.lateness], inFlight: this.inFlight, queued: this.ready.length };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const id of [...this.jobs.keys()]) this.remove(id);
    this.ready.length = 0;
  }

  private tick(t: number): number {
    return Math.floor(t / this.tickMs);
  }

  private place(job: Job): void {
    const t = Math.max(this.tick(job.due), this.cursor + 1);
    let b = this.buckets.get(t);
    if (!b) this.buckets.set(t, (b = new Set()));
    b.add(job);
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.stopped || this.buckets.size === 0) return;
    const next = (this.cursor + 1) * this.tickMs;
    this.timer = setTimeout(() => this.advance(), Math.max(0, next - this.now()));
    this.timer.unref?.();
  }

  private advance(): void {
    this.timer = undefined;
    const until = this.tick(this.now());
    for (; this.cursor < until;) {
      this.cursor++;
      const b = this.buckets.get(this.cursor);
      if (!b) continue;
      this.buckets.delete(this.cursor);
      for (const job of b) this.fire(job);
    }
    this.drain();
    this.arm();
  }

  private fire(job: Job): void {
    if (job.removed) return;
    if (job.running) this.stat.skipped++;
    else this.ready.push({ job, due: job.due });
    job.due += job.intervalMs * (1 - this.jitter * this.random());
    // A job that fell more than a period behind (a stalled event loop) resumes from now, not in a burst.
    if (job.due < this.now()) job.due = this.now() + job.intervalMs * (1 - this.jitter * this.random());
    this.place(job);
  }

  private drain(): void {
    while (this.inFlight < this.maxInFlight && this.ready.length) {
      const { job, due } = this.ready.shift()!;
      if (job.removed) continue;
      this.start(job, due);
    }
  }

  private start(job: Job, due: number): void {
    const late = this.stat.lateness;
    late.push(Math.max(0, this.now() - due));
    if (late.length > MAX_SAMPLES) late.splice(0, late.length - MAX_SAMPLES);
    job.running = true;
    this.inFlight++;
    this.stat.started++;
    const finish = () => {
      job.running = false;
      this.inFlight--;
      this.drain();
    };
    job.run().then(finish, finish);
  }
}
