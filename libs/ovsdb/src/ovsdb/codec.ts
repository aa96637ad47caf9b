/**
 * Converts between OVSDB wire values and plain JS values, driven by the schema (never by the JSON shape: the
 * server sends a one-element set as a bare atom, so `["uuid", x]` may be a uuid or a set holding one).
 *
 * JS representation: integer -> number (bigint above 2^53), real -> number, boolean, string, uuid -> string;
 * set (any column whose max > 1 or min = 0) -> array; map -> Record<string, atom> with keys stringified.
 */
import { BIG_INT_MARK } from './json-splitter';
import { OvsdbCodecError } from './errors';
import type { BaseType, ColumnSchema, TableSchema } from './schema';

export type Atom = string | number | bigint | boolean;
export type Value = Atom | Atom[] | Record<string, Atom>;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const NAMED_UUID_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** True for a real uuid string (as opposed to a named-uuid token of a transaction). */
export function isUuid(s: string): boolean {
  return s.length === 36 && UUID_RE.test(s);
}

function decodeInteger(j: unknown): number | bigint {
  if (typeof j === 'number') return j;
  if (typeof j === 'string' && j.startsWith(BIG_INT_MARK)) {
    const b = BigInt(j.slice(BIG_INT_MARK.length));
    return b <= MAX_SAFE && b >= MIN_SAFE ? Number(b) : b;
  }
  throw new OvsdbCodecError(`expected integer, got ${JSON.stringify(j)}`);
}

export function decodeAtom(j: unknown, base: BaseType): Atom {
  switch (base.type) {
    case 'string':
      if (typeof j === 'string') return j;
      break;
    case 'integer':
      return decodeInteger(j);
    case 'real':
      if (typeof j === 'number') return j;
      if (typeof j === 'string' && j.startsWith(BIG_INT_MARK)) return Number(j.slice(BIG_INT_MARK.length));
      break;
    case 'boolean':
      if (typeof j === 'boolean') return j;
      break;
    case 'uuid':
      if (
        Array.isArray(j) &&
        j.length === 2 &&
        (j[0] === 'uuid' || j[0] === 'named-uuid') &&
        typeof j[1] === 'string'
      ) {
        return j[1];
      }
      break;
  }
  throw new OvsdbCodecError(`expected ${base.type} atom, got ${JSON.stringify(j)}`);
}

/** Decodes a column value from its wire form. */
export function decodeValue(j: unknown, col: ColumnSchema): Value {
  const { key, value } = col.type;
  if (col.kind === 'atom') return decodeAtom(j, key);
  if (col.kind === 'set') {
    if (Array.isArray(j) && j[0] === 'set') {
      const elems = j[1] as unknown[];
      const out = new Array<Atom>(elems.length);
      for (let i = 0; i < elems.length; i++) out[i] = decodeAtom(elems[i], key);
      return out;
    }
    return [decodeAtom(j, key)];
  }
  if (!Array.isArray(j) || j[0] !== 'map' || !Array.isArray(j[1])) {
    throw new OvsdbCodecError(`column ${col.name}: expected map, got ${JSON.stringify(j)}`);
  }
  const out: Record<string, Atom> = {};
  for (const pair of j[1] as unknown[][]) out[String(decodeAtom(pair[0], key))] = decodeAtom(pair[1], value!);
  return out;
}

/** Value of a column that the server omitted (it omits columns at their default). */
export function defaultValue(col: ColumnSchema): Value {
  if (col.kind === 'set') return [];
  if (col.kind === 'map') return {};
  switch (col.type.key.type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
  }
}

export function encodeAtom(v: unknown, base: BaseType, what: string): unknown {
  switch (base.type) {
    case 'string':
      if (typeof v === 'string') return v;
      break;
    case 'integer':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (typeof v === 'bigint') return v;
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v); // a stringified map key
      break;
    case 'real':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
      break;
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      break;
    case 'uuid':
      if (typeof v === 'string') {
        if (isUuid(v)) return ['uuid', v];
        if (NAMED_UUID_RE.test(v)) return ['named-uuid', v];
      }
      break;
  }
  throw new OvsdbCodecError(`${what}: cannot encode ${describe(v)} as ${base.type}`);
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Encodes a JS value for a column (a scalar given for a set column is a one-element set). */
export function encodeValue(v: unknown, col: ColumnSchema, what = col.name): unknown {
  const { key, value } = col.type;
  if (col.kind === 'atom') return encodeAtom(v, key, what);
  if (col.kind === 'set') {
    const arr = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
    return ['set', arr.map((a) => encodeAtom(a, key, what))];
  }
  if (v instanceof Map) v = Object.fromEntries(v);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new OvsdbCodecError(`${what}: expected a map (plain object), got ${describe(v)}`);
  }
  return [
    'map',
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [
      encodeAtom(k, key, what),
      encodeAtom(x, value!, what),
    ]),
  ];
}

/** Encodes a set of a column's key atoms (map `delete` by keys, set insert/delete). */
export function encodeKeySet(v: unknown, col: ColumnSchema, what = col.name): unknown {
  const arr = Array.isArray(v) ? v : [v];
  return ['set', arr.map((a) => encodeAtom(a, col.type.key, what))];
}

export function columnOf(t: TableSchema, name: string): ColumnSchema {
  const c = t.columns[name];
  if (!c) throw new OvsdbCodecError(`table ${t.name} has no column ${name}`);
  return c;
}

/** Encodes a row object (only the columns given). */
export function encodeRow(t: TableSchema, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === undefined || k === '_uuid' || k === '_version') continue;
    out[k] = encodeValue(v, columnOf(t, k), `${t.name}.${k}`);
  }
  return out;
}
