import { CONTROLLER_NAME, OWNERSHIP, Owner } from './desired-state';
import { ColumnInfo } from './schema-info';
import { Row } from './row-view';

/** A placeholder for a row that the same transaction inserts. */
export interface NewRowRef {
  newRow: number;
}
export type PlanValue = string | number | boolean | bigint | NewRowRef | PlanValue[] | { [k: string]: PlanValue };

export function isNewRowRef(v: unknown): v is NewRowRef {
  return typeof v === 'object' && v !== null && 'newRow' in v;
}

function canonicalAtom(v: unknown): string {
  if (isNewRowRef(v)) return `\u0000new:${v.newRow}`;
  if (typeof v === 'bigint') return `n:${v.toString()}`;
  if (typeof v === 'number') return `n:${v}`;
  return `${typeof v}:${String(v)}`;
}

/**
 * A string that is equal for equal column values, whatever their JS shape: a one-element set may be given as a
 * bare atom, map and set order does not matter, and 2 equals 2.0.
 */
export function canonicalValue(value: unknown, info: ColumnInfo): string {
  if (info.shape === 'map') {
    const obj = (value ?? {}) as Record<string, unknown>;
    const entries = Object.keys(obj)
      .sort()
      .map((k) => `${k}=${canonicalAtom(obj[k])}`);
    return `{${entries.join(',')}}`;
  }
  if (info.shape === 'set') {
    const arr = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
    return `[${arr.map(canonicalAtom).sort().join(',')}]`;
  }
  return canonicalAtom(Array.isArray(value) && value.length === 1 ? value[0] : value);
}

/**
 * A few tables have no external_ids (Load_Balancer_Group in NB 7.0): there ycloud's identity is written into
 * the unique `name` column instead, as `ycloud|<owner kind>|<owner name>|<key>`.
 */
const NAME_IDENTITY_PREFIX = `${CONTROLLER_NAME}|`;

export function nameIdentity(owner: Owner, key: string): string {
  return `${NAME_IDENTITY_PREFIX}${owner.kind}|${owner.name}|${key}`;
}

function parseNameIdentity(row: Row): { owner: Owner; key: string } | undefined {
  if (row.external_ids !== undefined || typeof row.name !== 'string' || !row.name.startsWith(NAME_IDENTITY_PREFIX)) {
    return undefined;
  }
  const [, kind, name, ...key] = row.name.split('|');
  return kind && name !== undefined && key.length ? { owner: { kind, name }, key: key.join('|') } : undefined;
}

/** The owner recorded in a row's external_ids (or name, see nameIdentity), if ycloud owns it. */
export function rowOwner(row: Row): Owner | undefined {
  const ids = row.external_ids as Record<string, string> | undefined;
  if (!ids) return parseNameIdentity(row)?.owner;
  if (!ids[OWNERSHIP.controller] || !ids[OWNERSHIP.ownerKind] || ids[OWNERSHIP.owner] === undefined) {
    return undefined;
  }
  return { kind: ids[OWNERSHIP.ownerKind], name: ids[OWNERSHIP.owner] };
}

export function rowKey(row: Row): string | undefined {
  const ids = row.external_ids as Record<string, string> | undefined;
  if (!ids) return parseNameIdentity(row)?.key;
  return ids[OWNERSHIP.controller] ? ids[OWNERSHIP.key] : undefined;
}

/** UUIDs a reference column currently holds (sets, optional columns and map values alike). */
export function referencedUuids(value: unknown, info: ColumnInfo): string[] {
  if (value === undefined || value === null) return [];
  if (info.shape === 'map')
    return Object.values(value as Record<string, unknown>).filter((v) => typeof v === 'string') as string[];
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string') as string[];
  return typeof value === 'string' && value !== '' ? [value] : [];
}
