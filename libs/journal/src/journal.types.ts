/** What happened to one NB row inside a journaled transaction. */
export type RowOperation = 'insert' | 'update' | 'delete';

/** One NB row touched by a transaction. */
export interface RowChange {
  /** NB table, e.g. `Load_Balancer`. */
  table: string;
  /** The row's key or name (e.g. the load balancer name), whatever identifies it for an operator. */
  key: string;
  operation: RowOperation;
  /** For updates: the columns that changed. Ignored for inserts and deletes. */
  columns?: readonly string[];
}

/** The Kubernetes (or ycloud) object a transaction was made for. */
export interface JournalOwner {
  /** e.g. `Service`. */
  kind: string;
  /** Empty or absent for cluster-scoped objects. */
  namespace?: string;
  name: string;
}

/**
 * One committed NB transaction, as handed to `Journal.record()`.
 * The journal keeps a reference until it is flushed: do not mutate the entry afterwards.
 */
export interface JournalEntry {
  owner: JournalOwner;
  /** Why the controller made the change, e.g. `EndpointSlice changed`, `resync`, `Service deleted`. */
  reason: string;
  rows: readonly RowChange[];
  /** Wall time of the NB transaction, in milliseconds. */
  latencyMs: number;
  /** Number of operations in the NB transaction. */
  opCount: number;
  /** When the transaction committed. Default: the time of `record()`. */
  at?: Date;
}

/** A journaled transaction read back from the database. */
export interface JournalRecord {
  id: number;
  at: Date;
  owner: Required<JournalOwner>;
  reason: string;
  latencyMs: number;
  opCount: number;
  rows: RowChange[];
}

/** Filter for `Journal.query()`. All fields optional; results are newest first. */
export interface JournalQuery {
  /** e.g. `Service`. */
  ownerKind?: string;
  /** `namespace/name`, or `name` for a cluster-scoped owner. */
  owner?: string;
  /** Only entries at or after this time. */
  since?: Date;
  /** At most this many entries (default 100, at most 10000). */
  limit?: number;
}

/** Counters of the journal's write path, for metrics. */
export interface JournalStats {
  /** Entries waiting in the in-memory buffer. */
  buffered: number;
  /** Entries dropped because the buffer was full (the oldest go first). */
  dropped: number;
  /** Entries given up after the database refused them repeatedly. */
  failed: number;
  /** Entries written to the database. */
  written: number;
}

/** Minimal logger the journal reports database problems to (NestJS `Logger` fits). */
export interface JournalLogger {
  warn(message: string): void;
  error(message: string): void;
}
