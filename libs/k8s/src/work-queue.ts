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

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
  now?: () => number;
}

/**
 * A work queue with client-go's semantics.
 *
 * - A key is in the queue at most once (`dirty`): adding it again while it waits is a no-op.
 * - A key being processed (`processing`) is never handed to a second worker; adding it meanwhile marks it
 *   dirty and it is queued again when the worker calls `done()`.
 * - `addAfter` delays an add (earliest deadline wins); `addRateLimited` delays by the rate limiter.
 * - After `shutDown()` adds are ignored, but `get()` keeps returning queued keys until the queue is empty
 *   (drain); then it returns `undefined`. `shutDownNow()` drops what is queued.
 */
export class WorkQueue {
  private items: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { readyAt: number; timer: NodeJS.Timeout }>();
  private getters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private shuttingDown = false;
  readonly rateLimiter: RateLimiter;
  private readonly metrics?: WorkQueueMetrics;
  private readonly now: () => number;

  constructor(options: WorkQueueOptions = {}) {
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter();
    this.metrics = options.metrics;
    this.now = options.now ?? Date.now;
  }

  /** Keys waiting to be handed out (not counting delayed or in-flight keys). */
  len(): number {
    return this.items.length - this.head;
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

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.add();
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds after `delayMs`; if the key already waits for an earlier time, that earlier time stays. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.now() + delayMs;
    const existing = this.waiting.get(key);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.waiting.set(key, { readyAt, timer });
  }

  /** Adds after the rate limiter's delay for this key (one more failure recorded). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.retry();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the key's failure history (after a success or a final give-up). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key, waiting if none; `undefined` once shut down and drained. Call `done(key)` after. */
  async get(): Promise<string | undefined> {
    while (this.len() === 0 && !this.shuttingDown) {
      await new Promise<void>((resolve) => this.getters.push(resolve));
    }
    if (this.len() === 0) {
      this.checkIdle();
      return undefined;
    }
    const key = this.shift();
    this.processing.add(key);
    this.dirty.delete(key);
    const now = this.now();
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics?.queueLatency((now - added) / 1000);
    this.startedAt.set(key, now);
    this.metrics?.depth(this.len());
    return key;
  }

  /** Marks the key finished; if it was added while processing, it goes back in the queue. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const started = this.startedAt.get(key);
    this.startedAt.delete(key);
    if (started !== undefined) this.metrics?.workDuration((this.now() - started) / 1000);
    if (this.dirty.has(key)) {
      if (this.shuttingDown && this.discardOnShutdown) this.dirty.delete(key);
      else this.push(key);
    }
    this.checkIdle();
  }

  private discardOnShutdown = false;

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
    for (const key of this.items.slice(this.head)) {
      this.dirty.delete(key);
      this.addedAt.delete(key);
    }
    this.items = [];
    this.head = 0;
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

  private push(key: string): void {
    this.items.push(key);
    this.metrics?.depth(this.len());
    const getter = this.getters.shift();
    if (getter) getter();
  }

  private shift(): string {
    const key = this.items[this.head++];
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }

  private wakeAll(): void {
    const getters = this.getters;
    this.getters = [];
    for (const g of getters) g();
  }
}
