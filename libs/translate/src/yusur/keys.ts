/**
 * Row keys and OVN names of what a YusurService owns. `svc` is `namespace/name`; OVN names use `namespace.name`
 * (namespaces and names have no dots in the first part, so the split is unambiguous).
 */
import type { LbProtocol } from '../lb/load-balancer.model';

const dotted = (svc: string): string => svc.replace('/', '.');

export const yusurKeys = {
  /** ClusterIP LB (in the VPC's Load_Balancer_Group): same shape as a Service's per-protocol LB. */
  clusterLb: (svc: string, protocol: LbProtocol) => `lb:YusurService:${svc}:${protocol}`,
  /** EIP LB: on the VPC router (one VPC) or on the service-gateway (several VPCs). */
  eipLb: (svc: string, protocol: LbProtocol) => `lb:YusurService:${svc}:${protocol}:eip`,
  gatewayRouter: (svc: string) => `yusur/${svc}/service-gateway`,
  eipLinkSwitch: (svc: string) => `yusur/${svc}/service-gateway/eip-link`,
  eipLinkGatewayLrp: (svc: string) => `yusur/${svc}/service-gateway/eip-link/gw-lrp`,
  eipLinkGatewayLsp: (svc: string) => `yusur/${svc}/service-gateway/eip-link/gw-lsp`,
  eipLinkPoolLrp: (svc: string) => `yusur/${svc}/service-gateway/eip-link/pool-lrp`,
  eipLinkPoolLsp: (svc: string) => `yusur/${svc}/service-gateway/eip-link/pool-lsp`,
  vpcLinkSwitch: (svc: string, vpc: string) => `yusur/${svc}/service-gateway/vpc-link/${vpc}`,
  vpcLinkGatewayLrp: (svc: string, vpc: string) => `yusur/${svc}/service-gateway/vpc-link/${vpc}/gw-lrp`,
  vpcLinkGatewayLsp: (svc: string, vpc: string) => `yusur/${svc}/service-gateway/vpc-link/${vpc}/gw-lsp`,
  vpcLinkVpcLrp: (svc: string, vpc: string) => `yusur/${svc}/service-gateway/vpc-link/${vpc}/vpc-lrp`,
  vpcLinkVpcLsp: (svc: string, vpc: string) => `yusur/${svc}/service-gateway/vpc-link/${vpc}/vpc-lsp`,
  defaultRoute: (svc: string) => `yusur/${svc}/service-gateway/default-route`,
  backendRoute: (svc: string, address: string) => `yusur/${svc}/service-gateway/route/${address}`,
  /** The EIP's /32 on the EipPool's gateway router, towards the service-gateway. */
  eipRoute: (svc: string, address: string) => `yusur/${svc}/eip-route/${address}`,
};

export const yusurNames = {
  clusterLb: (svc: string, protocol: LbProtocol) => `YusurService_${svc}_${protocol.toUpperCase()}`,
  eipLb: (svc: string, protocol: LbProtocol) => `YusurService_${svc}_${protocol.toUpperCase()}_eip`,
  gatewayRouter: (svc: string) => `svcgw-${dotted(svc)}`,
  eipLinkSwitch: (svc: string) => `svcgw-${dotted(svc)}-eip`,
  eipLinkGatewayLrp: (svc: string) => `svcgw-${dotted(svc)}-to-eip`,
  eipLinkGatewayLsp: (svc: string) => `svcgw-${dotted(svc)}-eip-to-svcgw`,
  eipLinkPoolLrp: (svc: string, pool: string) => `eip-${pool}-gw-to-svcgw-${dotted(svc)}`,
  eipLinkPoolLsp: (svc: string) => `svcgw-${dotted(svc)}-eip-to-pool`,
  vpcLinkSwitch: (svc: string, vpc: string) => `svcgw-${dotted(svc)}-vpc-${vpc}`,
  vpcLinkGatewayLrp: (svc: string, vpc: string) => `svcgw-${dotted(svc)}-to-vpc-${vpc}`,
  vpcLinkGatewayLsp: (svc: string, vpc: string) => `svcgw-${dotted(svc)}-vpc-${vpc}-to-svcgw`,
  vpcLinkVpcLrp: (svc: string, vpc: string) => `vpc-${vpc}-to-svcgw-${dotted(svc)}`,
  vpcLinkVpcLsp: (svc: string, vpc: string) => `svcgw-${dotted(svc)}-vpc-${vpc}-to-vpc`,
};
