import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { enqueueHandler, EventHandler, KeyMapper } from './event-handlers';
import { Logger } from './logger';
import { ControllerMetrics, ReconcileResultLabel } from './metrics';
import { RateLimiter } from './rate-limiter';
import { KubeObject } from './resource';
import { QueuePriority, WorkQueue } from './work-queue';

/** Throw from reconcile to say "retrying will not help": the key is forgotten, not re-queued. */
export class TerminalError extends Error {
  readonly terminal = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** True for a TerminalError, also one from another copy of this module. */
export function isTerminalError(err: unknown): boolean {
  return (
    err instanceof TerminalError ||
    (typeof err === 'object' && err !== null && (err as { terminal?: unknown }).terminal === true)
  );
}

/** What reconcile returns: `{}` = done; `{ requeueAfter }` = look again after that many ms (no backoff). */
export interface Result {
  requeueAfter?: number;
}

/** Passed to every reconcile. Log through `log`: every line carries controller, key and reconcileId. */
export interface ReconcileContext {
  /** The key being reconciled. */
  key: string;
  /** Unique per reconcile: ties its log lines (and the change journal's entry) together. */
  reconcileId: string;
  log: Logger;
  /** 1 on the first try of a key, 2 after one failure, ... */
  attempt: number;
  /** Failures so far for this key (attempt - 1). */
  retries: number;
  /**
   * Why the key was queued (the first reason noted since its last reconcile: "Service changed", "drift: ...",
   * "periodic resync"); "resync" when nobody said. Recorded with the NB transaction the reconcile commits.
   */
  reason: string;
  /** Aborted when the controller stops; long reconciles should give up. */
  signal: AbortSignal;
}

/** A context for a reconcile run outside a controller's workers (start-up work, unit tests). */
export function reconcileContext(key: string, fields: Partial<Omit<ReconcileContext, 'key'>> = {}): ReconcileContext {
  const retries = fields.retries ?? (fields.attempt !== undefined ? fields.attempt - 1 : 0);
  return {
    key,
    reconcileId: fields.reconcileId ?? randomUUID(),
    log: fields.log ?? new Logger({ level: 'warn' }),
    attempt: retries + 1,
    retries,
    reason: fields.reason ?? 'resync',
    signal: fields.signal ?? new AbortController().signal,
  };
}

export type ReconcileFn = (key: string, ctx: ReconcileContext) => Promise<Result | void>;

/** Something with a cache that can say it has listed once (an Informer). */
export interface SyncSource {
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

export interface ControllerOptions {
  name: string;
  reconcile: ReconcileFn;
  /** Concurrent reconciles (distinct keys only). Default 1. */
  workers?: number;
  /** Failures after which a key is dropped (and counted) instead of retried. Default 15. */
  maxRetries?: number;
  rateLimiter?: RateLimiter;
  /** Metrics go to this registry; pre-registered at zero. */
  registry?: Registry;
  logger?: Logger;
}

/**
 * A level-based controller: event handlers only enqueue keys (`namespace/name`), workers call `reconcile(key)`
 * which reads the current state from caches and converges. Errors retry with per-key backoff under a global
 * rate limit up to `maxRetries`; `TerminalError` does not retry; `{ requeueAfter }` schedules a look later.
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcileFn: ReconcileFn;
  private readonly workerCount: number;
  private readonly maxRetries: number;
  private readonly metrics: ControllerMetrics;
  private readonly log: Logger;
  private readonly sources: SyncSource[] = [];
  private readonly abort = new AbortController();
  /** Why each queued key was queued: this controller's own, so controllers sharing keys never take each other's. */
  private readonly reasons = new Map<string, { reason: string; priority: QueuePriority }>();
  private workers: Promise<void>[] = [];
  private started = false;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.reconcileFn = options.reconcile;
    this.workerCount = Math.max(1, options.workers ?? 1);
    this.maxRetries = options.maxRetries ?? 15;
    this.metrics = new ControllerMetrics(options.registry ?? new Registry());
    this.log = (options.logger ?? new Logger()).child({ controller: this.name });
    this.queue = new WorkQueue({ rateLimiter: options.rateLimiter, metrics: this.metrics.forController(this.name) });
  }

  /**
   * Enqueues a key (`namespace/name`, or `name` for cluster-scoped objects). `reason` is kept for the key's next
   * reconcile (the first one given wins until then, except that an `event` reason replaces a `resync` one: the key
   * is then reconciled for the event); reconcile never branches on it. `priority` `resync` is for periodic full
   * reconciles: such keys are reconciled only when no event-driven key waits (see WorkQueue).
   */
  enqueue(key: string, reason?: string, priority: QueuePriority = 'event'): void {
    this.note(key, reason, priority);
    this.queue.add(key, priority);
  }

