import { performance } from 'perf_hooks';
import { ApplyPlan, PlannedMutate, PlannedOp, TouchedRow, planApply } from './apply-planner';
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

/** The transaction an apply was written in: several owners' applies share one under load (group commit). */
export interface AppliedTransaction {
  /** Increases by one per committed transaction of this applier. */
  seq: number;
  /** Owners whose changes the transaction carried. */
  owners: number;
  /** Planned operations sent, memberships of one container merged into one mutate (guards and comment not counted). */
  operations: number;
}

/** What one apply did, for the change journal, metrics and logs. */
export interface ApplyRecord {
  owner: Owner;
  reason: string;
  /** False when the database already held the desired state: nothing was written. */
  written: boolean;
  /** This owner's planned operations. */
  operations: number;
  touched: TouchedRow[];
  /** From the apply() call to the commit's reply, including any wait behind the transaction in flight. */
  latencyMs: number;
  at: Date;
  /** Set when written. */
  transaction?: AppliedTransaction;
}

export interface ApplyObserver {
  (record: ApplyRecord): void;
}

export interface NorthboundApplierOptions {
  /** Most owners merged into one transaction. */
  maxBatchOwners?: number;
  /** Operation budget of a merged transaction (an owner whose plan alone exceeds it still goes, alone). */
  maxBatchOperations?: number;
}

const DEFAULTS: Required<NorthboundApplierOptions> = { maxBatchOwners: 500, maxBatchOperations: 20_000 };

/** Errors after which the server certainly committed nothing, so the owners can be retried in smaller groups. */
const DEFINITE_FAILURES = new Set(['OvsdbTransactionError', 'OvsdbCodecError', 'ApplyPlanError']);

interface PendingApply {
  desired: DesiredState;
  id: string;
  reason: string;
  at: Date;
  started: number;
  /** A plan made against view version `planVersion`, reused if the view has not changed since. */
  plan?: ApplyPlan;
  planVersion?: number;
  resolve(record: ApplyRecord): void;
  reject(err: unknown): void;
}

interface PlannedApply {
  pending: PendingApply;
  plan: ApplyPlan;
}

/**
 * Writes the difference between an owner's desired state and the database, or nothing when there is no
 * difference. Creates are guarded by a `wait` on the row's key being absent, so a retried create whose first
 * reply was lost fails cleanly instead of duplicating the row (OVN NB has no name index).
 *
 * Group commit: one transaction is in flight at a time; applies that arrive meanwhile are planned when it has
 * committed (against a view that shows it) and written together as the next transaction, with the memberships of
 * one container (a VPC's Load_Balancer_Group) merged into one mutate. Each caller still gets its own record. A
 * merged transaction that fails is split in halves and retried, down to single owners, so one bad owner fails
 * alone. An apply with nothing to change writes nothing and does not wait.
 */
export class NorthboundApplier {
  private readonly observers: ApplyObserver[] = [];
  private readonly options: Required<NorthboundApplierOptions>;
  private queue: PendingApply[] = [];
  /** Applies queued or in flight, by owner id. */
  private readonly busy = new Map<string, number>();
  private draining = false;
  private seq = 0;
  /**
   * The rows the transaction in flight writes (by uuid; inserts by table and key). The server sends a client the
   * monitor updates of its own transaction before the transaction's reply, so a change to one of these rows that
   * arrives while this is set is ours: see isOwnChange (drift detection).
   */
  private inFlight?: { uuids: Set<string>; inserts: Set<string> };

  constructor(
    private readonly db: TransactionSource,
    private readonly view: IndexedRowView,
    private readonly schema: SchemaInfo,
    options: NorthboundApplierOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  onApply(observer: ApplyObserver): void {
    this.observers.push(observer);
  }

  plan(desired: DesiredState): ApplyPlan {
    return planApply(desired, this.view, this.schema);
  }

  /**
   * Whether a row change the monitor reports was made by this applier's transaction in flight. A change by another
   * client to a row the same transaction writes is taken for ours (the periodic full reconcile catches it).
   */
  isOwnChange(table: string, uuid: string, key: string | undefined): boolean {
    const f = this.inFlight;
    if (!f) return false;
    return f.uuids.has(uuid) || (key !== undefined && f.inserts.has(`${table}\0${key}`));
  }

  /** Whether the transaction in flight writes (updates, mutates or deletes) the row with this uuid. */
  isWriting(uuid: string): boolean {
    return this.inFlight?.uuids.has(uuid) ?? false;
  }

  /** Committed transactions so far. */
  get transactions(): number {
    return this.seq;
  }

  async apply(desired: DesiredState, reason: string): Promise<ApplyRecord> {
    const at = new Date();
    const started = performance.now();
    const id = ownerId(desired.owner);
    const pending: Omit<PendingApply, 'resolve' | 'reject'> = { desired, id, reason, at, started };
    // With an earlier apply of this owner still queued or in flight, the view does not show its result yet: plan
    // only after it (in the queue).
    if (!this.busy.has(id)) {
      const plan = this.plan(desired);
      if (plan.ops.length === 0) return unchanged(pending);
      pending.plan = plan;
      pending.planVersion = this.view.version;
    }
    return new Promise<ApplyRecord>((resolve, reject) => {
      this.queue.push({ ...pending, resolve, reject });
      this.busy.set(id, (this.busy.get(id) ?? 0) + 1);
      this.kick();
    });
  }

  private kick(): void {
    if (this.draining || this.queue.length === 0) return;
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      if (batch.length > 0) await this.commitGroup(batch);
    }
  }

