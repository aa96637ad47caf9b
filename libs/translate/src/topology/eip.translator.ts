import {
  OWNER_KINDS,
  Eip,
  EipPool,
  Vpc,
  cidrContains,
  firstHost,
  formatIp,
  macFromIp,
  parseCidr,
  parseIp,
} from '@ycloud/api';
import { DesiredRow, Owner } from '@ycloud/ovn';
import { keys, names } from './keys';
import { TranslationIssue, TranslateResult, failed } from '../translation-issue';
import { activeGatewayNode } from './vpc.translator';

/** What EipPool/Eip translation needs: the other objects and controller config `eip.transitCIDR`. */
export interface EipContext {
  vpcs: Vpc[];
  eips: Eip[];
  eipPools: EipPool[];
  transitCIDR: string;
  /**
   * EIPs served by a YusurService's service-gateway (several backend VPCs, docs/adr/0004-service-gateway.md): the
   * YusurService owns their route; the pool only answers ARP for them, and their Eip objects translate to nothing.
   */
  serviceGatewayEips?: Array<{ pool: string; address: string }>;
}

/**
 * Where an Eip's traffic goes: its address and the transit address of its VPC router, when everything is in place
 * (address allocated, bound service resolved to a Vpc whose external gateway is this pool, transit address set).
 */
export function eipRoute(
  eip: Eip,
  ctx: Pick<EipContext, 'vpcs'>,
): { address: string; nextHop: string } | TranslationIssue {
  const address = eip.status?.address;
  const vpcName = eip.status?.vpc;
  if (!address) return { reason: 'AddressPending', message: 'no address allocated yet' };
  if (!vpcName) return { reason: 'BindingPending', message: 'not bound to a service in a Vpc yet' };
  const vpc = ctx.vpcs.find((v) => v.metadata.name === vpcName);
  if (!vpc) return { reason: 'VpcNotFound', field: 'status.vpc', message: `Vpc ${vpcName} does not exist` };
  if (vpc.spec.externalGateway?.eipPool !== eip.spec.pool) {
    return {
      reason: 'PoolNotVpcGateway',
      field: 'spec.pool',
      message: `Vpc ${vpcName} reaches the outside through EipPool ${vpc.spec.externalGateway?.eipPool ?? '(none)'}, not ${eip.spec.pool}`,
    };
  }
  if (!vpc.status?.transitAddress)
    return { reason: 'TransitAddressPending', message: `Vpc ${vpcName} has no transit address yet` };
  return { address, nextHop: vpc.status.transitAddress };
}

/** The gateway router's external address: spec.routerAddress, else the first host of the CIDR that is not the upstream gateway. */
export function defaultRouterAddress(pool: EipPool): string {
  const cidr = parseCidr(pool.spec.cidr)!;
  const first = firstHost(cidr);
  const gw = parseIp(pool.spec.gateway);
  return formatIp(gw && gw.value === first.value ? { family: first.family, value: first.value + 1n } : first);
}

function validatePool(pool: EipPool, transitCIDR: string): TranslationIssue[] {
  const errors: TranslationIssue[] = [];
  const cidr = parseCidr(pool.spec.cidr, true);
  if (!cidr || cidr.family !== 4)
    return [{ reason: 'InvalidCidr', field: 'spec.cidr', message: `${pool.spec.cidr} is not an IPv4 CIDR` }];
  for (const [field, text] of [
    ['spec.gateway', pool.spec.gateway],
    ['spec.routerAddress', pool.spec.routerAddress],
  ] as const) {
    const ip = text === undefined ? undefined : parseIp(text);
    if (text !== undefined && (!ip || !cidrContains(cidr, ip)))
      errors.push({ reason: 'InvalidAddress', field, message: `${text} is not inside ${cidr.text}` });
  }
  if (!parseCidr(transitCIDR))
    errors.push({ reason: 'InvalidConfig', message: `transit CIDR ${transitCIDR} is invalid` });
  if (!pool.spec.gatewayNodes.length)
    errors.push({ reason: 'NoGatewayNodes', field: 'spec.gatewayNodes', message: 'no gateway nodes' });
  return errors;
}

