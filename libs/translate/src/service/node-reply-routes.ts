import { EXTERNAL_IDS, type ParsedIp } from '@ycloud/api';
import type { DesiredRow, Owner } from '@ycloud/ovn';
import { selectBackends } from '../lb/load-balancer.builder';
import type { LbBackend, LbProtocol } from '../lb/load-balancer.model';
import { cmp } from '../lb/order';

/**
 * Priority of the reply routes among the VPC router's Logical_Router_Policy rows (ycloud writes no others; OVN
 * evaluates higher numbers first).
 */
export const NODE_REPLY_ROUTE_PRIORITY = 1000;

/** Where a VPC's node-reply routes go and what stays inside it. */
export interface NodeReplyRouteContext {
  /** Key of the VPC's Logical_Router (the node ports' join subnet is attached to it). */
  router: string;
  /** The VPC's own CIDRs (its Subnets, the join subnet among them): replies to these are routed as usual. */
  vpcCidrs: string[];
}

/** One NodePort of a Service that keeps the client address: its protocol and candidate backends. */
export interface ClientKeepingNodePort {
  protocol: LbProtocol;
  backends: LbBackend[];
}

/** Key of the reply route of one endpoint (`ip:port`) of a Service. */
export function nodeReplyRouteKey(namespace: string, name: string, protocol: LbProtocol, endpoint: string): string {
  return `lrp:Service:${namespace}/${name}:${protocol}:${endpoint}`;
}

/**
 * Pure: the routes that take a Local endpoint's replies back to the node whose NodePort DNATed the connection
 * without masquerading (docs/adr/0005). The node's host DNATs `<node address>:<nodePort>` straight to a local
 * endpoint and sends it into OVN through ycloud0 with the client's own source address; the endpoint's reply to
 * that address would follow the VPC router's routes (to the EIP gateway, or nowhere), never reaching the host
 * whose conntrack must undo the DNAT. So per endpoint: a reroute policy matching its address and port as source
 * and any destination outside the VPC, to its node's join address. IPv4 (the node rules are IPv4 only). OVN applies
 * policies after routing, so the client's address still needs a route (a VPC's default route) for the policy to
 * be reached.
 */
export function nodeReplyRoutes(
  owner: Owner,
  service: { namespace: string; name: string },
  ports: ClientKeepingNodePort[],
  nodes: Array<{ name: string; joinAddress?: ParsedIp }>,
  ctx: NodeReplyRouteContext,
): DesiredRow[] {
  const rows = new Map<string, DesiredRow>();
  const inside = ctx.vpcCidrs.filter((c) => !c.includes(':')).sort(cmp);
  for (const node of nodes) {
    const join = node.joinAddress;
    if (!join || join.family !== 4) continue;
    for (const port of ports) {
      for (const ep of selectBackends(port.backends, 4, node.name)) {
        const endpoint = `${ep.ip.address}:${ep.port}`;
        const key = nodeReplyRouteKey(service.namespace, service.name, port.protocol, endpoint);
        const outside = inside.length ? ` && ip4.dst != {${inside.join(', ')}}` : '';
        rows.set(key, {
          table: 'Logical_Router_Policy',
          key,
          owner,
          parent: { table: 'Logical_Router', key: ctx.router, column: 'policies' },
          columns: {
            priority: NODE_REPLY_ROUTE_PRIORITY,
            match: `ip4.src == ${ep.ip.address} && ${port.protocol}.src == ${ep.port}${outside}`,
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
  return [...rows.values()].sort((a, b) => cmp(a.key, b.key));
}
