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

  describe('priority levels', () => {
    /** Takes every queued key (marking each done at once), in the order get() hands them out. */
    async function takeAll(q: WorkQueue): Promise<string[]> {
      const out: string[] = [];
      while (q.len() > 0) {
        const k = (await q.get())!;
        out.push(k);
        q.done(k);
      }
      return out;
    }

    it('hands out an event key added after 20k resync keys first', async () => {
      const q = new WorkQueue();
      for (let i = 0; i < 20_000; i++) q.add(`ns/svc-${i}`, 'resync');
      q.add('ns/changed');
      expect(q.len()).toBe(20_001);
      expect(await q.get()).toBe('ns/changed');
      // The resync keys then come in the order they were added.
      const rest = await takeAll(q);
      expect(rest).toHaveLength(20_000);
      expect(rest.slice(0, 3)).toEqual(['ns/svc-0', 'ns/svc-1', 'ns/svc-2']);
      expect(rest[19_999]).toBe('ns/svc-19999');
    });

    it('promotes a key queued as resync when an event adds it, and processes it once', async () => {
      const q = new WorkQueue();
      for (let i = 0; i < 1000; i++) q.add(`r${i}`, 'resync');
      q.add('e1');
      q.add('r500'); // an event for a key already waiting as resync
      q.add('r500', 'resync'); // and a resync add after it: no demotion, no duplicate
      expect(q.len()).toBe(1001);
      expect([q.lenOf('event'), q.lenOf('resync')]).toEqual([2, 999]);
      const order = await takeAll(q);
      expect(order.slice(0, 3)).toEqual(['e1', 'r500', 'r0']);
      expect(order).toHaveLength(1001);
      expect(new Set(order).size).toBe(1001);
      expect(order.filter((k) => k === 'r500')).toHaveLength(1);
    });

    it('keeps FIFO order within the event level, promoted keys behind the events already waiting', async () => {
      const q = new WorkQueue();
      q.add('r1', 'resync');
      q.add('e1');
      q.add('e2');
      q.add('r1');
      q.add('e3');
      expect(await takeAll(q)).toEqual(['e1', 'e2', 'r1', 'e3']);
    });

    it('a resync add of a key waiting as event changes nothing', async () => {
      const q = new WorkQueue();
      q.add('a');
      q.add('b', 'resync');
      q.add('a', 'resync');
      expect([q.lenOf('event'), q.lenOf('resync')]).toEqual([1, 1]);
      expect(await takeAll(q)).toEqual(['a', 'b']);
    });

    it('a key re-added while in flight comes back at the higher level it was asked for, once', async () => {
      const q = new WorkQueue();
      q.add('k', 'resync');
      const k = (await q.get())!;
      q.add('k', 'resync');
      q.add('k'); // promoted while dirty in flight
      q.add('other', 'resync');
      expect(q.len()).toBe(1); // 'k' waits for done(), not queued twice
      q.done(k);
      expect([q.lenOf('event'), q.lenOf('resync')]).toEqual([1, 1]);
      expect(await takeAll(q)).toEqual(['k', 'other']);
    });

    it('a worker waiting in get() takes a promoted key once', async () => {
      const q = new WorkQueue();
      const got = q.get();
      q.add('k', 'resync');
      q.add('k');
      expect(await got).toBe('k');
      q.done('k');
      expect(q.len()).toBe(0);
      expect(q.lenOf('event') + q.lenOf('resync')).toBe(0);
    });

    it('a failed resync key retries at the resync level, with backoff; a failed event key at the event level', async () => {
      jest.useFakeTimers();
      const q = new WorkQueue({ rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000) });
      q.add('r', 'resync');
      q.add('e');
      const e = (await q.get())!;
      const r = (await q.get())!;
      expect([e, r]).toEqual(['e', 'r']);
      q.addRateLimited(r);
      q.addRateLimited(e);
      q.done(r);
      q.done(e);
      jest.advanceTimersByTime(9);
      expect(q.len()).toBe(0);
      jest.advanceTimersByTime(1);
      expect([q.lenOf('event'), q.lenOf('resync')]).toEqual([1, 1]);
      q.add('later');
      jest.useRealTimers();
      expect(await takeAll(q)).toEqual(['e', 'later', 'r']);
      expect(q.numRequeues('r')).toBe(1);
    });

    it('addAfter keeps the earliest deadline and the higher level', () => {
      jest.useFakeTimers();
      const q = new WorkQueue();
      q.addAfter('k', 100, 'resync');
      q.addAfter('k', 1000); // later deadline, but event: the 100 ms add becomes an event add
      jest.advanceTimersByTime(100);
      expect([q.lenOf('event'), q.lenOf('resync')]).toEqual([1, 0]);
      q.addAfter('j', 1000);
      q.addAfter('j', 50, 'resync'); // earlier deadline keeps the event level
      jest.advanceTimersByTime(50);
      expect([q.lenOf('event'), q.lenOf('resync')]).toEqual([2, 0]);
    });

    it('shutDownNow drops keys of both levels; shutDown drains both, events first', async () => {
      const q = new WorkQueue();
      q.add('r', 'resync');
      q.add('e');
      q.shutDown();
      expect(await q.get()).toBe('e');
      expect(await q.get()).toBe('r');
      q.done('e');
      q.done('r');
      await q.drained();
      const now = new WorkQueue();
      now.add('r', 'resync');
      now.add('r');
      now.add('e');
      now.shutDownNow();
      expect(now.len()).toBe(0);
      expect(await now.get()).toBeUndefined();
    });
  });
});
