import { formatJournalTable, summarizeRows } from './journal-table.formatter';
import type { JournalRecord } from './journal.types';

const record = (over: Partial<JournalRecord> = {}): JournalRecord => ({
  id: 1,
  at: new Date('2026-11-23T10:34:59.123Z'),
  owner: { kind: 'Service', namespace: 'default', name: 'web' },
  reason: 'EndpointSlice changed',
  latencyMs: 3.25,
  opCount: 2,
  rows: [
    { table: 'Load_Balancer', key: 'lb-default-web-tcp', operation: 'update', columns: ['vips'] },
    { table: 'Logical_Switch', key: 'ls-a', operation: 'insert' },
  ],
  ...over,
});

describe('formatJournalTable', () => {
  it('prints aligned columns: time, owner, reason, ops, latency, rows', () => {
    const out = formatJournalTable([
      record(),
      record({
        id: 2,
        at: new Date('2026-11-23T10:30:00Z'),
        owner: { kind: 'Namespace', namespace: '', name: 'kube-system' },
        reason: 'resync',
        latencyMs: 120.4,
        opCount: 14,
        rows: [{ table: 'Address_Set', key: 'as-kube-system', operation: 'delete' }],
      }),
    ]);
    expect(out).toBe(
      [
        'TIME (UTC)            OWNER                  REASON                 OPS  LATENCY  ROWS',
        '2026-11-23 10:34:59Z  Service default/web    EndpointSlice changed    2    3.3ms  ~Load_Balancer/lb-default-web-tcp(vips) +Logical_Switch/ls-a',
        '2026-11-23 10:30:00Z  Namespace kube-system  resync                  14    120ms  -Address_Set/as-kube-system',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing matches', () => {
    expect(formatJournalTable([])).toBe('No journal entries match.\n');
  });
});

describe('summarizeRows', () => {
  it('cuts long row lists at the width and counts the rest', () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({
      table: 'Load_Balancer',
      key: `lb-${i}`,
      operation: 'delete' as const,
    }));
    const s = summarizeRows(rows, 60);
    expect(s).toBe('-Load_Balancer/lb-0 -Load_Balancer/lb-1 +18 more');
    expect(s.length).toBeLessThanOrEqual(60);
  });

  it('shows a dash for a transaction without rows', () => {
    expect(summarizeRows([])).toBe('-');
  });
});
