import { parseIpAddress, type IpFamily, type ParsedIp } from '@ycloud/api';
import type { NodeReplyRouteContext } from './node-reply-routes';

/** A node as Service translation needs it: where its chassis is and which addresses take NodePort traffic. */
export interface ServiceNode {
  /** Kubernetes Node name, matched against EndpointSlice `endpoints[].nodeName`. */
  name: string;
  /** OVN chassis name (the node's OVS system-id); defaults to `name`. Keys its Chassis_Template_Var row. */
  chassis?: string;
  /** Addresses that NodePort VIPs listen on (typically the InternalIPs); either family. */
  addresses: string[];
  /** The node's `topology.kubernetes.io/zone` label: EndpointSlice zone hints are matched against it. */
  zone?: string;
  /**
   * The node's own addresses in the VPC's join subnet (ycloud0), one per family: where replies to its NodePort
   * clients go back.
   */
  joinAddresses?: string[];
}

/** Everything translateService needs besides the Service and its EndpointSlices. */
export interface ServiceTranslationContext {
  /** The VPC the Service's namespace belongs to. */
  vpc: string;
  /** Key of that VPC's Load_Balancer_Group row, or how to derive it (the topology translator's `lbGroupKey`). */
  lbGroupKey: string | ((vpc: string) => string);
  /** Families the VPC serves; VIPs of another family are skipped with a warning. Default both. */
  ipFamilies?: IpFamily[];
  /**
   * Offload-friendly hashing: set `selection_fields` to ip_src, ip_dst, tp_src, tp_dst so OVS selects buckets
   * with the `hash` method (which TC offload can handle) instead of `dp_hash` (which it cannot).
   */
  offloadSelectionFields?: boolean;
  /** Nodes for NodePort VIPs and for Local traffic policies. Order does not matter. */
  nodes?: ServiceNode[];
  /**
   * Only for the VPC the nodes' ycloud0 ports are in: where to route the replies of Local NodePorts that keep the
   * client address back to their node (see nodeReplyRoutes). Absent: no such routes.
   */
  nodeReplyRoutes?: NodeReplyRouteContext;
}

export function resolveLbGroupKey(ctx: ServiceTranslationContext): string {
  return typeof ctx.lbGroupKey === 'function' ? ctx.lbGroupKey(ctx.vpc) : ctx.lbGroupKey;
}

/** A node's join addresses, parsed (unusable ones skipped: they come from the controller's own annotation). */
export function parsedJoinAddresses(node: ServiceNode): ParsedIp[] {
  return (node.joinAddresses ?? []).map((a) => parseIpAddress(a)).filter((a): a is ParsedIp => !!a);
}