  enqueueAfter(key: string, delayMs: number, reason?: string, priority: QueuePriority = 'event'): void {
    this.note(key, reason, priority);
    this.queue.addAfter(key, delayMs, priority);
  }

  private note(key: string, reason: string | undefined, priority: QueuePriority): void {
    if (reason === undefined) return;
    const noted = this.reasons.get(key);
    if (!noted || (noted.priority === 'resync' && priority === 'event')) this.reasons.set(key, { reason, priority });
  }

  /**
   * Enqueues keys on every change of `source` (an Informer): its own key by default, or what `map` returns
   * (e.g. `serviceKeyOfEndpointSlice`). Workers start only after `source` has synced.
   */
  watch<T extends KubeObject>(
    source: SyncSource & { addHandler(h: EventHandler<T>): () => void },
    map?: KeyMapper<T>,
  ): this {
    source.addHandler(enqueueHandler<T>({ enqueue: (key, priority) => this.enqueue(key, undefined, priority) }, map));
    return this.waitFor(source);
  }

  /** Like watch(), noting `reason` for every key queued by `source`'s events. */
  watchWithReason<T extends KubeObject>(
    source: SyncSource & { addHandler(h: EventHandler<T>): () => void },
    reason: string,
    map?: KeyMapper<T>,
  ): this {
    source.addHandler(enqueueHandler<T>({ enqueue: (key, priority) => this.enqueue(key, reason, priority) }, map));
    return this.waitFor(source);
  }

  /** Caches that must have synced before workers start (see `Informer`; event wiring is in event-handlers.ts). */
  waitFor(...sources: SyncSource[]): this {
    this.sources.push(...sources);
    return this;
  }

  /** Waits for the caches, then starts the workers. Resolves once workers run. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all(this.sources.map((s) => s.waitForSync(this.abort.signal)));
    if (this.abort.signal.aborted) return;
    this.log.info('starting workers', { workers: this.workerCount });
    for (let i = 0; i < this.workerCount; i++) this.workers.push(this.runWorker());
  }

  /**
   * Stops: no new keys; with `drain` (default) queued keys are still reconciled, otherwise only in-flight
   * ones finish. The abort signal in each reconcile context fires either way only when `drain` is false.
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    const drain = options.drain ?? true;
    if (drain) this.queue.shutDown();
    else {
      this.queue.shutDownNow();
      this.abort.abort();
    }
    await Promise.all(this.workers);
    this.abort.abort();
    this.log.info('stopped');
  }

  private async runWorker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.processKey(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  /** One reconcile with its outcome handling. Never throws. */
  async processKey(key: string): Promise<ReconcileResultLabel> {
    const reconcileId = randomUUID();
    const log = this.log.child({ key, reconcileId });
    const retries = this.queue.numRequeues(key);
    const priority = this.queue.priorityInFlight(key) ?? 'event';
    const reason = this.reasons.get(key)?.reason ?? 'resync';
    this.reasons.delete(key);
    const ctx: ReconcileContext = {
      ...{ key, reconcileId, log, attempt: retries + 1, retries, reason },
      signal: this.abort.signal,
    };
    const endTimer = this.metrics.reconcileDuration.labels(this.name).startTimer();
    this.metrics.workers.labels(this.name).inc();
    let result: ReconcileResultLabel;
    try {
      const res = (await this.reconcileFn(key, ctx)) ?? {};
      this.queue.forget(key);
      if (res.requeueAfter !== undefined && res.requeueAfter > 0) {
        this.queue.addAfter(key, res.requeueAfter, priority);
        result = 'requeue_after';
      } else {
        result = 'success';
      }
      log.debug('reconciled', { result, requeueAfter: res.requeueAfter });
    } catch (err) {
      result = this.handleError(key, err, log, retries);
      if (result === 'error') this.note(key, reason, priority); // the retry still says why the key was queued
    } finally {
      endTimer();
      this.metrics.workers.labels(this.name).dec();
    }
    this.metrics.reconcileTotal.labels(this.name, result).inc();
    return result;
  }

  private handleError(key: string, err: unknown, log: Logger, retries: number): ReconcileResultLabel {
    this.metrics.reconcileErrors.labels(this.name).inc();
    if (isTerminalError(err)) {
      this.queue.forget(key);
      log.error('reconcile failed with a terminal error; not retrying', { err });
      return 'terminal_error';
    }
    if (retries >= this.maxRetries) {
      this.queue.forget(key);
      this.metrics.queueRetryCapDrops.labels(this.name).inc();
      log.error('reconcile failed; retry cap reached, dropping key', { err, retries });
      return 'dropped';
    }
    this.queue.addRateLimited(key);
    log.warn('reconcile failed; retrying with backoff', { err, retries: retries + 1 });
    return 'error';
  }
}
