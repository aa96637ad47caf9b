import { OvnRelease } from './ovn-release';
import { runText } from './process';

export interface OvnTraceOptions {
  /** SB remote (e.g. `bed.central.sbRemote`). */
  sbRemote: string;
  /** Logical datapath (switch or router name) where the packet enters. */
  datapath: string;
  /** ovn-trace microflow, e.g. 'inport=="pod-a" && eth.src==… && ip4.src==… && tcp.dst==80'. */
  microflow: string;
  /** --summary (default), --detailed or --minimal. */
  format?: 'summary' | 'detailed' | 'minimal';
  /** Extra ovn-trace flags such as '--ct=new' or '--lb-dst=10.0.0.5:80'. */
  flags?: string[];
  /** The release whose ovn-trace parses the SB flows (an older one cannot read a newer northd's actions). */
  release?: OvnRelease;
}

/** Runs `ovn-trace` against the SB and returns its text: for explaining why a path drops in a failed test. */
export async function ovnTrace(opts: OvnTraceOptions): Promise<string> {
  const args = [`--db=${opts.sbRemote}`, `--${opts.format ?? 'summary'}`, ...(opts.flags ?? [])];
  args.push(opts.datapath, opts.microflow);
  const release = opts.release ?? (await OvnRelease.resolve());
  return runText(...release.command('ovn-trace', args), { timeoutMs: 30_000 });
}
