import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import { DataSource, DataSourceOptions, EntityManager, EntitySchema } from 'typeorm';
import type { JournalDatabaseConfig, JournalRetention } from './journal.config';
import {
  JOURNAL_ENTRY_TABLE,
  JOURNAL_ROW_TABLE,
  JournalDbKind,
  JournalEntryRow,
  JournalRowRow,
  journalEntities,
} from './journal.entities';
import { JournalStore, JournalUnavailableError } from './journal.store';
import type { JournalEntry, JournalQuery, JournalRecord, RowChange, RowOperation } from './journal.types';
import { JOURNAL_MIGRATIONS } from './migrations';

export interface TypeOrmJournalStoreOptions {
  /** Open without migrating or writing (the CLI): fails if the journal does not exist yet. */
  readOnly?: boolean;
}

const MIGRATIONS_TABLE = 'journal_migrations';
const OPERATIONS = new Set<RowOperation>(['insert', 'update', 'delete']);
// PostgreSQL allows 65535 bind parameters per statement, SQLite (as built into sql.js) 32766. 100 entries
// take a few ms of sql.js CPU.
const ENTRY_CHUNK = 100;
const ROW_CHUNK = 2_000;

// Errors that say the server could not be reached or went away, not that it refused the statement: socket
// errors, SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, crash, starting up), 53300 (too many
// connections), and node-postgres' own messages for a connection that ended under it.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
const UNREACHABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|not queryable/i;

