import {
  CONTROLLER_NAME,
  ColumnValue,
  DesiredMapEntries,
  DesiredRow,
  DesiredState,
  OWNERSHIP,
  Owner,
  RowRef,
  isRowRef,
  ownerId,
  ownerMapKeyPrefix,
} from './desired-state';
import { NewRowRef, PlanValue, canonicalValue, nameIdentity, referencedUuids, rowKey, rowOwner } from './row-values';
import { Row, RowView } from './row-view';
import { SchemaInfo } from './schema-info';

/** Set columns that collect rows of many owners through DesiredMembership. */
export const MEMBERSHIP_COLUMNS: readonly string[] = [
  'Load_Balancer_Group.load_balancer',
  'Logical_Switch.load_balancer',
  'Logical_Router.load_balancer',
];

export interface PlannedInsert {
  op: 'insert';
  /** Index of this new row, referenced by `NewRowRef.newRow` in later operations. */
  index: number;
  table: string;
  key: string;
  row: Record<string, PlanValue>;
}
export interface PlannedUpdate {
  op: 'update';
  table: string;
  uuid: string;
  key: string;
  columns: Record<string, PlanValue>;
}
export interface PlannedMutate {
  op: 'mutate';
  table: string;
  uuid: string;
  column: string;
  insert: PlanValue[];
  delete: string[];
}
/** Replaces one owner's keys in a shared map column: delete then insert, in one mutate (insert never overwrites). */
export interface PlannedMapUpdate {
  op: 'mapUpdate';
  table: string;
  uuid: string;
  column: string;
  deleteKeys: string[];
  insert: Record<string, string>;
}
export interface PlannedDelete {
  op: 'delete';
  table: string;
  uuid: string;
  key: string;
}
export type PlannedOp = PlannedInsert | PlannedUpdate | PlannedMutate | PlannedMapUpdate | PlannedDelete;

/** What a plan does to which row, for logs, the change journal and metrics. */
export interface TouchedRow {
  table: string;
  key: string;
  action: 'insert' | 'update' | 'delete' | 'attach' | 'detach';
  columns?: string[];
}

export interface ApplyPlan {
  owner: Owner;
  /** Inserts first (dependencies before dependants), then updates and mutations, then deletions. */
  ops: PlannedOp[];
  touched: TouchedRow[];
}

/** A plan that cannot be made now (a container row that does not exist yet); the caller retries later. */
export class ApplyPlanError extends Error {
  override readonly name = 'ApplyPlanError';
}

/**
 * Computes the smallest set of operations that makes the database hold exactly what `desired` says for its
 * owner: rows inserted, changed columns updated, stale rows of that owner deleted, memberships in other
 * owners' set columns attached and detached. A plan with no ops means nothing to write. Pure: reads only the
 * view and the schema.
 */
export function planApply(desired: DesiredState, view: RowView, schema: SchemaInfo): ApplyPlan {
  return new ApplyPlanner(desired, view, schema).plan();
}

class ApplyPlanner {
  private readonly inserts: PlannedInsert[] = [];
  private readonly updates: PlannedUpdate[] = [];
  private readonly mutates = new Map<string, PlannedMutate>();
  private readonly deletes: PlannedDelete[] = [];
  private readonly mapUpdates: PlannedMapUpdate[] = [];
  private readonly touched: TouchedRow[] = [];
  /** Desired rows by "table\0key". */
  private readonly desiredByKey = new Map<string, DesiredRow>();
  /** New rows' indexes by "table\0key", assigned in dependency order. */
  private readonly newIndex = new Map<string, number>();
  private readonly deletedUuids = new Set<string>();

  constructor(
    private readonly desired: DesiredState,
    private readonly view: RowView,
    private readonly schema: SchemaInfo,
  ) {}

