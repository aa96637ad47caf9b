import { BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter } from './rate-limiter';
import { WorkQueue } from './work-queue';

describe('WorkQueue', () => {
  afterEach(() => jest.useRealTimers());

  it('dedups a key that is already waiting', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.len()).toBe(0);
  });

  it('does not hand a key in flight to a second worker; re-queues it after done()', async () => {
    const q = new WorkQueue();
    q.add('k');
    const key = await q.get();
    q.add('k'); // added while processing
    expect(q.len()).toBe(0);
    let second: string | undefined;
    const pending = q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(key!);
    await pending;
    expect(second).toBe('k');
    q.done('k');
    expect(q.len()).toBe(0);
  });

  it('keeps the earliest deadline for addAfter', () => {
    jest.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter('k', 1000);
    q.addAfter('k', 100);
    q.addAfter('k', 5000);
    jest.advanceTimersByTime(99);
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    jest.advanceTimersByTime(10_000);
    expect(q.len()).toBe(1);
  });

  it('backs off exponentially per key and resets on forget', () => {
    const rl = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    expect([rl.when('a'), rl.when('a'), rl.when('a'), rl.when('a')]).toEqual([5, 10, 20, 40]);
    expect(rl.when('b')).toBe(5);
    expect(rl.numRequeues('a')).toBe(4);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
    for (let i = 0; i < 100; i++) rl.when('c');
    expect(rl.when('c')).toBe(1_000_000);
  });

  it('applies the global token bucket once the burst is used', () => {
    const now = 0;
    const bucket = new BucketRateLimiter(10, 3, () => now);
    const rl = new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1000), bucket);
    // Three distinct keys: first backoff each, within burst.
    expect([rl.when('a'), rl.when('b'), rl.when('c')]).toEqual([5, 5, 5]);
    // The bucket is empty: the 4th and 5th reservations wait 100 ms and 200 ms.
    expect(rl.when('d')).toBe(100);
    expect(rl.when('e')).toBe(200);
  });

  it('refills the token bucket over time', () => {
    let now = 0;
    const bucket = new BucketRateLimiter(10, 1, () => now);
    expect(bucket.when()).toBe(0);
    expect(bucket.when()).toBe(100);
    now = 1000;
    expect(bucket.when()).toBe(0);
  });

  it('addRateLimited waits the backoff delay and grows it per failure', () => {
    jest.useFakeTimers();
    const q = new WorkQueue({ rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000) });
    q.addRateLimited('k');
    jest.advanceTimersByTime(9);
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    q.addRateLimited('x');
    q.addRateLimited('x'); // second failure: 20 ms, but the earlier 10 ms deadline is kept
    expect(q.numRequeues('x')).toBe(2);
    q.forget('x');
    expect(q.numRequeues('x')).toBe(0);
  });

  it('drains on shutdown: ignores new adds, hands out queued keys, then undefined', async () => {
    jest.useFakeTimers();
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.addAfter('later', 10);
    const first = await q.get();
    q.shutDown();
    q.add('c');
    jest.advanceTimersByTime(100);
    let drained = false;
    const drainedP = q.drained().then(() => (drained = true));
    expect(await q.get()).toBe('b');
    q.done('b');
    await Promise.resolve();
    expect(drained).toBe(false); // 'a' still in flight
    q.done(first!);
    await drainedP;
    expect(drained).toBe(true);
    expect(await q.get()).toBeUndefined();
  });

  it('wakes blocked getters on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = [q.get(), q.get()];
    q.shutDown();
    expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
  });

  it('shutDownNow drops queued keys', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.shutDownNow();
    expect(await q.get()).toBeUndefined();
    await q.drained();
  });

  it('counts adds, retries and depth through metrics hooks', async () => {
    const m = { add: jest.fn(), depth: jest.fn(), retry: jest.fn(), queueLatency: jest.fn(), workDuration: jest.fn() };
    const q = new WorkQueue({ metrics: m });
    q.add('a');
    q.add('a');
    q.add('b');
    expect(m.add).toHaveBeenCalledTimes(2);
    expect(m.depth).toHaveBeenLastCalledWith(2);
    const k = await q.get();
    expect(m.depth).toHaveBeenLastCalledWith(1);
    q.done(k!);
    expect(m.workDuration).toHaveBeenCalledTimes(1);
  });
});
