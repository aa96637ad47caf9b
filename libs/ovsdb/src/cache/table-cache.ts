/**
 * Replicated copy of one monitored table: rows by uuid, caller-defined secondary indexes, and the update
 * semantics of the three monitor notification formats.
 */
import { decodeValue, defaultValue, type Atom, type Value } from '../ovsdb/codec';
import type { ColumnSchema, TableSchema } from '../ovsdb/schema';

/** A cached row: `_uuid` plus every monitored column, decoded by the schema. */
export type Row = { _uuid: string } & Record<string, unknown>;

/** An index over a column or a map key (`"external_ids:ycloud.io/key"`), possibly composite. */
export interface IndexSpec {
  name: string;
  columns: string[];
}

export interface RowChange<R = Row> {
  table: string;
  uuid: string;
  /** Undefined for an insert. */
  old?: R;
  /** Undefined for a delete. */
  new?: R;
}

interface IndexPart {
  column: string;
  mapKey?: string;
}

class SecondaryIndex {
  readonly map = new Map<string, Set<string>>();
  constructor(readonly parts: IndexPart[]) {}

  /** The index keys of a row: one per element for a single set column; one composite key otherwise. */
  keys(row: Row): string[] {
    if (this.parts.length === 1) {
      const v = partValue(row, this.parts[0]);
      if (v === undefined) return [];
      if (Array.isArray(v)) return v.map((a) => keyOf(a));
      return [keyOf(v)];
    }
    const out: string[] = [];
    for (const p of this.parts) {
      const v = partValue(row, p);
      if (v === undefined) return [];
      out.push(keyOf(v));
    }
    return [out.join('\u0001')];
  }
  add(row: Row): void {
    for (const k of this.keys(row)) {
      let s = this.map.get(k);
      if (!s) this.map.set(k, (s = new Set()));
      s.add(row._uuid);
    }
  }
  remove(row: Row): void {
    for (const k of this.keys(row)) {
      const s = this.map.get(k);
      if (s && s.delete(row._uuid) && s.size === 0) this.map.delete(k);
    }
  }
}

function partValue(row: Row, p: IndexPart): unknown {
  const v = row[p.column];
  if (p.mapKey === undefined) return v;
  return v && typeof v === 'object' ? (v as Record<string, unknown>)[p.mapKey] : undefined;
}

function keyOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

function parseIndexColumn(c: string): IndexPart {
  const i = c.indexOf(':');
  return i < 0 ? { column: c } : { column: c.slice(0, i), mapKey: c.slice(i + 1) };
}

export class TableCache {
  readonly rows = new Map<string, Row>();
  private readonly indexes = new Map<string, SecondaryIndex>();
  /** Monitored columns, decoded in this order. */
  private readonly cols: ColumnSchema[];

  constructor(
    readonly schema: TableSchema,
    columns: string[],
    indexSpecs: IndexSpec[] = [],
  ) {
    this.cols = columns.map((c) => schema.columns[c]).filter((c): c is ColumnSchema => !!c);
    for (const spec of indexSpecs) {
      if (this.indexes.has(spec.name)) throw new Error(`duplicate index ${spec.name} on ${schema.name}`);
      this.indexes.set(spec.name, new SecondaryIndex(spec.columns.map(parseIndexColumn)));
    }
  }

  get name(): string {
    return this.schema.name;
  }

  /** Rows whose index `name` has the given value(s) (one value per index column). */
  lookup(name: string, values: unknown[]): Row[] {
    const idx = this.indexes.get(name);
    if (!idx) throw new Error(`table ${this.name} has no index ${name}`);
    const key = values.length === 1 ? keyOf(values[0]) : values.map(keyOf).join('\u0001');
    const set = idx.map.get(key);
    if (!set) return [];
    const out: Row[] = [];
    for (const u of set) out.push(this.rows.get(u)!);
    return out;
  }

