import { CommonStatus, CustomObject } from './common.types';

export const EIP_POOL_KIND = 'EipPool';
export const EIP_POOL_PLURAL = 'eippools';

export interface EipPoolSpec {
  /** OVN localnet `network_name`; gateway nodes map it to a bridge via ovn-bridge-mappings. */
  networkName: string;
  /** The external network's CIDR (IPv4), e.g. `172.18.0.0/16`: prefix of the gateway router's port. */
  cidr: string;
  /** Allocatable addresses: CIDRs or `start-end` ranges inside `cidr`; default: all of `cidr`. */
  ranges?: string[];
  /** Upstream next hop on the external network (the default route of the gateway router). */
  gateway: string;
  /** The gateway router's own address on the external network; default: the first host of `cidr`. */
  routerAddress?: string;
  /** VLAN tag of the external network, if tagged. */
  vlan?: number;
  /** Nodes (= OVN chassis names) that may host this pool's gateway router, in order of preference. */
  gatewayNodes: string[];
}

export interface EipPoolStatus extends CommonStatus {
  used?: number;
  free?: number;
  /** The node whose chassis hosts the gateway router now (chosen by the controller among gatewayNodes). */
  activeGatewayNode?: string;
}

export type EipPool = CustomObject<typeof EIP_POOL_KIND, EipPoolSpec, EipPoolStatus>;
