import { Logger } from '@nestjs/common';
import type { JournalConfig, JournalRetention } from './journal.config';
import { JournalStore, JournalUnavailableError } from './journal.store';
import type { JournalEntry, JournalLogger, JournalQuery, JournalRecord, JournalStats } from './journal.types';
import { RingBuffer } from './ring-buffer';
import { TypeOrmJournalStore } from './typeorm-journal.store';

/** Options of a `Journal` over any store (the TypeORM one, or a fake in tests). */
export interface JournalOptions {
  retention: JournalRetention;
  bufferSize: number;
  flushIntervalMs: number;
  pruneIntervalMs: number;
  logger?: JournalLogger;
  /** Entries per database transaction. Default 500. */
  maxBatch?: number;
  /**
   * A batch the database refuses this many times in a row is given up (counted in `stats.failed`). Default 5.
   * Attempts that could not reach the database do not count: an outage only delays entries (the buffer's
   * bound, counted in `dropped`, is what limits it).
   */
  maxAttempts?: number;
  /** Start the flush and prune timers. Default true; false for a read-only journal. */
  background?: boolean;
}

export interface JournalOpenOptions {
  logger?: JournalLogger;
  /** For `ycloud journal`: no migrations, no timers, no writes; fails if the journal does not exist. */
  readOnly?: boolean;
}

const DEFAULT_QUERY_LIMIT = 100;
const MAX_QUERY_LIMIT = 10_000;
const DEFAULT_MAX_BATCH = 500;
const DEFAULT_MAX_ATTEMPTS = 5;
// While the database keeps failing, log the 1st failure and then every Nth, not every flush.
const LOG_EVERY_NTH_FAILURE = 60;

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs async jobs one after another (the sql.js connection allows one transaction at a time). */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The change journal: what the controller changed in the NB, for which object, when and why.
 *
 * `record()` is synchronous and O(1): it only appends to a bounded in-memory buffer (dropping the oldest
 * entry when full). A background flusher writes the buffer in batches, one transaction each; database
 * errors are logged and retried, never thrown into the caller. Retention is enforced on a timer.
 */
export class Journal {
  private readonly buffer: RingBuffer<JournalEntry>;
  private readonly serial = new SerialQueue();
  private readonly logger: JournalLogger;
  private readonly maxBatch: number;
  private readonly maxAttempts: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private pending: { entries: JournalEntry[]; attempts: number } | null = null;
  private flushScheduled = false;
  private queuedFlush: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private written = 0;
  private failed = 0;
  private droppedAfterClose = 0;
  private failureStreak = 0;

  constructor(
    private readonly store: JournalStore,
    private readonly options: JournalOptions,
  ) {
    this.buffer = new RingBuffer(options.bufferSize);
    this.logger = options.logger ?? new Logger('Journal');
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (options.background ?? true) {
      this.timers.push(setInterval(() => void this.flush(), options.flushIntervalMs).unref());
      this.timers.push(setInterval(() => void this.pruneQuietly(), options.pruneIntervalMs).unref());
    }
  }

  /** Opens the configured database (running migrations), prunes, and starts the background flusher and pruner. */
  static async open(config: JournalConfig, opts: JournalOpenOptions = {}): Promise<Journal> {
    const db = config.type === 'sqlite' ? { type: config.type, path: config.path } : config;
    const store = await TypeOrmJournalStore.open(db, { readOnly: opts.readOnly });
    const journal = new Journal(store, { ...config, logger: opts.logger, background: !opts.readOnly });
    // Enforce retention once at startup too, so a controller that restarts often still prunes.
    if (!opts.readOnly) await journal.pruneQuietly();
    return journal;
  }

