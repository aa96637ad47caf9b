import type { ProgrammingBenchReport, SystemResult } from './programming-bench';
import type { LatencySummary } from './service-bench';
import { barChartSvg } from './svg-chart';

const ms = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(v < 10 ? 1 : 0);
const s = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : (v / 1000).toFixed(2));
const mb = (b: number | undefined): string => (b === undefined ? '–' : (b / 2 ** 20).toFixed(0));
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
    ? '–'
    : `${(a / b).toFixed(3)}x`;

export const PROGRAMMING_TABLE_HEADER = [
  '| date (UTC) | N × M | OVN / OVS | system | cold start s | change → node flows p50 / p90 / p99 ms | p99 vs nftables | CPU ms per change | load 1m (cold / blocks) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];

/** Short "23.03.1 / 3.1.0" from the daemons' version lines. */
export function ovnOvs(r: ProgrammingBenchReport): string {
  const v = (line: string | undefined): string => /(\d+\.\d+\.\d+)/.exec(line ?? '')?.[1] ?? '?';
  return `${v(r.versions.ovnNorthd)} / ${v(r.versions.ovsVswitchd)}`;
}

const total = (x: SystemResult): LatencySummary | { p50: number; p90: number; p99: number } | undefined =>
  x.change?.total;

/** The start every table row of run `r` shares: what replaces them when the run writes again. */
export function programmingRowPrefix(r: ProgrammingBenchReport): string {
  // To the second: the row prefix is what a rewrite of this run replaces.
  return `| ${r.date.slice(0, 19).replace('T', ' ')} | ${r.services} × ${r.endpoints} |`;
}

/** The latency cell: the figures, and what stopped a system part-way (its figures so far are kept). */
function latencyCell(x: SystemResult): string {
  const t = total(x);
  const figures = t ? `${ms(t.p50)} / ${ms(t.p90)} / ${ms(t.p99)}` : '';
  if (x.failure) return `${figures ? `${figures}; then ` : ''}failed in ${x.failure.phase}: ${x.failure.reason}`;
  if (figures) return figures;
  return x.ran ? 'no change measured' : `not run: ${x.error ?? ''}`;
}

/** One table row per system of this run. */
export function programmingRows(r: ProgrammingBenchReport): string[] {
  const nft = r.systems.find((x) => x.system === 'nftables');
  return r.systems.map((x) => {
    const t = total(x);
    const lat = latencyCell(x).replace(/\|/g, '\\|');
    const loads = x.change?.load1.map((l) => l.toFixed(1)).join(', ') ?? '';
    return `${programmingRowPrefix(r)} ${ovnOvs(r)} | ${x.system} | ${s(
      x.coldStart?.ms,
    )} | ${lat} | ${x.system === 'nftables' ? '1x' : ratio(t?.p99, nft ? total(nft)?.p99 : undefined)} | ${ms(
      x.change?.cpuMsPerChange,
    )} | ${x.coldStart?.load1.toFixed(1) ?? '–'} / ${loads} |`;
  });
}

/** The details block of one run: per-system stages, CPU per process, peak memory, environment. */
export function programmingDetails(r: ProgrammingBenchReport, svgFile: string, jsonFile: string): string {
  const out: string[] = [];
  out.push(
    `### ${r.date.slice(0, 16).replace('T', ' ')} UTC — ${r.services} × ${r.endpoints}, OVN/OVS ${ovnOvs(r)}` +
      (r.complete ? '' : ` (partial: figures up to "${r.phase}")`),
  );
  out.push('');
  out.push(`![p50/p90/p99 change to node flows](${svgFile}) — raw figures: [${jsonFile}](${jsonFile})`);
  out.push('');
  out.push(
    `- Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, ${r.machine.kernel}; OVS datapath ${r.machine.ovsDatapath} (no kernel module, no offload). Shared with other engineers: load average (1 min) ${r.load.start} at start, ${r.load.end} at the end${
      r.loadAverages
        ? ` (1 / 5 / 15 min: ${r.loadAverages.start.join(' / ')} at start, ${r.loadAverages.end.join(' / ')} ${r.complete ? 'at the end' : 'when written'})`
        : ''
    }.`,
  );
  out.push(
    `- Versions (from the running daemons): ovn-northd \`${r.versions.ovnNorthd ?? '?'}\`, ovn-controller \`${r.versions.ovnController ?? '?'}\`, ovs-vswitchd \`${r.versions.ovsVswitchd ?? '?'}\`, NB schema ${r.versions.nbSchema ?? '?'}, SB schema ${r.versions.sbSchema ?? '?'}, Kubernetes ${r.versions.kubernetes ?? '?'}, Node ${r.versions.node}; revision ${r.revision}.`,
  );
  out.push(
    `- ${r.services} Services + EndpointSlices created in ${s(r.create.ms)} s; ${r.changesPerSystem} changes per system in ${r.rounds} interleaved blocks at ${r.rate}/s; nb_cfg bumped by ${
      r.barrier === 'bench'
        ? 'the benchmark after each commit it saw (controller with `northbound.nbCfgBarrier: false`: an upper bound)'
        : 'the controller in each transaction (`northbound.nbCfgBarrier: true`)'
    }${
      r.nbCfgRise
        ? ` (nb_cfg rose by ${r.nbCfgRise.total}, ${r.nbCfgRise.byBench} of it the benchmark's own bumps${
            r.barrier === 'bench' && r.nbCfgRise.total === r.nbCfgRise.byBench ? ': the controller wrote none' : ''
          })`
        : ''
    }.`,
  );
  for (const x of r.systems) out.push(...systemDetails(x));
  if (r.idleRestart) {
    const i = r.idleRestart;
    out.push(
      `- ycloud idle restart: ${i.reconciles} reconciles, ${i.writes} transactions, ${i.nbRowChanges} NB row changes, ${i.nbCfgBumps} nb_cfg bumps (target: all 0).`,
    );
  }
  return out.join('\n');
}

