import {
  OWNER_KINDS,
  EipPool,
  Vpc,
  cidrContains,
  firstHost,
  formatIp,
  macFromIp,
  parseCidr,
  parseIp,
} from '@ycloud/api';
import { DesiredRow, DesiredState, Owner } from '@ycloud/ovn';
import { keys, names } from './keys';
import { TranslationIssue, TranslateResult, failed } from '../translation-issue';

/** What Vpc translation needs besides the Vpc. */
export interface VpcContext {
  /** EipPools of the cluster (only the one named by spec.externalGateway is used). */
  eipPools?: EipPool[];
  /** Controller config `eip.transitCIDR`. */
  transitCIDR: string;
}

/** The node that hosts a pool's gateway router now: status.activeGatewayNode, else the first candidate. */
export function activeGatewayNode(pool: EipPool): string | undefined {
  const active = pool.status?.activeGatewayNode;
  return active && pool.spec.gatewayNodes.includes(active) ? active : pool.spec.gatewayNodes[0];
}

/** Validates what a Vpc says on its own. */
export function validateVpc(vpc: Vpc): TranslationIssue[] {
  const errors: TranslationIssue[] = [];
  (vpc.spec.staticRoutes ?? []).forEach((r, i) => {
    const cidr = parseCidr(r.cidr);
    const hop = parseIp(r.nextHop);
    if (!cidr)
      errors.push({
        reason: 'InvalidRoute',
        field: `spec.staticRoutes[${i}].cidr`,
        message: `${r.cidr} is not a CIDR`,
      });
    if (!hop)
      errors.push({
        reason: 'InvalidRoute',
        field: `spec.staticRoutes[${i}].nextHop`,
        message: `${r.nextHop} is not an IP`,
      });
    if (cidr && hop && cidr.family !== hop.family) {
      errors.push({
        reason: 'InvalidRoute',
        field: `spec.staticRoutes[${i}]`,
        message: `${r.cidr} and next hop ${r.nextHop} differ in family`,
      });
    }
  });
  (vpc.spec.serviceCIDRs ?? []).forEach((c, i) => {
    if (!parseCidr(c, true))
      errors.push({
        reason: 'InvalidCidr',
        field: `spec.serviceCIDRs[${i}]`,
        message: `${c} is not a CIDR with host bits zero`,
      });
  });
  return errors;
}

/**
 * A Vpc → its distributed Logical_Router `vpc-<name>`, its Load_Balancer_Group (every Subnet switch of the VPC
 * references it), its static routes and, when it has an external gateway, the one distributed gateway port
 * towards the EipPool's transit switch (one Gateway_Chassis: the pool's active gateway node) plus the
 * default route to the pool's gateway router. See docs/adr/0001-eip-gateway.md.
 */
export function translateVpc(vpc: Vpc, ctx: VpcContext): TranslateResult {
  const errors = validateVpc(vpc);
  if (errors.length) return failed(errors);
  const name = vpc.metadata.name;
  const owner: Owner = { kind: OWNER_KINDS.Vpc, name };
  const routerParent = { table: 'Logical_Router', key: keys.vpcRouter(name), column: 'static_routes' };
  const rows: DesiredRow[] = [
    { table: 'Logical_Router', key: keys.vpcRouter(name), owner, columns: { name: names.vpcRouter(name) } },
    { table: 'Load_Balancer_Group', key: keys.lbGroup(name), owner, columns: { name: names.lbGroup(name) } },
  ];
  for (const r of vpc.spec.staticRoutes ?? []) {
    const policy = r.policy ?? 'dst-ip';
    const prefix = parseCidr(r.cidr)!.text;
    rows.push({
      table: 'Logical_Router_Static_Route',
      key: keys.vpcRoute(name, policy, prefix),
      owner,
      parent: routerParent,
      columns: { ip_prefix: prefix, nexthop: formatIp(parseIp(r.nextHop)!), policy, output_port: [] },
    });
  }
  const warnings: TranslationIssue[] = [];
  const gw = vpc.spec.externalGateway;
  if (gw) {
    const ext = externalGatewayRows(vpc, gw.eipPool, ctx, owner);
    if ('warning' in ext) warnings.push(ext.warning);
    else rows.push(...ext.rows);
  }
  const state: DesiredState = { owner, rows, memberships: [] };
  return { ok: true, state, warnings };
}

