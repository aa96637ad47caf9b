import { TargetState } from './target-state';

const ok = { ok: true, message: 'connected' };
const bad = { ok: false, message: 'ECONNREFUSED' };

describe('TargetState', () => {
  it('turns unhealthy only after failureThreshold consecutive failures, and records the transition time', () => {
    const s = new TargetState({ successThreshold: 2, failureThreshold: 3 });
    expect(s.record(ok, 1000)).toBe(false);
    expect(s.health).toMatchObject({ healthy: true, probed: true, consecutiveSuccesses: 1, lastTransitionTime: 1000 });
    expect(s.record(bad, 2000)).toBe(false);
    expect(s.record(bad, 3000)).toBe(false);
    expect(s.health).toMatchObject({ healthy: true, consecutiveFailures: 2, consecutiveSuccesses: 0 });
    expect(s.record(bad, 4000)).toBe(true);
    expect(s.health).toMatchObject({
      healthy: false,
      consecutiveFailures: 3,
      lastProbeTime: 4000,
      lastTransitionTime: 4000,
      message: 'ECONNREFUSED',
    });
    expect(s.record(bad, 5000)).toBe(false);
    expect(s.health.lastTransitionTime).toBe(4000);
  });

  it('a success in between resets the failure count', () => {
    const s = new TargetState({ successThreshold: 1, failureThreshold: 2 });
    s.record(bad, 1);
    s.record(ok, 2);
    expect(s.record(bad, 3)).toBe(false);
    expect(s.health.healthy).toBe(true);
    expect(s.record(bad, 4)).toBe(true);
  });

  it('returns to healthy after successThreshold consecutive successes', () => {
    const s = new TargetState({ successThreshold: 2, failureThreshold: 1 });
    expect(s.record(bad, 1)).toBe(true);
    expect(s.record(ok, 2)).toBe(false);
    expect(s.record(bad, 3)).toBe(false);
    expect(s.record(ok, 4)).toBe(false);
    expect(s.health.healthy).toBe(false);
    expect(s.record(ok, 5)).toBe(true);
    expect(s.health).toMatchObject({ healthy: true, consecutiveSuccesses: 2, lastTransitionTime: 5 });
  });

  it('rejects thresholds below 1', () => {
    expect(() => new TargetState({ successThreshold: 0, failureThreshold: 1 })).toThrow(/>= 1/);
  });
});
