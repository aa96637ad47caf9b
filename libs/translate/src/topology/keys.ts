/**
 * Row keys (external_ids `ycloud.io/key`) and OVN names of the topology rows. Keys are cluster-unique and
 * stable; other translators reference these rows through the exported functions only.
 */

/** Key of the VPC's Load_Balancer_Group: Service translation adds its LBs here (ClusterIP on every switch). */
export function lbGroupKey(vpcName: string): string {
  return `vpc/${vpcName}/lb-group`;
}

/** Key of the VPC's Logical_Router: EIP Service LBs are added to its `load_balancer` column. */
export function vpcRouterKey(vpcName: string): string {
  return `vpc/${vpcName}/router`;
}

/** Key of a Subnet's Logical_Switch: parent of pod ports. */
export function subnetSwitchKey(subnetName: string): string {
  return `subnet/${subnetName}/switch`;
}

export const keys = {
  vpcRouter: vpcRouterKey,
  lbGroup: lbGroupKey,
  vpcRoute: (vpc: string, policy: string, cidr: string) => `vpc/${vpc}/route/${policy}/${cidr}`,
  vpcTransitLrp: (vpc: string) => `vpc/${vpc}/transit-lrp`,
  vpcTransitLsp: (vpc: string) => `vpc/${vpc}/transit-lsp`,
  vpcGatewayChassis: (vpc: string, node: string) => `vpc/${vpc}/gateway-chassis/${node}`,
  vpcDefaultRoute: (vpc: string) => `vpc/${vpc}/default-route`,
  subnetSwitch: subnetSwitchKey,
  subnetLrp: (subnet: string) => `subnet/${subnet}/lrp`,
  subnetRouterLsp: (subnet: string) => `subnet/${subnet}/router-lsp`,
  podPort: (namespace: string, name: string) => `pod/${namespace}/${name}`,
  nodePort: (node: string) => `node/${node}/port`,
  nodeHostRoute: (node: string, address: string) => `node/${node}/host-route/${address}`,
  poolExternalSwitch: (pool: string) => `eip-pool/${pool}/external-switch`,
  poolLocalnet: (pool: string) => `eip-pool/${pool}/localnet`,
  poolRouter: (pool: string) => `eip-pool/${pool}/router`,
  poolRouterExternalLrp: (pool: string) => `eip-pool/${pool}/router-external-lrp`,
  poolExternalRouterLsp: (pool: string) => `eip-pool/${pool}/external-router-lsp`,
  poolTransitSwitch: (pool: string) => `eip-pool/${pool}/transit-switch`,
  poolRouterTransitLrp: (pool: string) => `eip-pool/${pool}/router-transit-lrp`,
  poolTransitRouterLsp: (pool: string) => `eip-pool/${pool}/transit-router-lsp`,
  poolDefaultRoute: (pool: string) => `eip-pool/${pool}/default-route`,
  eipRoute: (eip: string) => `eip/${eip}/route`,
  eipNat: (eip: string) => `eip/${eip}/nat`,
  poolArpNat: (pool: string, address: string) => `eip-pool/${pool}/arp-nat/${address}`,
};

/** OVN `name` columns. Prefixes keep the families apart (LSP and LRP names are unique per table). */
export const names = {
  vpcRouter: (vpc: string) => `vpc-${vpc}`,
  lbGroup: (vpc: string) => `vpc-${vpc}-lbs`,
  subnetSwitch: (subnet: string) => `subnet-${subnet}`,
  subnetLrp: (subnet: string) => `router-to-subnet-${subnet}`,
  subnetRouterLsp: (subnet: string) => `subnet-${subnet}-to-router`,
  /** Pod port: namespaces have no dots, so `pod.<ns>.<name>` is unambiguous. */
  podPort: (namespace: string, name: string) => `pod.${namespace}.${name}`,
  nodePort: (node: string) => `node.${node}`,
  vpcTransitLrp: (vpc: string, pool: string) => `vpc-${vpc}-to-eip-${pool}`,
  vpcTransitLsp: (vpc: string, pool: string) => `eip-${pool}-transit-to-vpc-${vpc}`,
  vpcGatewayChassis: (vpc: string, pool: string, node: string) => `vpc-${vpc}-to-eip-${pool}-${node}`,
  poolExternalSwitch: (pool: string) => `eip-${pool}-external`,
  poolLocalnet: (pool: string) => `eip-${pool}-localnet`,
  poolRouter: (pool: string) => `eip-${pool}-gw`,
  poolRouterExternalLrp: (pool: string) => `eip-${pool}-gw-to-external`,
  poolExternalRouterLsp: (pool: string) => `eip-${pool}-external-to-gw`,
  poolTransitSwitch: (pool: string) => `eip-${pool}-transit`,
  poolRouterTransitLrp: (pool: string) => `eip-${pool}-gw-to-transit`,
  poolTransitRouterLsp: (pool: string) => `eip-${pool}-transit-to-gw`,
};