/**
 * An EipPool → external switch with a localnet port, the pool's gateway router pinned to the active gateway node
 * (`options:chassis`) with its port on the external network, the per-pool transit switch towards the VPC routers,
 * and the default route to the upstream gateway. The Eips themselves are rows of their own (translateEip). See
 * docs/adr/0001-eip-gateway.md.
 */
export function translateEipPool(pool: EipPool, ctx: EipContext): TranslateResult {
  const errors = validatePool(pool, ctx.transitCIDR);
  if (errors.length) return failed(errors);
  const p = pool.metadata.name;
  const owner: Owner = { kind: OWNER_KINDS.EipPool, name: p };
  const cidr = parseCidr(pool.spec.cidr)!;
  const transit = parseCidr(ctx.transitCIDR)!;
  const routerIp = pool.spec.routerAddress ?? defaultRouterAddress(pool);
  const transitIp = formatIp(firstHost(transit));
  const extLrp = names.poolRouterExternalLrp(p);
  const transitLrp = names.poolRouterTransitLrp(p);
  const lsp = (key: string, switchKey: string, name: string, columns: Record<string, unknown>): DesiredRow => ({
    table: 'Logical_Switch_Port',
    key,
    owner,
    parent: { table: 'Logical_Switch', key: switchKey, column: 'ports' },
    columns: { name, ...columns } as DesiredRow['columns'],
  });
  const routerPort = (key: string, name: string, ip: string, prefix: number): DesiredRow => ({
    table: 'Logical_Router_Port',
    key,
    owner,
    parent: { table: 'Logical_Router', key: keys.poolRouter(p), column: 'ports' },
    columns: { name, mac: macFromIp(ip), networks: [`${ip}/${prefix}`] },
  });
  const rows: DesiredRow[] = [
    { table: 'Logical_Switch', key: keys.poolExternalSwitch(p), owner, columns: { name: names.poolExternalSwitch(p) } },
    lsp(keys.poolLocalnet(p), keys.poolExternalSwitch(p), names.poolLocalnet(p), {
      type: 'localnet',
      addresses: ['unknown'],
      options: { network_name: pool.spec.networkName },
      tag: pool.spec.vlan ?? [],
    }),
    {
      table: 'Logical_Router',
      key: keys.poolRouter(p),
      owner,
      columns: { name: names.poolRouter(p), options: { chassis: activeGatewayNode(pool)! } },
    },
    routerPort(keys.poolRouterExternalLrp(p), extLrp, routerIp, cidr.prefix),
    lsp(keys.poolExternalRouterLsp(p), keys.poolExternalSwitch(p), names.poolExternalRouterLsp(p), {
      type: 'router',
      addresses: ['router'],
      options: { 'router-port': extLrp },
    }),
    { table: 'Logical_Switch', key: keys.poolTransitSwitch(p), owner, columns: { name: names.poolTransitSwitch(p) } },
    routerPort(keys.poolRouterTransitLrp(p), transitLrp, transitIp, transit.prefix),
    lsp(keys.poolTransitRouterLsp(p), keys.poolTransitSwitch(p), names.poolTransitRouterLsp(p), {
      type: 'router',
      addresses: ['router'],
      options: { 'router-port': transitLrp },
    }),
    {
      table: 'Logical_Router_Static_Route',
      key: keys.poolDefaultRoute(p),
      owner,
      parent: { table: 'Logical_Router', key: keys.poolRouter(p), column: 'static_routes' },
      columns: { ip_prefix: '0.0.0.0/0', nexthop: pool.spec.gateway, policy: 'dst-ip', output_port: extLrp },
    },
  ];
  // Service-gateway EIPs (their route belongs to the YusurService): the pool only makes its router answer ARP.
  const gatewayEips = [...new Set((ctx.serviceGatewayEips ?? []).filter((e) => e.pool === p).map((e) => e.address))];
  for (const address of gatewayEips.sort()) {
    rows.push({ key: keys.poolArpNat(p, address), owner, ...arpNat(p, address) });
  }
  return { ok: true, state: { owner, rows, memberships: [] }, warnings: [] };
}

