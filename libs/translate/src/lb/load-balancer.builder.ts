import {
  ownerMapKeyPrefix,
  ref,
  type DesiredMapEntries,
  type DesiredMembership,
  type DesiredRow,
  type Owner,
} from '@ycloud/ovn';
import { chassisTemplateVarKey } from '../service/naming';
import { compareIp, type IpFamily } from '@ycloud/api';
import { compareIpPort, hostPort, type IpPort } from './address';
import { OFFLOAD_SELECTION_FIELDS } from './lb-options';
import type { LbBackend, LbFrontend, LbNode, LbProtocol, LoadBalancerSpec, VipScope } from './load-balancer.model';
import { cmp, sortKeys } from './order';

/** One VIP as built, so callers can find VIPs by scope and address. */
export interface BuiltVip {
  /** Key of the Load_Balancer row holding it. */
  lb: string;
  /** The `vips` map key, e.g. `10.96.0.10:80`, `[fd00::10]:80`, or `^YC_..._VIP4_0:80` on a template LB. */
  vip: string;
  /** The address (for a template VIP, the value its variable takes on every chassis). */
  address: string;
  port: number;
  protocol: LbProtocol;
  scope: VipScope;
  /** On a per-chassis template LB: its backends differ per chassis (node-local, hinted, or own host via join). */
  local: boolean;
}

/** The rows, attachments and per-chassis variables of a set of LoadBalancerSpecs. */
export interface BuiltLoadBalancers {
  /** Load_Balancer rows, sorted by key. */
  rows: DesiredRow[];
  /** One per switch group / VPC router, in the order the specs first name them; members sorted by key. */
  memberships: DesiredMembership[];
  /** Chassis_Template_Var entries of per-chassis LBs, one per chassis, sorted. */
  mapEntries: DesiredMapEntries[];
  /** Sorted by LB key, then VIP. */
  vips: BuiltVip[];
}

/** A VIP the builder left out, for the source to report against its own object. */
export interface LbBuildIssue {
  reason: string;
  message: string;
}

/**
 * The backends that serve a frontend: healthy ready ones, or when none is ready the serving-and-terminating ones
 * (so connections drain instead of failing during a rollout, as kube-proxy does). `node` restricts the choice to
 * one node's backends, with the fallback applied per node. Deduplicated and sorted.
 */
export function selectBackends(backends: LbBackend[], family: IpFamily, node?: string): IpPort[] {
  const candidates = backends.filter(
    (b) => b.address.family === family && b.healthy !== false && (node === undefined || b.node === node),
  );
  let chosen = candidates.filter((b) => b.ready);
  if (chosen.length === 0) chosen = candidates.filter((b) => b.serving && b.terminating);
  const unique = new Map<string, IpPort>();
  for (const b of chosen) unique.set(hostPort(b.address, b.port), { ip: b.address, port: b.port });
  return [...unique.values()].sort(compareIpPort);
}

/**
 * The backends of a `topology` frontend on one node, as kube-proxy picks its cluster endpoints
 * (pkg/proxy/topology.go): among the ready backends, if every one has node hints and some name this node, those;
 * else if every one has zone hints and some name the node's zone, those; else all of them. No ready backend: the
 * serving-and-terminating fallback of selectBackends, hints not applied.
 */
export function selectTopologyBackends(backends: LbBackend[], family: IpFamily, node: LbNode): IpPort[] {
  const ready = backends.filter((b) => b.address.family === family && b.healthy !== false && b.ready);
  if (ready.length === 0) return selectBackends(backends, family);
  const allNode = ready.every((b) => (b.hints?.nodes.length ?? 0) > 0);
  const allZone = ready.every((b) => (b.hints?.zones.length ?? 0) > 0);
  const forNode = ready.filter((b) => b.hints?.nodes.includes(node.name));
  const forZone = node.zone ? ready.filter((b) => b.hints?.zones.includes(node.zone!)) : [];
  const chosen = allNode && forNode.length ? forNode : allZone && forZone.length ? forZone : ready;
  return selectBackends(chosen, family);
}

