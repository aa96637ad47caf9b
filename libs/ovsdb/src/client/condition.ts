/** Evaluates OVSDB conditions on cached (decoded) rows, as the server would (RFC 7047 5.1). */
import type { Row } from '../cache/table-cache';
import type { Condition } from './transaction';

function eq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = Array.isArray(a) ? a : [a];
    const y = Array.isArray(b) ? b : [b];
    return x.length === y.length && includes(x, y);
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && includes(a, b);
  }
  return typeof a === 'number' && typeof b === 'bigint'
    ? BigInt(a) === b
    : typeof a === 'bigint' && typeof b === 'number'
      ? a === BigInt(b)
      : false;
}

/** Does `a` include every element (set) or pair (map) of `b`? */
function includes(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = new Set(Array.isArray(a) ? a : [a]);
    return (Array.isArray(b) ? b : [b]).every((e) => x.has(e));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const m = a as Record<string, unknown>;
    return Object.entries(b).every(([k, v]) => k in m && m[k] === v);
  }
  return a === b;
}

function cmp(a: unknown, b: unknown): number {
  const x = Array.isArray(a) ? a[0] : a;
  const y = Array.isArray(b) ? b[0] : b;
  return (x as number) < (y as number) ? -1 : (x as number) > (y as number) ? 1 : 0;
}

export function matchesCondition(row: Row, [col, fn, v]: Condition): boolean {
  const a = row[col];
  switch (fn) {
    case '==':
      return eq(a, v);
    case '!=':
      return !eq(a, v);
    case 'includes':
      return includes(a, v);
    case 'excludes': {
      if (Array.isArray(a) || Array.isArray(v)) {
        const x = new Set(Array.isArray(a) ? a : [a]);
        return (Array.isArray(v) ? v : [v]).every((e) => !x.has(e));
      }
      if (a && v && typeof a === 'object' && typeof v === 'object') {
        const m = a as Record<string, unknown>;
        return Object.entries(v).every(([k, x]) => !(k in m && m[k] === x));
      }
      return a !== v;
    }
    case '<':
      return cmp(a, v) < 0;
    case '<=':
      return cmp(a, v) <= 0;
    case '>':
      return cmp(a, v) > 0;
    case '>=':
      return cmp(a, v) >= 0;
  }
}

export function matchesWhere(row: Row, where: Condition[]): boolean {
  return where.every((c) => matchesCondition(row, c));
}
