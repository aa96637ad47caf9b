import { EXTERNAL_IDS, OWNER_KINDS } from '@ycloud/api';
import { OWNERSHIP } from '@ycloud/ovn';
import { names } from '@ycloud/translate/topology/keys';
import {
  DiagnoseTarget,
  NbEipPathFacts,
  NbGroupFact,
  NbLoadBalancerFact,
  NbNatFact,
  NbRouteFact,
  NorthboundFacts,
} from '../facts';

/** A row as the OVSDB cache holds it: sets are arrays, maps records, references uuid strings. */
export type NbRow = Record<string, unknown> & { _uuid: string };

/** Read access to the controller's replicated Northbound tables. */
export interface NbRowSource {
  rows(table: string): Iterable<NbRow>;
}

// external_ids keys ycloud writes; read here only, never written.
const { ownerKind: OWNER_KIND, owner: OWNER, key: KEY } = OWNERSHIP;
const VPC = EXTERNAL_IDS.vpc;

const arr = (v: unknown): string[] =>
  Array.isArray(v) ? (v as string[]) : v === undefined || v === '' ? [] : [String(v)];
const map = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};

/**
 * The Northbound facts of one target: its load balancers (owned, or holding one of `vips`), the groups holding
 * them and where those are attached, and every subnet switch of each VPC involved. One pass per table.
 */
export function collectNorthbound(
  src: NbRowSource,
  target: DiagnoseTarget,
  vips: string[],
  eip?: { address: string; pool: string; vpc: string },
): NorthboundFacts {
  const owner = `${target.namespace}/${target.name}`;
  const lbRows = [...src.rows('Load_Balancer')].filter((lb) => {
    const ids = map(lb.external_ids);
    if (ids[OWNER_KIND] === target.kind && ids[OWNER] === owner) return true;
    const keys = Object.keys(map(lb.vips));
    return vips.some((v) => keys.includes(v));
  });
  const lbIds = new Set(lbRows.map((r) => r._uuid));
  const groups = [...src.rows('Load_Balancer_Group')].filter((g) => arr(g.load_balancer).some((u) => lbIds.has(u)));
  const groupIds = new Map(groups.map((g) => [g._uuid, String(g.name)]));
  const switches = [...src.rows('Logical_Switch')];
  const routers = [...src.rows('Logical_Router')];

  const groupFacts: NbGroupFact[] = groups.map((g) => ({
    name: String(g.name),
    switches: switches.filter((s) => arr(s.load_balancer_group).includes(g._uuid)).map((s) => String(s.name)),
    routers: routers.filter((r) => arr(r.load_balancer_group).includes(g._uuid)).map((r) => String(r.name)),
  }));
  const loadBalancers: NbLoadBalancerFact[] = lbRows.map((lb) => {
    const ids = map(lb.external_ids);
    return {
      uuid: lb._uuid,
      name: String(lb.name ?? ''),
      protocol: arr(lb.protocol)[0],
      vips: map(lb.vips),
      options: map(lb.options),
      selectionFields: arr(lb.selection_fields),
      externalIds: ids,
      owned: ids[OWNER_KIND] === target.kind && ids[OWNER] === owner,
      groups: groups.filter((g) => arr(g.load_balancer).includes(lb._uuid)).map((g) => groupIds.get(g._uuid)!),
      switches: switches.filter((s) => arr(s.load_balancer).includes(lb._uuid)).map((s) => String(s.name)),
      routers: routers.filter((r) => arr(r.load_balancer).includes(lb._uuid)).map((r) => String(r.name)),
    };
  });

  const vpcs = new Set(loadBalancers.map((lb) => lb.externalIds[VPC]).filter(Boolean));
  const vpcSwitches: Record<string, string[]> = {};
  const routerMacs: Record<string, string> = {};
  if (vpcs.size) {
    const lrps = [...src.rows('Logical_Router_Port')];
    const lrpName = new Map(lrps.map((p) => [p._uuid, String(p.name)]));
    const lrpMac = new Map(lrps.map((p) => [String(p.name), String(p.mac ?? '')]));
    const routerPortsOfVpc = new Map<string, Set<string>>();
    for (const r of routers) {
      const key = map(r.external_ids)[KEY] ?? '';
      const m = /^vpc\/(.+)\/router$/.exec(key);
      if (m && vpcs.has(m[1])) routerPortsOfVpc.set(m[1], new Set(arr(r.ports).map((u) => lrpName.get(u) ?? '')));
    }
    const lspToRouterPort = new Map<string, string>();
    for (const p of src.rows('Logical_Switch_Port')) {
      if (p.type === 'router') lspToRouterPort.set(p._uuid, map(p.options)['router-port'] ?? '');
    }
    for (const [vpc, ports] of routerPortsOfVpc) {
      const members: string[] = [];
      for (const s of switches) {
        if (map(s.external_ids)[OWNER_KIND] !== OWNER_KINDS.Subnet) continue;
        const lrp = arr(s.ports)
          .map((u) => lspToRouterPort.get(u))
          .find((p) => p !== undefined && ports.has(p));
        if (lrp === undefined) continue;
        members.push(String(s.name));
        routerMacs[String(s.name)] = lrpMac.get(lrp) ?? '';
      }
      vpcSwitches[vpc] = members.sort();
    }
  }
  const facts: NorthboundFacts = { connected: true, loadBalancers, groups: groupFacts, vpcSwitches, routerMacs };
  if (eip) facts.eipPath = collectEipPath(src, eip);
  return facts;
}

