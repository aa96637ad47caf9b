import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { NodeFacts, OfGroupFact } from '../facts';
import { DiagnoseCommandRunner } from './command';

export interface NodeCollectorOptions {
  node: string;
  /** Open vSwitch run directory (holds `<bridge>.mgmt`). */
  ovsRundir: string;
  /** ovn-controller's pidfile; its control socket is `ovn-controller.<pid>.ctl` beside it. */
  ovnControllerPidfile: string;
  bridge: string;
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

/** What the node agent sees of its node: ovn-controller, br-int, and the OpenFlow groups with counters. */
export async function collectNode(runner: DiagnoseCommandRunner, o: NodeCollectorOptions): Promise<NodeFacts> {
  const mgmt = `unix:${path.join(o.ovsRundir, `${o.bridge}.mgmt`)}`;
  const [controller, groups, stats] = await Promise.all([
    ovnController(runner, o),
    runner.run('ovs-ofctl', ['-O', 'OpenFlow15', '--timeout=5', 'dump-groups', mgmt], { timeoutMs: 10_000 }),
    runner.run('ovs-ofctl', ['-O', 'OpenFlow15', '--timeout=5', 'dump-group-stats', mgmt], { timeoutMs: 10_000 }),
  ]);
  if (groups.code !== 0) {
    return {
      node: o.node,
      ovnController: controller,
      datapath: {
        reachable: false,
        detail: (groups.stderr || groups.stdout).trim().split('\n')[0] || `exit ${groups.code}`,
      },
      groups: [],
    };
  }
  return {
    node: o.node,
    ovnController: controller,
    datapath: { reachable: true, detail: `${o.bridge} answers` },
    groups: addGroupStats(parseGroups(groups.stdout), stats.code === 0 ? stats.stdout : ''),
  };
}