/**
 * The backends as `node`'s chassis balances them: a backend on the node's own host network (its address is one of
 * the node's own) becomes the node's join address of its family, same port. The node's host sends Service traffic
 * into OVN from that join address (ycloud0); balanced to the node's own address, OVN would hand the packet back to
 * the node with the node's own join address as source, which Linux drops as a martian. To the join address it is
 * OVN's hairpin case instead (source equals backend): OVN rewrites the source to the VIP and sends it back through
 * the port it came from, and the reply goes back the same way. Pods on the node reach the endpoint at its join
 * address. Without a join address of the family, unchanged. Deduplicated and sorted.
 */
export function ownHostBackendsViaJoin(backends: IpPort[], node: LbNode): IpPort[] {
  const own = new Set((node.addresses ?? []).map((a) => a.address));
  const unique = new Map<string, IpPort>();
  for (const b of backends) {
    const join = own.has(b.ip.address) ? node.joinAddresses?.find((j) => j.family === b.ip.family) : undefined;
    const chosen = join ? { ip: join, port: b.port } : b;
    unique.set(hostPort(chosen.ip, chosen.port), chosen);
  }
  return [...unique.values()].sort(compareIpPort);
}

/** A Load_Balancer.vips value: `ip:port,ip:port`. */
export function formatBackends(backends: IpPort[]): string {
  return backends.map((b) => hostPort(b.ip, b.port)).join(',');
}

function optionsColumn(spec: LoadBalancerSpec, extra: Record<string, string> = {}): Record<string, string> {
  const { options } = spec;
  const columns: Record<string, string> = { ...extra };
  if (options.reject) columns.reject = 'true';
  if (options.affinityTimeout !== undefined) columns.affinity_timeout = String(options.affinityTimeout);
  // A connectionless client (DNS) keeps its 5-tuple, so its conntrack entry would keep it on a removed backend
  // until the entry idles out; kube-proxy deletes such entries for UDP and SCTP, OVN 23.03.1 does it with
  // ct_flush. Not for TCP: a backend leaving the set (not ready) keeps its established connections, as with
  // kube-proxy, and a TCP client whose backend is gone is reset anyway.
  if (spec.protocol !== 'tcp') columns.ct_flush = 'true';
  return sortKeys(columns);
}

function selectionFieldsOf(spec: LoadBalancerSpec): string[] {
  // On a service-gateway, selection_fields are required, not an offload nicety: the dp_hash select group costs one
  // more recirculation, and the EIP path (pool gateway NAT, LB, force SNAT) on one chassis would then exceed the
  // userspace datapath's limit of 6 and drop every first SYN (ADR 0004).
  if (spec.attachment.kind === 'service-gateway' && spec.options.selectionFields.length === 0) {
    return [...OFFLOAD_SELECTION_FIELDS];
  }
  return spec.options.selectionFields;
}

/** The record of one VIP a spec's row holds; `local` on a per-chassis template LB. */
function builtVip(spec: LoadBalancerSpec, f: LbFrontend, vip: string, local: boolean): BuiltVip {
  return {
    lb: spec.key,
    vip,
    address: f.address.address,
    port: f.port,
    protocol: spec.protocol,
    scope: f.scope,
    local,
  };
}

/** The Load_Balancer row of a spec, given its `vips` (in row order) and `options` columns. */
function loadBalancerRow(
  owner: Owner,
  spec: LoadBalancerSpec,
  vips: Record<string, string>,
  options: Record<string, string>,
): DesiredRow {
  return {
    table: 'Load_Balancer',
    key: spec.key,
    owner,
    columns: {
      name: spec.name,
      protocol: spec.protocol,
      vips,
      options,
      selection_fields: selectionFieldsOf(spec),
      external_ids: sortKeys(spec.externalIds),
    },
  };
}