  /** Decodes a full wire row (initial/insert/v1 new), filling omitted columns with their defaults. */
  decodeRow(uuid: string, j: Record<string, unknown>): Row {
    const row: Row = { _uuid: uuid };
    for (const c of this.cols) {
      const w = j[c.name];
      row[c.name] = w === undefined ? defaultValue(c) : decodeValue(w, c);
    }
    return row;
  }

  private put(row: Row, old: Row | undefined): void {
    if (old) for (const idx of this.indexes.values()) idx.remove(old);
    this.rows.set(row._uuid, row);
    for (const idx of this.indexes.values()) idx.add(row);
  }

  private drop(old: Row): void {
    for (const idx of this.indexes.values()) idx.remove(old);
    this.rows.delete(old._uuid);
  }

  insert(row: Row): RowChange {
    const old = this.rows.get(row._uuid);
    this.put(row, old);
    return { table: this.name, uuid: row._uuid, old, new: row };
  }

  delete(uuid: string): RowChange | undefined {
    const old = this.rows.get(uuid);
    if (!old) return undefined;
    this.drop(old);
    return { table: this.name, uuid, old };
  }

  clear(): void {
    this.rows.clear();
    for (const idx of this.indexes.values()) idx.map.clear();
  }

  /** Applies one update2/update3 row update: {initial|insert: row} | {modify: diff} | {delete: null}. */
  applyUpdate2(uuid: string, ru: Record<string, unknown>): RowChange | undefined {
    if (ru.initial !== undefined || ru.insert !== undefined) {
      return this.insert(this.decodeRow(uuid, (ru.initial ?? ru.insert) as Record<string, unknown>));
    }
    if ('delete' in ru) return this.delete(uuid);
    if (ru.modify !== undefined) {
      const old = this.rows.get(uuid);
      if (!old) throw new Error(`update2 modify of unknown row ${this.name} ${uuid}`);
      const row: Row = { ...old };
      for (const [name, w] of Object.entries(ru.modify as Record<string, unknown>)) {
        const c = this.schema.columns[name];
        if (!c || !(name in old)) continue; // a column we do not model
        row[name] = applyDiff(old[name] as Value, decodeValue(w, c), c);
      }
      this.put(row, old);
      return { table: this.name, uuid, old, new: row };
    }
    throw new Error(`malformed update2 row update for ${this.name} ${uuid}`);
  }

  /** Applies one plain `update` (v1) row update: {old?, new?}. */
  applyUpdate1(
    uuid: string,
    ru: { old?: Record<string, unknown>; new?: Record<string, unknown> },
  ): RowChange | undefined {
    if (!ru.new) return this.delete(uuid);
    const old = this.rows.get(uuid);
    if (!old || ru.old === undefined) return this.insert(this.decodeRow(uuid, ru.new));
    const row: Row = { ...old };
    for (const [name, w] of Object.entries(ru.new)) {
      const c = this.schema.columns[name];
      if (c && name in old) row[name] = decodeValue(w, c);
    }
    this.put(row, old);
    return { table: this.name, uuid, old, new: row };
  }
}

/**
 * update2 `modify` semantics: scalar and max-1 columns carry the new value; sets carry the symmetric
 * difference; maps carry added pairs, removed pairs (same key and value) and changed keys (new value).
 */
export function applyDiff(old: Value, diff: Value, col: ColumnSchema): Value {
  if (col.type.max === 1) return diff; // scalars, optional values, single-pair maps: full new value
  if (col.kind === 'set') {
    const cur = new Set<Atom>(old as Atom[]);
    for (const a of diff as Atom[]) {
      if (cur.has(a)) cur.delete(a);
      else cur.add(a);
    }
    return [...cur];
  }
  const out: Record<string, Atom> = { ...(old as Record<string, Atom>) };
  for (const [k, v] of Object.entries(diff as Record<string, Atom>)) {
    if (!(k in out)) out[k] = v;
    else if (out[k] === v) delete out[k];
    else out[k] = v;
  }
  return out;
}
