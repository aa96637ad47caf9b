import { defaultControllerRateLimiter, RateLimiter } from './rate-limiter';

/** Hooks the queue calls so a metrics provider (see metrics.ts) can count; all optional. */
export interface WorkQueueMetrics {
  add(): void;
  depth(n: number): void;
  retry(): void;
  /** Seconds an item waited in the queue before a worker took it. */
  queueLatency(seconds: number): void;
  /** Seconds between get() and done(). */
  workDuration(seconds: number): void;
}

/**
 * How urgent a key is. `event`: something changed (a watch event, drift, a retry of such a key). `resync`: a look
 * at everything, not prompted by a change (a periodic full reconcile, an informer's initial list); handed out only
 * when no `event` key waits.
 */
export type QueuePriority = 'event' | 'resync';

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
  now?: () => number;
}

/**
 * A work queue with client-go's semantics, in two priority levels.
 *
 * - A key is in the queue at most once (`dirty`): adding it again while it waits is a no-op, except that adding
 *   as `event` a key waiting as `resync` moves it to the `event` level (promotion), behind the `event` keys
 *   already waiting.
 * - `get()` hands out `event` keys first, each level in FIFO order: a periodic resync that queues every key never
 *   delays an event-driven one. A `resync` key waits while any `event` key waits (under a stream of events that
 *   keeps every worker busy, until the stream pauses): it is only a safety net for what no event reported.
 * - A key being processed (`processing`) is never handed to a second worker; adding it meanwhile marks it
 *   dirty (at the higher of the levels asked for) and it is queued again when the worker calls `done()`.
 * - `addAfter` delays an add (earliest deadline wins, and the higher level); `addRateLimited` delays by the rate
 *   limiter, at the level the key was handed out with (a failed resync key retries as `resync`).
 * - After `shutDown()` adds are ignored, but `get()` keeps returning queued keys until the queue is empty
 *   (drain); then it returns `undefined`. `shutDownNow()` drops what is queued.
 */
export class WorkQueue {
  /** One FIFO per level; entries whose `seq` no longer matches `queued` are stale (promoted) and skipped. */
  private readonly levels: Record<QueuePriority, Fifo> = { event: new Fifo(), resync: new Fifo() };
  /** Keys waiting in a level's FIFO, with the sequence number of their live entry. */
  private readonly queued = new Map<string, { priority: QueuePriority; seq: number }>();
  private nextSeq = 0;
  private readonly counts: Record<QueuePriority, number> = { event: 0, resync: 0 };
  /** Keys added and not yet handed out (queued, or waiting for their worker's done()), with their level. */
  private readonly dirty = new Map<string, QueuePriority>();
  /** Keys held by workers, with the level they were handed out with. */
  private readonly processing = new Map<string, QueuePriority>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { readyAt: number; priority: QueuePriority; timer: NodeJS.Timeout }>();
  private getters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private shuttingDown = false;
  private discardOnShutdown = false;
  readonly rateLimiter: RateLimiter;
  private readonly metrics?: WorkQueueMetrics;
  private readonly now: () => number;

  constructor(options: WorkQueueOptions = {}) {
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter();
    this.metrics = options.metrics;
    this.now = options.now ?? Date.now;
  }

  /** Keys waiting to be handed out (not counting delayed or in-flight keys), over both levels. */
  len(): number {
    return this.queued.size;
  }

  /** Keys waiting at one level. */
  lenOf(priority: QueuePriority): number {
    return this.counts[priority];
  }

  /** Keys currently held by workers. */
  inFlight(): number {
    return this.processing.size;
  }

  /** Keys waiting on addAfter/addRateLimited timers. */
  delayed(): number {
    return this.waiting.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string, priority: QueuePriority = 'event'): void {
    if (this.shuttingDown) return;
    const was = this.dirty.get(key);
    if (was !== undefined) {
      if (was === 'resync' && priority === 'event') this.promote(key);
      return;
    }
    this.metrics?.add();
    this.dirty.set(key, priority);
    this.addedAt.set(key, this.now());
    if (this.processing.has(key)) return;
    this.push(key, priority);
  }