/**
 * The rows an EIP's traffic crosses, found by the names ycloud gives them (`@ycloud/translate` topology names):
 * the pool's gateway router (chassis, ports, routes, NAT), its external and transit switches, and the VPC router's
 * gateway port with its Gateway_Chassis. Rows someone else made under those names are reported as they are.
 */
export function collectEipPath(src: NbRowSource, q: { address: string; pool: string; vpc: string }): NbEipPathFacts {
  const byUuid = (table: string) => new Map([...src.rows(table)].map((r) => [r._uuid, r]));
  const routers = [...src.rows('Logical_Router')];
  const switches = [...src.rows('Logical_Switch')];
  const lrps = byUuid('Logical_Router_Port');
  const lsps = byUuid('Logical_Switch_Port');
  const routes = byUuid('Logical_Router_Static_Route');
  const nats = byUuid('NAT');
  const gwChassis = byUuid('Gateway_Chassis');
  const routesOf = (r: NbRow): NbRouteFact[] =>
    arr(r.static_routes)
      .map((u) => routes.get(u))
      .filter((x): x is NbRow => !!x)
      .map((x) => ({
        prefix: String(x.ip_prefix),
        nexthop: String(x.nexthop),
        ...(arr(x.output_port)[0] ? { outputPort: arr(x.output_port)[0] } : {}),
      }));
  const portsOf = (r: NbRow, table: Map<string, NbRow>) =>
    arr(r.ports)
      .map((u) => table.get(u))
      .filter((x): x is NbRow => !!x);
  const out: NbEipPathFacts = { ...q };
  const poolRouter = routers.find((r) => r.name === names.poolRouter(q.pool));
  if (poolRouter) {
    out.poolRouter = {
      name: String(poolRouter.name),
      ...(map(poolRouter.options).chassis ? { chassis: map(poolRouter.options).chassis } : {}),
      ports: portsOf(poolRouter, lrps).map((p) => String(p.name)),
      routes: routesOf(poolRouter),
      nats: arr(poolRouter.nat)
        .map((u) => nats.get(u))
        .filter((x): x is NbRow => !!x)
        .map((n): NbNatFact => ({
          type: String(n.type),
          externalIp: String(n.external_ip),
          logicalIp: String(n.logical_ip),
          stateless: map(n.options).stateless === 'true',
        })),
    };
  }
  const ext = switches.find((s) => s.name === names.poolExternalSwitch(q.pool));
  if (ext) {
    const ports = portsOf(ext, lsps);
    const localnet = ports.find((p) => p.type === 'localnet');
    out.externalSwitch = {
      name: String(ext.name),
      ports: ports.map((p) => String(p.name)),
      ...(localnet ? { localnetNetwork: map(localnet.options).network_name ?? '' } : {}),
    };
  }
  const transit = switches.find((s) => s.name === names.poolTransitSwitch(q.pool));
  if (transit)
    out.transitSwitch = { name: String(transit.name), ports: portsOf(transit, lsps).map((p) => String(p.name)) };
  const vpcRouter = routers.find((r) => r.name === names.vpcRouter(q.vpc));
  if (vpcRouter) {
    const gw = portsOf(vpcRouter, lrps).find((p) => p.name === names.vpcTransitLrp(q.vpc, q.pool));
    out.vpcRouter = {
      name: String(vpcRouter.name),
      routes: routesOf(vpcRouter),
      ...(gw
        ? {
            gatewayPort: {
              name: String(gw.name),
              networks: arr(gw.networks),
              gatewayChassis: arr(gw.gateway_chassis)
                .map((u) => gwChassis.get(u))
                .filter((x): x is NbRow => !!x)
                .map((c) => ({ chassis: String(c.chassis_name), priority: Number(c.priority ?? 0) })),
            },
          }
        : {}),
    };
  }
  return out;
}
