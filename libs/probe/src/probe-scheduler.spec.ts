import { ProbeScheduler } from './probe-scheduler';

describe('ProbeScheduler', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('runs each job once per interval, shortened by at most the jitter, without drift', async () => {
    let r = 0;
    const s = new ProbeScheduler({ random: () => (r = (r + 0.37) % 1), tickMs: 10 });
    const starts: number[] = [];
    s.add('a', 1000, async () => void starts.push(Date.now()));
    await jest.advanceTimersByTimeAsync(20_000);
    s.stop();
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    expect(starts.length).toBeGreaterThanOrEqual(20);
    expect(starts.length).toBeLessThanOrEqual(23);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(900 - 10);
      expect(g).toBeLessThanOrEqual(1000 + 10);
    }
  });

  it('caps concurrency and records lateness of queued probes', async () => {
    const s = new ProbeScheduler({ maxInFlight: 2, random: () => 0, jitter: 0 });
    let running = 0;
    let peak = 0;
    for (let i = 0; i < 6; i++) {
      s.add(`t${i}`, 1000, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((res) => setTimeout(res, 100));
        running--;
      });
    }
    await jest.advanceTimersByTimeAsync(900);
    s.stop();
    expect(peak).toBe(2);
    const st = s.stats();
    expect(st.started).toBe(6);
    expect(Math.max(...st.lateness)).toBeGreaterThanOrEqual(200);
  });

  it('skips a firing while the previous probe of the same job still runs', async () => {
    const s = new ProbeScheduler({ random: () => 0, jitter: 0 });
    let runs = 0;
    s.add('slow', 100, async () => {
      runs++;
      await new Promise((res) => setTimeout(res, 250));
    });
    await jest.advanceTimersByTimeAsync(1000);
    s.stop();
    expect(runs).toBeLessThanOrEqual(4);
    expect(s.stats().skipped).toBeGreaterThan(0);
  });

  it('remove stops a job', async () => {
    const s = new ProbeScheduler({ random: () => 0.5 });
    let runs = 0;
    s.add('a', 100, async () => void runs++);
    await jest.advanceTimersByTimeAsync(500);
    const before = runs;
    s.remove('a');
    await jest.advanceTimersByTimeAsync(500);
    expect(before).toBeGreaterThan(0);
    expect(runs).toBe(before);
    expect(s.size).toBe(0);
    s.stop();
  });
});
