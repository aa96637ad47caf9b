import type { BenchMachine, BenchVersions } from '../environment';
import { barChartSvg } from '../svg-chart';
import type { DatapathFigures } from './datapath-tools';

export interface DatapathReport {
  date: string;
  revision: string;
  mode: 'testbed' | 'cluster';
  machine: BenchMachine;
  versions: BenchVersions;
  /** What each system is (e.g. "ycloud agent=none, OVS netdev", "kube-proxy nftables on a routed veth network"). */
  systems: Record<string, string>;
  seconds: number;
  streams: number;
  results: Array<{ system: string; path: string; target: string; load1?: number; figures: DatapathFigures }>;
  load: { start: number; end: number };
}

/** Each figure: its key, label, unit and whether more is better. */
export const DATAPATH_METRICS: Array<{
  key: keyof DatapathFigures;
  label: string;
  unit: string;
  higherIsBetter: boolean;
}> = [
  { key: 'tcp1Gbps', label: 'TCP 1 stream', unit: 'Gbit/s', higherIsBetter: true },
  { key: 'tcpNGbps', label: 'TCP N streams', unit: 'Gbit/s', higherIsBetter: true },
  { key: 'udpPps', label: 'UDP 64 B received', unit: 'pps', higherIsBetter: true },
  { key: 'rrP50Us', label: 'TCP RR p50', unit: 'µs', higherIsBetter: false },
  { key: 'rrP99Us', label: 'TCP RR p99', unit: 'µs', higherIsBetter: false },
  { key: 'connPerSec', label: 'new connections', unit: '/s', higherIsBetter: true },
  { key: 'cpuCoresPerGbps', label: 'CPU per Gbit/s', unit: 'cores', higherIsBetter: false },
  { key: 'cpuCoresPerMpps', label: 'CPU per Mpps', unit: 'cores', higherIsBetter: false },
];

const fmt = (v: number | undefined): string => {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (v >= 1000) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
};

/** The summary table of one run: one row per path and figure, a column per system and ycloud's ratio to each. */
export function datapathTable(r: DatapathReport): string {
  const systems = [...new Set(r.results.map((x) => x.system))];
  const paths = [...new Set(r.results.map((x) => x.path))];
  const others = systems.filter((s) => s !== 'ycloud');
  const get = (s: string, p: string) => r.results.find((x) => x.system === s && x.path === p);
  const lines = [
    `| path | figure | ${systems.join(' | ')} | ${others.map((o) => `ycloud / ${o}`).join(' | ')} |`,
    `| --- | --- | ${systems.map(() => '---').join(' | ')} | ${others.map(() => '---').join(' | ')} |`,
  ];
  for (const p of paths) {
    for (const m of DATAPATH_METRICS) {
      const vals = systems.map((s) => get(s, p)?.figures[m.key] as number | undefined);
      const y = get('ycloud', p)?.figures[m.key] as number | undefined;
      const ratios = others.map((o) => {
        const v = get(o, p)?.figures[m.key] as number | undefined;
        return y !== undefined && v ? `${(y / v).toFixed(2)}x` : '–';
      });
      lines.push(
        `| ${p} | ${m.label} (${m.unit}${m.higherIsBetter ? ', more is better' : ', less is better'}) | ${vals.map(fmt).join(' | ')} | ${ratios.join(' | ')} |`,
      );
    }
  }
  return lines.join('\n');
}

/** What each path is, for the reader of a run (test bed and cluster both use these names). */
export const DATAPATH_PATH_DESCRIPTIONS: Record<string, string> = {
  'pod-clusterip-same-node': 'a pod to the ClusterIP, backend on the same node',
  'pod-clusterip-cross-node': 'a pod to the ClusterIP, backend on the other node',
  'node-clusterip': "the other node's host network to the ClusterIP",
  'nodeport-external': "an outside client to the backend node's NodePort",
  'eip-external':
    "an outside client to a LoadBalancer Service's address: for ycloud an EIP from a pool whose gateway router runs on node-1; for kube-proxy the ingress address routed to node-1 (as a BGP or ARP provider would)",
  'eip-service-gateway':
    "an outside client to one EIP in front of backends in two VPCs (one per node) through a service-gateway router (YusurService with ClientIP affinity, since iperf3's control and data connections must meet one server: every test of the one outside client lands on one of the two backends); ycloud only, kube-proxy has no VPCs and no counterpart",
};

/** Details: environment beside the figures, loads per path, and the errors of tests that failed. */
export function datapathDetails(r: DatapathReport, svgFiles: string[], jsonFile: string): string {
  const out: string[] = [];
  out.push(`### ${r.date.slice(0, 16).replace('T', ' ')} UTC — ${r.mode}`);
  out.push('');
  out.push(
    `- Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, ${r.machine.kernel}; OVS datapath: ${r.machine.ovsDatapath}. Load average (1 min) ${r.load.start} at start, ${r.load.end} at the end; per path below.`,
  );
  out.push(
    `- Versions: ovn-northd \`${r.versions.ovnNorthd ?? '?'}\`, ovs-vswitchd \`${r.versions.ovsVswitchd ?? '?'}\`, Kubernetes ${r.versions.kubernetes ?? '?'}; revision ${r.revision}.`,
  );
  out.push(
    `- Systems: ${Object.entries(r.systems)
      .map(([k, v]) => `**${k}**: ${v}`)
      .join('; ')}.`,
  );
  out.push(
    `- Tools (Debian): iperf3 (TCP 1 and ${r.streams} streams, UDP 64-byte datagrams unthrottled, ${r.seconds} s each), sockperf ping-pong over TCP (64 B, ${r.seconds} s; round trip = 2 × its one-way figures), ab (apache2-utils) against nginx-light, one request per connection. CPU: busy time of the whole machine from /proc/stat (all simulated nodes share it).`,
  );
  for (const p of new Set(r.results.map((x) => x.path)))
    if (DATAPATH_PATH_DESCRIPTIONS[p]) out.push(`- Path \`${p}\`: ${DATAPATH_PATH_DESCRIPTIONS[p]}.`);
  for (const x of r.results) {
    const errs = x.figures.errors.length ? `; failed: ${x.figures.errors.join('; ')}` : '';
    out.push(`- ${x.system} ${x.path} → ${x.target}: load ${x.load1 ?? '?'}${errs}`);
  }
  out.push('');
  out.push(`Raw figures: [${jsonFile}](${jsonFile})`);
  out.push('');
  for (const f of svgFiles) out.push(`![](${f})`);
  return out.join('\n');
}

/** One chart per figure: groups = paths, bars = systems. */
export function datapathSvgs(r: DatapathReport): Array<{ name: string; svg: string }> {
  const systems = [...new Set(r.results.map((x) => x.system))];
  const paths = [...new Set(r.results.map((x) => x.path))];
  return DATAPATH_METRICS.map((m) => ({
    name: m.key,
    svg: barChartSvg({
      title: `${m.label} (${m.unit}, ${m.higherIsBetter ? 'more' : 'less'} is better) — ${r.mode}, load ${r.load.start}–${r.load.end}`,
      unit: m.unit,
      series: systems,
      groups: paths.map((p) => ({
        label: p
          .replace('pod-clusterip-', 'pod→ClusterIP ')
          .replace('node-clusterip', 'node→ClusterIP')
          .replace('nodeport-external', 'NodePort from outside'),
        values: systems.map(
          (s) => r.results.find((x) => x.system === s && x.path === p)?.figures[m.key] as number | undefined,
        ),
      })),
      width: 860,
    }),
  }));
}
