import type { JournalRetention } from './journal.config';
import type { JournalEntry, JournalQuery, JournalRecord } from './journal.types';

/** Persistence behind `Journal`: the TypeORM store in production, fakes in unit tests. */
export interface JournalStore {
  /** Writes a batch in one transaction. */
  write(entries: readonly JournalEntry[]): Promise<void>;
  /** Newest first, with the rows touched. `limit` is already resolved. */
  query(q: JournalQuery & { limit: number }): Promise<JournalRecord[]>;
  /** Deletes what retention no longer allows; returns the number of transactions deleted. */
  prune(retention: JournalRetention, now: Date): Promise<number>;
  close(): Promise<void>;
}
