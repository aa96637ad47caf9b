import { Owner, ownerId } from './desired-state';
import { referencedUuids, rowKey, rowOwner } from './row-values';
import { Referrer, Row, RowView } from './row-view';
import { SchemaInfo } from './schema-info';

/** The change notifications of an OVSDB replicated cache (see @ycloud/ovsdb). */
export interface RowChangeSource {
  table(name: string): { all(): Iterable<Row> | Row[] };
  on(event: 'change', listener: (change: { table: string; uuid: string; old?: Row; new?: Row }) => void): unknown;
}

/**
 * ycloud's rows indexed by key and by owner, and every row indexed by the rows that reference it. Kept up to
 * date from a cache's change stream, so apply never scans tables.
 */
export class IndexedRowView implements RowView {
  private readonly rows = new Map<string, Map<string, Row>>();
  private readonly keys = new Map<string, Map<string, string>>();
  private readonly owners = new Map<string, Map<string, string>>();
  /** uuid -> "table\0column\0referrerUuid" */
  private readonly refs = new Map<string, Set<string>>();

  /** owner prefix -> "table\0column\0uuid", for the map columns owners share (see DesiredMapEntries). */
  private readonly mapKeys = new Map<string, Set<string>>();
  private changes = 0;

  /**
   * @param sharedMapColumns map columns whose keys several owners write, each under its own prefix
   *   (`ownerMapKeyPrefix`), e.g. Chassis_Template_Var.variables.
   */
  constructor(
    private readonly schema: SchemaInfo,
    private readonly sharedMapColumns: Array<{ table: string; column: string }> = [
      { table: 'Chassis_Template_Var', column: 'variables' },
    ],
  ) {}

  /**
   * Follows a live cache: loads what it holds now and applies every later change. A full resync needs no reload
   * here: the client reports what it changed as `change` events too.
   */
  follow(source: RowChangeSource, tables: string[]): this {
    this.clear();
    for (const t of tables) for (const row of source.table(t).all()) this.upsert(t, row);
    source.on('change', ({ table, uuid, old, new: next }) => {
      if (!this.rows.has(table) && !tables.includes(table)) return;
      if (old && next) this.update(table, old, next);
      else if (next) this.upsert(table, next);
      else this.remove(table, uuid);
    });
    return this;
  }

  /** Changes with every row change: a plan made at one version is still right while the version is the same. */
  get version(): number {
    return this.changes;
  }

  clear(): void {
    this.changes++;
    this.rows.clear();
    this.keys.clear();
    this.owners.clear();
    this.refs.clear();
    this.mapKeys.clear();
  }

  upsert(table: string, row: Row): void {
    this.changes++;
    this.remove(table, row._uuid);
    mapOf(this.rows, table).set(row._uuid, row);
    const key = rowKey(row);
    if (key !== undefined) mapOf(this.keys, table).set(key, row._uuid);
    const owner = rowOwner(row);
    if (owner) mapOf(this.owners, ownerId(owner)).set(row._uuid, table);
    for (const rc of this.schema.refColumns) {
      if (rc.table !== table) continue;
      for (const target of referencedUuids(row[rc.column], this.schema.column(table, rc.column))) {
        let set = this.refs.get(target);
        if (!set) this.refs.set(target, (set = new Set()));
        set.add(`${table}\0${rc.column}\0${row._uuid}`);
      }
    }
    for (const { column } of this.sharedMapColumns.filter((c) => c.table === table)) {
      for (const prefix of mapKeyPrefixes(row[column])) {
        let set = this.mapKeys.get(prefix);
        if (!set) this.mapKeys.set(prefix, (set = new Set()));
        set.add(`${table}\0${column}\0${row._uuid}`);
      }
    }
  }

  /**
   * A changed row: only what changed is re-indexed. A Load_Balancer_Group gains one member per Service; redoing
   * all of its references on every change made a cold start quadratic in the number of Services.
   */
  update(table: string, old: Row, next: Row): void {
    this.changes++;
    const current = this.rows.get(table)?.get(next._uuid);
    if (!current || rowKey(old) !== rowKey(next) || !sameOwner(old, next)) {
      this.upsert(table, next);
      return;
    }
    mapOf(this.rows, table).set(next._uuid, next);
    for (const rc of this.schema.refColumns) {
      if (rc.table !== table || old[rc.column] === next[rc.column]) continue;
      const info = this.schema.column(table, rc.column);
      const before = new Set(referencedUuids(old[rc.column], info));
      const entry = `${table}\0${rc.column}\0${next._uuid}`;
      for (const target of referencedUuids(next[rc.column], info)) {
        if (before.delete(target)) continue;
        let set = this.refs.get(target);
        if (!set) this.refs.set(target, (set = new Set()));
        set.add(entry);
      }
      for (const gone of before) this.refs.get(gone)?.delete(entry);
    }
    for (const { column } of this.sharedMapColumns.filter((c) => c.table === table)) {
      if (old[column] === next[column]) continue;
      const entry = `${table}\0${column}\0${next._uuid}`;
      for (const prefix of mapKeyPrefixes(old[column])) this.mapKeys.get(prefix)?.delete(entry);
      for (const prefix of mapKeyPrefixes(next[column])) {
        let set = this.mapKeys.get(prefix);
        if (!set) this.mapKeys.set(prefix, (set = new Set()));
        set.add(entry);
      }
    }
  }

