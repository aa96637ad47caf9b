import { OffloadFacts } from '../facts';
import { DiagnoseCommandRunner } from './command';

/** Modes whose node agent asks Open vSwitch to offload flows to the NIC (libs/cni node bootstrap: hw-offload). */
export const OFFLOAD_MODES = ['smartnic', 'dpu'];

/** Datapath flows of `ovs-appctl dpctl/dump-flows` (one per line, header lines skipped). Pure. */
export function datapathFlows(dump: string): string[] {
  return dump.split('\n').filter((l) => l.includes('actions:'));
}

/** How many of the datapath flows match a VIP key (`ip:port` or `[ip]:port`) as destination. Pure. */
export function vipFlowCount(flows: string[], vip: string, protocol: string): number {
  const six = vip.startsWith('[');
  const ip = six ? vip.slice(1, vip.indexOf(']')) : vip.slice(0, vip.lastIndexOf(':'));
  const port = vip.slice(vip.lastIndexOf(':') + 1);
  const esc = (s: string) => s.replace(/[.[\]]/g, '\\$&');
  const dst = new RegExp(`${six ? 'ipv6' : 'ipv4'}\\([^)]*\\bdst=${esc(ip)}[,)/]`);
  const l4 = new RegExp(`${protocol}\\([^)]*\\bdst=${port}[,)/]`);
  return flows.filter((f) => dst.test(f) && l4.test(f)).length;
}

/** `ovs-vsctl get Open_vSwitch . other_config` -> its hw-offload value ('' when unset). Pure. */
export function hwOffloadOf(otherConfig: string): string {
  return /\bhw-offload="?([^",}]+)"?/.exec(otherConfig)?.[1] ?? '';
}

export interface OffloadCollectorOptions {
  mode: string;
  ovsDb?: string;
  /** ovs-vswitchd's control socket (default: ovs-appctl's own default target). */
  vswitchdCtl?: () => Promise<string>;
}

/**
 * Whether the VIPs' datapath flows are offloaded, as the node's Open vSwitch says it: other_config:hw-offload,
 * the datapath (`dpctl/show`), and the VIPs' flows in `dpctl/dump-flows type=offloaded` and `type=ovs`.
 */
export async function collectOffload(
  runner: DiagnoseCommandRunner,
  o: OffloadCollectorOptions,
  vips: string[],
): Promise<OffloadFacts> {
  const ctl = o.vswitchdCtl ? ['-t', await o.vswitchdCtl()] : [];
  const appctl = async (...args: string[]) => {
    const r = await runner.run('ovs-appctl', ['-T', '5', ...ctl, ...args], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`ovs-appctl ${args.join(' ')}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
    return r.stdout;
  };
  const oc = await runner.run(
    'ovs-vsctl',
    [...(o.ovsDb ? [`--db=${o.ovsDb}`] : []), '--timeout=5', 'get', 'Open_vSwitch', '.', 'other_config'],
    { timeoutMs: 10_000 },
  );
  if (oc.code !== 0) throw new Error(`ovs-vsctl: ${(oc.stderr || oc.stdout).trim().split('\n')[0]}`);
  const show = await appctl('dpctl/show');
  const offloaded = datapathFlows(await appctl('dpctl/dump-flows', 'type=offloaded'));
  const software = datapathFlows(await appctl('dpctl/dump-flows', 'type=ovs'));
  const out: OffloadFacts = {
    mode: o.mode,
    hwOffload: hwOffloadOf(oc.stdout),
    datapath: /^(\S+):/.exec(show.trim())?.[1] ?? '',
    offloadedFlows: offloaded.length,
    vips: {},
  };
  for (const v of vips) {
    const [key, protocol = 'tcp'] = v.split('/');
    out.vips[key] = {
      offloaded: vipFlowCount(offloaded, key, protocol),
      software: vipFlowCount(software, key, protocol),
    };
  }
  return out;
}
