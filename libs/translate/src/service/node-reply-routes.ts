import { EXTERNAL_IDS, OWNER_KINDS, formatIp, parseCidr, type IpFamily, type ParsedIp } from '@ycloud/api';
import type { DesiredRow, Owner } from '@ycloud/ovn';
import { hostPort } from '../lb/address';
import { vpcRouterKey } from '../topology/keys';
import { selectBackends } from '../lb/load-balancer.builder';
import type { LbBackend, LbProtocol } from '../lb/load-balancer.model';
import { cmp } from '../lb/order';

/**
 * Priority of the reply routes among the VPC router's Logical_Router_Policy rows (OVN evaluates higher numbers
 * first): above NODE_REPLY_OUTSIDE_DROP_PRIORITY, below NODE_REPLY_INSIDE_ALLOW_PRIORITY.
 */
export const NODE_REPLY_ROUTE_PRIORITY = 1000;

/**
 * Priority of the reply gateway's `allow` policies for destinations inside the VPC: above every reply route, so a
 * Local endpoint's replies to pods, the join subnet (nodes' ycloud0) and the VPC's other Subnets are routed as
 * usual. One positive match per family instead of a `!=` clause in each reply route, which OVN expands into a
 * cross-product of per-bit flows (docs/adr/0012).
 */
export const NODE_REPLY_INSIDE_ALLOW_PRIORITY = NODE_REPLY_ROUTE_PRIORITY + 1;

/**
 * Priority of the reply gateway's drop policies (nodeReplyGateway): below every reply route, so only packets no
 * reply route took are dropped.
 */
export const NODE_REPLY_OUTSIDE_DROP_PRIORITY = 100;

/** Where a VPC's node-reply routes go and what stays inside it. */
export interface NodeReplyRouteContext {
  /** Key of the VPC's Logical_Router (the node ports' join subnet is attached to it). */
  router: string;
  /** The VPC's own CIDRs (its Subnets, the join subnet among them): replies to these are routed as usual. */
  vpcCidrs: string[];
  /**
   * Present when the VPC has no IPv4 default route of its own (no `eip.defaultPool`): the next hop of the reply
   * gateway's IPv4 catch-all route (nodeReplyGateway), the broadcast address of the VPC's IPv4 join subnet, which
   * no node port ever has.
   */
  ipv4SinkHop?: string;
  /**
   * Present when the VPC's join subnet has an IPv6 range: the next hop of the reply gateway's `::/0` route, the
   * range's first address (the Subnet-Router anycast address, which IPAM never allocates).
   */
  ipv6SinkHop?: string;
}

/**
 * Where `vpc` routes Local replies back to nodes, or undefined when it does not: only the default VPC (the nodes'
 * ycloud0 ports are in its join subnet). Its IPv4 default route, when it has one (`eip.defaultPool`: the EIP
 * gateway's), lets IPv4 replies reach their policies (OVN routes before it applies policies); without one, and for
 * IPv6 always, nodeReplyGateway gives a route only the reply routes use (docs/adr/0011, 0012). The controller and
 * the preview (`ycloud translate`) both decide through this.
 */
export function nodeReplyRouteContextOf(
  vpc: string,
  opts: {
    defaultVpc: string;
    /** The VPC has an IPv4 default route of its own (`eip.defaultPool`: the EIP gateway's). */
    ownIpv4DefaultRoute: boolean;
    cidrsOf: (vpc: string) => string[];
    /** The CIDRs of the VPC's join Subnet (role `join`). */
    joinCidrsOf: (vpc: string) => string[];
  },
): NodeReplyRouteContext | undefined {
  if (vpc !== opts.defaultVpc) return undefined;
  const joins = opts.joinCidrsOf(vpc).map((c) => parseCidr(c));
  const join4 = joins.find((c) => c?.family === 4);
  const join6 = joins.find((c) => c?.family === 6);
  return {
    router: vpcRouterKey(vpc),
    vpcCidrs: opts.cidrsOf(vpc),
    ...(!opts.ownIpv4DefaultRoute && join4 ? { ipv4SinkHop: formatIp({ family: 4, value: join4.last }) } : {}),
    ...(join6 ? { ipv6SinkHop: formatIp({ family: 6, value: join6.network }) } : {}),
  };
}

