import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Journal, TypeOrmJournalStore, parseJournalConfig } from '@ycloud/journal';
import { eventually } from '@ycloud/testbed';
import { runJournal } from '../../../apps/cli/src/journal.command';
import { capturingLogger, syntheticEntries } from './journal-entries.fixture';

describe('journal on a SQLite file (sql.js)', () => {
  let dir: string;
  let file: string;
  const end = new Date('2026-11-23T12:00:00.000Z');

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ycloud-journal-'));
    file = path.join(dir, 'nested', 'journal.sqlite');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const config = (over: Record<string, unknown> = {}) =>
    parseJournalConfig({ type: 'sqlite', path: file, flushIntervalMs: 50, ...over });

  it('records 1k transactions and queries them by Service and time, newest first, with their rows', async () => {
    const log = capturingLogger();
    const journal = await Journal.open(config({ retention: { maxAgeHours: null, maxRows: 100_000 } }), {
      logger: log,
    });
    const entries = syntheticEntries(1_000, 10, end);
    for (const e of entries) journal.record(e);

    const svc3 = await journal.query({ ownerKind: 'Service', owner: 'default/svc-3', limit: 1_000 });
    expect(svc3).toHaveLength(100);
    expect(svc3.every((r) => r.owner.name === 'svc-3' && r.owner.namespace === 'default')).toBe(true);
    const times = svc3.map((r) => r.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // Newest svc-3 transaction is entry #993.
    const newest = entries[993];
    expect(svc3[0]).toMatchObject({
      at: newest.at,
      reason: newest.reason,
      opCount: newest.opCount,
      latencyMs: newest.latencyMs,
      rows: newest.rows,
    });

    const lastMinute = await journal.query({ since: new Date(end.getTime() - 59_000), limit: 1_000 });
    expect(lastMinute).toHaveLength(60);
    expect(lastMinute[0].at).toEqual(end);
    expect(await journal.query({ ownerKind: 'Pod' })).toEqual([]);
    expect(await journal.query({ limit: 5 })).toHaveLength(5);

    await journal.close();
    expect(journal.stats).toEqual({ buffered: 0, dropped: 0, failed: 0, written: 1_000 });
    expect(log.lines).toEqual([]);
  });

  it('reopens the file with the data there and the migration applied once', async () => {
    const store = await TypeOrmJournalStore.open({ type: 'sqlite', path: file });
    try {
      expect(await store.appliedMigrations()).toEqual(['JournalInitial1795392000000']);
      const all = await store.query({ limit: 10_000 });
      expect(all).toHaveLength(1_000);
    } finally {
      await store.close();
    }
  });

  it('prints the table and JSON through `ycloud journal` (read-only)', async () => {
    let out = '';
    const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (out += t), now: () => end };
    expect(await runJournal(['--db', file, '--service', 'default/svc-3', '--since', '30s'], io)).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+OWNER\s+REASON\s+OPS\s+LATENCY\s+ROWS$/);
    expect(lines).toHaveLength(1 + 3); // svc-3 at -26 s, -16 s, -6 s
    expect(lines[1]).toMatch(/^2026-11-23 11:59:54Z {2}Service default\/svc-3 {2}EndpointSlice changed +3 +4\.5ms {2}/);
    expect(lines[1]).toContain('+Load_Balancer/lb-default-svc-3-tcp ~Logical_Switch/ls-node-a(load_balancer)');
    // Too long for the 80-column ROWS cell: cut with a count.
    expect(lines[2]).toMatch(/ ~Load_Balancer\/lb-default-svc-3-tcp\(vips,options\) \+1 more$/);

    out = '';
    expect(await runJournal(['--db', file, '--output', 'json', '--limit', '2'], io)).toBe(0);
    const json = JSON.parse(out) as { at: string; owner: { name: string } }[];
    expect(json.map((r) => [r.at, r.owner.name])).toEqual([
      ['2026-11-23T12:00:00.000Z', 'svc-9'],
      ['2026-11-23T11:59:59.000Z', 'svc-8'],
    ]);

    out = '';
    expect(await runJournal(['--db', path.join(dir, 'missing.sqlite')], io)).toBe(1);
    expect(out).toMatch(/no journal at .*missing\.sqlite/);
    expect(existsSync(path.join(dir, 'missing.sqlite'))).toBe(false);
  });

  it('saves the file after each background flush, so a reader sees entries before the writer closes', async () => {
    const live = parseJournalConfig({
      type: 'sqlite',
      path: path.join(dir, 'live', 'journal.sqlite'),
      flushIntervalMs: 50,
    });
    const journal = await Journal.open(live);
    journal.record({
      owner: { kind: 'Service', namespace: 'live', name: 'api' },
      reason: 'Service deleted',
      rows: [{ table: 'Load_Balancer', key: 'lb-live-api-tcp', operation: 'delete' }],
      latencyMs: 2,
      opCount: 1,
    });
    // What `ycloud journal` shows while the controller runs: the background flush saved the file.
    const seen = await eventually(
      async () => {
        const reader = await Journal.open(live, { readOnly: true });
        try {
          return await reader.query({ owner: 'live/api' });
        } finally {
          await reader.close();
        }
      },
      (rows) => Array.isArray(rows) && rows.length > 0,
      'the entry in the saved file',
      30_000,
      50,
    );
    expect(seen).toHaveLength(1);
    await journal.close();
    expect(readdirSync(path.join(dir, 'live'))).toEqual(['journal.sqlite']); // no temporary image left behind
  });

  it('enforces retention when opened and then periodically, deleting the rows touched with their transaction', async () => {
    const journal = await Journal.open(config({ retention: { maxAgeHours: null, maxRows: 400 } }));
    const kept = await journal.query({ limit: 10_000 });
    expect(kept).toHaveLength(400);
    expect(kept[kept.length - 1].at).toEqual(new Date(end.getTime() - 399_000));
    await journal.close();

    const store = await TypeOrmJournalStore.open({ type: 'sqlite', path: file });
    try {
      // 0.05 h = 180 s before `end`: transactions older than -180 s go, -180 s .. 0 s (181) stay.
      expect(await store.prune({ maxAgeHours: 0.05, maxRows: null }, end)).toBe(400 - 181);
      const left = await store.query({ limit: 10_000 });
      expect(left).toHaveLength(181);
      expect(left.every((r) => r.at.getTime() >= end.getTime() - 180_000)).toBe(true);
      expect(await store.rawCounts()).toEqual({ entries: 181, rows: left.reduce((n, r) => n + r.rows.length, 0) });
      expect(await store.prune({ maxAgeHours: 0.05, maxRows: 100 }, end)).toBe(81);
      expect(await store.rawCounts()).toMatchObject({ entries: 100 });
    } finally {
      await store.close();
    }
  });
});