  /**
   * The next transaction's applies, in arrival order: at most one per owner, within the owner and operation
   * budgets. Applies whose plan fails or turns out empty are settled here.
   */
  private takeBatch(): PlannedApply[] {
    const batch: PlannedApply[] = [];
    const owners = new Set<string>();
    const rest: PendingApply[] = [];
    let operations = 0;
    let full = false;
    for (const p of this.queue) {
      if (full || owners.has(p.id)) {
        rest.push(p);
        continue;
      }
      const plan = this.planPending(p);
      if (!plan) continue;
      if (batch.length > 0 && operations + plan.ops.length > this.options.maxBatchOperations) {
        full = true;
        rest.push(p);
        continue;
      }
      batch.push({ pending: p, plan });
      owners.add(p.id);
      operations += plan.ops.length;
      full = batch.length >= this.options.maxBatchOwners;
    }
    this.queue = rest;
    return batch;
  }

  /** The apply's plan against the current view; undefined (and the apply settled) on error or nothing to do. */
  private planPending(p: PendingApply): ApplyPlan | undefined {
    try {
      const plan = p.plan && p.planVersion === this.view.version ? p.plan : this.plan(p.desired);
      p.plan = plan;
      p.planVersion = this.view.version;
      if (plan.ops.length > 0) return plan;
      this.settle(p, () => p.resolve(unchanged(p)));
    } catch (err) {
      this.settle(p, () => p.reject(err));
    }
    return undefined;
  }

  /** Commits a group as one transaction; if the server rejects it, each half again, down to single owners. */
  private async commitGroup(group: PlannedApply[]): Promise<void> {
    let tx: AppliedTransaction;
    try {
      tx = await this.commit(group);
    } catch (err) {
      const name = (err as Error | undefined)?.name ?? '';
      if (group.length === 1 || !DEFINITE_FAILURES.has(name)) {
        for (const g of group) this.settle(g.pending, () => g.pending.reject(err));
        return;
      }
      const half = Math.ceil(group.length / 2);
      for (const part of [group.slice(0, half), group.slice(half)]) {
        const replanned = part.map((g) => ({ pending: g.pending, plan: this.planPending(g.pending) }));
        const left = replanned.filter((g): g is PlannedApply => g.plan !== undefined);
        if (left.length > 0) await this.commitGroup(left);
      }
      return;
    }
    const done = performance.now();
    for (const { pending, plan } of group) {
      const record: ApplyRecord = {
        owner: pending.desired.owner,
        reason: pending.reason,
        written: true,
        operations: plan.ops.length,
        touched: plan.touched,
        latencyMs: done - pending.started,
        at: pending.at,
        transaction: tx,
      };
      this.settle(pending, () => pending.resolve(record));
      this.notify(record);
    }
  }

  private settle(p: PendingApply, done: () => void): void {
    const n = (this.busy.get(p.id) ?? 1) - 1;
    if (n > 0) this.busy.set(p.id, n);
    else this.busy.delete(p.id);
    done();
  }

  private notify(record: ApplyRecord): void {
    for (const observe of this.observers) {
      try {
        observe(record);
      } catch {
        // Observers (journal, metrics) must never fail a write that has already committed.
      }
    }
  }