  plan(): ApplyPlan {
    const owner = this.desired.owner;
    for (const row of this.desired.rows) {
      if (!this.schema.hasTable(row.table)) throw new ApplyPlanError(`unknown table ${row.table} (row ${row.key})`);
      const id = tkey(row.table, row.key);
      if (this.desiredByKey.has(id)) throw new ApplyPlanError(`duplicate desired row ${row.table} ${row.key}`);
      const existing = this.view.byKey(row.table, row.key);
      const existingOwner = existing && rowOwner(existing);
      if (existingOwner && ownerId(existingOwner) !== ownerId(owner)) {
        throw new ApplyPlanError(
          `${row.table} ${row.key} is owned by ${ownerId(existingOwner)}, not ${ownerId(owner)}: two owners want one row`,
        );
      }
      this.desiredByKey.set(id, row);
    }
    this.planStaleDeletes();
    this.assignInsertOrder();
    for (const row of this.desired.rows) this.planRow(row);
    for (const m of this.desired.memberships) this.planMembership(m.table, m.key, m.column, m.members);
    this.planDetachFromUndesiredContainers();
    this.planMapEntries();
    return {
      owner,
      ops: [...this.inserts, ...this.updates, ...this.mutates.values(), ...this.mapUpdates, ...this.deletes].filter(
        (op) => op.op !== 'mutate' || op.insert.length > 0 || op.delete.length > 0,
      ),
      touched: this.touched,
    };
  }

  /** Rows of this owner that the desired state no longer names. */
  private planStaleDeletes(): void {
    const stale = this.view
      .ownedBy(this.desired.owner)
      .filter(({ table, row }) => !this.desiredByKey.has(tkey(table, keyOf(row))));
    for (const { row } of stale) this.deletedUuids.add(row._uuid);
    for (const { table, row } of stale) {
      let heldByOthers = false;
      let heldByDeleted = false;
      for (const ref of this.view.referrers(row._uuid)) {
        if (this.deletedUuids.has(ref.row._uuid)) {
          heldByDeleted = true;
          continue;
        }
        const refInfo = this.schema.column(ref.table, ref.column);
        if (refInfo.refType === 'weak') continue; // the database drops weak references itself
        if (!rowOwner(ref.row)) {
          throw new ApplyPlanError(
            `cannot delete ${table} ${keyOf(row)}: ${ref.table} ${ref.row._uuid} (not ycloud's) references it`,
          );
        }
        this.mutation(ref.table, ref.row._uuid, ref.column).delete.push(row._uuid);
        heldByOthers = true;
      }
      // A non-root row disappears with its last strong reference; deleting it explicitly as well is an error,
      // and so is deleting it while a parent that goes in the same transaction still holds it (the server checks
      // references before it collects garbage): a Gateway_Chassis goes with its Logical_Router_Port.
      if (this.schema.isRoot(table) || (!heldByOthers && !heldByDeleted)) {
        this.deletes.push({ op: 'delete', table, uuid: row._uuid, key: keyOf(row) });
      }
      this.touched.push({ table, key: keyOf(row), action: 'delete' });
    }
  }

  /** New rows are numbered so that every row comes after the new rows it references. */
  private assignInsertOrder(): void {
    const visiting = new Set<string>();
    const visit = (row: DesiredRow): void => {
      const id = tkey(row.table, row.key);
      if (this.newIndex.has(id) || this.view.byKey(row.table, row.key)) return;
      if (visiting.has(id)) throw new ApplyPlanError(`reference cycle through ${row.table} ${row.key}`);
      visiting.add(id);
      for (const r of refsIn(row.columns)) {
        const target = this.desiredByKey.get(tkey(r.ref.table, r.ref.key));
        if (target) visit(target);
      }
      // A new child goes before a new parent, which then holds it in its insert.
      for (const child of this.desired.rows) {
        if (child.parent && child.parent.table === row.table && child.parent.key === row.key) visit(child);
      }
      visiting.delete(id);
      this.newIndex.set(id, this.newIndex.size);
    };
    for (const row of this.desired.rows) visit(row);
  }