/**
 * Only the external gateway part of a Vpc (gateway port, Gateway_Chassis, transit switch port, default route), under
 * `owner`: for the default VPC, whose router and LB group belong to the config-driven default topology while its
 * gateway follows the EipPool objects (one owner per row). The Vpc needs spec.externalGateway and
 * status.transitAddress; what is missing is a warning and no rows, as for a Vpc resource.
 */
export function translateVpcGateway(vpc: Vpc, ctx: VpcContext, owner: Owner): TranslateResult {
  const gw = vpc.spec.externalGateway;
  const state: DesiredState = { owner, rows: [], memberships: [] };
  if (!gw) return { ok: true, state, warnings: [] };
  const ext = externalGatewayRows(vpc, gw.eipPool, ctx, owner);
  if ('warning' in ext) return { ok: true, state, warnings: [ext.warning] };
  return { ok: true, state: { ...state, rows: ext.rows }, warnings: [] };
}

function externalGatewayRows(
  vpc: Vpc,
  poolName: string,
  ctx: VpcContext,
  owner: Owner,
): { rows: DesiredRow[] } | { warning: TranslationIssue } {
  const name = vpc.metadata.name;
  const field = 'spec.externalGateway.eipPool';
  const pool = ctx.eipPools?.find((p) => p.metadata.name === poolName);
  if (!pool) return { warning: { reason: 'EipPoolNotFound', field, message: `EipPool ${poolName} does not exist` } };
  const transit = parseCidr(ctx.transitCIDR);
  const addr = vpc.status?.transitAddress ? parseIp(vpc.status.transitAddress) : undefined;
  if (!transit || !addr) {
    return { warning: { reason: 'TransitAddressPending', field, message: 'no transit address allocated yet' } };
  }
  if (!cidrContains(transit, addr) || addr.value === firstHost(transit).value) {
    return {
      warning: {
        reason: 'InvalidTransitAddress',
        field: 'status.transitAddress',
        message: `${formatIp(addr)} is not a free address of ${transit.text}`,
      },
    };
  }
  // Only the active node: the pool's gateway router is pinned there and moves with the pool's status, so the gateway
  // port must follow it, not fail over on its own. With every candidate listed, a node coming back claimed the port
  // for a moment (its BFD to the higher-priority node not up yet) and dropped EIP traffic
  // (test/e2e/eip-failover.test.ts).
  const active = activeGatewayNode(pool);
  const nodes = active ? [active] : [];
  const lrpKey = keys.vpcTransitLrp(name);
  const lrpName = names.vpcTransitLrp(name, poolName);
  const ip = formatIp(addr);
  const rows: DesiredRow[] = [
    {
      table: 'Logical_Router_Port',
      key: lrpKey,
      owner,
      parent: { table: 'Logical_Router', key: keys.vpcRouter(name), column: 'ports' },
      columns: { name: lrpName, mac: macFromIp(ip), networks: [`${ip}/${transit.prefix}`] },
    },
    ...nodes.map((node, i): DesiredRow => ({
      table: 'Gateway_Chassis',
      key: keys.vpcGatewayChassis(name, node),
      owner,
      parent: { table: 'Logical_Router_Port', key: lrpKey, column: 'gateway_chassis' },
      columns: { name: names.vpcGatewayChassis(name, poolName, node), chassis_name: node, priority: nodes.length - i },
    })),
    {
      table: 'Logical_Switch_Port',
      key: keys.vpcTransitLsp(name),
      owner,
      parent: { table: 'Logical_Switch', key: keys.poolTransitSwitch(poolName), column: 'ports' },
      columns: {
        name: names.vpcTransitLsp(name, poolName),
        type: 'router',
        addresses: ['router'],
        options: { 'router-port': lrpName },
      },
    },
  ];
  const userDefault = (vpc.spec.staticRoutes ?? []).some(
    (r) => (r.policy ?? 'dst-ip') === 'dst-ip' && parseCidr(r.cidr)?.text === '0.0.0.0/0',
  );
  if (!userDefault) {
    rows.push({
      table: 'Logical_Router_Static_Route',
      key: keys.vpcDefaultRoute(name),
      owner,
      parent: { table: 'Logical_Router', key: keys.vpcRouter(name), column: 'static_routes' },
      columns: {
        ip_prefix: '0.0.0.0/0',
        nexthop: formatIp(firstHost(transit)),
        policy: 'dst-ip',
        output_port: lrpName,
      },
    });
  }
  return { rows };
}
