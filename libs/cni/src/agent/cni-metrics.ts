import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CniHandlerObserver } from './cni-handler';

/** The agent's Prometheus metrics (pre-registered at zero). */
export class CniMetrics implements CniHandlerObserver {
  readonly registry = new Registry();
  private readonly ops = new Counter({
    name: 'ycloud_cni_operations_total',
    help: 'CNI operations by command and result',
    labelNames: ['command', 'result'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'ycloud_cni_operation_duration_seconds',
    help: 'CNI operation latency inside the agent',
    labelNames: ['command'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  /** Offload capability: 1 for the node's mode; VFs free/used per PF. */
  readonly offloadMode = new Gauge({
    name: 'ycloud_cni_offload_mode',
    help: 'Offload mode of this node (1 = active)',
    labelNames: ['mode'],
    registers: [this.registry],
  });
  readonly vfs = new Gauge({
    name: 'ycloud_cni_vfs',
    help: 'SR-IOV VFs on this node by PF and state',
    labelNames: ['pf', 'state'],
    registers: [this.registry],
  });

  constructor() {
    for (const c of ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC']) {
      for (const r of ['ok', 'error']) this.ops.labels(c, r).inc(0);
    }
  }

  observe(command: string, exitCode: number, seconds: number): void {
    this.ops.labels(command, exitCode === 0 ? 'ok' : 'error').inc();
    this.latency.labels(command).observe(seconds);
  }
}
