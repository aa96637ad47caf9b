import { CommonStatus, CustomObject } from './common.types';

export const SUBNET_KIND = 'Subnet';
export const SUBNET_PLURAL = 'subnets';

/** `pod`: workload addresses; `join`: node addresses on the default VPC router (node ports, host access). */
export type SubnetRole = 'pod' | 'join';

export interface SubnetSpec {
  /** The Vpc this subnet belongs to. */
  vpc: string;
  /** One IPv4 and/or one IPv6 CIDR, e.g. `["10.16.0.0/16", "fd00:10:16::/64"]`. */
  cidrBlocks: string[];
  /** Gateway per family (the router port address); default: the first host of each CIDR. */
  gateways?: string[];
  /** Addresses never allocated: single IPs or `start..end` ranges. Network, gateway, broadcast always are. */
  excludeIps?: string[];
  /** Namespaces whose pods get addresses here. */
  namespaces?: string[];
  /** Default `pod`. */
  role?: SubnetRole;
  /** Interface MTU handed to pods; default from the controller config. */
  mtu?: number;
}

/** Address counts of one family. */
export interface AddressCounts {
  used: number;
  available: number;
}

export interface SubnetStatus extends CommonStatus {
  v4?: AddressCounts;
  v6?: AddressCounts;
  /** Name of the OVN Logical_Switch. */
  logicalSwitch?: string;
}

export type Subnet = CustomObject<typeof SUBNET_KIND, SubnetSpec, SubnetStatus>;
