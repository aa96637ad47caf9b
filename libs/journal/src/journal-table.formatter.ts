import type { JournalRecord, RowChange } from './journal.types';

export interface TableFormatOptions {
  /** Width the ROWS column is cut to (with a `+N more` note). Default 80. */
  rowsWidth?: number;
}

const OP_MARK: Record<RowChange['operation'], string> = { insert: '+', update: '~', delete: '-' };

/** `+Load_Balancer/lb-a`, `~Load_Balancer/lb-a(vips,options)`, `-Logical_Switch/ls1`. */
export function formatRowChange(row: RowChange): string {
  const cols = row.operation === 'update' && row.columns?.length ? `(${row.columns.join(',')})` : '';
  return `${OP_MARK[row.operation]}${row.table}/${row.key}${cols}`;
}

/** All rows of a transaction on one line, cut at `width` with a count of what did not fit. */
export function summarizeRows(rows: readonly RowChange[], width = 80): string {
  if (rows.length === 0) return '-';
  const parts = rows.map(formatRowChange);
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const next = out === '' ? parts[i] : `${out} ${parts[i]}`;
    const rest = parts.length - i - 1;
    const note = rest > 0 ? ` +${rest} more` : '';
    if (next.length + note.length > width && out !== '') return `${out} +${parts.length - i} more`;
    out = next;
  }
  return out;
}

function formatTime(at: Date): string {
  return at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

function formatOwner(r: JournalRecord): string {
  const { kind, namespace, name } = r.owner;
  return `${kind} ${namespace ? `${namespace}/${name}` : name}`;
}

function formatLatency(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`;
}

/** The readable table `ycloud journal` prints: time (UTC), owner, reason, ops, latency, rows. */
export function formatJournalTable(records: readonly JournalRecord[], opts: TableFormatOptions = {}): string {
  if (records.length === 0) return 'No journal entries match.\n';
  const header = ['TIME (UTC)', 'OWNER', 'REASON', 'OPS', 'LATENCY', 'ROWS'];
  const lines = records.map((r) => [
    formatTime(r.at),
    formatOwner(r),
    r.reason,
    String(r.opCount),
    formatLatency(r.latencyMs),
    summarizeRows(r.rows, opts.rowsWidth ?? 80),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const numeric = new Set([3, 4]);
  const render = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ');
  return [render(header), ...lines.map(render)].join('\n') + '\n';
}
