import type { LatencySummary, ServiceBenchReport } from './service-bench';

/** The issue-4 targets on the 2-core development machine. */
export const SERVICE_BENCH_TARGETS = {
  convergedMs: 30_000,
  changeP99Ms: 50,
  rssBytes: 400 * 1024 * 1024,
  idleWrites: 0,
} as const;

export const RESULTS_TABLE_HEADER = [
  '| date (UTC) | N × M | NB | converged s (target < 30 at 10k×10) | change p50 / p99 ms (target p99 < 50) | apply p50 / p99 ms | RSS peak MB (target < 400) | NB txns cold / changes | idle-restart txns / NB row changes (target 0) | load 1m start / cold / end (2 cores) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];

const s = (ms: number): string => (ms / 1000).toFixed(2);
const ms1 = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(1) : '-');
const mb = (b: number): string => (b / 1048576).toFixed(0);
const pp = (l: LatencySummary): string => `${ms1(l.p50)} / ${ms1(l.p99)}`;

/** One row of the results table. */
export function resultRow(r: ServiceBenchReport): string {
  const ok = (pass: boolean): string => (pass ? '' : ' ✗');
  const t = SERVICE_BENCH_TARGETS;
  return [
    '',
    r.date.slice(0, 16).replace('T', ' '),
    `${r.services} × ${r.endpoints}`,
    `${r.nb === 'central' ? 'NB+SB+northd' : 'bare NB'}${r.ovn ? `, ${r.ovn}` : ''}`,
    `${s(r.coldStart.convergedMs)}${ok(r.coldStart.convergedMs < t.convergedMs)}`,
    `${pp(r.change.endToEnd)}${ok(r.change.endToEnd.p99 < t.changeP99Ms)}`,
    pp(r.change.apply),
    `${mb(r.rssPeakBytes)}${ok(r.rssPeakBytes < t.rssBytes)}`,
    `${r.coldStart.writes} / ${r.change.writes}`,
    `${r.idleRestart.writes} / ${r.idleRestart.nbRowChanges}${ok(r.idleRestart.writes === 0)}`,
    `${r.load.start.toFixed(2)} / ${r.load.coldStart.toFixed(2)} / ${r.load.end.toFixed(2)}`,
    '',
  ]
    .join(' | ')
    .trim();
}

/** The detailed block of one run (where the time went). */
export function resultDetails(r: ServiceBenchReport): string {
  const c = r.coldStart;
  const lines = [
    `### ${r.date.slice(0, 16).replace('T', ' ')} UTC — ${r.services} × ${r.endpoints}, ${r.nb === 'central' ? 'NB + SB + ovn-northd' : 'bare NB ovsdb-server'}${r.ovn ? `, ${r.ovn}` : ''}`,
    '',
    `- Objects: ${r.services} Services + ${r.services} EndpointSlices created in ${s(r.create.ms)} s (${r.create.perSecond.toFixed(0)} objects/s).`,
    `- Cold start: fork → ControllerManager ready ${s(c.readyMs)} s (of which inside start(): ${s(c.startMs)} s); fork → every LB right in NB ${s(c.convergedMs)} s; ${c.writes} transactions, ${c.operations} operations; controller CPU ${s(c.controllerCpuMs)} s.` +
      (c.northdCatchUpMs !== undefined ? ` ovn-northd caught up ${s(c.northdCatchUpMs)} s after that.` : '') +
      (c.nbServerCpuMs !== undefined ? ` NB ovsdb-server CPU ${s(c.nbServerCpuMs)} s (fork → converged).` : '') +
      (c.northdCpuMs !== undefined ? ` ovn-northd CPU ${s(c.northdCpuMs)} s (fork → caught up).` : ''),
    `- Independent check (ovn-nbctl list Load_Balancer): ${c.verifiedByNbctl}/${r.services} LBs right.`,
    `- Changes: ${r.change.endToEnd.count} EndpointSlice patches; write reply → NB update p50 ${ms1(r.change.endToEnd.p50)}, p90 ${ms1(r.change.endToEnd.p90)}, p99 ${ms1(r.change.endToEnd.p99)}, max ${ms1(r.change.endToEnd.max)} ms (${r.change.beforeReply} seen before the reply, ${r.change.timedOut} timed out); controller commit latency p50 ${ms1(r.change.apply.p50)}, p99 ${ms1(r.change.apply.p99)} ms; ${r.change.writes} transactions.`,
    `- RSS peak (VmHWM of the controller process): ${mb(r.rssPeakBytes)} MB.`,
    `- Idle restart: ready in ${s(r.idleRestart.readyMs)} s, ${r.idleRestart.reconciles} reconciles, ${r.idleRestart.writes} transactions, ${r.idleRestart.nbRowChanges} NB row changes; RSS peak ${mb(r.idleRestart.rssPeakBytes)} MB.`,
    `- Revision: ${r.revision} ("+dirty": other engineers' uncommitted controller/OVN/OVSDB changes were in the shared tree).`,
    `- Machine: ${r.cpus} CPUs shared with other engineers; load average (1 min) ${r.load.start.toFixed(2)} at start, ${r.load.coldStart.toFixed(2)} before the cold start, ${r.load.end.toFixed(2)} at the end.`,
  ];
  if (r.profile) {
    lines.push(
      `- CPU profile of the controller (cold start + changes, ${s(r.profile.totalMs)} s of non-idle samples — on a loaded machine this includes time descheduled inside syscalls; \`${r.profile.file}\`; lines are of the swc output), top self time:`,
      '',
      '  | self ms | share | file:function:line |',
      '  | --- | --- | --- |',
      ...r.profile.top.map((e) => `  | ${e.selfMs.toFixed(0)} | ${(e.share * 100).toFixed(1)}% | \`${e.where}\` |`),
    );
  }
  return lines.join('\n');
}
