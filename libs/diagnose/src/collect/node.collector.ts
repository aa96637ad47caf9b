import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { NodeFacts, OfGroupFact } from '../facts';
import { DiagnoseCommandRunner } from './command';
import { OFFLOAD_MODES, collectOffload } from './offload.collector';

export interface NodeCollectorOptions {
  node: string;
  /** Open vSwitch run directory (holds `<bridge>.mgmt`). */
  ovsRundir: string;
  /** ovn-controller's pidfile; its control socket is `ovn-controller.<pid>.ctl` beside it. */
  ovnControllerPidfile: string;
  bridge: string;
  /** The agent's mode: in smartnic / dpu mode the VIPs' flows are checked for offload. */
  mode?: string;
  /** This node's Open vSwitch database (ovs-vsctl --db); empty for the default. */
  ovsDb?: string;
  /** ovs-vswitchd's control socket (default: ovs-appctl's default target). */
  vswitchdCtl?: () => Promise<string>;
}

/** `ovs-ofctl dump-groups` output -> groups with the backend of each bucket (from `nat(dst=...)`). Pure. */
export function parseGroups(text: string): OfGroupFact[] {
  const out: OfGroupFact[] = [];
  for (const line of text.split('\n')) {
    const id = /group_id=(\d+)/.exec(line);
    if (!id) continue;
    const buckets = line
      .split(/,?bucket=/)
      .slice(1)
      .map((b) => /nat\(dst=([^),]+)/.exec(b)?.[1])
      .filter((b): b is string => !!b)
      .map((backend) => ({ backend, packets: 0, bytes: 0 }));
    out.push({ id: Number(id[1]), buckets });
  }
  return out;
}

/** Adds `ovs-ofctl dump-group-stats` bucket counters (in bucket order) to parsed groups. Pure. */
export function addGroupStats(groups: OfGroupFact[], text: string): OfGroupFact[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  for (const line of text.split('\n')) {
    const id = /group_id=(\d+)/.exec(line);
    const g = id && byId.get(Number(id[1]));
    if (!g) continue;
    for (const m of line.matchAll(/bucket(\d+):packet_count=(\d+),byte_count=(\d+)/g)) {
      const b = g.buckets[Number(m[1])];
      if (b) {
        b.packets = Number(m[2]);
        b.bytes = Number(m[3]);
      }
    }
  }
  return groups;
}

/** `ovn-appctl connection-status` of the node's ovn-controller, or why it cannot be asked. */
async function ovnController(
  runner: DiagnoseCommandRunner,
  o: NodeCollectorOptions,
): Promise<NodeFacts['ovnController']> {
  const pid = (await readFile(o.ovnControllerPidfile, 'utf8').catch(() => '')).trim();
  if (!pid) return { running: false, detail: `no pidfile ${o.ovnControllerPidfile}` };
  const ctl = path.join(path.dirname(o.ovnControllerPidfile), `ovn-controller.${pid}.ctl`);
  const r = await runner.run('ovn-appctl', ['-T', '5', '-t', ctl, 'connection-status'], { timeoutMs: 10_000 });
  if (r.code !== 0)
    return { running: false, detail: `pid ${pid} does not answer: ${(r.stderr || r.stdout).trim().split('\n')[0]}` };
  const status = r.stdout.trim();
  return { running: true, connected: status === 'connected', detail: `SB ${status}` };
}

/** `tcp,nw_dst=A,tp_dst=P` (or tcp6/ipv6_dst) for a VIP key and protocol: the OpenFlow match of its LB flows. */
export function vipFlowMatch(vip: string, protocol: string): string {
  const six = vip.startsWith('[');
  const ip = six ? vip.slice(1, vip.indexOf(']')) : vip.slice(0, vip.lastIndexOf(':'));
  const port = vip.slice(vip.lastIndexOf(':') + 1);
  if (!/^[0-9a-fA-F:.]+$/.test(ip) || !/^\d+$/.test(port) || !['tcp', 'udp', 'sctp'].includes(protocol)) {
    throw new Error(`bad VIP ${vip}/${protocol}`);
  }
  return six ? `${protocol}6,ipv6_dst=${ip},tp_dst=${port}` : `${protocol},nw_dst=${ip},tp_dst=${port}`;
}

/** Group ids the flows of `ovs-ofctl dump-flows` send to. Pure. */
export function groupIdsOfFlows(text: string): number[] {
  return [...new Set([...text.matchAll(/group:(\d+)/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}

/**
 * What the node agent sees of its node: ovn-controller, br-int, and OpenFlow groups with bucket counters. With
 * `vips` (`ip:port/protocol`), only the groups their load-balancing flows use (a few lookups instead of a dump of
 * every group: the cost does not grow with the number of Services); without, every group (for metrics).
 */
export async function collectNode(
  runner: DiagnoseCommandRunner,
  o: NodeCollectorOptions,
  vips?: string[],
): Promise<NodeFacts> {
  const mgmt = `unix:${path.join(o.ovsRundir, `${o.bridge}.mgmt`)}`;
  const ofctl = (...args: string[]) =>
    runner.run('ovs-ofctl', ['-O', 'OpenFlow15', '--timeout=5', ...args], { timeoutMs: 10_000 });
  const controller = ovnController(runner, o);
  let ids: number[] | undefined;
  if (vips) {
    ids = [];
    for (const v of vips) {
      const [key, protocol] = v.split('/');
      const flows = await ofctl('dump-flows', mgmt, vipFlowMatch(key, protocol ?? 'tcp'));
      if (flows.code !== 0) return unreachable(o, await controller, flows);
      ids.push(...groupIdsOfFlows(flows.stdout));
    }
    ids = [...new Set(ids)];
  }
  // OVS 3.1's ovs-ofctl takes a bare id for dump-groups but `group_id=N` for dump-group-stats.
  const one = async (id?: number) => {
    const [desc, stats] = await Promise.all([
      ofctl('dump-groups', mgmt, ...(id === undefined ? [] : [String(id)])),
      ofctl('dump-group-stats', mgmt, ...(id === undefined ? [] : [`group_id=${id}`])),
    ]);
    return { desc, stats };
  };
  const dumps = ids ? await Promise.all(ids.map((id) => one(id))) : [await one()];
  const failed = dumps.find((d) => d.desc.code !== 0);
  if (failed) return unreachable(o, await controller, failed.desc);
  const facts: NodeFacts = {
    node: o.node,
    ovnController: await controller,
    datapath: { reachable: true, detail: `${o.bridge} answers` },
    groups: dumps.flatMap((d) => addGroupStats(parseGroups(d.desc.stdout), d.stats.code === 0 ? d.stats.stdout : '')),
  };
  if (vips && o.mode && OFFLOAD_MODES.includes(o.mode)) {
    facts.offload = await collectOffload(
      runner,
      { mode: o.mode, ovsDb: o.ovsDb, vswitchdCtl: o.vswitchdCtl },
      vips,
    ).catch((e: Error) => ({ unavailable: e.message }));
  }
  return facts;
}

function unreachable(
  o: NodeCollectorOptions,
  controller: NodeFacts['ovnController'],
  r: { code: number; stdout: string; stderr: string },
): NodeFacts {
  const detail = (r.stderr || r.stdout).trim().split('\n')[0] || `exit ${r.code}`;
  return { node: o.node, ovnController: controller, datapath: { reachable: false, detail }, groups: [] };
}
