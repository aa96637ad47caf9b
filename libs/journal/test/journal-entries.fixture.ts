import type { JournalEntry, RowChange } from '@ycloud/journal';

/** `n` synthetic NB transactions spread over `services` Services, one per second ending at `end`. */
export function syntheticEntries(n: number, services: number, end: Date): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (let i = 0; i < n; i++) {
    const svc = `svc-${i % services}`;
    const rows: RowChange[] = [
      { table: 'Load_Balancer', key: `lb-default-${svc}-tcp`, operation: i % 3 === 0 ? 'insert' : 'update' },
      { table: 'Logical_Switch', key: 'ls-node-a', operation: 'update', columns: ['load_balancer'] },
    ];
    if (i % 3 !== 0) rows[0] = { ...rows[0], columns: ['vips', 'options'] };
    if (i % 7 === 0) rows.push({ table: 'Load_Balancer_Health_Check', key: `hc-${svc}`, operation: 'delete' });
    out.push({
      owner: { kind: 'Service', namespace: 'default', name: svc },
      reason: i % 5 === 0 ? 'resync' : 'EndpointSlice changed',
      rows,
      latencyMs: 1 + (i % 17) * 0.5,
      opCount: rows.length + 1,
      at: new Date(end.getTime() - (n - 1 - i) * 1_000),
    });
  }
  return out;
}

/** Logger that keeps what it was told, to assert on. */
export function capturingLogger() {
  const lines: string[] = [];
  return {
    lines,
    warn: (m: string) => void lines.push(`warn: ${m}`),
    error: (m: string) => void lines.push(`error: ${m}`),
  };
}
