import { TraceFacts } from '../facts';
import { DiagnoseCommandRunner } from './command';

/** A synthetic first packet from a pod's port to a VIP. */
export interface TraceQuery {
  /** Logical switch the packet enters. */
  datapath: string;
  inport: string;
  ethSrc: string;
  /** The VPC router port's MAC (the pod's gateway). */
  ethDst: string;
  ipSrc: string;
  /** `ip:port` (IPv4) or `[ip]:port`. */
  vip: string;
  protocol: 'tcp' | 'udp' | 'sctp';
}

const SAFE = /^[A-Za-z0-9_.:/[\]-]+$/;

/** The ovn-trace microflow of a query; throws on values that are not plain names or addresses. */
export function traceMicroflow(q: TraceQuery): string {
  for (const [k, v] of Object.entries(q)) if (!SAFE.test(v)) throw new Error(`bad ${k} ${JSON.stringify(v)}`);
  const six = q.vip.startsWith('[');
  const ip = six ? q.vip.slice(1, q.vip.indexOf(']')) : q.vip.slice(0, q.vip.lastIndexOf(':'));
  const port = q.vip.slice(q.vip.lastIndexOf(':') + 1);
  const fam = six ? 'ip6' : 'ip4';
  return [
    `inport == "${q.inport}"`,
    `eth.src == ${q.ethSrc}`,
    `eth.dst == ${q.ethDst}`,
    `${fam}.src == ${q.ipSrc}`,
    `${fam}.dst == ${ip}`,
    six ? 'ip.ttl == 64' : 'ip.ttl == 64',
    `${q.protocol}.src == 40000`,
    `${q.protocol}.dst == ${port}`,
  ].join(' && ');
}

/** Actions that replace the traced packet with another one (a request, an error, a reset): not the packet itself. */
const REPLACING = /^(arp|nd_ns|nd_na|icmp4|icmp6|icmp4_error|icmp6_error|tcp_reset|reject|put_arp|put_nd)\b/;

/**
 * What ovn-trace warned about on stderr: flows it could not parse first (an ovn-trace older than northd), then
 * other warnings; at most three (a long one keeps its start and its reason), and how many there were.
 */
function warningsOf(stderr: string): { warnings?: string[] } {
  const all = stderr.split('\n').filter((l) => /\|WARN\||\|ERR\||error/i.test(l));
  if (!all.length) return {};
  const parsing = all.filter((l) => /parsing .*failed/.test(l));
  const first = [...parsing, ...all.filter((l) => !parsing.includes(l))]
    .slice(0, 3)
    .map((l) => l.replace(/^\S+\|\d+\|/, ''))
    .map((l) => (l.length <= 200 ? l : `${l.slice(0, 80)} ... ${l.slice(Math.max(l.lastIndexOf(': parsing'), 120))}`));
  return { warnings: [`${all.length} warning(s), ${parsing.length} flow(s) not parsed`, ...first] };
}

/** The backends of a `ct_lb(backends=...)` / `ct_lb_mark(backends=...)` action on the line, sorted. */
function lbBackendsOf(line: string): string[] | undefined {
  const lb = /\bct_lb(?:_mark)?\(backends=([^);]+)/.exec(line);
  return lb
    ? lb[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .sort()
    : undefined;
}

/**
 * Reads what matters out of `ovn-trace --detailed` (23.03 and 25.03 print the same layout: one section per
 * pipeline or action, a header underlined with dashes, then `N. stage (file:line): match, priority P, uuid U` and
 * its actions): the LB action, the logical ports output to, the logical port the packet itself reached, and where
 * it was dropped or replaced (datapath and stage). Pure.
 */
export function summariseTrace(text: string, microflow: string, stderr = ''): TraceFacts {
  const lines = text.split('\n');
  let datapath = '';
  let stage: string | undefined;
  let replacedBy: TraceFacts['replacedBy'];
  let delivered: string | undefined;
  let dropAt: TraceFacts['dropAt'];
  let lbBackends: string[] | undefined;
  let rejected = false;
  const outputs: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (/^-+$/.test(lines[i + 1]?.trim() ?? '') && line) {
      // A section header: a pipeline (`ingress(dp="ls", inport="p")`) or an action's own section (`arp`).
      const dp = /^(?:ingress|egress|multicast)\(dp="([^"]+)"/.exec(line);
      if (dp) datapath = dp[1];
      else if (!replacedBy && REPLACING.test(line))
        replacedBy = { action: line.split(/\s/)[0], datapath, ...(stage ? { stage } : {}) };
      stage = undefined;
      i++;
      continue;
    }
    const st = /^\d+\. (\w+) \(/.exec(line);
    if (st) {
      stage = st[1];
      continue;
    }
    lbBackends ??= lbBackendsOf(line);
    if (/^(reject|tcp_reset)\b/.test(line)) rejected = true;
    if (/(^|\s)drop;/.test(line) && !dropAt) dropAt = { datapath, ...(stage ? { stage } : {}) };
    const out = /\/\* output to "([^"]+)", type "([^"]*)" \*\//.exec(line);
    if (out) {
      if (!outputs.includes(out[1])) outputs.push(out[1]);
      // A VIF (type "") reached by the packet itself, not by a request or error that replaced it.
      if (out[2] === '' && !replacedBy) delivered = out[1];
    }
  }
  return {
    ...(lbBackends ? { lbBackends } : {}),
    outputs,
    ...(delivered ? { delivered } : {}),
    dropped: !!dropAt,
    ...(dropAt ? { dropAt } : {}),
    ...(replacedBy ? { replacedBy } : {}),
    rejected,
    microflow,
    ...warningsOf(stderr),
  };
}

/**
 * Runs ovn-trace against Southbound (read-only) and summarises it. `ovnTrace`: the command that runs ovn-trace
 * (default `ovn-trace`), for a node whose ovn-trace must come from the same OVN release as northd (an older one
 * cannot parse a newer northd's actions and traces them as drops).
 */
export async function collectTrace(
  runner: DiagnoseCommandRunner,
  sbRemote: string,
  q: TraceQuery,
  ovnTrace: readonly string[] = [],
): Promise<TraceFacts> {
  const microflow = traceMicroflow(q);
  const [cmd, ...prefix] = ovnTrace.length ? ovnTrace : ['ovn-trace'];
  const args = [...prefix, `--db=${sbRemote}`, '--detailed', '--ct=new', q.datapath, microflow];
  const r = await runner.run(cmd, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`ovn-trace: ${(r.stderr || r.stdout).trim().split('\n')[0] || `exit ${r.code}`}`);
  return summariseTrace(r.stdout, microflow, r.stderr);
}
