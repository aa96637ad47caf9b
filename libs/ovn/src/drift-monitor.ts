import { Counter, Registry } from 'prom-client';
import { Owner, ownerId } from './desired-state';
import type { ApplyRecord } from './nb-applier';
import { referencedUuids, rowKey, rowOwner } from './row-values';
import type { Row } from './row-view';
import type { SchemaInfo } from './schema-info';

/** One row change as the OVSDB client's replicated cache reports it. */
export interface RowChange {
  table: string;
  uuid: string;
  old?: Row;
  new?: Row;
}

/** Where the monitor's changes come from (an OvsdbClient). */
export interface RowChangeEvents {
  on(event: 'change', listener: (change: RowChange) => void): unknown;
}

/** What tells ycloud's own writes from others': the applier (see NorthboundApplier.isOwnChange). */
export interface OwnWrites {
  isOwnChange(table: string, uuid: string, key: string | undefined): boolean;
  isWriting(uuid: string): boolean;
}

/** Rows looked up by uuid (the IndexedRowView). */
export interface RowLookup {
  get(table: string, uuid: string): Row | undefined;
}

/** An owner whose rows another client changed, and the change that showed it. */
export interface Drift {
  owner: Owner;
  table: string;
  uuid: string;
  /** inserted / updated / deleted: a row of the owner's; detached / attached: a container's reference to one. */
  change: 'inserted' | 'updated' | 'deleted' | 'detached' | 'attached';
}

/** The reason prefix of reconciles queued because another client changed an owner's rows. */
export const DRIFT_REASON_PREFIX = 'drift: ';
/** The reason of reconciles queued by the periodic full reconcile. */
export const RESYNC_REASON = 'periodic resync';

/** The reason a drift-queued reconcile records (the change journal, the repaired-rows metric). */
export function driftReason(d: Drift): string {
  return `${DRIFT_REASON_PREFIX}${d.table} row ${d.change} by another client`;
}

/** Columns OVN itself writes into rows ycloud owns (northd's port state): not drift. */
const OVN_WRITTEN_COLUMNS: Record<string, readonly string[]> = {
  Logical_Switch_Port: ['up', 'dynamic_addresses'],
  Logical_Router_Port: ['status'],
};

/**
 * Watches the Northbound monitor for changes to rows ycloud owns that ycloud did not make (a hand edit, another
 * tool) and reports their owners, so the owner is reconciled again and its rows repaired without waiting for a
 * Kubernetes change or a restart. A change to a container's references (a Load_Balancer taken off a switch or
 * group) reports the owner of each referenced row too, because the reference is that owner's membership.
 * Changes made by the applier's transaction in flight are ycloud's and are not reported.
 */
export class DriftMonitor {
  private readonly listeners: Array<(drift: Drift) => void> = [];

  constructor(
    private readonly schema: SchemaInfo,
    private readonly rows: RowLookup,
    private readonly own: OwnWrites,
  ) {}

  /** Follows a live client's change stream. */
  follow(source: RowChangeEvents): this {
    source.on('change', (change) => {
      for (const drift of this.drifts(change)) for (const l of this.listeners) l(drift);
    });
    return this;
  }

  onDrift(listener: (drift: Drift) => void): void {
    this.listeners.push(listener);
  }