  /**
   * Adds after `delayMs`; if the key already waits for an earlier time, that earlier time stays (and the higher
   * of the two levels).
   */
  addAfter(key: string, delayMs: number, priority: QueuePriority = 'event'): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key, priority);
      return;
    }
    const readyAt = this.now() + delayMs;
    const existing = this.waiting.get(key);
    if (existing) {
      if (priority === 'event') existing.priority = 'event';
      if (existing.readyAt <= readyAt) return;
      clearTimeout(existing.timer);
      priority = existing.priority;
    }
    const timer = setTimeout(() => {
      const entry = this.waiting.get(key);
      this.waiting.delete(key);
      this.add(key, entry?.priority ?? priority);
    }, delayMs);
    timer.unref?.();
    this.waiting.set(key, { readyAt, priority, timer });
  }

  /**
   * Adds after the rate limiter's delay for this key (one more failure recorded), at `priority` or else the level
   * the key was handed out with (`event` for a key not in flight).
   */
  addRateLimited(key: string, priority?: QueuePriority): void {
    if (this.shuttingDown) return;
    this.metrics?.retry();
    this.addAfter(key, this.rateLimiter.when(key), priority ?? this.processing.get(key) ?? 'event');
  }

  /** The level a key in flight was handed out with (undefined when no worker holds it). */
  priorityInFlight(key: string): QueuePriority | undefined {
    return this.processing.get(key);
  }

  /** Clears the key's failure history (after a success or a final give-up). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key (`event` level first), waiting if none; `undefined` once shut down and drained. Call `done(key)` after. */
  async get(): Promise<string | undefined> {
    while (this.len() === 0 && !this.shuttingDown) {
      await new Promise<void>((resolve) => this.getters.push(resolve));
    }
    if (this.len() === 0) {
      this.checkIdle();
      return undefined;
    }
    const { key, priority } = this.shift();
    this.processing.set(key, priority);
    this.dirty.delete(key);
    const now = this.now();
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics?.queueLatency((now - added) / 1000);
    this.startedAt.set(key, now);
    this.metrics?.depth(this.len());
    return key;
  }

  /** Marks the key finished; if it was added while processing, it goes back in the queue (at the level asked). */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const started = this.startedAt.get(key);
    this.startedAt.delete(key);
    if (started !== undefined) this.metrics?.workDuration((this.now() - started) / 1000);
    const again = this.dirty.get(key);
    if (again !== undefined) {
      if (this.shuttingDown && this.discardOnShutdown) {
        this.dirty.delete(key);
        this.addedAt.delete(key);
      } else this.push(key, again);
    }
    this.checkIdle();
  }

  /** Stops accepting keys; queued and in-flight keys still drain through get()/done(). */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    this.wakeAll();
    this.checkIdle();
  }

  /** Stops accepting keys and drops queued ones; only in-flight keys finish. */
  shutDownNow(): void {
    this.discardOnShutdown = true;
    for (const key of this.queued.keys()) {
      this.dirty.delete(key);
      this.addedAt.delete(key);
    }
    this.queued.clear();
    this.counts.event = this.counts.resync = 0;
    this.levels.event.clear();
    this.levels.resync.clear();
    this.metrics?.depth(0);
    this.shutDown();
  }

  /** Resolves when shut down, the queue is empty and no key is in flight. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  private checkIdle(): void {
    if (!this.shuttingDown || this.len() > 0 || this.processing.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** A key waiting (or dirty in flight) as `resync` becomes `event`; a queued one moves to the event FIFO. */
  private promote(key: string): void {
    this.dirty.set(key, 'event');
    if (this.queued.has(key)) this.push(key, 'event'); // the resync entry goes stale
  }

  private push(key: string, priority: QueuePriority): void {
    const seq = this.nextSeq++;
    const was = this.queued.get(key);
    if (was) this.counts[was.priority]--;
    this.counts[priority]++;
    this.queued.set(key, { priority, seq });
    this.levels[priority].push(key, seq);
    this.metrics?.depth(this.len());
    const getter = this.getters.shift();
    if (getter) getter();
  }

  /** Takes the next live entry, event level first; only called with len() > 0. */
  private shift(): { key: string; priority: QueuePriority } {
    for (const priority of ['event', 'resync'] as const) {
      const fifo = this.levels[priority];
      for (let e = fifo.shift(); e; e = fifo.shift()) {
        const q = this.queued.get(e.key);
        if (q?.seq !== e.seq) continue; // stale: promoted since
        this.queued.delete(e.key);
        this.counts[priority]--;
        return { key: e.key, priority };
      }
    }
    throw new Error('work queue: no live entry although len() > 0');
  }

  private wakeAll(): void {
    const getters = this.getters;
    this.getters = [];
    for (const g of getters) g();
  }
}

/** An array-backed FIFO of (key, seq) entries that compacts now and then instead of shifting on every take. */
class Fifo {
  private keys: string[] = [];
  private seqs: number[] = [];
  private head = 0;

  push(key: string, seq: number): void {
    this.keys.push(key);
    this.seqs.push(seq);
  }

  shift(): { key: string; seq: number } | undefined {
    if (this.head >= this.keys.length) return undefined;
    const e = { key: this.keys[this.head], seq: this.seqs[this.head] };
    this.head++;
    if (this.head >= this.keys.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  clear(): void {
    this.keys = [];
    this.seqs = [];
    this.head = 0;
  }
}
