import { Diagnosis } from './hop';

/** The table a user reads: one line per hop (status, hop, evidence, fix), then the verdict line. */
export function renderTable(d: Diagnosis): string {
  const lines = [`diagnose ${d.target} from ${d.source}${d.vips.length ? ` (VIPs ${d.vips.join(', ')})` : ''}`];
  const w = Math.max(...d.hops.map((h) => h.id.length), 4);
  for (const h of d.hops) {
    const mark = h.status === 'ok' ? 'ok     ' : h.status === 'broken' ? 'BROKEN ' : 'unknown';
    lines.push(`${mark} ${h.id.padEnd(w)}  ${h.evidence}`);
    if (h.fix && h.status !== 'ok') lines.push(`${' '.repeat(8 + w)}  fix: ${h.fix}`);
  }
  const unknownNote = d.verdict.unknown ? ` (${d.verdict.unknown} hop(s) unknown)` : '';
  lines.push(
    d.verdict.status === 'broken'
      ? `verdict: BROKEN at ${d.verdict.firstBroken}${unknownNote}`
      : `verdict: ok, no broken hop${unknownNote}`,
  );
  return lines.join('\n') + '\n';
}

export function renderJson(d: Diagnosis): string {
  return JSON.stringify(d, null, 2) + '\n';
}
