import { SERVICE_NAME_LABEL } from '@ycloud/api';
import type { JournalEntry, RowChange } from '@ycloud/journal';
import type { KubeObject } from '@ycloud/k8s';
import type { ApplyRecord } from '@ycloud/ovn';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** An ApplyRecord as a change-journal entry: owner "ns/name" split, membership changes shown as updates. */
export function journalEntryOf(record: ApplyRecord): JournalEntry {
  const slash = record.owner.name.indexOf('/');
  const rows: RowChange[] = record.touched.map((t) =>
    t.action === 'attach' || t.action === 'detach'
      ? { table: t.table, key: t.key, operation: 'update', columns: t.columns ?? [] }
      : { table: t.table, key: t.key, operation: t.action, ...(t.columns ? { columns: t.columns } : {}) },
  );
  return {
    owner: {
      kind: record.owner.kind,
      namespace: slash < 0 ? '' : record.owner.name.slice(0, slash),
      name: slash < 0 ? record.owner.name : record.owner.name.slice(slash + 1),
    },
    reason: record.reason,
    rows,
    latencyMs: record.latencyMs,
    opCount: record.operations,
    at: record.at,
  };
}

/** The annotation the EndpointSlice controller sets to when the change that caused this slice version began. */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

/** A trigger older than this when the Service's LB is written is not what caused the write. */
const TRIGGER_TTL_MS = 60_000;

export interface ControllerTelemetryOptions {
  registry: Registry;
  /** Rows ycloud owns in NB per table, or undefined while not connected. */
  ownedCounts: () => Map<string, number> | undefined;
  /** Entries the journal dropped so far (cumulative), or undefined without a journal. */
  journalDropped?: () => number;
  /**
   * Resolves with the epoch ms at which every node's ovn-controller had installed what is committed now (NB_Global
   * nb_cfg -> hv_cfg), or undefined while not connected.
   */
  whenInstalled?: () => Promise<number> | undefined;
  now?: () => number;
}

/**
 * The controller process's own metrics: Northbound transactions (latency, operations, writes, owned rows),
 * the journal's dropped entries, leadership, and network programming latency — from the EndpointSlice
 * controller's `last-change-trigger-time` (when a Pod's readiness or a Service changed) to every node's
 * ovn-controller having installed the Service's LB (hv_cfg), kube-proxy's SLI measured the same way; the NB
 * commit stage is its own histogram.
 */
export class ControllerTelemetry {
  readonly txnDuration: Histogram<'kind'>;
  readonly txnOperations: Histogram<'kind'>;
  readonly writes: Counter<'kind'>;
  readonly programmingLatency: Histogram;
  readonly programmingNbLatency: Histogram;
  readonly leader: Gauge;
  private readonly triggers = new Map<string, { at: number; seen: number }>();
  private readonly now: () => number;

  constructor(private readonly options: ControllerTelemetryOptions) {
    const registers = [options.registry];
    this.now = options.now ?? Date.now;
    this.txnDuration = new Histogram({
      name: 'ycloud_nb_transaction_duration_seconds',
      help: 'Time from sending an NB transaction to its commit.',
      labelNames: ['kind'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.txnOperations = new Histogram({
      name: 'ycloud_nb_transaction_operations',
      help: 'Operations per committed NB transaction.',
      labelNames: ['kind'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    });
    this.writes = new Counter({
      name: 'ycloud_nb_writes_total',
      help: 'Committed NB transactions, by owner kind.',
      labelNames: ['kind'],
      registers,
    });
    // Finer than kube-proxy's buckets (0.25 s and up): ycloud's figures are tens to hundreds of ms.
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
    this.programmingLatency = new Histogram({
      name: 'ycloud_network_programming_duration_seconds',
      help: "EndpointSlice last-change-trigger-time to every node's ovn-controller having installed the Service's LB (NB_Global hv_cfg).",
      buckets,
      registers,
    });
    this.programmingNbLatency = new Histogram({
      name: 'ycloud_network_programming_nb_commit_duration_seconds',
      help: "EndpointSlice last-change-trigger-time to the commit of the Service's LB in NB (the first stage).",
      buckets,
      registers,
    });
    this.leader = new Gauge({
      name: 'ycloud_controller_leader',
      help: '1 while this replica holds the leader election Lease (or runs without leader election).',
      registers,
    });
    new Gauge({
      name: 'ycloud_nb_owned_rows',
      help: 'NB rows owned by ycloud, by table (Load_Balancer: the LBs of Services).',
      labelNames: ['table'],
      registers,
      collect() {
        this.reset();
        for (const [table, n] of options.ownedCounts() ?? []) this.set({ table }, n);
      },
    });
    const dropped = options.journalDropped;
    if (dropped) {
      new Counter({
        name: 'ycloud_journal_dropped_entries_total',
        help: 'Change journal entries lost because the buffer was full (database too slow or down).',
        registers,
        collect() {
          this.reset();
          this.inc(dropped());
        },
      });
    }
  }

  /** Observes a committed NB transaction. */
  onApply(record: ApplyRecord): void {
    if (!record.written) return;
    const kind = record.owner.kind;
    this.txnDuration.observe({ kind }, record.latencyMs / 1000);
    this.txnOperations.observe({ kind }, record.operations);
    this.writes.inc({ kind });
    if (kind !== 'Service') return;
    const trigger = this.triggers.get(record.owner.name);
    if (!trigger) return;
    this.triggers.delete(record.owner.name);
    const now = this.now();
    if (now - trigger.seen > TRIGGER_TTL_MS) return;
    this.programmingNbLatency.observe(Math.max(0, now - trigger.at) / 1000);
    void this.options
      .whenInstalled?.()
      ?.then((at) => this.programmingLatency.observe(Math.max(0, at - trigger.at) / 1000));
  }

  /** Notes an EndpointSlice add/update: its Service's next LB write is what programs the change. */
  onEndpointSlice(slice: KubeObject): void {
    const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const ns = slice.metadata?.namespace;
    const stamp = slice.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME];
    if (!svc || !ns || !stamp) return;
    const at = Date.parse(stamp);
    if (Number.isNaN(at)) return;
    const key = `${ns}/${svc}`;
    const now = this.now();
    // Slices listed at start-up carry old trigger times: they measure downtime, not programming.
    if (now - at > TRIGGER_TTL_MS) return;
    const pending = this.triggers.get(key);
    // Several changes before one write: the oldest still-pending one is what waited longest.
    if (pending && now - pending.seen <= TRIGGER_TTL_MS && pending.at <= at) return;
    this.triggers.set(key, { at, seen: now });
    if (this.triggers.size > 10_000) this.prune(now);
  }

  private prune(now: number): void {
    for (const [key, t] of this.triggers) if (now - t.seen > TRIGGER_TTL_MS) this.triggers.delete(key);
  }
}
