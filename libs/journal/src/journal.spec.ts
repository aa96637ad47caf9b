import { Journal, JournalOptions } from './journal';
import { JournalStore, JournalUnavailableError } from './journal.store';
import type { JournalEntry, JournalQuery, JournalRecord } from './journal.types';

/** In-memory store whose writes can be made to fail or to hang until released. */
class FakeStore implements JournalStore {
  written: JournalEntry[] = [];
  writes = 0;
  failNext = 0;
  unreachableNext = 0;
  closed = false;
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open?.();
    this.gate = null;
  }

  async write(entries: readonly JournalEntry[]): Promise<void> {
    this.writes++;
    if (this.gate) await this.gate;
    if (this.unreachableNext > 0) {
      this.unreachableNext--;
      throw new JournalUnavailableError('connect ECONNREFUSED 127.0.0.1:5432');
    }
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('connection refused');
    }
    this.written.push(...entries);
  }
  async query(q: JournalQuery & { limit: number }): Promise<JournalRecord[]> {
    return this.written
      .slice(-q.limit)
      .reverse()
      .map((e, id) => ({ ...e, id, at: e.at as Date, owner: { namespace: '', ...e.owner }, rows: [...e.rows] }));
  }
  async prune(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const entry = (n: number): JournalEntry => ({
  owner: { kind: 'Service', namespace: 'default', name: `svc-${n}` },
  reason: 'resync',
  rows: [],
  latencyMs: 1,
  opCount: 1,
});

function logger() {
  const lines: string[] = [];
  return { lines, warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
}

const options = (over: Partial<JournalOptions> = {}): JournalOptions => ({
  retention: { maxAgeHours: 1, maxRows: null },
  bufferSize: 100,
  flushIntervalMs: 60_000,
  pruneIntervalMs: 60_000,
  background: false,
  ...over,
});

describe('Journal write path', () => {
  it('buffers records and writes them in batches on flush, stamping the time of record()', async () => {
    const store = new FakeStore();
    const j = new Journal(store, options({ maxBatch: 4 }));
    const before = Date.now();
    for (let i = 0; i < 10; i++) j.record(entry(i));
    expect(store.writes).toBe(0); // record() never touches the database
    expect(j.stats.buffered).toBe(10);
    await j.flush();
    expect(store.writes).toBe(3); // 4 + 4 + 2
    expect(store.written.map((e) => e.owner.name)).toEqual(Array.from({ length: 10 }, (_, i) => `svc-${i}`));
    expect(store.written[0].at!.getTime()).toBeGreaterThanOrEqual(before);
    expect(j.stats).toEqual({ buffered: 0, dropped: 0, failed: 0, written: 10 });
  });

  it('drops the oldest entries when the buffer is full and counts them', async () => {
    const store = new FakeStore();
    const j = new Journal(store, options({ bufferSize: 5 }));
    for (let i = 0; i < 12; i++) j.record(entry(i));
    expect(j.droppedCount).toBe(7);
    await j.close();
    expect(store.written.map((e) => e.owner.name)).toEqual(['svc-7', 'svc-8', 'svc-9', 'svc-10', 'svc-11']);
  });

  it('keeps accepting records while a write hangs, without queuing a flush per tick', async () => {
    const store = new FakeStore();
    const j = new Journal(store, options({ bufferSize: 1_000 }));
    j.record(entry(0));
    store.hold();
    const first = j.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.writes).toBe(1);
    for (let i = 1; i <= 50; i++) {
      j.record(entry(i));
      void j.flush();
    }
    expect(j.stats.buffered).toBe(50);
    store.release();
    await first;
    await j.flush();
    expect(store.writes).toBe(2); // the hung batch, then one batch with everything recorded meanwhile
    expect(store.written).toHaveLength(51);
  });

  it('logs a database error instead of throwing, and retries the batch on the next flush', async () => {
    const store = new FakeStore();
    const log = logger();
    const j = new Journal(store, options({ logger: log }));
    store.failNext = 2;
    j.record(entry(1));
    await expect(j.flush()).resolves.toBeUndefined();
    await j.flush();
    expect(j.stats).toMatchObject({ buffered: 1, written: 0, failed: 0 });
    expect(log.lines).toEqual(['journal write failed (1 in a row), will retry 1 entries: connection refused']);
    await j.flush();
    expect(store.written).toHaveLength(1);
    expect(log.lines[1]).toBe('journal database writable again after 2 failed flushes');
  });

  it('gives a batch up after maxAttempts and counts it as failed', async () => {
    const store = new FakeStore();
    const log = logger();
    const j = new Journal(store, options({ logger: log, maxAttempts: 2 }));
    store.failNext = 2;
    j.record(entry(1));
    j.record(entry(2));
    await j.flush();
    await j.flush();
    expect(j.stats).toMatchObject({ buffered: 0, failed: 2, written: 0 });
    expect(log.lines[1]).toMatch(/gave up 2 entries/);
  });

  it('keeps a batch through an outage longer than maxAttempts flushes: only refusals count as attempts', async () => {
    const store = new FakeStore();
    const log = logger();
    const j = new Journal(store, options({ logger: log, maxAttempts: 2 }));
    store.unreachableNext = 10;
    j.record(entry(1));
    j.record(entry(2));
    for (let i = 0; i < 10; i++) await j.flush();
    expect(j.stats).toMatchObject({ buffered: 2, failed: 0, written: 0 });
    await j.flush();
    expect(j.stats).toMatchObject({ buffered: 0, failed: 0, written: 2 });
    expect(log.lines).toEqual([
      'journal write failed (1 in a row), will retry 2 entries: connect ECONNREFUSED 127.0.0.1:5432',
      'journal database writable again after 10 failed flushes',
    ]);
  });

  it('writes a retried batch and everything buffered behind it in one flush (query() sees recent entries)', async () => {
    const store = new FakeStore();
    const j = new Journal(store, options());
    store.unreachableNext = 1;
    for (let i = 0; i < 3; i++) j.record(entry(i));
    await j.flush();
    expect(j.stats).toMatchObject({ buffered: 3, written: 0 });
    for (let i = 3; i < 5; i++) j.record(entry(i));
    expect(await j.query({ limit: 10 })).toHaveLength(5);
    expect(j.stats).toMatchObject({ buffered: 0, written: 5, failed: 0 });
  });

  it('flushes on close, then closes the store; records after close are dropped', async () => {
    const store = new FakeStore();
    const j = new Journal(store, options());
    j.record(entry(1));
    await j.close();
    expect(store.written).toHaveLength(1);
    expect(store.closed).toBe(true);
    j.record(entry(2));
    expect(j.droppedCount).toBe(1);
    await j.close(); // idempotent
  });

  it('counts what close() could not write when the database is down', async () => {
    const store = new FakeStore();
    const log = logger();
    const j = new Journal(store, options({ logger: log, maxBatch: 2 }));
    store.failNext = 1;
    for (let i = 0; i < 5; i++) j.record(entry(i));
    await j.close();
    expect(j.stats).toMatchObject({ buffered: 0, failed: 5, written: 0 });
    expect(log.lines.at(-1)).toBe('journal closed with 3 entries not written (database unavailable)');
  });

  it('flushes by itself when a burst fills a batch, before the timer', async () => {
    const store = new FakeStore();
    const j = new Journal(store, options({ maxBatch: 10 }));
    for (let i = 0; i < 10; i++) j.record(entry(i));
    await new Promise((resolve) => setImmediate(resolve));
    await j.flush();
    expect(store.writes).toBe(1);
  });

  it('query() includes what was just recorded and clamps the limit', async () => {
    const store = new FakeStore();
    const j = new Journal(store, options());
    for (let i = 0; i < 3; i++) j.record(entry(i));
    const res = await j.query({ limit: 0 });
    expect(res.map((r) => r.owner.name)).toEqual(['svc-2']);
    await expect(j.query({ since: new Date('nope') })).rejects.toThrow('query.since is not a valid date');
  });
});
