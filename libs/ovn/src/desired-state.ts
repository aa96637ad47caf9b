import { createHash } from 'node:crypto';

/**
 * The contract between translation (pure functions in @ycloud/translate) and apply (the one generic piece that
 * writes the difference to the Northbound database).
 *
 * Translators return `DesiredRow`s: complete rows that one owner (a Service, a Vpc, a Subnet, a Pod, ...) owns
 * outright, plus `DesiredMembership`s: an owner's contribution to a set column of a row someone else owns (a
 * Service's LB in its VPC's Load_Balancer_Group). Rows are identified by a cluster-wide unique `key`, stored
 * in `external_ids` so the database itself records what ycloud owns; references between rows name keys, never
 * UUIDs, so translation needs no database.
 */

/** external_ids keys that mark a row as ycloud's. Rows without `ycloud.io/controller` are never touched. */
export const OWNERSHIP = {
  controller: 'ycloud.io/controller',
  ownerKind: 'ycloud.io/owner-kind',
  owner: 'ycloud.io/owner',
  key: 'ycloud.io/key',
} as const;

export const CONTROLLER_NAME = 'ycloud';

/** Who owns a row: a Kubernetes object (kind + "namespace/name", or "name" for cluster-scoped ones). */
export interface Owner {
  kind: string;
  /** "namespace/name" for namespaced objects, "name" for cluster-scoped ones. */
  name: string;
}

/** A reference to another ycloud row by its key; apply resolves it to a UUID (or named-uuid in one transaction). */
export interface RowRef {
  ref: { table: string; key: string };
}

/** A reference to any row (ycloud's or not) by a unique column value, e.g. an existing Chassis by name. */
export type Scalar = string | number | boolean;
export type ColumnValue = Scalar | RowRef | Array<Scalar | RowRef> | Record<string, Scalar | RowRef>;

/**
 * A row as translation wants it. `columns` holds only the columns ycloud manages; columns left out are not
 * compared and not written (other than at insert, where they take their defaults). `external_ids` given here
 * are merged with the ownership keys.
 * Sets are arrays, maps are plain objects, optional columns (min 0, max 1) are an empty array when unset.
 */
export interface DesiredRow {
  table: string;
  key: string;
  owner: Owner;
  columns: Record<string, ColumnValue>;
  /**
   * For non-root tables (Logical_Switch_Port, Logical_Router_Port, NAT, Logical_Router_Static_Route, ...): the
   * row and column that holds this row. OVSDB garbage-collects an unreferenced non-root row at commit, so the
   * insert and the parent's mutation go in one transaction.
   */
  parent?: { table: string; key: string; column: string };
}

/** An owner's members in a set column of a row it does not own (e.g. Load_Balancer_Group.load_balancer). */
export interface DesiredMembership {
  owner: Owner;
  table: string;
  key: string;
  column: string;
  members: RowRef[];
}

/**
 * An owner's entries in a string map column of a row it does not own, e.g. a Service's per-chassis variables in
 * `Chassis_Template_Var.variables` (one row per chassis, shared by every template load balancer). The owner owns
 * exactly the map keys that start with `ownerMapKeyPrefix(owner)`: apply sets `entries` and removes every other
 * key with that prefix (all of them when the owner is gone), so it needs no memory of what it wrote before.
 */
export interface DesiredMapEntries {
  owner: Owner;
  table: string;
  key: string;
  column: string;
  /** Every key starts with ownerMapKeyPrefix(owner). */
  entries: Record<string, string>;
}

/** Everything one owner wants in the database. Apply writes it as one transaction, or nothing if unchanged. */
export interface DesiredState {
  owner: Owner;
  rows: DesiredRow[];
  memberships: DesiredMembership[];
  /** Added for template load balancers; absent means none. */
  mapEntries?: DesiredMapEntries[];
}

/**
 * The prefix of every map key an owner writes through DesiredMapEntries. Upper-case letters, digits and `_` only,
 * so the keys are valid OVN template variable names (`^NAME` in a Load_Balancer). Derived from the owner alone so
 * apply can find a deleted owner's keys.
 */
export function ownerMapKeyPrefix(owner: Owner): string {
  const digest = createHash('sha256').update(ownerId(owner)).digest('hex').slice(0, 12).toUpperCase();
  return `YC_${digest}_`;
}

export function ref(table: string, key: string): RowRef {
  return { ref: { table, key } };
}

export function isRowRef(v: unknown): v is RowRef {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'ref' in v && Object.keys(v).length === 1;
}

export function ownerId(owner: Owner): string {
  return `${owner.kind}:${owner.name}`;
}