  /** The owners a change drifts (none when ycloud made it or it touches no owned row). */
  drifts(change: RowChange): Drift[] {
    const { table, uuid, old, new: next } = change;
    const key = rowKey(next ?? old ?? { _uuid: uuid });
    if (this.own.isOwnChange(table, uuid, key)) return [];
    const changed = old && next ? changedColumns(old, next) : undefined;
    if (changed) {
      const ovnWritten = OVN_WRITTEN_COLUMNS[table] ?? [];
      if (changed.every((c) => ovnWritten.includes(c))) return [];
    }
    const out = new Map<string, Drift>();
    const add = (owner: Owner | undefined, change: Drift['change']) => {
      if (owner && !out.has(ownerId(owner))) out.set(ownerId(owner), { owner, table, uuid, change });
    };
    add(rowOwner(old ?? next!), !old ? 'inserted' : !next ? 'deleted' : 'updated');
    if (old && next) {
      const newOwner = rowOwner(next);
      if (newOwner) add(newOwner, 'updated');
      // References added or removed: each referenced row's owner holds that membership.
      let onlyOurs = true;
      for (const rc of this.schema.refColumns) {
        if (rc.table !== table || !changed!.includes(rc.column)) continue;
        const info = this.schema.column(table, rc.column);
        const before = new Set(referencedUuids(old[rc.column], info));
        const after = new Set(referencedUuids(next[rc.column], info));
        for (const u of [...before].filter((x) => !after.has(x))) {
          // A row our transaction deletes leaves its weak references by itself.
          if (this.own.isWriting(u)) continue;
          onlyOurs = false;
          add(this.ownerOf(rc.refTable, u), 'detached');
        }
        for (const u of [...after].filter((x) => !before.has(x))) {
          onlyOurs = false;
          add(this.ownerOf(rc.refTable, u), 'attached');
        }
      }
      const refColumns = new Set(this.schema.refColumns.filter((r) => r.table === table).map((r) => r.column));
      // Only references to rows our transaction deleted went away (weak references the server removed): ours.
      if (onlyOurs && changed!.every((c) => refColumns.has(c))) return [];
    }
    return [...out.values()];
  }

  private ownerOf(table: string, uuid: string): Owner | undefined {
    const row = this.rows.get(table, uuid);
    return row ? rowOwner(row) : undefined;
  }
}

/** Columns whose value differs between two versions of a row (the cache keeps unchanged values as they were). */
function changedColumns(old: Row, next: Row): string[] {
  const cols = new Set([...Object.keys(old), ...Object.keys(next)]);
  return [...cols].filter((c) => c !== '_uuid' && c !== '_version' && !sameValue(old[c], next[c]));
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Drift metrics, pre-registered at zero per table: owned rows other clients changed, and rows repaired (written
 * by a reconcile that drift or the periodic full reconcile queued).
 */
export class DriftMetrics {
  readonly detected: Counter<'table'>;
  readonly repaired: Counter<'table' | 'trigger'>;

  constructor(registry: Registry, tables: readonly string[]) {
    const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    this.detected = get(
      'ycloud_nb_drift_detected_total',
      () =>
        new Counter({
          name: 'ycloud_nb_drift_detected_total',
          help: 'Changes by another client to Northbound rows ycloud owns (their owners are reconciled again).',
          labelNames: ['table'],
          registers: [registry],
        }),
    );
    this.repaired = get(
      'ycloud_nb_rows_repaired_total',
      () =>
        new Counter({
          name: 'ycloud_nb_rows_repaired_total',
          help: 'Northbound rows written back by reconciles that drift (trigger=monitor) or the periodic full reconcile (trigger=resync) queued.',
          labelNames: ['table', 'trigger'],
          registers: [registry],
        }),
    );
    for (const table of tables) {
      this.detected.labels(table).inc(0);
      for (const trigger of ['monitor', 'resync']) this.repaired.labels(table, trigger).inc(0);
    }
  }

  observeDrift(drift: Drift): void {
    this.detected.labels(drift.table).inc();
  }

  /** Counts the rows a repair wrote (apply records of reconciles queued by drift or the periodic resync). */
  observeApply(record: ApplyRecord): void {
    if (!record.written) return;
    const trigger = record.reason.startsWith(DRIFT_REASON_PREFIX)
      ? 'monitor'
      : record.reason === RESYNC_REASON
        ? 'resync'
        : undefined;
    if (!trigger) return;
    for (const t of record.touched) this.repaired.labels(t.table, trigger).inc();
  }
}
