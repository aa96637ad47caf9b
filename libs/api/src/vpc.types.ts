import { CommonStatus, CustomObject } from './common.types';

export const VPC_KIND = 'Vpc';
export const VPC_PLURAL = 'vpcs';

/** A static route on the VPC's logical router. */
export interface VpcStaticRoute {
  /** Destination prefix, e.g. `192.168.0.0/16` or `0.0.0.0/0`. */
  cidr: string;
  /** Next hop address, of the same family as `cidr`. */
  nextHop: string;
  /** `dst-ip` (default) routes on the destination, `src-ip` on the source. */
  policy?: 'dst-ip' | 'src-ip';
}

/** North-south attachment of a VPC: the EipPool whose gateway router carries its external traffic. */
export interface VpcExternalGateway {
  /** EipPool name. Every Eip bound to a Service of this VPC must come from this pool. */
  eipPool: string;
}

export interface VpcSpec {
  /** Namespaces whose pods and Services belong to this VPC (Subnets narrow it further). */
  namespaces?: string[];
  /** Extra static routes on the VPC router. */
  staticRoutes?: VpcStaticRoute[];
  /** CIDRs YusurService ClusterIPs of this VPC are allocated from. */
  serviceCIDRs?: string[];
  /** Where north-south (EIP) traffic leaves the VPC; absent: the VPC has no external access. */
  externalGateway?: VpcExternalGateway;
}

export interface VpcStatus extends CommonStatus {
  /** Name of the OVN Logical_Router, `vpc-<name>`. */
  router?: string;
  /** Names of the Subnets attached to this VPC. */
  subnets?: string[];
  /** Address of the VPC router's gateway port on its EipPool's transit switch (set by the controller). */
  transitAddress?: string;
}

export type Vpc = CustomObject<typeof VPC_KIND, VpcSpec, VpcStatus>;