  private planRow(row: DesiredRow): void {
    const columns = this.schema.hasColumn(row.table, 'external_ids')
      ? { ...row.columns, external_ids: this.externalIds(row) }
      : { ...row.columns, name: nameIdentity(row.owner, row.key) };
    const existing = this.view.byKey(row.table, row.key);
    if (!existing) {
      const index = this.newIndex.get(tkey(row.table, row.key))!;
      const resolved: Record<string, PlanValue> = {};
      for (const [column, value] of Object.entries(columns)) resolved[column] = this.resolve(value, row);
      for (const child of this.desired.rows) {
        if (child.parent?.table === row.table && child.parent.key === row.key) {
          const childRef: NewRowRef = { newRow: this.newIndex.get(tkey(child.table, child.key))! };
          const current = resolved[child.parent.column];
          resolved[child.parent.column] = [...(Array.isArray(current) ? current : []), childRef];
        }
      }
      this.inserts[index] = { op: 'insert', index, table: row.table, key: row.key, row: resolved };
      this.touched.push({ table: row.table, key: row.key, action: 'insert' });
      // A parent inserted by this plan holds the child in its insert (above); an existing one gets a mutation.
      if (row.parent && !this.newIndex.has(tkey(row.parent.table, row.parent.key))) {
        const parent = this.container(row.parent.table, row.parent.key);
        this.mutation(row.parent.table, parent._uuid, row.parent.column).insert.push({ newRow: index });
      }
      return;
    }
    const changed: Record<string, PlanValue> = {};
    for (const [column, value] of Object.entries(columns)) {
      const info = this.schema.column(row.table, column);
      const want = this.resolve(value, row);
      if (canonicalValue(want, info) !== canonicalValue(existing[column], info)) changed[column] = want;
    }
    if (Object.keys(changed).length > 0) {
      this.updates.push({ op: 'update', table: row.table, uuid: existing._uuid, key: row.key, columns: changed });
      this.touched.push({ table: row.table, key: row.key, action: 'update', columns: Object.keys(changed).sort() });
    }
    if (row.parent) {
      // An existing child whose parent changed (e.g. a port moved to another switch) is attached there too.
      const parent = this.view.byKey(row.parent.table, row.parent.key);
      const held =
        parent && referencedUuids(parent[row.parent.column], this.schema.column(row.parent.table, row.parent.column));
      if (parent && !held?.includes(existing._uuid)) {
        this.mutation(row.parent.table, parent._uuid, row.parent.column).insert.push(existing._uuid);
      }
    }
  }

  private planMembership(table: string, key: string, column: string, members: RowRef[]): void {
    const wanted = members.map((m) => this.resolveRef(m));
    const container = this.view.byKey(table, key);
    if (!container) {
      const id = tkey(table, key);
      const ownInsert = this.inserts.find((i) => tkey(i.table, i.key) === id);
      if (!ownInsert) throw new ApplyPlanError(`${table} ${key} does not exist yet (needed for ${column})`);
      const current = ownInsert.row[column];
      ownInsert.row[column] = [...(Array.isArray(current) ? current : []), ...wanted];
      return;
    }
    // Through the reverse-reference index, so the cost is the owner's rows, not the container's members
    // (a VPC's LB group holds every Service of the VPC).
    const held = (uuid: string): boolean =>
      this.view.referrers(uuid).some((r) => r.row._uuid === container._uuid && r.column === column);
    const wantedUuids = new Set(wanted.filter((w): w is string => typeof w === 'string'));
    const toInsert = wanted.filter((w) => typeof w !== 'string' || !held(w));
    const toDelete = this.view
      .ownedBy(this.desired.owner)
      .map(({ row }) => row._uuid)
      .filter((uuid) => held(uuid) && !wantedUuids.has(uuid) && !this.deletedUuids.has(uuid));
    if (toInsert.length === 0 && toDelete.length === 0) return;
    const m = this.mutation(table, container._uuid, column);
    m.insert.push(...toInsert);
    m.delete.push(...toDelete);
    if (toInsert.length) this.touched.push({ table, key, action: 'attach', columns: [column] });
    if (toDelete.length) this.touched.push({ table, key, action: 'detach', columns: [column] });
  }

  /**
   * Kept rows of this owner still held in a membership column (one that several owners contribute to, like
   * Load_Balancer_Group.load_balancer) of someone else's row the desired state no longer names. References that
   * other owners declare in their own rows (a Subnet's switch naming its VPC's LB group) are theirs to keep.
   */
  private planDetachFromUndesiredContainers(): void {
    const wantedContainers = new Set(this.desired.memberships.map((m) => `${m.table}\0${m.key}\0${m.column}`));
    const membershipColumns = new Set([
      ...MEMBERSHIP_COLUMNS,
      ...this.desired.memberships.map((m) => `${m.table}.${m.column}`),
    ]);
    for (const row of this.desired.rows) {
      const existing = this.view.byKey(row.table, row.key);
      if (!existing) continue;
      for (const ref of this.view.referrers(existing._uuid)) {
        if (!membershipColumns.has(`${ref.table}.${ref.column}`)) continue;
        const refOwner = rowOwner(ref.row);
        if (!refOwner || ownerId(refOwner) === ownerId(this.desired.owner)) continue;
        const refKey = keyOf(ref.row);
        if (wantedContainers.has(`${ref.table}\0${refKey}\0${ref.column}`)) continue;
        this.mutation(ref.table, ref.row._uuid, ref.column).delete.push(existing._uuid);
        this.touched.push({ table: ref.table, key: refKey, action: 'detach', columns: [ref.column] });
      }
    }
  }