  /** Enqueues one committed NB transaction. Never throws, never waits; see `droppedCount`. */
  record(entry: JournalEntry): void {
    if (this.closed || !entry) {
      this.droppedAfterClose++;
      return;
    }
    this.buffer.push(entry.at ? entry : { ...entry, at: new Date() });
    // Under a burst, write before the buffer overflows instead of waiting for the timer.
    if (!this.flushScheduled && !this.queuedFlush && this.buffer.size >= this.maxBatch) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flush();
      });
    }
  }

  /** Entries lost because the buffer was full (or recorded after `close()`): export as a metric. */
  get droppedCount(): number {
    return this.buffer.dropped + this.droppedAfterClose;
  }

  get stats(): JournalStats {
    const buffered = this.buffer.size + (this.pending?.entries.length ?? 0);
    return { buffered, dropped: this.droppedCount, failed: this.failed, written: this.written };
  }

  /**
   * Writes what is buffered now, in batches. Resolves when done or when the database failed (the batch is
   * kept for the next attempt). Never rejects.
   */
  flush(): Promise<void> {
    // At most one drain waits behind the running one: it will take everything buffered by then, so
    // timer ticks during a slow write do not pile up.
    this.queuedFlush ??= this.serial.run(() => {
      this.queuedFlush = null;
      return this.drain();
    });
    return this.queuedFlush;
  }

  private async drain(): Promise<void> {
    // Everything there is now, the retried batch included; what is recorded meanwhile waits for the next flush.
    let budget = this.buffer.size + (this.pending?.entries.length ?? 0);
    while (budget > 0 && (this.pending || this.buffer.size > 0)) {
      const batch = this.pending ?? { entries: this.buffer.take(this.maxBatch), attempts: 0 };
      this.pending = null;
      budget -= batch.entries.length;
      try {
        await this.store.write(batch.entries);
        this.written += batch.entries.length;
        if (this.failureStreak > 0) {
          this.logger.warn(`journal database writable again after ${this.failureStreak} failed flushes`);
          this.failureStreak = 0;
        }
      } catch (err) {
        this.onWriteError(batch, err);
        return;
      }
      // Let the reconcile path run between batches (sql.js executes on this thread).
      if (budget > 0) await nextTick();
    }
  }

  private onWriteError(batch: { entries: JournalEntry[]; attempts: number }, err: unknown): void {
    this.failureStreak++;
    // A flush every interval during an outage would otherwise use up the attempts within seconds.
    if (!(err instanceof JournalUnavailableError)) batch.attempts++;
    const giveUp = batch.attempts >= this.maxAttempts || this.closed;
    if (giveUp) this.failed += batch.entries.length;
    else this.pending = batch;
    if (giveUp || this.failureStreak % LOG_EVERY_NTH_FAILURE === 1) {
      const what = giveUp ? `gave up ${batch.entries.length} entries` : `will retry ${batch.entries.length} entries`;
      this.logger.error(`journal write failed (${this.failureStreak} in a row), ${what}: ${errorMessage(err)}`);
    }
  }

  /** Newest first, with the rows touched. Flushes the buffer first so recent entries are included. */
  async query(q: JournalQuery = {}): Promise<JournalRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(q.limit ?? DEFAULT_QUERY_LIMIT), 1), MAX_QUERY_LIMIT);
    if (q.since !== undefined && Number.isNaN(q.since.getTime()))
      throw new RangeError('query.since is not a valid date');
    if (!this.closed) await this.flush();
    return this.serial.run(() => this.store.query({ ...q, limit }));
  }

  /** Enforces retention now; returns how many transactions were deleted. Runs on a timer anyway. */
  prune(now: Date = new Date()): Promise<number> {
    return this.serial.run(() => this.store.prune(this.options.retention, now));
  }

  private async pruneQuietly(): Promise<void> {
    if (this.closed) return;
    try {
      await this.prune();
    } catch (err) {
      this.logger.warn(`journal retention pass failed: ${errorMessage(err)}`);
    }
  }

  /** Stops the timers, writes what is buffered and closes the database. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      for (const t of this.timers) clearInterval(t);
      await this.flush();
      const lost = this.buffer.size + (this.pending?.entries.length ?? 0);
      if (lost > 0) {
        this.failed += lost;
        this.buffer.take(this.buffer.size);
        this.pending = null;
        this.logger.error(`journal closed with ${lost} entries not written (database unavailable)`);
      }
      await this.serial.run(() => this.store.close());
    })();
    return this.closing;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
