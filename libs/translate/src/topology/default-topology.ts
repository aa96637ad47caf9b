import {
  API_VERSION,
  BUILTIN_LABEL,
  OWNER_KINDS,
  BuiltinSubnetConfig,
  ControllerConfig,
  EipPool,
  Subnet,
  Vpc,
  formatIp,
  parseCidr,
} from '@ycloud/api';
import { DesiredState } from '@ycloud/ovn';
import { TranslationIssue, TranslateResult } from '../translation-issue';
import { translateSubnet } from './subnet.translator';
import { translateVpc, translateVpcGateway } from './vpc.translator';

/**
 * The default VPC and its two subnets (pods, join) as custom objects, from the controller config. The
 * controller may create them in the apiserver (so users see them) or translate them directly.
 */
export function defaultTopologyObjects(config: ControllerConfig): { vpc: Vpc; subnets: Subnet[] } {
  const vpc: Vpc = {
    apiVersion: API_VERSION,
    kind: 'Vpc',
    metadata: { name: config.defaultVpc, labels: { [BUILTIN_LABEL]: 'true' } },
    spec: config.eip.defaultPool ? { externalGateway: { eipPool: config.eip.defaultPool } } : {},
  };
  const subnet = (c: BuiltinSubnetConfig, role: 'pod' | 'join'): Subnet => ({
    apiVersion: API_VERSION,
    kind: 'Subnet',
    metadata: { name: c.name, labels: { [BUILTIN_LABEL]: 'true' } },
    spec: {
      vpc: config.defaultVpc,
      cidrBlocks: c.cidrBlocks,
      ...(c.gateways ? { gateways: c.gateways } : {}),
      ...(c.excludeIps ? { excludeIps: c.excludeIps } : {}),
      role,
    },
  });
  return { vpc, subnets: [subnet(config.defaultSubnet, 'pod'), subnet(config.joinSubnet, 'join')] };
}

/** Owner of the default VPC's external gateway rows (its router belongs to `Vpc/<defaultVpc>`, the config's). */
/** Owner kind of the default VPC's gateway rows. */
export const DEFAULT_VPC_GATEWAY_KIND = OWNER_KINDS.VpcGateway;

/**
 * The default VPC's address on the EIP transit switches: the last host of `eip.transitCIDR`. Derived rather than
 * stored because the default VPC has no object whose status could keep it; stable across restarts by construction.
 * Vpc resources get the lowest free addresses, so they reach it only when the transit range is full (the allocator
 * reserves it for the default VPC; a Vpc restored from an older status that holds it keeps it, and the default
 * VPC then reports the conflict).
 */
export function defaultVpcTransitAddress(config: Pick<ControllerConfig, 'eip'>): string | undefined {
  const cidr = parseCidr(config.eip.transitCIDR);
  if (!cidr || cidr.family !== 4 || cidr.last - cidr.network < 3n) return undefined;
  return formatIp({ family: 4, value: cidr.last - 1n });
}

/**
 * Desired state of the default topology: router `vpc-<defaultVpc>` with its LB group, switch
 * `subnet-<defaultSubnet>` and `subnet-<joinSubnet>`, both attached to the router. The router's external gateway
 * (when `eip.defaultPool` is set) is not part of it: see translateDefaultVpcGateway.
 */
export function translateDefaultTopology(
  config: ControllerConfig,
): { ok: true; states: DesiredState[]; warnings: TranslationIssue[] } | { ok: false; errors: TranslationIssue[] } {
  const { vpc, subnets } = defaultTopologyObjects(config);
  const routerOnly: Vpc = { ...vpc, spec: { ...vpc.spec, externalGateway: undefined } };
  const results = [
    translateVpc(routerOnly, { transitCIDR: config.eip.transitCIDR }),
    ...subnets.map((s) => translateSubnet(s, { vpcs: [vpc], subnets })),
  ];
  const errors = results.flatMap((r) => (r.ok ? [] : r.errors));
  if (errors.length) return { ok: false, errors };
  const ok = results.filter((r): r is Extract<typeof r, { ok: true }> => r.ok);
  return { ok: true, states: ok.map((r) => r.state), warnings: ok.flatMap((r) => r.warnings) };
}

/**
 * The default VPC's external gateway towards `eip.defaultPool`, exactly as a Vpc resource naming that pool gets it
 * (gateway port + Gateway_Chassis following the pool's active node, transit switch port, default route), owned by
 * `VpcGateway/<defaultVpc>`. No pool configured: no rows (so a config change removes them).
 */
export function translateDefaultVpcGateway(
  config: ControllerConfig,
  ctx: { eipPools: EipPool[]; transitAddress?: string },
): TranslateResult {
  const vpc = defaultVpcWithStatus(config, ctx.transitAddress);
  const owner = { kind: DEFAULT_VPC_GATEWAY_KIND, name: config.defaultVpc };
  return translateVpcGateway(vpc, { eipPools: ctx.eipPools, transitCIDR: config.eip.transitCIDR }, owner);
}

/** The default Vpc object with the transit address in its status (what a Vpc resource would carry). */
export function defaultVpcWithStatus(config: ControllerConfig, transitAddress?: string): Vpc {
  const { vpc } = defaultTopologyObjects(config);
  return transitAddress && vpc.spec.externalGateway ? { ...vpc, status: { transitAddress } } : vpc;
}
