import { SbLogicalFlowFact, SouthboundFacts } from '../facts';
import { DiagnoseCommandRunner } from './command';
import { WireRow, decodeRows, setOf } from './ovsdb-json';

export interface SouthboundQuery {
  /** `ip:port` VIPs whose load-balancing flows to report. */
  vips: string[];
  /** Logical ports whose Port_Binding to report. */
  ports: string[];
}

/** The one read-only transaction diagnose sends to OVN Southbound. */
export function southboundTransaction(q: SouthboundQuery): unknown[] {
  return [
    'OVN_Southbound',
    { op: 'select', table: 'SB_Global', where: [], columns: ['nb_cfg'] },
    {
      op: 'select',
      table: 'Logical_Flow',
      where: [['external_ids', 'includes', ['map', [['stage-name', 'ls_in_lb']]]]],
      columns: ['logical_datapath', 'logical_dp_group', 'match', 'actions'],
    },
    { op: 'select', table: 'Logical_DP_Group', where: [], columns: ['_uuid', 'datapaths'] },
    { op: 'select', table: 'Datapath_Binding', where: [], columns: ['_uuid', 'external_ids'] },
    { op: 'select', table: 'Chassis', where: [], columns: ['_uuid', 'name', 'hostname'] },
    { op: 'select', table: 'Chassis_Private', where: [], columns: ['name', 'nb_cfg'] },
    ...q.ports.map((p) => ({
      op: 'select',
      table: 'Port_Binding',
      where: [['logical_port', '==', p]],
      columns: ['logical_port', 'chassis', 'up', 'type'],
    })),
    // Router load balancers (the EIP's, on the VPC router's gateway port): few, unlike the switches' ls_in_lb.
    {
      op: 'select',
      table: 'Logical_Flow',
      where: [['external_ids', 'includes', ['map', [['stage-name', 'lr_in_dnat']]]]],
      columns: ['logical_datapath', 'logical_dp_group', 'match', 'actions'],
    },
  ];
}

/** `ip4.dst == A && tcp.dst == P` (or ip6 / udp / sctp) -> `A:P` / `[A]:P`; the bare address without a port. */
export function vipOfMatch(match: string): string | undefined {
  const ip = /\bip([46])\.dst == ([0-9a-fA-F:.]+)/.exec(match);
  if (!ip) return undefined;
  const port = /\b(?:tcp|udp|sctp)\.dst == (\d+)/.exec(match);
  const addr = ip[1] === '6' ? `[${ip[2]}]` : ip[2];
  return port ? `${addr}:${port[1]}` : ip[2];
}

/** Turns the transaction's results into facts; only flows of the asked VIPs are kept. Pure. */
export function southboundFacts(results: unknown[], q: SouthboundQuery): SouthboundFacts {
  const rows = (i: number): WireRow[] => decodeRows(((results[i] as { rows?: unknown[] })?.rows ?? []) as unknown[]);
  const [global, flows, dpGroups, datapaths, chassis, privates] = [0, 1, 2, 3, 4, 5].map(rows);
  const dpName = new Map(
    datapaths.map((d) => {
      const ids = (d.external_ids ?? {}) as Record<string, string>;
      return [String(d._uuid), ids.name ?? ids['name2'] ?? String(d._uuid)];
    }),
  );
  const groupDps = new Map(dpGroups.map((g) => [String(g._uuid), setOf(g.datapaths)]));
  const wanted = new Set(q.vips);
  const lflows: SbLogicalFlowFact[] = [];
  const routerFlows = rows(6 + q.ports.length);
  for (const [stage, list] of [
    ['ls_in_lb', flows],
    ['lr_in_dnat', routerFlows],
  ] as const) {
    for (const f of list) {
      const vip = vipOfMatch(String(f.match));
      if (!vip || !wanted.has(vip)) continue;
      // Only load-balancing flows (a NAT row's DNAT in lr_in_dnat names the address too).
      if (stage === 'lr_in_dnat' && !/ct_lb/.test(String(f.actions))) continue;
      const dps = [...setOf(f.logical_datapath), ...setOf(f.logical_dp_group).flatMap((g) => groupDps.get(g) ?? [])];
      lflows.push({ vip, stage, datapaths: dps.map((d) => dpName.get(d) ?? d).sort(), actions: String(f.actions) });
    }
  }
  const chassisName = new Map(chassis.map((c) => [String(c._uuid), String(c.name)]));
  const nbCfgOf = new Map(privates.map((p) => [String(p.name), Number(p.nb_cfg)]));
  const portBindings = q.ports.flatMap((_, i) =>
    rows(6 + i).map((pb) => ({
      logicalPort: String(pb.logical_port),
      chassis: setOf(pb.chassis).map((u) => chassisName.get(u) ?? u)[0],
      up: setOf(pb.up)[0] === undefined ? undefined : setOf(pb.up)[0] === 'true',
      ...(pb.type ? { type: String(pb.type) } : {}),
    })),
  );
  return {
    nbCfg: Number(global[0]?.nb_cfg ?? 0),
    lflows,
    portBindings,
    chassis: chassis.map((c) => ({
      name: String(c.name),
      hostname: c.hostname === undefined ? undefined : String(c.hostname),
      nbCfg: nbCfgOf.get(String(c.name)),
    })),
  };
}

/** Reads the Southbound facts with `ovsdb-client transact` against `remote` (read-only selects). */
export async function collectSouthbound(
  runner: DiagnoseCommandRunner,
  remote: string,
  q: SouthboundQuery,
): Promise<SouthboundFacts> {
  const r = await runner.run(
    'ovsdb-client',
    ['--timeout=20', 'transact', remote, JSON.stringify(southboundTransaction(q))],
    {
      timeoutMs: 30_000,
    },
  );
  if (r.code !== 0) throw new Error(`ovsdb-client transact ${remote}: ${r.stderr.trim() || `exit ${r.code}`}`);
  const results = JSON.parse(r.stdout) as unknown[];
  const err = results.find((x) => x && typeof x === 'object' && 'error' in (x as object)) as
    { error: string; details?: string } | undefined;
  if (err) throw new Error(`Southbound: ${err.error}${err.details ? `: ${err.details}` : ''}`);
  return southboundFacts(results, q);
}
