/** Where the journal lives: a SQLite file (default) or a PostgreSQL database. */
export type JournalDatabaseConfig = { type: 'sqlite'; path: string } | { type: 'postgres'; url: string };

/** How much history is kept. A limit of `null` is off; at least one limit is always set. */
export interface JournalRetention {
  /** Entries older than this are pruned. */
  maxAgeHours: number | null;
  /** At most this many transactions are kept (the newest). */
  maxRows: number | null;
}

/** Full journal configuration, as returned by `parseJournalConfig`. */
export type JournalConfig = JournalDatabaseConfig & {
  retention: JournalRetention;
  /** Capacity of the in-memory buffer between `record()` and the database. */
  bufferSize: number;
  /** How often the background flusher writes the buffer. */
  flushIntervalMs: number;
  /** How often retention is enforced. */
  pruneIntervalMs: number;
};

/** Default location of the SQLite journal. */
export const DEFAULT_JOURNAL_SQLITE_PATH = '/var/lib/ycloud/journal.sqlite';

export const JOURNAL_CONFIG_DEFAULTS = {
  retention: { maxAgeHours: 7 * 24, maxRows: 100_000 },
  bufferSize: 10_000,
  flushIntervalMs: 1_000,
  pruneIntervalMs: 5 * 60_000,
} as const;

/** A journal configuration that cannot be used; the message names the offending field. */
export class JournalConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalConfigError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positiveInt(v: unknown, field: string, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new JournalConfigError(`journal.${field} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A retention limit: a positive number, or `null`/`0` for "no limit on this axis". */
function limit(v: unknown, field: string, fallback: number, integer: boolean): number | null {
  if (v === undefined) return fallback;
  if (v === null || v === 0) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    const what = integer ? 'a positive integer' : 'a positive number';
    throw new JournalConfigError(`journal.${field} must be ${what} or null, got ${JSON.stringify(v)}`);
  }
  return v;
}

function parseDatabase(input: Record<string, unknown>): JournalDatabaseConfig {
  const type = input.type ?? 'sqlite';
  if (type === 'sqlite') {
    const path = input.path ?? DEFAULT_JOURNAL_SQLITE_PATH;
    if (typeof path !== 'string' || path.trim() === '') {
      throw new JournalConfigError(`journal.path must be a non-empty file path, got ${JSON.stringify(path)}`);
    }
    return { type, path };
  }
  if (type === 'postgres') {
    const url = input.url;
    if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) {
      throw new JournalConfigError('journal.url must be a postgres:// or postgresql:// URL');
    }
    try {
      new URL(url);
    } catch {
      throw new JournalConfigError('journal.url is not a valid URL');
    }
    return { type, url };
  }
  throw new JournalConfigError(`journal.type must be "sqlite" or "postgres", got ${JSON.stringify(type)}`);
}

/**
 * Validates a journal configuration (e.g. the `journal` section of the controller's config) and fills in
 * defaults. Throws `JournalConfigError` naming the first bad field. Never echoes a postgres URL (it may
 * hold a password).
 */
export function parseJournalConfig(input: unknown = {}): JournalConfig {
  if (!isRecord(input)) throw new JournalConfigError('journal config must be an object');
  const db = parseDatabase(input);
  const r = input.retention ?? {};
  if (!isRecord(r)) throw new JournalConfigError('journal.retention must be an object');
  const d = JOURNAL_CONFIG_DEFAULTS;
  const retention: JournalRetention = {
    maxAgeHours: limit(r.maxAgeHours, 'retention.maxAgeHours', d.retention.maxAgeHours, false),
    maxRows: limit(r.maxRows, 'retention.maxRows', d.retention.maxRows, true),
  };
  if (retention.maxAgeHours === null && retention.maxRows === null) {
    throw new JournalConfigError('journal.retention needs maxAgeHours or maxRows: the journal must be bounded');
  }
  return {
    ...db,
    retention,
    bufferSize: positiveInt(input.bufferSize, 'bufferSize', d.bufferSize),
    flushIntervalMs: positiveInt(input.flushIntervalMs, 'flushIntervalMs', d.flushIntervalMs, 10),
    pruneIntervalMs: positiveInt(input.pruneIntervalMs, 'pruneIntervalMs', d.pruneIntervalMs, 1_000),
  };
}

/** `--db` value of the CLI: a postgres URL, or else a SQLite file path. */
export function journalDatabaseFromString(value: string): JournalDatabaseConfig {
  const v = value.trim();
  if (v === '') throw new JournalConfigError('database must be a SQLite file path or a postgres:// URL');
  return /^postgres(ql)?:/i.test(v) ? parseDatabase({ type: 'postgres', url: v }) : { type: 'sqlite', path: v };
}
