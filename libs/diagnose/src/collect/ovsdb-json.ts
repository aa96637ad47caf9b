/** Decodes an OVSDB wire value without a schema: sets to arrays, maps to records, uuids to strings. */
export function decodeWire(v: unknown): unknown {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string') return v;
  const [tag, body] = v as [string, unknown];
  if (tag === 'uuid' || tag === 'named-uuid') return body;
  if (tag === 'set') return (body as unknown[]).map(decodeWire);
  if (tag === 'map') {
    const out: Record<string, unknown> = {};
    for (const [k, val] of body as Array<[unknown, unknown]>) out[String(decodeWire(k))] = decodeWire(val);
    return out;
  }
  return v;
}

/** A decoded row: `_uuid` and the selected columns. */
export type WireRow = Record<string, unknown>;

export function decodeRows(rows: unknown[]): WireRow[] {
  return rows.map((r) => {
    const out: WireRow = {};
    for (const [k, v] of Object.entries(r as Record<string, unknown>)) out[k] = decodeWire(v);
    return out;
  });
}

/** Values of a decoded set column (a one-element set may arrive as a bare atom). */
export function setOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  return v === undefined || v === null || v === '' ? [] : [String(v)];
}