/** A literal LB: every VIP maps to its backends directly. The first frontend of an address and port wins. */
function literalRow(
  owner: Owner,
  spec: LoadBalancerSpec,
  vipsOut: BuiltVip[],
  warn: (issue: LbBuildIssue) => void,
): DesiredRow | undefined {
  const chosen: Array<[LbFrontend, string]> = [];
  const seen = new Map<string, VipScope>();
  for (const f of spec.frontends) {
    const vip = hostPort(f.address, f.port);
    const earlier = seen.get(vip);
    if (earlier) {
      // The same address and port twice (an external IP equal to a node address, say). Node VIPs repeat by design
      // when nodes share an address, so only other clashes are worth a warning.
      if (earlier !== f.scope || f.scope !== 'node') {
        warn({
          reason: 'DuplicateVip',
          message: `${spec.protocol} VIP ${vip} (${f.scope}) is already a ${earlier} VIP; ignored`,
        });
      }
      continue;
    }
    seen.set(vip, f.scope);
    chosen.push([f, vip]);
    vipsOut.push(builtVip(spec, f, vip, false));
  }
  if (chosen.length === 0) return undefined;
  chosen.sort(([a], [b]) => compareIp(a.address, b.address) || a.port - b.port);
  const selected = chosen.map(([f]): IpPort[] =>
    f.topologyNode
      ? selectTopologyBackends(f.backends, f.address.family, f.topologyNode)
      : selectBackends(f.backends, f.address.family, f.backendNode),
  );
  const vips = Object.fromEntries(chosen.map(([, vip], i) => [vip, formatBackends(selected[i])]));
  // TCP only: kube-proxy keeps established TCP connections of an endpoint leaving the set, but deletes UDP and SCTP
  // conntrack entries toward it (ct_flush and the node agent do the same here, ADR 0010).
  if (spec.attachment.kind === 'vpc-router' && spec.protocol === 'tcp') {
    for (const [vip, backends] of Object.entries(
      drainVips(
        chosen.map(([f]) => f),
        selected.flat(),
      ),
    )) {
      if (!(vip in vips)) vips[vip] = backends;
    }
  }
  return loadBalancerRow(owner, spec, vips, optionsColumn(spec));
}

/**
 * The address of a VPC router LB's drain VIPs. OVN un-DNATs a reply leaving a router through its distributed
 * gateway port only when it comes from a backend listed on one of the router's LB VIPs (ovn-northd's
 * lr_out_undnat; a gateway router un-DNATs every reply instead). A backend taken out of a VIP (terminating, not
 * ready) would lose the replies of the connections it still has, and a connection caught by the flow change
 * itself never completes (docs/adr/0014; measured in docs/kube-proxy-parity.md). So such backends stay listed,
 * under a VIP at an address no packet carries: the router drops traffic to 0.0.0.0/8 in lr_in_ip_input, before
 * load balancing, and the VIP is in no router subnet, so nothing answers ARP for it.
 */
export const DRAIN_VIP_ADDRESS = '0.0.0.0';

/**
 * Pure: the drain VIPs of a VPC router LB (see DRAIN_VIP_ADDRESS): per frontend port, the IPv4 backends that are
 * listed but take no new connections on any VIP of the row (OVN adds no reply un-DNAT for IPv6 VIPs on these
 * routers). Empty when every listed backend is selected, as in a steady state.
 */
export function drainVips(frontends: LbFrontend[], selected: IpPort[]): Record<string, string> {
  // Un-DNAT flows match a backend's address and port whatever the VIP: one selected anywhere in the row is covered.
  const taken = new Set(selected.map((b) => hostPort(b.ip, b.port)));
  const byPort = new Map<number, Map<string, IpPort>>();
  for (const f of frontends) {
    if (f.address.family !== 4) continue;
    for (const b of f.backends) {
      const key = hostPort(b.address, b.port);
      if (b.address.family !== 4 || taken.has(key)) continue;
      let drained = byPort.get(f.port);
      if (!drained) byPort.set(f.port, (drained = new Map()));
      drained.set(key, { ip: b.address, port: b.port });
    }
  }
  return Object.fromEntries(
    [...byPort.entries()]
      .sort(([a], [b]) => a - b)
      .map(([port, drained]) => [
        `${DRAIN_VIP_ADDRESS}:${port}`,
        formatBackends([...drained.values()].sort(compareIpPort)),
      ]),
  );
}

/**
 * A template LB (options:template=true). Each VIP key is `^VIPVAR:port` and its backends `^BACKENDSVAR`; every
 * chassis's Chassis_Template_Var gives BACKENDSVAR only that node's backends (topology frontends: the node's
 * hinted ones; `hostNetworkBackends`: all of them), its own host-network backends at its join address
 * (ownHostBackendsViaJoin). See docs/adr/0002.
 */
