import { EntitySchema } from 'typeorm';

/** Database engines the journal runs on. */
export type JournalDbKind = 'sqlite' | 'postgres';

/** A `journal_entry` row: one committed NB transaction. */
export interface JournalEntryRow {
  id: number;
  at: Date;
  ownerKind: string;
  ownerNamespace: string;
  ownerName: string;
  reason: string;
  latencyMs: number;
  opCount: number;
}

/** A `journal_row` row: one NB row touched by a transaction. */
export interface JournalRowRow {
  id: number;
  entryId: number;
  tableName: string;
  rowKey: string;
  operation: string;
  /** Comma-separated changed columns of an update; null otherwise. */
  columns: string | null;
}

/** Column types that differ between the engines; shared by the entities and the migrations. */
export function journalColumnTypes(kind: JournalDbKind) {
  return kind === 'postgres'
    ? ({ id: 'bigint', time: 'timestamp with time zone', float: 'double precision' } as const)
    : ({ id: 'integer', time: 'datetime', float: 'real' } as const);
}

export const JOURNAL_ENTRY_TABLE = 'journal_entry';
export const JOURNAL_ROW_TABLE = 'journal_row';

/** Ids are bigint on PostgreSQL, which the driver returns as strings. */
const idTransformer = { to: (v: unknown) => v, from: (v: unknown) => (v === null ? v : Number(v)) };

/**
 * TypeORM entity schemas for one engine. Built per engine (rather than decorated classes) because the
 * timestamp and id column types differ between SQLite and PostgreSQL.
 */
export function journalEntities(kind: JournalDbKind) {
  const t = journalColumnTypes(kind);
  const entry = new EntitySchema<JournalEntryRow>({
    name: 'JournalEntry',
    tableName: JOURNAL_ENTRY_TABLE,
    columns: {
      id: { type: t.id, primary: true, generated: 'increment', transformer: idTransformer },
      at: { type: t.time },
      ownerKind: { name: 'owner_kind', type: 'varchar', length: 63 },
      ownerNamespace: { name: 'owner_namespace', type: 'varchar', length: 253 },
      ownerName: { name: 'owner_name', type: 'varchar', length: 253 },
      reason: { type: 'varchar', length: 255 },
      latencyMs: { name: 'latency_ms', type: t.float },
      opCount: { name: 'op_count', type: 'integer' },
    },
  });
  const row = new EntitySchema<JournalRowRow>({
    name: 'JournalRow',
    tableName: JOURNAL_ROW_TABLE,
    columns: {
      id: { type: t.id, primary: true, generated: 'increment', transformer: idTransformer },
      entryId: { name: 'entry_id', type: t.id, transformer: idTransformer },
      tableName: { name: 'table_name', type: 'varchar', length: 63 },
      rowKey: { name: 'row_key', type: 'varchar', length: 255 },
      operation: { type: 'varchar', length: 6 },
      columns: { type: 'varchar', length: 1024, nullable: true },
    },
  });
  return { entry, row };
}