/** One NodePort (or externalIP) of a Service that keeps the client address: its protocol and candidate backends. */
export interface ClientKeepingNodePort {
  protocol: LbProtocol;
  backends: LbBackend[];
  /** The families whose node rules keep the client address (a NodePort: both; externalIPs: their own). */
  families: IpFamily[];
}

/** Key of the reply route of one endpoint (`ip:port`, IPv6 `[ip]:port`) of a Service. */
export function nodeReplyRouteKey(namespace: string, name: string, protocol: LbProtocol, endpoint: string): string {
  return `lrp:Service:${namespace}/${name}:${protocol}:${endpoint}`;
}

const isV6 = (cidr: string): boolean => cidr.includes(':');
const insideOf = (ctx: NodeReplyRouteContext, family: IpFamily): string[] =>
  ctx.vpcCidrs.filter((c) => isV6(c) === (family === 6)).sort(cmp);

/**
 * Pure: the routes that take a Local endpoint's replies back to the node whose NodePort DNATed the connection
 * without masquerading (docs/adr/0005, IPv6: docs/adr/0011). The node's host DNATs `<node address>:<nodePort>`
 * straight to a local endpoint and sends it into OVN through ycloud0 with the client's own source address; the
 * endpoint's reply to that address would follow the VPC router's routes (to the EIP gateway, or nowhere), never
 * reaching the host whose conntrack must undo the DNAT. So per endpoint: a reroute policy matching its address and
 * port as source, to its node's join address of the endpoint's family; destinations inside the VPC are let through
 * above it by the reply gateway's `allow` policies (nodeReplyGateway). OVN
 * applies policies after routing, so the client's address still needs a route for the policy to be reached: the
 * VPC's own default route (`eip.defaultPool`, IPv4) or nodeReplyGateway's sink routes.
 */
export function nodeReplyRoutes(
  owner: Owner,
  service: { namespace: string; name: string },
  ports: ClientKeepingNodePort[],
  nodes: Array<{ name: string; joinAddresses: ParsedIp[] }>,
  ctx: NodeReplyRouteContext,
): DesiredRow[] {
  const rows = new Map<string, DesiredRow>();
  for (const family of [4, 6] as const) {
    const ip = family === 4 ? 'ip4' : 'ip6';
    for (const node of nodes) {
      const join = node.joinAddresses.find((a) => a.family === family);
      if (!join) continue;
      for (const port of ports) {
        if (!port.families.includes(family)) continue;
        for (const ep of selectBackends(port.backends, family, node.name)) {
          const key = nodeReplyRouteKey(service.namespace, service.name, port.protocol, hostPort(ep.ip, ep.port));
          rows.set(key, {
            table: 'Logical_Router_Policy',
            key,
            owner,
            parent: { table: 'Logical_Router', key: ctx.router, column: 'policies' },
            columns: {
              priority: NODE_REPLY_ROUTE_PRIORITY,
              match: `${ip}.src == ${ep.ip.address} && ${port.protocol}.src == ${ep.port}`,
              action: 'reroute',
              nexthops: [join.address],
              external_ids: {
                [EXTERNAL_IDS.protocol]: port.protocol,
                [EXTERNAL_IDS.service]: `${service.namespace}/${service.name}`,
              },
            },
          });
        }
      }
    }
  }
  return [...rows.values()].sort((a, b) => cmp(a.key, b.key));
}

/** Owner of a VPC's reply gateway rows (nodeReplyGateway): `NodeReplyGateway/<vpc>`. */
export function nodeReplyGatewayOwner(vpc: string): Owner {
  return { kind: OWNER_KINDS.NodeReplyGateway, name: vpc };
}

