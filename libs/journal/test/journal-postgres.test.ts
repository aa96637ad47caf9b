import { Client } from 'pg';
import { Journal, TypeOrmJournalStore, parseJournalConfig } from '@ycloud/journal';
import { eventually } from '@ycloud/testbed';
import { runJournal } from '../../../apps/cli/src/journal.command';
import { capturingLogger, syntheticEntries } from './journal-entries.fixture';
import { PostgresServer, findPostgresBinDir } from './postgres-server.fixture';

const bin = findPostgresBinDir();
if (!bin) {
  console.warn(
    'SKIPPED journal PostgreSQL tests: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin ' +
      '(install Debian\'s "postgresql" package, see scripts/setup.sh)',
  );
}
const describeWithPostgres = bin ? describe : describe.skip;

describeWithPostgres('journal on a real PostgreSQL server', () => {
  let pg: PostgresServer;
  const end = new Date('2026-11-23T12:00:00.000Z');
  const config = (over: Record<string, unknown> = {}) =>
    parseJournalConfig({ type: 'postgres', url: pg.url, flushIntervalMs: 50, ...over });

  beforeAll(async () => {
    pg = await PostgresServer.start(bin as string);
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('records 1k transactions and queries them by Service and time, newest first, with their rows', async () => {
    const log = capturingLogger();
    const journal = await Journal.open(config({ retention: { maxAgeHours: null, maxRows: 100_000 } }), { logger: log });
    const entries = syntheticEntries(1_000, 10, end);
    for (const e of entries) journal.record(e);

    const svc7 = await journal.query({ ownerKind: 'Service', owner: 'default/svc-7', limit: 1_000 });
    expect(svc7).toHaveLength(100);
    const times = svc7.map((r) => r.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const newest = entries[997];
    expect(svc7[0]).toMatchObject({
      at: newest.at,
      owner: { kind: 'Service', namespace: 'default', name: 'svc-7' },
      reason: newest.reason,
      opCount: newest.opCount,
      latencyMs: newest.latencyMs,
      rows: newest.rows,
    });
    expect(typeof svc7[0].id).toBe('number');
    expect(await journal.query({ since: new Date(end.getTime() - 9_000), limit: 1_000 })).toHaveLength(10);
    await journal.close();
    expect(journal.stats).toEqual({ buffered: 0, dropped: 0, failed: 0, written: 1_000 });
    expect(log.lines).toEqual([]);
  });

  it('created its schema by migration, once, with timezone-aware timestamps', async () => {
    const again = await TypeOrmJournalStore.open({ type: 'postgres', url: pg.url });
    expect(await again.appliedMigrations()).toEqual(['JournalInitial1795392000000']);
    expect(await again.rawCounts()).toEqual({ entries: 1_000, rows: expect.any(Number) });
    await again.close();

    const client = new Client({ connectionString: pg.url });
    await client.connect();
    try {
      const res = await client.query(
        `SELECT data_type FROM information_schema.columns WHERE table_name = 'journal_entry' AND column_name = 'at'`,
      );
      expect(res.rows).toEqual([{ data_type: 'timestamp with time zone' }]);
    } finally {
      await client.end();
    }
  });

  it('prints the journal of a Service through `ycloud journal --db postgres://...`', async () => {
    let out = '';
    const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (out += t), now: () => end };
    expect(await runJournal(['--db', pg.url, '--service', 'default/svc-7', '--since', '1m'], io)).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 6); // svc-7 at -2 s, -12 s, ... -52 s
    expect(lines[1]).toMatch(/^2026-11-23 11:59:58Z {2}Service default\/svc-7 {2}/);
  });

  it('keeps the newest rows on prune', async () => {
    const journal = await Journal.open(config({ retention: { maxAgeHours: null, maxRows: 250 } }));
    const kept = await journal.query({ limit: 10_000 });
    await journal.close();
    expect(kept).toHaveLength(250);
    expect(kept[249].at).toEqual(new Date(end.getTime() - 249_000));
  });

  it('survives a database outage: record() never throws, the error is logged, entries are written after', async () => {
    const log = capturingLogger();
    const maxAttempts = 2;
    const store = await TypeOrmJournalStore.open({ type: 'postgres', url: pg.url });
    const journal = new Journal(store, { ...config(), logger: log, maxAttempts });
    const outage = syntheticEntries(30, 1, new Date(end.getTime() + 60_000)).map((e) => ({
      ...e,
      owner: { kind: 'Service', namespace: 'outage', name: 'web' },
    }));
    try {
      await pg.pause();
      for (const e of outage) expect(() => journal.record(e)).not.toThrow();
      // More flushes than a refused batch gets attempts (the background flusher adds more): an unreachable
      // database must only delay the entries, however long it stays down.
      for (let i = 0; i <= maxAttempts; i++) await expect(journal.flush()).resolves.toBeUndefined();
      expect(journal.stats).toMatchObject({ buffered: 30, failed: 0, written: 0 });
      expect(log.lines.join('\n')).toMatch(/^error: journal write failed \(1 in a row\), will retry 30 entries/);
    } finally {
      await pg.resume();
    }
    // The background flusher writes them once the server is back (the pool may first hand out a connection
    // that died with the old server; that attempt fails as unreachable too).
    const written = await eventually(
      () => journal.query({ owner: 'outage/web', limit: 100 }),
      (rows) => Array.isArray(rows) && rows.length === 30,
      'the 30 entries recorded during the outage to be readable from PostgreSQL',
      30_000,
    );
    expect(written.map((r) => r.at)).toEqual(outage.map((e) => e.at).reverse());
    expect(journal.stats).toMatchObject({ buffered: 0, failed: 0, written: 30 });
    await journal.close();
    expect(log.lines[log.lines.length - 1]).toMatch(/journal database writable again/);
  });
});
