/** One probe attempt's outcome, as the worker reports it. */
export interface ProbeOutcome {
  ok: boolean;
  /** Short reason (`connected`, `HTTP 503`, `ECONNREFUSED`, `timeout`). */
  message: string;
  /** Round trip in milliseconds (when measured). */
  rttMs?: number;
}

export interface Thresholds {
  successThreshold: number;
  failureThreshold: number;
}

/** The health of one target, as written into NetworkProbe `status.targets[]`. */
export interface TargetHealth {
  healthy: boolean;
  /** False until the first probe result arrived. */
  probed: boolean;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastProbeTime?: number;
  lastTransitionTime?: number;
  message?: string;
}

/**
 * The per-target state machine: a target starts healthy (new backends are not withdrawn before their first
 * probe; the first failures count like any other), turns unhealthy after `failureThreshold` consecutive failures
 * and healthy again after `successThreshold` consecutive successes. Pure: time is passed in.
 */
export class TargetState {
  private h: TargetHealth = { healthy: true, probed: false, consecutiveFailures: 0, consecutiveSuccesses: 0 };

  constructor(private thresholds: Thresholds) {
    validate(thresholds);
  }

  get health(): Readonly<TargetHealth> {
    return this.h;
  }

  setThresholds(t: Thresholds): void {
    validate(t);
    this.thresholds = t;
  }

  /** Records one outcome at time `now` (ms); returns true when `healthy` flipped. */
  record(outcome: ProbeOutcome, now: number): boolean {
    const h = { ...this.h, probed: true, lastProbeTime: now, message: outcome.message };
    if (outcome.ok) {
      h.consecutiveSuccesses++;
      h.consecutiveFailures = 0;
    } else {
      h.consecutiveFailures++;
      h.consecutiveSuccesses = 0;
    }
    let flipped = false;
    if (h.healthy && h.consecutiveFailures >= this.thresholds.failureThreshold) {
      h.healthy = false;
      flipped = true;
    } else if (!h.healthy && h.consecutiveSuccesses >= this.thresholds.successThreshold) {
      h.healthy = true;
      flipped = true;
    }
    if (flipped || h.lastTransitionTime === undefined) h.lastTransitionTime = now;
    this.h = h;
    return flipped;
  }
}

function validate(t: Thresholds): void {
  if (!(t.successThreshold >= 1 && t.failureThreshold >= 1)) {
    throw new Error(`thresholds must be >= 1 (success ${t.successThreshold}, failure ${t.failureThreshold})`);
  }
}