/** Keys of the reply gateway's rows. */
export const nodeReplyGatewayKeys = {
  route: (vpc: string, family: IpFamily) => `vpc/${vpc}/node-reply/ipv${family}-route`,
  drop: (vpc: string, family: IpFamily) => `vpc/${vpc}/node-reply/ipv${family}-sink-drop`,
  insideAllow: (vpc: string, family: IpFamily) => `vpc/${vpc}/node-reply/ipv${family}-inside-allow`,
};

/**
 * Pure: what lets reply routes be reached at all where the VPC has no route outwards of its own, and what keeps
 * them off traffic that stays inside the VPC. OVN routes (lr_in_ip_routing) before it applies policies
 * (lr_in_policy) and drops a packet no route takes, so a reply to an outside client never reached its reroute
 * policy.
 *
 * Per family, a catch-all route to a sink hop, an address no port has, and below every reply route a policy
 * dropping what that route took (the next hop routing chose, `reg0` for IPv4, `xxreg0` for IPv6, is the sink hop):
 * every longer route (the Subnets, the nodes' host routes, a Vpc's own static routes) still wins in routing and is
 * not matched by the drop, so nothing needs excluding, and pods' own traffic to the outside stays dropped, one stage
 * later. IPv6 (docs/adr/0011; a VPC has no IPv6 route outwards, the EIP gateway is IPv4): `::/0` to the join
 * range's Subnet-Router anycast address, when the join subnet has an IPv6 range. IPv4 (docs/adr/0012), only
 * without a default route of the VPC's own (`ctx.ipv4SinkHop`): `0.0.0.0/0` to the join range's broadcast address.
 *
 * And per family with CIDRs in the VPC, above every reply route, an `allow` for destinations inside the VPC (its
 * Subnets, the join subnet among them): replies to pods and nodes' ycloud0 are never rerouted.
 */
export function nodeReplyGateway(vpc: string, ctx: NodeReplyRouteContext): DesiredRow[] {
  const owner = nodeReplyGatewayOwner(vpc);
  const parent = (column: string) => ({ table: 'Logical_Router', key: ctx.router, column });
  const externalIds = { [EXTERNAL_IDS.vpc]: vpc };
  const policy = (key: string, priority: number, match: string, action: 'drop' | 'allow'): DesiredRow => ({
    table: 'Logical_Router_Policy',
    key,
    owner,
    parent: parent('policies'),
    columns: { priority, match, action, nexthops: [], external_ids: externalIds },
  });
  // Per family: the catch-all prefix, the register routing leaves the chosen next hop in, and the sink hop.
  const sinks = [
    { family: 6, prefix: '::/0', nexthopReg: 'xxreg0', hop: ctx.ipv6SinkHop },
    { family: 4, prefix: '0.0.0.0/0', nexthopReg: 'reg0', hop: ctx.ipv4SinkHop },
  ] as const;
  const rows: DesiredRow[] = [];
  for (const { family, prefix, nexthopReg, hop } of sinks) {
    if (!hop) continue;
    rows.push(
      {
        table: 'Logical_Router_Static_Route',
        key: nodeReplyGatewayKeys.route(vpc, family),
        owner,
        parent: parent('static_routes'),
        columns: { ip_prefix: prefix, nexthop: hop, policy: 'dst-ip', output_port: [], external_ids: externalIds },
      },
      policy(
        nodeReplyGatewayKeys.drop(vpc, family),
        NODE_REPLY_OUTSIDE_DROP_PRIORITY,
        `ip${family} && ${nexthopReg} == ${hop}`,
        'drop',
      ),
    );
  }
  for (const family of [4, 6] as const) {
    const inside = insideOf(ctx, family);
    if (!inside.length) continue;
    const match = `${family === 4 ? 'ip4' : 'ip6'}.dst == {${inside.join(', ')}}`;
    rows.push(policy(nodeReplyGatewayKeys.insideAllow(vpc, family), NODE_REPLY_INSIDE_ALLOW_PRIORITY, match, 'allow'));
  }
  return rows;
}