  remove(table: string, uuid: string): void {
    this.changes++;
    const row = this.rows.get(table)?.get(uuid);
    if (!row) return;
    this.rows.get(table)!.delete(uuid);
    const key = rowKey(row);
    if (key !== undefined && this.keys.get(table)?.get(key) === uuid) this.keys.get(table)!.delete(key);
    const owner = rowOwner(row);
    if (owner) this.owners.get(ownerId(owner))?.delete(uuid);
    for (const rc of this.schema.refColumns) {
      if (rc.table !== table) continue;
      for (const target of referencedUuids(row[rc.column], this.schema.column(table, rc.column))) {
        this.refs.get(target)?.delete(`${table}\0${rc.column}\0${uuid}`);
      }
    }
    for (const { column } of this.sharedMapColumns.filter((c) => c.table === table)) {
      for (const prefix of mapKeyPrefixes(row[column]))
        this.mapKeys.get(prefix)?.delete(`${table}\0${column}\0${uuid}`);
    }
  }

  mapKeyHolders(prefix: string): Array<{ table: string; column: string; row: Row }> {
    const out: Array<{ table: string; column: string; row: Row }> = [];
    for (const entry of this.mapKeys.get(prefix) ?? []) {
      const [table, column, uuid] = entry.split('\0');
      const row = this.get(table, uuid);
      if (row) out.push({ table, column, row });
    }
    return out;
  }

  get(table: string, uuid: string): Row | undefined {
    return this.rows.get(table)?.get(uuid);
  }

  byKey(table: string, key: string): Row | undefined {
    const uuid = this.keys.get(table)?.get(key);
    return uuid ? this.get(table, uuid) : undefined;
  }

  ownedBy(owner: Owner): Array<{ table: string; row: Row }> {
    const out: Array<{ table: string; row: Row }> = [];
    for (const [uuid, table] of this.owners.get(ownerId(owner)) ?? []) {
      const row = this.get(table, uuid);
      if (row) out.push({ table, row });
    }
    return out;
  }

  /** Every owner that has rows, for start-up repair (delete rows whose owner is gone). */
  allOwners(): Owner[] {
    const out: Owner[] = [];
    for (const [id, rows] of this.owners) {
      if (rows.size === 0) continue;
      const [uuid, table] = rows.entries().next().value as [string, string];
      const owner = rowOwner(this.get(table, uuid)!);
      if (owner && ownerId(owner) === id) out.push(owner);
    }
    return out;
  }

  referrers(uuid: string): Referrer[] {
    const out: Referrer[] = [];
    for (const entry of this.refs.get(uuid) ?? []) {
      const [table, column, refUuid] = entry.split('\0');
      const row = this.get(table, refUuid);
      if (row) out.push({ table, column, row });
    }
    return out;
  }

  /** Number of rows ycloud owns per table (for metrics). */
  ownedCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const rows of this.owners.values())
      for (const table of rows.values()) counts.set(table, (counts.get(table) ?? 0) + 1);
    return counts;
  }
}

function sameOwner(a: Row, b: Row): boolean {
  const x = rowOwner(a);
  const y = rowOwner(b);
  return x === y || (!!x && !!y && x.kind === y.kind && x.name === y.name);
}

/** Owner prefixes (`YC_<digest>_`) among a map's keys. */
function mapKeyPrefixes(value: unknown): Set<string> {
  const out = new Set<string>();
  for (const k of Object.keys((value ?? {}) as object)) {
    const m = /^(YC_[0-9A-F]+_)/.exec(k);
    if (m) out.add(m[1]);
  }
  return out;
}

function mapOf<V>(outer: Map<string, Map<string, V>>, k: string): Map<string, V> {
  let m = outer.get(k);
  if (!m) outer.set(k, (m = new Map()));
  return m;
}
