import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import {
  CHASSIS_ANNOTATION,
  NODE_ALLOCATION_ANNOTATION,
  parseIpAllocationAnnotation,
  type IpFamily,
} from '@ycloud/api';
import type { DesiredState } from '@ycloud/ovn';
import { translateChassisTemplateVar } from './chassis-template-var.translator';
import { nodeReplyGateway, nodeReplyGatewayOwner, type NodeReplyRouteContext } from './node-reply-routes';
import type { ServiceNode } from './service-context';
import { translateService, type ServiceTranslation } from './service.translator';

/**
 * The adapters from Kubernetes objects to Service translation input. The controller backs ServiceInputs with its
 * informer caches; `ycloud translate` and the script tests back it with manifests. Both then take the same path
 * (translateServiceFrom, translateNodeChassis), so what the preview and its tests show is what the controller
 * writes.
 */

/**
 * A Node as Services see it: NodePort VIPs on its InternalIPs; its chassis is its name unless annotated; its join
 * addresses from the controller's `ycloud.io/node-allocation` (absent until allocated).
 */
export function serviceNodeOf(node: V1Node): ServiceNode {
  const name = node.metadata?.name ?? '';
  const alloc = parseIpAllocationAnnotation(node.metadata?.annotations?.[NODE_ALLOCATION_ANNOTATION]);
  const zone = node.metadata?.labels?.['topology.kubernetes.io/zone'];
  const joinAddresses = (alloc?.ips ?? []).map((ip) => ip.split('/')[0]);
  return {
    name,
    chassis: node.metadata?.annotations?.[CHASSIS_ANNOTATION] || name,
    addresses: (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
    ...(joinAddresses.length ? { joinAddresses } : {}),
    ...(zone ? { zone } : {}),
  };
}

/** What Service translation reads besides the Service itself. */
export interface ServiceInputs {
  /** The Service's EndpointSlices (others are ignored anyway: slices are matched by label). */
  endpointSlicesFor(namespace: string, name: string): V1EndpointSlice[];
  nodes(): V1Node[];
  vpcForNamespace(namespace: string): string;
  /** Families a VPC serves; undefined means both. */
  ipFamiliesOf?(vpc: string): IpFamily[] | undefined;
  /** Key of a VPC's Load_Balancer_Group row. */
  lbGroupKey: (vpc: string) => string;
  offloadSelectionFields?: boolean;
  /** Where a VPC's Local NodePort replies are routed back to their node; undefined for VPCs without node ports. */
  nodeReplyRoutesOf?(vpc: string): NodeReplyRouteContext | undefined;
}

/** One Service through the shared path: its VPC, slices and nodes from `inputs`, then translateService. */
export function translateServiceFrom(service: V1Service, inputs: ServiceInputs): ServiceTranslation {
  const namespace = service.metadata?.namespace ?? 'default';
  const vpc = inputs.vpcForNamespace(namespace);
  return translateService(service, inputs.endpointSlicesFor(namespace, service.metadata?.name ?? ''), {
    vpc,
    lbGroupKey: inputs.lbGroupKey,
    ipFamilies: inputs.ipFamiliesOf?.(vpc),
    offloadSelectionFields: inputs.offloadSelectionFields,
    nodes: inputs.nodes().map(serviceNodeOf),
    nodeReplyRoutes: inputs.nodeReplyRoutesOf?.(vpc),
  });
}

/** The Node's Chassis_Template_Var row, keyed by the chassis the Node names (where Services put its variables). */
export function translateNodeChassis(node: V1Node): DesiredState {
  return translateChassisTemplateVar(serviceNodeOf(node));
}

/**
 * A VPC's reply gateway (nodeReplyGateway); `ctx` undefined (the VPC routes no replies to nodes): no rows, so apply
 * removes any left.
 */
export function translateNodeReplyGateway(vpc: string, ctx: NodeReplyRouteContext | undefined): DesiredState {
  const rows = ctx ? nodeReplyGateway(vpc, ctx) : [];
  return { owner: nodeReplyGatewayOwner(vpc), rows, memberships: [], mapEntries: [] };
}
