import type { JournalRetention } from './journal.config';
import type { JournalEntry, JournalQuery, JournalRecord } from './journal.types';

/**
 * The journal database cannot be reached or opened (missing file, schema not created, server down or
 * restarting). From `JournalStore.write` it means "try again later": nothing was refused.
 */
export class JournalUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JournalUnavailableError';
  }
}

/** Persistence behind `Journal`: the TypeORM store in production, fakes in unit tests. */
export interface JournalStore {
  /**
   * Writes a batch in one transaction. Throws `JournalUnavailableError` when the database could not be reached
   * (the journal keeps the batch for as long as that lasts); any other error is the database refusing the batch.
   */
  write(entries: readonly JournalEntry[]): Promise<void>;
  /** Newest first, with the rows touched. `limit` is already resolved. */
  query(q: JournalQuery & { limit: number }): Promise<JournalRecord[]>;
  /** Deletes what retention no longer allows; returns the number of transactions deleted. */
  prune(retention: JournalRetention, now: Date): Promise<number>;
  close(): Promise<void>;
}