  /** The owner's keys in shared map columns: exactly `entries` where desired, none anywhere else. */
  private planMapEntries(): void {
    const prefix = ownerMapKeyPrefix(this.desired.owner);
    const wanted = new Map<string, DesiredMapEntries>();
    for (const m of this.desired.mapEntries ?? []) {
      const bad = Object.keys(m.entries).find((k) => !k.startsWith(prefix));
      if (bad) throw new ApplyPlanError(`map key ${bad} of ${ownerId(this.desired.owner)} lacks its prefix ${prefix}`);
      wanted.set(`${m.table}\0${m.key}\0${m.column}`, m);
    }
    const holders = new Map<string, { table: string; column: string; row: Row }>();
    for (const h of this.view.mapKeyHolders(prefix)) holders.set(`${h.table}\0${h.row._uuid}\0${h.column}`, h);
    for (const m of wanted.values()) {
      const row = this.container(m.table, m.key);
      holders.set(`${m.table}\0${row._uuid}\0${m.column}`, { table: m.table, column: m.column, row });
    }
    for (const { table, column, row } of holders.values()) {
      const current = (row[column] ?? {}) as Record<string, string>;
      const want = wanted.get(`${table}\0${keyOf(row)}\0${column}`)?.entries ?? {};
      const deleteKeys = Object.keys(current).filter((k) => k.startsWith(prefix) && current[k] !== want[k]);
      const insert: Record<string, string> = {};
      for (const [k, v] of Object.entries(want)) if (current[k] !== v) insert[k] = v;
      if (deleteKeys.length === 0 && Object.keys(insert).length === 0) continue;
      this.mapUpdates.push({ op: 'mapUpdate', table, uuid: row._uuid, column, deleteKeys: deleteKeys.sort(), insert });
      this.touched.push({ table, key: keyOf(row), action: 'update', columns: [column] });
    }
  }

  private externalIds(row: DesiredRow): Record<string, string> {
    const given = (row.columns.external_ids ?? {}) as Record<string, string>;
    return {
      ...given,
      [OWNERSHIP.controller]: CONTROLLER_NAME,
      [OWNERSHIP.ownerKind]: row.owner.kind,
      [OWNERSHIP.owner]: row.owner.name,
      [OWNERSHIP.key]: row.key,
    };
  }

  private resolve(value: ColumnValue, row: DesiredRow): PlanValue {
    if (isRowRef(value)) return this.resolveRef(value, row);
    if (Array.isArray(value)) return value.map((v) => (isRowRef(v) ? this.resolveRef(v, row) : v));
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, PlanValue> = {};
      for (const [k, v] of Object.entries(value)) out[k] = isRowRef(v) ? this.resolveRef(v, row) : v;
      return out;
    }
    return value;
  }

  private resolveRef(r: RowRef, from?: DesiredRow): string | NewRowRef {
    const newIndex = this.newIndex.get(tkey(r.ref.table, r.ref.key));
    if (newIndex !== undefined) return { newRow: newIndex };
    const existing = this.view.byKey(r.ref.table, r.ref.key);
    if (existing) return existing._uuid;
    const by = from ? ` (referenced by ${from.table} ${from.key})` : '';
    throw new ApplyPlanError(`${r.ref.table} ${r.ref.key} does not exist${by}`);
  }

  private container(table: string, key: string): Row {
    const row = this.view.byKey(table, key);
    if (!row) throw new ApplyPlanError(`${table} ${key} does not exist yet`);
    return row;
  }

  private mutation(table: string, uuid: string, column: string): PlannedMutate {
    const id = `${table}\0${uuid}\0${column}`;
    let m = this.mutates.get(id);
    if (!m) {
      m = { op: 'mutate', table, uuid, column, insert: [], delete: [] };
      this.mutates.set(id, m);
    }
    return m;
  }
}

function tkey(table: string, key: string): string {
  return `${table}\0${key}`;
}

function keyOf(row: Row): string {
  return rowKey(row) ?? row._uuid;
}

function refsIn(columns: Record<string, ColumnValue>): RowRef[] {
  const out: RowRef[] = [];
  for (const value of Object.values(columns)) {
    if (isRowRef(value)) out.push(value);
    else if (Array.isArray(value)) out.push(...value.filter(isRowRef));
    else if (typeof value === 'object' && value !== null) out.push(...Object.values(value).filter(isRowRef));
  }
  return out;
}
