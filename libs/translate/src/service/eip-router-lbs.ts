import { EXTERNAL_IDS } from '@ycloud/api';
import type { LbNode, LoadBalancerSpec } from '../lb/load-balancer.model';

/** Where a Service's EIP is served: the address, the VPC router that load-balances it, and where that router runs. */
export interface EipRouterPlacement {
  address: string;
  /** Key of the VPC's Logical_Router. */
  router: string;
  /**
   * The node whose chassis runs the VPC's gateway port (the EIP pool's active gateway node): every packet to the
   * EIP is load-balanced there, so that node's topology hints choose the backends, as kube-proxy's do for
   * LoadBalancer traffic reaching a node. Unknown (no active gateway yet): no topology.
   */
  gatewayNode?: LbNode;
}

/**
 * Pure: a Service's LBs placed on its VPC router for its EIP (docs/adr/0001): the external frontends on the EIP
 * address, as literal LBs. Local-policy LBs too: EIP traffic meets the router on its gateway chassis, not on a
 * node, so "Local" there means only that the client address is kept, which the router LB does (no SNAT on this
 * path). With Cluster policy and hinted endpoints, the gateway node's hints choose the backends (kube-proxy uses
 * its topology-filtered cluster endpoints for external traffic too).
 */
export function eipRouterLoadBalancers(
  loadBalancers: LoadBalancerSpec[],
  externalTrafficPolicy: string | undefined,
  eip: EipRouterPlacement,
): LoadBalancerSpec[] {
  const topologyNode = externalTrafficPolicy === 'Local' ? undefined : eip.gatewayNode;
  return loadBalancers.map(({ perChassis: _local, ...lb }) => ({
    ...lb,
    key: `${lb.key}:router`,
    name: `${lb.name}_router`,
    attachment: { kind: 'vpc-router' as const, key: eip.router },
    externalIds: { ...lb.externalIds, [EXTERNAL_IDS.eip]: eip.address },
    frontends: lb.frontends
      .filter((f) => f.scope === 'external' && f.address.address === eip.address)
      .map((f) => (topologyNode && f.backends.some((b) => b.ready && b.hints) ? { ...f, topologyNode } : f)),
  }));
}