/**
 * The identity NAT row (external_ip = logical_ip) that makes the pool's gateway router answer ARP for an EIP:
 * `arp_proxy` on the external switch cannot, because northd skips the switch ARP responder for requests entering
 * through the localnet port (verified in test/e2e/eip-datapath.test.ts). Nothing is translated, so it is stateless
 * (`dnat_and_snat`, `options:stateless`): a stateful identity `dnat` sent every EIP packet, both ways, through the
 * gateway router's conntrack for nothing. For service-gateway EIPs it also leaves the userspace datapath's
 * recirculations to the service-gateway's own LB and force-SNAT (ADR 0004).
 */
function arpNat(pool: string, address: string): Pick<DesiredRow, 'table' | 'parent' | 'columns'> {
  return {
    table: 'NAT',
    parent: { table: 'Logical_Router', key: keys.poolRouter(pool), column: 'nat' },
    columns: { type: 'dnat_and_snat', external_ip: address, logical_ip: address, options: { stateless: 'true' } },
  };
}

/**
 * An Eip → on its pool's gateway router, the /32 route towards the owning VPC router's gateway port and a stateless
 * identity NAT row (external_ip = logical_ip = the Eip). The NAT row translates nothing; it is there because a
 * gateway router answers ARP for NAT external addresses, including requests that enter through the localnet port
 * (northd skips the switch's ARP responder, and with it `arp_proxy`, for those). The load balancer with this
 * address goes on the VPC router (`vpcRouterKey`). Until the Eip is
 * allocated and bound it has no rows and a warning says what it waits for; a pool that is not the VPC's external
 * gateway is an error.
 */
export function translateEip(eip: Eip, ctx: EipContext): TranslateResult {
  const owner: Owner = { kind: OWNER_KINDS.Eip, name: eip.metadata.name };
  if (!ctx.eipPools.some((p) => p.metadata.name === eip.spec.pool)) {
    return failed([
      { reason: 'EipPoolNotFound', field: 'spec.pool', message: `EipPool ${eip.spec.pool} does not exist` },
    ]);
  }
  const address = eip.status?.address;
  if (address && ctx.serviceGatewayEips?.some((e) => e.pool === eip.spec.pool && e.address === address)) {
    // Served by a YusurService's service-gateway (ADR 0004): its route is the service's, its ARP row the pool's.
    return { ok: true, state: { owner, rows: [], memberships: [] }, warnings: [] };
  }
  const route = eipRoute(eip, ctx);
  if (!('address' in route)) {
    return route.reason === 'PoolNotVpcGateway' || route.reason === 'VpcNotFound'
      ? failed([route])
      : { ok: true, state: { owner, rows: [], memberships: [] }, warnings: [route] };
  }
  const routeRow: DesiredRow = {
    table: 'Logical_Router_Static_Route',
    key: keys.eipRoute(eip.metadata.name),
    owner,
    parent: { table: 'Logical_Router', key: keys.poolRouter(eip.spec.pool), column: 'static_routes' },
    columns: {
      ip_prefix: `${route.address}/32`,
      nexthop: route.nextHop,
      policy: 'dst-ip',
      output_port: names.poolRouterTransitLrp(eip.spec.pool),
    },
  };
  const nat: DesiredRow = {
    key: keys.eipNat(eip.metadata.name),
    owner,
    ...arpNat(eip.spec.pool, route.address),
  };
  return { ok: true, state: { owner, rows: [routeRow, nat], memberships: [] }, warnings: [] };
}
