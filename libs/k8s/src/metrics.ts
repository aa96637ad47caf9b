import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { WorkQueueMetrics } from './work-queue';

/** Reconcile outcomes, the `result` label of `ycloud_controller_reconcile_total`. */
export const RECONCILE_RESULTS = ['success', 'requeue_after', 'error', 'terminal_error', 'dropped'] as const;
export type ReconcileResultLabel = (typeof RECONCILE_RESULTS)[number];

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * Controller and work queue metrics on one prom-client registry (controller-runtime's set, prefixed
 * `ycloud_`). Metric objects are shared by all controllers on a registry; `forController(name)` pre-registers
 * every series of that controller at zero so dashboards and alerts see them before the first event.
 */
export class ControllerMetrics {
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly workers: Gauge<'controller'>;
  readonly queueDepth: Gauge<'name'>;
  readonly queueAdds: Counter<'name'>;
  readonly queueRetries: Counter<'name'>;
  readonly queueRetryCapDrops: Counter<'name'>;
  readonly queueLatency: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    const buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.reconcileTotal = getOrCreate(
      registry,
      'ycloud_controller_reconcile_total',
      () =>
        new Counter({
          name: 'ycloud_controller_reconcile_total',
          help: 'Reconciles per controller and result.',
          labelNames: ['controller', 'result'],
          registers,
        }),
    );
    this.reconcileErrors = getOrCreate(
      registry,
      'ycloud_controller_reconcile_errors_total',
      () =>
        new Counter({
          name: 'ycloud_controller_reconcile_errors_total',
          help: 'Reconciles that failed (retried or not).',
          labelNames: ['controller'],
          registers,
        }),
    );
    this.reconcileDuration = getOrCreate(
      registry,
      'ycloud_controller_reconcile_duration_seconds',
      () =>
        new Histogram({
          name: 'ycloud_controller_reconcile_duration_seconds',
          help: 'Time per reconcile.',
          labelNames: ['controller'],
          buckets,
          registers,
        }),
    );
    this.workers = getOrCreate(
      registry,
      'ycloud_controller_active_workers',
      () =>
        new Gauge({
          name: 'ycloud_controller_active_workers',
          help: 'Workers currently reconciling.',
          labelNames: ['controller'],
          registers,
        }),
    );
    this.queueDepth = getOrCreate(
      registry,
      'ycloud_workqueue_depth',
      () =>
        new Gauge({
          name: 'ycloud_workqueue_depth',
          help: 'Keys waiting in the work queue.',
          labelNames: ['name'],
          registers,
        }),
    );
    this.queueAdds = getOrCreate(
      registry,
      'ycloud_workqueue_adds_total',
      () =>
        new Counter({
          name: 'ycloud_workqueue_adds_total',
          help: 'Keys added to the work queue.',
          labelNames: ['name'],
          registers,
        }),
    );
    this.queueRetries = getOrCreate(
      registry,
      'ycloud_workqueue_retries_total',
      () =>
        new Counter({
          name: 'ycloud_workqueue_retries_total',
          help: 'Rate-limited re-adds.',
          labelNames: ['name'],
          registers,
        }),
    );
    this.queueRetryCapDrops = getOrCreate(
      registry,
      'ycloud_workqueue_retry_cap_drops_total',
      () =>
        new Counter({
          name: 'ycloud_workqueue_retry_cap_drops_total',
          help: 'Keys dropped after reaching the retry cap.',
          labelNames: ['name'],
          registers,
        }),
    );
    this.queueLatency = getOrCreate(
      registry,
      'ycloud_workqueue_queue_duration_seconds',
      () =>
        new Histogram({
          name: 'ycloud_workqueue_queue_duration_seconds',
          help: 'Time a key waits before a worker takes it.',
          labelNames: ['name'],
          buckets,
          registers,
        }),
    );
    this.workDuration = getOrCreate(
      registry,
      'ycloud_workqueue_work_duration_seconds',
      () =>
        new Histogram({
          name: 'ycloud_workqueue_work_duration_seconds',
          help: 'Time from get() to done().',
          labelNames: ['name'],
          buckets,
          registers,
        }),
    );
  }

  /** Pre-registers this controller's series at zero and returns hooks for its work queue. */
  forController(name: string): WorkQueueMetrics {
    for (const result of RECONCILE_RESULTS) this.reconcileTotal.labels(name, result).inc(0);
    this.reconcileErrors.labels(name).inc(0);
    this.reconcileDuration.zero({ controller: name });
    this.workers.labels(name).set(0);
    this.queueDepth.labels(name).set(0);
    this.queueAdds.labels(name).inc(0);
    this.queueRetries.labels(name).inc(0);
    this.queueRetryCapDrops.labels(name).inc(0);
    this.queueLatency.zero({ name });
    this.workDuration.zero({ name });
    return {
      add: () => this.queueAdds.labels(name).inc(),
      depth: (n) => this.queueDepth.labels(name).set(n),
      retry: () => this.queueRetries.labels(name).inc(),
      queueLatency: (s) => this.queueLatency.labels(name).observe(s),
      workDuration: (s) => this.workDuration.labels(name).observe(s),
    };
  }
}
