import { OWNER_KINDS, Subnet, formatIp, macFromIp } from '@ycloud/api';
import { DesiredRow, Owner, ref } from '@ycloud/ovn';
import { keys, names } from './keys';
import { TranslateResult, failed } from '../translation-issue';
import { SubnetContext, SubnetModel, families, gatewayNetworks, validateSubnet } from './subnet-model';

/**
 * A Subnet → its Logical_Switch (`other_config:subnet`/`exclude_ips` for IPv4, the VPC's LB group), and the
 * router port pair joining it to the VPC router: a Logical_Router_Port with the gateway addresses and a
 * router-type Logical_Switch_Port. The router port's MAC is derived from the gateway address, so it is stable.
 * Cross-object problems (missing Vpc, overlapping CIDR in the VPC) fail the whole Subnet.
 */
export function translateSubnet(subnet: Subnet, ctx: SubnetContext): TranslateResult {
  const { model, errors } = validateSubnet(subnet, ctx);
  if (!model) return failed(errors);
  return {
    ok: true,
    state: { owner: { kind: OWNER_KINDS.Subnet, name: model.name }, rows: subnetRows(model), memberships: [] },
    warnings: [],
  };
}

function subnetRows(m: SubnetModel): DesiredRow[] {
  const owner: Owner = { kind: OWNER_KINDS.Subnet, name: m.name };
  const otherConfig: Record<string, string> = {};
  if (m.v4) {
    otherConfig.subnet = m.v4.cidr.text;
    const v4Excludes = m.excludes
      .filter((r) => r.family === 4)
      .map((r) =>
        r.start === r.end
          ? formatIp({ family: 4, value: r.start })
          : `${formatIp({ family: 4, value: r.start })}..${formatIp({ family: 4, value: r.end })}`,
      );
    if (v4Excludes.length) otherConfig.exclude_ips = v4Excludes.join(' ');
  }
  const lrpName = names.subnetLrp(m.name);
  const gatewayIp = formatIp(families(m)[0].gateway);
  return [
    {
      table: 'Logical_Switch',
      key: keys.subnetSwitch(m.name),
      owner,
      columns: {
        name: names.subnetSwitch(m.name),
        other_config: otherConfig,
        load_balancer_group: [ref('Load_Balancer_Group', keys.lbGroup(m.vpc))],
      },
    },
    {
      table: 'Logical_Router_Port',
      key: keys.subnetLrp(m.name),
      owner,
      parent: { table: 'Logical_Router', key: keys.vpcRouter(m.vpc), column: 'ports' },
      columns: { name: lrpName, mac: macFromIp(gatewayIp), networks: gatewayNetworks(m) },
    },
    {
      table: 'Logical_Switch_Port',
      key: keys.subnetRouterLsp(m.name),
      owner,
      parent: { table: 'Logical_Switch', key: keys.subnetSwitch(m.name), column: 'ports' },
      columns: {
        name: names.subnetRouterLsp(m.name),
        type: 'router',
        addresses: ['router'],
        options: { 'router-port': lrpName },
      },
    },
  ];
}