/** Whether `err` (or what it wraps) says the database could not be reached, rather than that it refused. */
export function isDatabaseUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
    if (typeof code === 'string' && code.startsWith('08')) return true;
    if (typeof message === 'string' && UNREACHABLE_MESSAGE.test(message)) return true;
    e = (e as { driverError?: unknown; cause?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

function cut(s: unknown, max: number): string {
  const v = typeof s === 'string' ? s : String(s ?? '');
  return v.length > max ? v.slice(0, max) : v;
}

function finiteOr(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** Maps a recorded entry to column values, cut to the column sizes so one bad entry cannot fail a batch. */
function toEntryRow(e: JournalEntry): Omit<JournalEntryRow, 'id'> {
  const at = e.at instanceof Date && !Number.isNaN(e.at.getTime()) ? e.at : new Date();
  return {
    at,
    ownerKind: cut(e.owner?.kind, 63),
    ownerNamespace: cut(e.owner?.namespace, 253),
    ownerName: cut(e.owner?.name, 253),
    reason: cut(e.reason, 255),
    latencyMs: Math.max(0, finiteOr(e.latencyMs, 0)),
    opCount: Math.max(0, Math.trunc(finiteOr(e.opCount, 0))),
  };
}

function toRowRows(entryId: number, rows: readonly RowChange[] | undefined): Omit<JournalRowRow, 'id'>[] {
  if (!Array.isArray(rows)) return [];
  return rows
    .filter((r) => OPERATIONS.has(r?.operation))
    .map((r) => ({
      entryId,
      tableName: cut(r.table, 63),
      rowKey: cut(r.key, 255),
      operation: r.operation,
      columns: r.operation === 'update' && r.columns?.length ? cut(r.columns.join(','), 1024) : null,
    }));
}

/** The format TypeORM stores and reads `datetime` columns in on SQLite: UTC, `YYYY-MM-DD HH:MM:SS.SSS`. */
function sqliteDatetime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `ns/name` or `name` (cluster-scoped). */
export function parseOwnerRef(owner: string): { namespace: string; name: string } {
  const i = owner.indexOf('/');
  return i < 0 ? { namespace: '', name: owner } : { namespace: owner.slice(0, i), name: owner.slice(i + 1) };
}

/**
 * Writes the SQLite image next to the file and renames it over, so a reader (`ycloud journal`) never sees a
 * half-written file.
 */
function atomicFileWriter(file: string): (data: Uint8Array) => Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  return async (data) => {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  };
}

/** The journal on TypeORM: SQLite through sql.js (a file, saved after each transaction) or PostgreSQL. */
export class TypeOrmJournalStore implements JournalStore {
  private constructor(
    private readonly ds: DataSource,
    private readonly kind: JournalDbKind,
    private readonly entry: EntitySchema<JournalEntryRow>,
    private readonly row: EntitySchema<JournalRowRow>,
  ) {}

  /** Opens the database and, unless read-only, runs pending migrations. */
  static async open(db: JournalDatabaseConfig, opts: TypeOrmJournalStoreOptions = {}): Promise<TypeOrmJournalStore> {
    const kind: JournalDbKind = db.type;
    const { entry, row } = journalEntities(kind);
    const common = {
      entities: [entry, row],
      migrations: [...JOURNAL_MIGRATIONS],
      migrationsTableName: MIGRATIONS_TABLE,
      migrationsRun: !opts.readOnly,
      synchronize: false,
      logging: false,
    };
    let options: DataSourceOptions;
    if (db.type === 'sqlite') {
      const file = path.resolve(db.path);
      if (opts.readOnly && !existsSync(file)) throw new JournalUnavailableError(`no journal at ${file}`);
      if (!opts.readOnly) await fs.mkdir(path.dirname(file), { recursive: true });
      options = {
        ...common,
        type: 'sqljs',
        location: file,
        autoSave: !opts.readOnly,
        autoSaveCallback: opts.readOnly ? undefined : atomicFileWriter(file),
      };
    } else {
      options = {
        ...common,
        type: 'postgres',
        url: db.url,
        poolSize: 2,
        connectTimeoutMS: 10_000,
        applicationName: 'ycloud-journal',
      };
    }
    const ds = new DataSource(options);
    try {
      await ds.initialize();
      if (opts.readOnly && (await ds.showMigrations())) {
        throw new JournalUnavailableError('the journal schema is missing or older than this tool (no migrations run)');
      }
    } catch (err) {
      if (ds.isInitialized) await ds.destroy();
      if (err instanceof JournalUnavailableError) throw err;
      const where = db.type === 'sqlite' ? db.path : 'the PostgreSQL journal';
      throw new JournalUnavailableError(`cannot open ${where}: ${(err as Error).message}`, { cause: err });
    }
    return new TypeOrmJournalStore(ds, kind, entry, row);
  }

  /** Names of the migrations recorded as applied, oldest first. */
  async appliedMigrations(): Promise<string[]> {
    const rows: { name: string }[] = await this.ds.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`);
    return rows.map((r) => r.name);
  }

  /** Row counts of both tables, for tests and diagnostics. */
  async rawCounts(): Promise<{ entries: number; rows: number }> {
    const [entries, rows] = await Promise.all([
      this.ds.getRepository(this.entry).count(),
      this.ds.getRepository(this.row).count(),
    ]);
    return { entries, rows };
  }

  async write(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.writeTransaction(entries);
    } catch (err) {
      if (!isDatabaseUnreachable(err)) throw err;
      throw new JournalUnavailableError(errorText(err), { cause: err });
    }
  }

  private async writeTransaction(entries: readonly JournalEntry[]): Promise<void> {
    await this.ds.transaction(async (m) => {
      const parts = chunks(entries, ENTRY_CHUNK);
      for (let i = 0; i < parts.length; i++) {
        // sql.js runs on this thread: let the reconcile path in between chunks (the serial queue in
        // Journal keeps everyone else off the connection meanwhile).
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        await this.insert(m, parts[i]);
      }
    });
  }

  /**
   * Plain multi-row INSERTs: the query builder costs ~90 µs per entry of CPU, and with sql.js that CPU is
   * the event loop's. Both engines hand out the ids of one INSERT in VALUES order, so the sorted RETURNING
   * ids map to the entries in order (RETURNING itself does not promise an order).
   */
  private async insert(m: EntityManager, part: readonly JournalEntry[]): Promise<void> {
    const entryRows = part.map(toEntryRow);
    const entryCols = ['at', 'owner_kind', 'owner_namespace', 'owner_name', 'reason', 'latency_ms', 'op_count'];
    const entryValues = entryRows.map((r) => [
      this.kind === 'postgres' ? r.at : sqliteDatetime(r.at),
      r.ownerKind,
      r.ownerNamespace,
      r.ownerName,
      r.reason,
      r.latencyMs,
      r.opCount,
    ]);
    const returned: { id: number | string }[] = await m.query(
      `${this.insertSql(JOURNAL_ENTRY_TABLE, entryCols, entryValues.length)} RETURNING id`,
      entryValues.flat(),
    );
    const ids = returned.map((r) => Number(r.id)).sort((a, b) => a - b);
    if (ids.length !== part.length) throw new Error(`inserted ${part.length} entries, got ${ids.length} ids`);
    const rows = part.flatMap((e, i) => toRowRows(ids[i], e.rows));
    const rowCols = ['entry_id', 'table_name', 'row_key', 'operation', 'columns'];
    for (const rowPart of chunks(rows, ROW_CHUNK)) {
      const values = rowPart.map((r) => [r.entryId, r.tableName, r.rowKey, r.operation, r.columns]);
      await m.query(this.insertSql(JOURNAL_ROW_TABLE, rowCols, values.length), values.flat());
    }
  }

  private insertSql(table: string, cols: string[], rows: number): string {
    let n = 0;
    const param = this.kind === 'postgres' ? () => `$${++n}` : () => '?';
    const tuples = Array.from({ length: rows }, () => `(${cols.map(param).join(', ')})`);
    return `INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES ${tuples.join(', ')}`;
  }

  async query(q: JournalQuery & { limit: number }): Promise<JournalRecord[]> {
    const qb = this.ds
      .getRepository(this.entry)
      .createQueryBuilder('e')
      .orderBy('e.at', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .limit(q.limit);
    if (q.ownerKind !== undefined) qb.andWhere('e.ownerKind = :kind', { kind: q.ownerKind });
    if (q.owner !== undefined) {
      const { namespace, name } = parseOwnerRef(q.owner);
      qb.andWhere('e.ownerNamespace = :ns AND e.ownerName = :name', { ns: namespace, name });
    }
    if (q.since !== undefined) qb.andWhere('e.at >= :since', { since: q.since });
    const entries = await qb.getMany();
    if (entries.length === 0) return [];
    const ids = entries.map((e) => e.id);
    const rows = await this.ds
      .getRepository(this.row)
      .createQueryBuilder('r')
      .where('r.entryId IN (:...ids)', { ids })
      .orderBy('r.id', 'ASC')
      .getMany();
    const byEntry = new Map<number, RowChange[]>(ids.map((id) => [id, []]));
    for (const r of rows) {
      const change: RowChange = { table: r.tableName, key: r.rowKey, operation: r.operation as RowOperation };
      if (r.columns) change.columns = r.columns.split(',');
      byEntry.get(r.entryId)?.push(change);
    }
    return entries.map((e) => ({
      id: e.id,
      at: e.at,
      owner: { kind: e.ownerKind, namespace: e.ownerNamespace, name: e.ownerName },
      reason: e.reason,
      latencyMs: e.latencyMs,
      opCount: e.opCount,
      rows: byEntry.get(e.id) ?? [],
    }));
  }

  async prune(retention: JournalRetention, now: Date): Promise<number> {
    return this.ds.transaction(async (m) => {
      let deleted = 0;
      if (retention.maxAgeHours !== null) {
        const cutoff = new Date(now.getTime() - retention.maxAgeHours * 3_600_000);
        deleted += await this.deleteEntries(m, 'at < :v', cutoff);
      }
      if (retention.maxRows !== null) {
        // The newest maxRows transactions (by insertion order) stay.
        const edge = await m
          .getRepository(this.entry)
          .createQueryBuilder('e')
          .select('e.id', 'id')
          .orderBy('e.id', 'DESC')
          .offset(retention.maxRows)
          .limit(1)
          .getRawOne<{ id: number | string }>();
        if (edge) deleted += await this.deleteEntries(m, 'id <= :v', Number(edge.id));
      }
      return deleted;
    });
  }

  // Rows first, explicitly, rather than relying on ON DELETE CASCADE being enforced by the engine.
  private async deleteEntries(m: EntityManager, where: 'at < :v' | 'id <= :v', v: Date | number): Promise<number> {
    await m
      .createQueryBuilder()
      .delete()
      .from(this.row)
      .where(`entry_id IN (SELECT id FROM ${JOURNAL_ENTRY_TABLE} WHERE ${where})`, { v })
      .execute();
    const res = await m.createQueryBuilder().delete().from(this.entry).where(where, { v }).execute();
    return res.affected ?? 0;
  }

  async close(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