function perChassisRow(
  owner: Owner,
  spec: LoadBalancerSpec & { perChassis: { family: 4 | 6 } },
  nodes: LbNode[],
  varsByChassis: Map<string, Record<string, string>>,
  vipsOut: BuiltVip[],
): DesiredRow | undefined {
  const { family } = spec.perChassis;
  const frontends = spec.frontends.filter((f) => f.address.family === family);
  if (frontends.length === 0) return undefined;
  const prefix = ownerMapKeyPrefix(owner);
  const distinct = [...new Map(frontends.map((f) => [f.address.address, f.address])).values()].sort(compareIp);
  const vipVar = new Map(distinct.map((ip, n) => [ip.address, `${prefix}VIP${family}_${n}`]));
  const vips: Record<string, string> = {};
  for (const f of frontends) {
    const addressVar = vipVar.get(f.address.address) as string;
    const vip = `^${addressVar}:${f.port}`;
    if (vip in vips) continue;
    // Topology frontends and ones with every backend choose differently from node-local ones on the same port:
    // their own variable.
    const kind = f.topology ? 'TOPO_' : f.hostNetworkBackends ? 'ALL_' : '';
    const backendsVar = `${prefix}${spec.protocol.toUpperCase()}${f.port}_${kind}BACKENDS${family}`;
    vips[vip] = `^${backendsVar}`;
    vipsOut.push(builtVip(spec, f, vip, true));
    for (const node of nodes) {
      let vars = varsByChassis.get(node.chassis);
      if (!vars) varsByChassis.set(node.chassis, (vars = {}));
      vars[addressVar] = f.address.address;
      const chosen = f.topology
        ? selectTopologyBackends(f.backends, family, node)
        : selectBackends(f.backends, family, f.hostNetworkBackends ? undefined : node.name);
      vars[backendsVar] = formatBackends(ownHostBackendsViaJoin(chosen, node));
    }
  }
  const options = optionsColumn(spec, { template: 'true', 'address-family': `ipv${family}` });
  return loadBalancerRow(owner, spec, sortKeys(vips), options);
}

/**
 * The one builder from LoadBalancerSpecs to Northbound rows: Load_Balancer rows (a spec without frontends gives
 * none), their membership in switch groups and VPC routers, and the per-chassis variables of template LBs. Pure:
 * the same specs give the same rows, byte for byte. `nodes` matter only for per-chassis specs.
 */
export function buildLoadBalancers(
  owner: Owner,
  specs: LoadBalancerSpec[],
  nodes: LbNode[] = [],
  warn: (issue: LbBuildIssue) => void = () => undefined,
): BuiltLoadBalancers {
  const rows: DesiredRow[] = [];
  const vips: BuiltVip[] = [];
  const varsByChassis = new Map<string, Record<string, string>>();
  const attached = new Map<string, { table: string; key: string; members: string[] }>();
  for (const spec of specs) {
    const row = spec.perChassis
      ? perChassisRow(owner, spec as LoadBalancerSpec & { perChassis: { family: 4 | 6 } }, nodes, varsByChassis, vips)
      : literalRow(owner, spec, vips, warn);
    if (!row) continue;
    rows.push(row);
    const a = spec.attachment;
    if (a.kind === 'service-gateway') continue;
    const table = a.kind === 'switch-group' ? 'Load_Balancer_Group' : 'Logical_Router';
    const id = `${table}\0${a.key}`;
    let entry = attached.get(id);
    if (!entry) attached.set(id, (entry = { table, key: a.key, members: [] }));
    entry.members.push(row.key);
  }
  rows.sort((a, b) => cmp(a.key, b.key));
  vips.sort((a, b) => cmp(a.lb, b.lb) || cmp(a.vip, b.vip));
  const memberships: DesiredMembership[] = [...attached.values()].map((m) => ({
    owner,
    table: m.table,
    key: m.key,
    column: 'load_balancer',
    members: m.members.sort(cmp).map((k) => ref('Load_Balancer', k)),
  }));
  const mapEntries: DesiredMapEntries[] = [...varsByChassis.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([chassis, entries]) => ({
      owner,
      table: 'Chassis_Template_Var',
      key: chassisTemplateVarKey(chassis),
      column: 'variables',
      entries: sortKeys(entries),
    }));
  return { rows, memberships, mapEntries, vips };
}