  /**
   * One transaction for the group, ordered as each plan is (inserts, updates, mutations, map updates, deletions)
   * across owners, so no operation comes before one it depends on; mutations of one set column of one row are
   * merged (owners' members are distinct rows, so the merged delete-then-insert equals the separate ones).
   */
  private async commit(group: PlannedApply[]): Promise<AppliedTransaction> {
    const tx = this.db.transaction();
    tx.comment(describe(group));
    const mutates = new Map<string, { table: string; uuid: string; column: string; del: unknown[]; ins: unknown[] }>();
    const later: Array<() => void> = [];
    const deletes: Array<() => void> = [];
    let operations = 0;
    for (const { plan } of group) {
      const tokens: unknown[] = [];
      const value = (v: PlanValue): unknown => resolveValue(v, tokens);
      for (const op of plan.ops) {
        if (op.op === 'mutate') {
          const id = `${op.table}\0${op.uuid}\0${op.column}`;
          let m = mutates.get(id);
          if (!m) mutates.set(id, (m = { table: op.table, uuid: op.uuid, column: op.column, del: [], ins: [] }));
          m.del.push(...op.delete);
          m.ins.push(...op.insert.map(value));
        } else if (op.op === 'mapUpdate') {
          later.push(() => this.write(tx, op, tokens));
        } else if (op.op === 'delete') {
          deletes.push(() => this.write(tx, op, tokens));
        } else {
          operations += this.write(tx, op, tokens);
        }
      }
    }
    for (const m of mutates.values()) {
      const mutations: unknown[][] = [];
      if (m.del.length) mutations.push([m.column, 'delete', m.del]);
      if (m.ins.length) mutations.push([m.column, 'insert', m.ins]);
      tx.mutate(m.table, byUuid(m.uuid), mutations);
    }
    for (const write of [...later, ...deletes]) write();
    operations += mutates.size + later.length + deletes.length;
    this.inFlight = writtenRows(group);
    try {
      await tx.commit();
    } finally {
      this.inFlight = undefined;
    }
    return { seq: ++this.seq, owners: group.length, operations };
  }

  /** Writes one planned operation (mutations other than map updates are merged in commit()); returns ops sent. */
  private write(tx: TransactionWriter, op: Exclude<PlannedOp, PlannedMutate>, tokens: unknown[]): number {
    const value = (v: PlanValue): unknown => resolveValue(v, tokens);
    switch (op.op) {
      case 'insert': {
        const identity = this.schema.hasColumn(op.table, 'external_ids')
          ? ['external_ids', 'includes', { [OWNERSHIP.key]: op.key }]
          : ['name', '==', op.row.name];
        tx.wait(op.table, [identity], ['_uuid'], '==', [], 0);
        const row = Object.fromEntries(Object.entries(op.row).map(([c, v]) => [c, value(v)]));
        tokens[op.index] = tx.insert(op.table, row);
        return 1;
      }
      case 'update':
        tx.update(
          op.table,
          byUuid(op.uuid),
          Object.fromEntries(Object.entries(op.columns).map(([c, v]) => [c, value(v)])),
        );
        return 1;
      case 'mapUpdate': {
        const mutations: unknown[][] = [];
        if (op.deleteKeys.length) mutations.push([op.column, 'delete', op.deleteKeys]);
        if (Object.keys(op.insert).length) mutations.push([op.column, 'insert', op.insert]);
        tx.mutate(op.table, byUuid(op.uuid), mutations);
        return 1;
      }
      case 'delete':
        tx.delete(op.table, byUuid(op.uuid));
        return 1;
    }
  }
}

/** The rows a group's transaction writes: uuids of existing rows, `table\0key` of inserted ones. */
function writtenRows(group: PlannedApply[]): { uuids: Set<string>; inserts: Set<string> } {
  const uuids = new Set<string>();
  const inserts = new Set<string>();
  for (const { plan } of group) {
    for (const op of plan.ops) {
      if (op.op === 'insert') inserts.add(`${op.table}\0${op.key}`);
      else uuids.add(op.uuid);
    }
  }
  return { uuids, inserts };
}

/** A plan value with references to rows this transaction inserts replaced by their insert's token. */
function resolveValue(v: PlanValue, tokens: unknown[]): unknown {
  if (isNewRowRef(v)) return tokens[v.newRow];
  if (Array.isArray(v)) return v.map((x) => resolveValue(x, tokens));
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveValue(x, tokens)]));
  }
  return v;
}

function byUuid(uuid: string): unknown[][] {
  return [['_uuid', '==', uuid]];
}

function unchanged(p: Pick<PendingApply, 'desired' | 'reason' | 'at'>): ApplyRecord {
  return {
    owner: p.desired.owner,
    reason: p.reason,
    written: false,
    operations: 0,
    touched: [],
    latencyMs: 0,
    at: p.at,
  };
}

function describe(group: PlannedApply[]): string {
  const first = group[0].pending;
  if (group.length === 1) return `ycloud: ${first.id}: ${first.reason}`;
  const named = group.slice(0, 3).map((g) => g.pending.id);
  const more = group.length > 3 ? `, +${group.length - 3} more` : '';
  return `ycloud: ${group.length} owners: ${named.join(', ')}${more}`;
}
