import { API_VERSION, BuiltinSubnetConfig, ControllerConfig, EipPool, Subnet, Vpc } from '@ycloud/api';
import { DesiredState } from '@ycloud/ovn';
import { TranslateError } from './result';
import { translateSubnet } from './subnet.translator';
import { translateVpc } from './vpc.translator';

/** Label on objects the controller synthesises from its config. */
export const BUILTIN_LABEL = 'sdn.ycloud.io/builtin';

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

/**
 * Desired state of the default topology: router `vpc-<defaultVpc>` with its LB group, switch
 * `subnet-<defaultSubnet>` and `subnet-<joinSubnet>`, both attached to the router. `status` carries what the
 * controller keeps in the default Vpc's status (its transit address) when an EIP pool is configured.
 */
export function translateDefaultTopology(
  config: ControllerConfig,
  opts: { eipPools?: EipPool[]; vpcStatus?: Vpc['status'] } = {},
): { ok: true; states: DesiredState[]; warnings: TranslateError[] } | { ok: false; errors: TranslateError[] } {
  const { vpc, subnets } = defaultTopologyObjects(config);
  if (opts.vpcStatus) vpc.status = opts.vpcStatus;
  const results = [
    translateVpc(vpc, { eipPools: opts.eipPools, transitCIDR: config.eip.transitCIDR }),
    ...subnets.map((s) => translateSubnet(s, { vpcs: [vpc], subnets })),
  ];
  const errors = results.flatMap((r) => (r.ok ? [] : r.errors));
  if (errors.length) return { ok: false, errors };
  const ok = results.filter((r): r is Extract<typeof r, { ok: true }> => r.ok);
  return { ok: true, states: ok.map((r) => r.state), warnings: ok.flatMap((r) => r.warnings) };
}
