import type { JournalDatabaseConfig, JournalQuery, JournalRecord } from '@ycloud/journal';
import { JournalUnavailableError } from '@ycloud/journal';
import { EXIT_USAGE, runJournal } from './journal.command';

const now = new Date('2026-11-23T12:00:00Z');
const records: JournalRecord[] = [
  {
    id: 7,
    at: new Date('2026-11-23T11:58:00Z'),
    owner: { kind: 'Service', namespace: 'shop', name: 'cart' },
    reason: 'Service deleted',
    latencyMs: 4,
    opCount: 3,
    rows: [{ table: 'Load_Balancer', key: 'lb-shop-cart-tcp', operation: 'delete' }],
  },
];

function harness(env: NodeJS.ProcessEnv = {}) {
  const calls: { db?: JournalDatabaseConfig; query?: JournalQuery; closed: boolean } = { closed: false };
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdout: (t: string) => void out.push(t),
    stderr: (t: string) => void err.push(t),
    env,
    now: () => now,
    openJournal: async (db: JournalDatabaseConfig) => {
      calls.db = db;
      return {
        query: async (q: JournalQuery) => {
          calls.query = q;
          return records;
        },
        close: async () => void (calls.closed = true),
      };
    },
  };
  return { io, calls, out: () => out.join(''), err: () => err.join('') };
}

describe('ycloud journal', () => {
  it('queries one Service since a duration ago and prints a table', async () => {
    const h = harness();
    expect(await runJournal(['--service', 'shop/cart', '--since', '15m', '--db', '/tmp/j.sqlite'], h.io)).toBe(0);
    expect(h.calls.db).toEqual({ type: 'sqlite', path: '/tmp/j.sqlite' });
    expect(h.calls.query).toEqual({
      ownerKind: 'Service',
      owner: 'shop/cart',
      since: new Date('2026-11-23T11:45:00Z'),
      limit: 50,
    });
    expect(h.out()).toBe(
      'TIME (UTC)            OWNER              REASON           OPS  LATENCY  ROWS\n' +
        '2026-11-23 11:58:00Z  Service shop/cart  Service deleted    3    4.0ms  -Load_Balancer/lb-shop-cart-tcp\n',
    );
    expect(h.calls.closed).toBe(true);
  });

  it('prints JSON, reads the database from $YCLOUD_JOURNAL_DB, takes a postgres URL', async () => {
    const h = harness({ YCLOUD_JOURNAL_DB: 'postgres://journal@db/ycloud' });
    expect(await runJournal(['--output', 'json', '--limit', '5'], h.io)).toBe(0);
    expect(h.calls.db).toEqual({ type: 'postgres', url: 'postgres://journal@db/ycloud' });
    expect(h.calls.query).toEqual({ limit: 5 });
    expect(JSON.parse(h.out())).toEqual([{ ...records[0], at: '2026-11-23T11:58:00.000Z' }]);
  });

  it.each([
    [['--since', 'yesterday'], 'ycloud journal: invalid --since "yesterday": use a duration (30s, 15m, 1h, 2d)'],
    [['--service', 'cart'], 'ycloud journal: invalid --service "cart": use namespace/name, e.g. default/web'],
    [['--limit', '0'], 'ycloud journal: invalid --limit "0"'],
    [['--output', 'yaml'], "error: option '--output <format>' argument 'yaml' is invalid"],
    [['--bogus'], "error: unknown option '--bogus'"],
  ])('rejects %j with a clear message and exit 2, without opening the journal', async (argv, message) => {
    const h = harness();
    expect(await runJournal(argv, h.io)).toBe(EXIT_USAGE);
    expect(h.err()).toContain(message);
    expect(h.calls.db).toBeUndefined();
  });

  it('reports a journal that cannot be opened with exit 1', async () => {
    const h = harness();
    const io = {
      ...h.io,
      openJournal: async () => {
        throw new JournalUnavailableError('no journal at /var/lib/ycloud/journal.sqlite');
      },
    };
    expect(await runJournal([], io)).toBe(1);
    expect(h.err()).toBe('ycloud journal: no journal at /var/lib/ycloud/journal.sqlite\n');
  });

  it('prints help with exit 0', async () => {
    const h = harness();
    expect(await runJournal(['--help'], h.io)).toBe(0);
    expect(h.out()).toContain('--since <when>');
  });
});
