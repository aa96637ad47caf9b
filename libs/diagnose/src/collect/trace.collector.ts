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

/** Reads what matters out of `ovn-trace --summary`: the LB action, outputs, drop / reject. Pure. */
export function summariseTrace(text: string, microflow: string): TraceFacts {
  const lb = /ct_lb(?:_mark)?\(backends=([^);]+)/.exec(text);
  const outputs = [...text.matchAll(/output to "([^"]+)"/g)].map((m) => m[1]);
  return {
    ...(lb
      ? {
          lbBackends: lb[1]
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
            .sort(),
        }
      : {}),
    outputs: [...new Set(outputs)],
    dropped: /\bdrop;/.test(text),
    rejected: /\breject\b/.test(text),
    microflow,
  };
}

/** Runs ovn-trace against Southbound (read-only) and summarises it. */
export async function collectTrace(
  runner: DiagnoseCommandRunner,
  sbRemote: string,
  q: TraceQuery,
): Promise<TraceFacts> {
  const microflow = traceMicroflow(q);
  const r = await runner.run('ovn-trace', [`--db=${sbRemote}`, '--summary', '--ct=new', q.datapath, microflow], {
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`ovn-trace: ${(r.stderr || r.stdout).trim().split('\n')[0] || `exit ${r.code}`}`);
  return summariseTrace(r.stdout, microflow);
}