/** Grouped bars: p50/p90/p99 of change → node flows per system (log scale). */
export function programmingSvg(r: ProgrammingBenchReport): string {
  const ran = r.systems.filter((x) => x.ran && x.change);
  return barChartSvg({
    title: `Change → node flows, ${r.services} × ${r.endpoints} Services (OVN/OVS ${ovnOvs(r)}, load ${r.load.start}–${r.load.end})`,
    unit: 'ms',
    series: ['p50', 'p90', 'p99', 'cold start'],
    groups: ran.map((x) => ({
      label: x.system,
      values: [x.change!.total.p50, x.change!.total.p90, x.change!.total.p99, x.coldStart?.ms],
    })),
    log: true,
  });
}

/** The details lines of one system: cold start, change latency and stages, CPU per process, peak memory. */
function systemDetails(x: SystemResult): string[] {
  if (!x.ran) return [`- **${x.system}**: not run — ${x.error ?? 'unknown reason'}`];
  const out: string[] = [];
  if (x.failure)
    out.push(
      `- **${x.system}** failed in ${x.failure.phase} (load ${x.failure.load1}): ${x.failure.reason}. It was stopped there and the run went on with the others; its figures below are those measured before.`,
    );
  const c = x.change;
  const stages = c?.stages
    ? Object.entries(c.stages)
        .map(([k, v]) => `${k} ${ms(v.p50)} / ${ms(v.p99)}`)
        .join(', ')
    : '';
  const cold = x.coldStart?.stages
    ? Object.entries(x.coldStart.stages)
        .map(([k, v]) => `${k} ${s(v)} s`)
        .join(', ')
    : '';
  const cpuCold = Object.entries(x.coldStart?.cpuMs ?? {})
    .map(([k, v]) => `${k} ${s(v)}`)
    .join(', ');
  const cpuBlocks = Object.entries(c?.cpuMs ?? {})
    .map(([k, v]) => `${k} ${s(v)}`)
    .join(', ');
  const rss = Object.entries(x.peakRssBytes)
    .map(([k, v]) => `${k} ${mb(v)}`)
    .join(', ');
  if (x.coldStart)
    out.push(`- **${x.system}**: cold start ${s(x.coldStart.ms)} s (${cold}); CPU s in the cold start: ${cpuCold}.`);
  else out.push(`- **${x.system}**: no cold start measured.`);
  if (c) {
    const t = c.total;
    out.push(
      `  - change → node flows: n=${t.count}, p50 ${ms(t.p50)}, p90 ${ms(t.p90)}, p99 ${ms(t.p99)} ms` +
        ('max' in t
          ? `, max ${ms(t.max)} ms`
          : `, mean ${ms(t.meanMs)} ms (kube-proxy's own histogram, interpolated in its buckets)`) +
        `; timed out ${c.timedOut}.`,
    );
    if (stages) out.push(`  - stages p50 / p99 ms: ${stages}.`);
    if (c.backlogAtThaw?.length)
      out.push(
        `  - controller work queue when thawed before each block (drained before measuring): ${c.backlogAtThaw
          .map((b) => `${b.queueDepth} keys in ${s(b.drainMs)} s`)
          .join(', ')}.`,
      );
    if (c.toHvCfg)
      out.push(
        `  - to NB hv_cfg (what ycloud_network_programming_duration_seconds reads): p50 ${ms(c.toHvCfg.p50)}, p99 ${ms(c.toHvCfg.p99)} ms.`,
      );
    if (c.syncs)
      out.push(
        `  - syncs during its blocks: n=${c.syncs.count}, mean ${ms(c.syncs.meanMs)}, p50 ${ms(c.syncs.p50)}, p99 ${ms(c.syncs.p99)} ms.`,
      );
    out.push(`  - CPU s during its blocks: ${cpuBlocks}; ${ms(c.cpuMsPerChange)} ms per change.`);
  }
  out.push(`  - peak RSS MB: ${rss}.`);
  return out;
}
