import { performance } from 'perf_hooks';
import { ApplyPlan, PlannedOp, TouchedRow, planApply } from './apply-planner';
import { DesiredState, OWNERSHIP, Owner, ownerId } from './desired-state';
import { IndexedRowView } from './indexed-row-view';
import { PlanValue, isNewRowRef } from './row-values';
import { SchemaInfo } from './schema-info';

/** The part of an OVSDB transaction builder apply uses (see @ycloud/ovsdb). */
export interface TransactionWriter {
  insert(table: string, row: Record<string, unknown>): unknown;
  update(table: string, where: unknown[][], row: Record<string, unknown>): unknown;
  mutate(table: string, where: unknown[][], mutations: unknown[][]): unknown;
  delete(table: string, where: unknown[][]): unknown;
  wait(
    table: string,
    where: unknown[][],
    columns: string[],
    until: '==' | '!=',
    rows: unknown[],
    timeout?: number,
  ): unknown;
  comment(text: string): unknown;
  commit(): Promise<unknown>;
}
export interface TransactionSource {
  transaction(): TransactionWriter;
}

/** What one apply did, for the change journal, metrics and logs. */
export interface ApplyRecord {
  owner: Owner;
  reason: string;
  /** False when the database already held the desired state: nothing was written. */
  written: boolean;
  operations: number;
  touched: TouchedRow[];
  latencyMs: number;
  at: Date;
}

export interface ApplyObserver {
  (record: ApplyRecord): void;
}

/**
 * Writes the difference between an owner's desired state and the database as one transaction, or nothing
 * when there is no difference. Creates are guarded by a `wait` on the row's key being absent, so a retried
 * create whose first reply was lost fails cleanly instead of duplicating the row (OVN NB has no name index).
 */
export class NorthboundApplier {
  private readonly observers: ApplyObserver[] = [];

  constructor(
    private readonly db: TransactionSource,
    private readonly view: IndexedRowView,
    private readonly schema: SchemaInfo,
  ) {}

  onApply(observer: ApplyObserver): void {
    this.observers.push(observer);
  }

  plan(desired: DesiredState): ApplyPlan {
    return planApply(desired, this.view, this.schema);
  }

  async apply(desired: DesiredState, reason: string): Promise<ApplyRecord> {
    const plan = this.plan(desired);
    const at = new Date();
    if (plan.ops.length === 0) {
      return { owner: desired.owner, reason, written: false, operations: 0, touched: [], latencyMs: 0, at };
    }
    const tx = this.db.transaction();
    tx.comment(`ycloud: ${ownerId(desired.owner)}: ${reason}`);
    const tokens: unknown[] = [];
    for (const op of plan.ops) this.write(tx, op, tokens);
    const started = performance.now();
    await tx.commit();
    const record: ApplyRecord = {
      owner: desired.owner,
      reason,
      written: true,
      operations: plan.ops.length,
      touched: plan.touched,
      latencyMs: performance.now() - started,
      at,
    };
    for (const observe of this.observers) {
      try {
        observe(record);
      } catch {
        // Observers (journal, metrics) must never fail a write that has already committed.
      }
    }
    return record;
  }

  private write(tx: TransactionWriter, op: PlannedOp, tokens: unknown[]): void {
    const value = (v: PlanValue): unknown => {
      if (isNewRowRef(v)) return tokens[v.newRow];
      if (Array.isArray(v)) return v.map(value);
      if (typeof v === 'object' && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)]));
      }
      return v;
    };
    const byUuid = (uuid: string): unknown[][] => [['_uuid', '==', uuid]];
    switch (op.op) {
      case 'insert': {
        const identity = this.schema.hasColumn(op.table, 'external_ids')
          ? ['external_ids', 'includes', { [OWNERSHIP.key]: op.key }]
          : ['name', '==', op.row.name];
        tx.wait(op.table, [identity], ['_uuid'], '==', [], 0);
        const row = Object.fromEntries(Object.entries(op.row).map(([c, v]) => [c, value(v)]));
        tokens[op.index] = tx.insert(op.table, row);
        return;
      }
      case 'update':
        tx.update(
          op.table,
          byUuid(op.uuid),
          Object.fromEntries(Object.entries(op.columns).map(([c, v]) => [c, value(v)])),
        );
        return;
      case 'mutate': {
        const mutations: unknown[][] = [];
        if (op.delete.length) mutations.push([op.column, 'delete', op.delete]);
        if (op.insert.length) mutations.push([op.column, 'insert', op.insert.map(value)]);
        tx.mutate(op.table, byUuid(op.uuid), mutations);
        return;
      }
      case 'mapUpdate': {
        const mutations: unknown[][] = [];
        if (op.deleteKeys.length) mutations.push([op.column, 'delete', op.deleteKeys]);
        if (Object.keys(op.insert).length) mutations.push([op.column, 'insert', op.insert]);
        tx.mutate(op.table, byUuid(op.uuid), mutations);
        return;
      }
      case 'delete':
        tx.delete(op.table, byUuid(op.uuid));
        return;
    }
  }
}
