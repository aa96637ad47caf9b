/** OVSDB schema types (RFC 7047 section 3.2) in a normalized form the codec works from. */

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

export interface BaseType {
  type: AtomicType;
  enum?: unknown[];
  minInteger?: number;
  maxInteger?: number;
  minReal?: number;
  maxReal?: number;
  minLength?: number;
  maxLength?: number;
  refTable?: string;
  refType?: 'strong' | 'weak';
}

export interface ColumnType {
  key: BaseType;
  value?: BaseType;
  min: number;
  /** Infinity for "unlimited". */
  max: number;
}

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  ephemeral?: boolean;
  mutable?: boolean;
  /** How the codec represents it: a scalar (min 1, max 1, no value), a set (array) or a map (object). */
  kind: 'atom' | 'set' | 'map';
}

export interface TableSchema {
  name: string;
  columns: Record<string, ColumnSchema>;
  isRoot: boolean;
  maxRows?: number;
  indexes: string[][];
}

export interface DatabaseSchema {
  name: string;
  version: string;
  cksum?: string;
  tables: Record<string, TableSchema>;
}

type RawBase = string | { type: string; [k: string]: unknown };
interface RawType {
  key: RawBase;
  value?: RawBase;
  min?: number;
  max?: number | 'unlimited';
}

function parseBase(raw: RawBase): BaseType {
  if (typeof raw === 'string') return { type: raw as AtomicType };
  const b: BaseType = { type: raw.type as AtomicType };
  if (raw.enum !== undefined) {
    const e = raw.enum;
    b.enum = Array.isArray(e) && e[0] === 'set' ? (e[1] as unknown[]) : [e];
  }
  for (const k of ['minInteger', 'maxInteger', 'minReal', 'maxReal', 'minLength', 'maxLength'] as const) {
    if (typeof raw[k] === 'number') b[k] = raw[k] as number;
  }
  if (typeof raw.refTable === 'string') {
    b.refTable = raw.refTable;
    b.refType = raw.refType === 'weak' ? 'weak' : 'strong';
  }
  return b;
}

export function parseColumnType(raw: string | RawType): ColumnType {
  if (typeof raw === 'string') return { key: { type: raw as AtomicType }, min: 1, max: 1 };
  const max = raw.max === 'unlimited' ? Infinity : (raw.max ?? 1);
  return {
    key: parseBase(raw.key),
    value: raw.value !== undefined ? parseBase(raw.value) : undefined,
    min: raw.min ?? 1,
    max,
  };
}

function kindOf(t: ColumnType): ColumnSchema['kind'] {
  if (t.value) return 'map';
  return t.min === 1 && t.max === 1 ? 'atom' : 'set';
}

const UUID_COLUMN: ColumnSchema = {
  name: '_uuid',
  type: { key: { type: 'uuid' }, min: 1, max: 1 },
  kind: 'atom',
};
const VERSION_COLUMN: ColumnSchema = { ...UUID_COLUMN, name: '_version' };

/** Parses a schema as returned by get_schema or read from an .ovsschema file. */
export function parseSchema(raw: unknown): DatabaseSchema {
  const r = raw as {
    name: string;
    version: string;
    cksum?: string;
    tables: Record<
      string,
      {
        columns: Record<string, { type: string | RawType; ephemeral?: boolean; mutable?: boolean }>;
        isRoot?: boolean;
        maxRows?: number;
        indexes?: string[][];
      }
    >;
  };
  if (!r || typeof r.name !== 'string' || typeof r.tables !== 'object') throw new Error('invalid OVSDB schema');
  const tables: Record<string, TableSchema> = {};
  for (const [tname, t] of Object.entries(r.tables)) {
    const columns: Record<string, ColumnSchema> = { _uuid: UUID_COLUMN, _version: VERSION_COLUMN };
    for (const [cname, c] of Object.entries(t.columns)) {
      const type = parseColumnType(c.type);
      columns[cname] = { name: cname, type, ephemeral: c.ephemeral, mutable: c.mutable, kind: kindOf(type) };
    }
    tables[tname] = { name: tname, columns, isRoot: t.isRoot ?? false, maxRows: t.maxRows, indexes: t.indexes ?? [] };
  }
  return { name: r.name, version: r.version, cksum: r.cksum, tables };
}

/** Column names of a table that a monitor sends (everything but _uuid and _version). */
export function dataColumns(t: TableSchema): string[] {
  return Object.keys(t.columns).filter((c) => c !== '_uuid' && c !== '_version');
}
