import {
  NetnsProbeWorker,
  type NetnsProbeWorkerOptions,
  type ProbeRequest,
  type WorkerStats,
} from './netns-probe-worker';
import { ProbeScheduler, type ProbeSchedulerOptions, type SchedulerStats } from './probe-scheduler';
import { TargetState, type TargetHealth, type Thresholds } from './target-state';

/** One target to probe periodically from a namespace. */
export interface ProbeTargetSpec extends Thresholds {
  /** Unique key (e.g. `<namespace>/<probe>/<target>`). */
  id: string;
  /** Network namespace the probe is sent from (the VPC's probe namespace). */
  netns: string;
  request: ProbeRequest;
  intervalMs: number;
}

/** A probe result, after the state machine. */
export interface ProbeResultEvent {
  id: string;
  health: Readonly<TargetHealth>;
  /** `healthy` changed with this result. */
  transition: boolean;
}

export interface ProberOptions extends ProbeSchedulerOptions {
  worker?: Omit<NetnsProbeWorkerOptions, 'netns'>;
  now?: () => number;
}

/**
 * Runs targets through one scheduler and one worker per network namespace, keeps each target's state machine
 * and reports every result (with `transition` set when health flipped). Workers with no target left are closed.
 */
export class Prober {
  private readonly scheduler: ProbeScheduler;
  private readonly workers = new Map<string, NetnsProbeWorker>();
  private readonly targets = new Map<string, { spec: ProbeTargetSpec; state: TargetState }>();
  private readonly listeners: Array<(e: ProbeResultEvent) => void> = [];
  private readonly now: () => number;

  constructor(private readonly opts: ProberOptions = {}) {
    this.scheduler = new ProbeScheduler(opts);
    this.now = opts.now ?? Date.now;
  }

  onResult(f: (e: ProbeResultEvent) => void): void {
    this.listeners.push(f);
  }

  /** Adds or updates a target; its state survives an update unless the namespace or request changed. */
  upsert(spec: ProbeTargetSpec): void {
    const old = this.targets.get(spec.id);
    const same =
      old && old.spec.netns === spec.netns && JSON.stringify(old.spec.request) === JSON.stringify(spec.request);
    const state = same ? old.state : new TargetState(spec);
    state.setThresholds(spec);
    const entry = { spec, state };
    this.targets.set(spec.id, entry);
    if (!same) this.scheduler.remove(spec.id);
    this.scheduler.add(spec.id, spec.intervalMs, () => this.runOnce(entry));
    if (old && old.spec.netns !== spec.netns) void this.closeIdleWorker(old.spec.netns);
  }

  remove(id: string): void {
    const t = this.targets.get(id);
    if (!t) return;
    this.targets.delete(id);
    this.scheduler.remove(id);
    void this.closeIdleWorker(t.spec.netns);
  }

  health(id: string): Readonly<TargetHealth> | undefined {
    return this.targets.get(id)?.state.health;
  }

  ids(): string[] {
    return [...this.targets.keys()];
  }

  schedulerStats(): SchedulerStats {
    return this.scheduler.stats();
  }

  async workerStats(): Promise<Record<string, WorkerStats & { pid?: number }>> {
    const out: Record<string, WorkerStats & { pid?: number }> = {};
    for (const [ns, w] of this.workers) out[ns] = { ...(await w.stats()), pid: w.pid };
    return out;
  }

  async stop(): Promise<void> {
    this.scheduler.stop();
    this.targets.clear();
    await Promise.all([...this.workers.values()].map((w) => w.close()));
    this.workers.clear();
  }

  private worker(netns: string): NetnsProbeWorker {
    let w = this.workers.get(netns);
    if (!w) this.workers.set(netns, (w = new NetnsProbeWorker({ ...this.opts.worker, netns })));
    return w;
  }

  private async closeIdleWorker(netns: string): Promise<void> {
    for (const t of this.targets.values()) if (t.spec.netns === netns) return;
    const w = this.workers.get(netns);
    this.workers.delete(netns);
    await w?.close();
  }

  private async runOnce(entry: { spec: ProbeTargetSpec; state: TargetState }): Promise<void> {
    const outcome = await this.worker(entry.spec.netns).probe(entry.spec.request);
    if (this.targets.get(entry.spec.id) !== entry) return; // removed or replaced meanwhile
    const transition = entry.state.record(outcome, this.now());
    const event = { id: entry.spec.id, health: entry.state.health, transition };
    for (const l of this.listeners) l(event);
  }
}
