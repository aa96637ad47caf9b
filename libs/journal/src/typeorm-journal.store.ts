import { promises as fs, existsSync } from 'node:fs';
import * as path from 'node:path';
import { DataSource, DataSourceOptions, EntityManager, EntitySchema } from 'typeorm';
import type { JournalDatabaseConfig, JournalRetention } from './journal.config';
import {
  JOURNAL_ENTRY_TABLE,
  JournalDbKind,
  JournalEntryRow,
  JournalRowRow,
  journalEntities,
} from './journal.entities';
import type { JournalStore } from './journal.store';
import type { JournalEntry, JournalQuery, JournalRecord, RowChange, RowOperation } from './journal.types';
import { JOURNAL_MIGRATIONS } from './migrations';

/** The journal database cannot be opened (missing file, schema not created, unreachable server). */
export class JournalUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JournalUnavailableError';
  }
}

export interface TypeOrmJournalStoreOptions {
  /** Open without migrating or writing (the CLI): fails if the journal does not exist yet. */
  readOnly?: boolean;
}

const MIGRATIONS_TABLE = 'journal_migrations';
const OPERATIONS = new Set<RowOperation>(['insert', 'update', 'delete']);
// PostgreSQL allows 65535 bind parameters per statement; SQLite (as built into sql.js) 32766.
const ENTRY_CHUNK = 1_000;
const ROW_CHUNK = 2_000;

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
    await this.ds.transaction(async (m) => {
      if (this.kind === 'postgres') await this.insertBatched(m, entries);
      else await this.insertEach(m, entries);
    });
  }

  // PostgreSQL returns the generated ids of a multi-row INSERT ... RETURNING in VALUES order.
  private async insertBatched(m: EntityManager, entries: readonly JournalEntry[]): Promise<void> {
    for (const part of chunks(entries, ENTRY_CHUNK)) {
      const res = await m.createQueryBuilder().insert().into(this.entry).values(part.map(toEntryRow)).execute();
      const rows = part.flatMap((e, i) => toRowRows(Number(res.identifiers[i].id), e.rows));
      for (const rowPart of chunks(rows, ROW_CHUNK)) {
        await m.createQueryBuilder().insert().into(this.row).values(rowPart).execute();
      }
    }
  }

  // sql.js reports only the last inserted id, so entries go one by one (in-process, microseconds each).
  private async insertEach(m: EntityManager, entries: readonly JournalEntry[]): Promise<void> {
    for (const e of entries) {
      const res = await m.createQueryBuilder().insert().into(this.entry).values(toEntryRow(e)).execute();
      const rows = toRowRows(Number(res.identifiers[0].id), e.rows);
      for (const rowPart of chunks(rows, ROW_CHUNK)) {
        await m.createQueryBuilder().insert().into(this.row).values(rowPart).execute();
      }
    }
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
