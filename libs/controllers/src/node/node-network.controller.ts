import type { ReconcileContext } from '@ycloud/k8s';
import type { V1Node } from '@kubernetes/client-node';
import {
  NODE_ALLOCATION_ANNOTATION,
  OWNER_KINDS,
  parseIpAllocationAnnotation,
  type ControllerConfig,
  type Subnet,
} from '@ycloud/api';
import { KubeClient, Resources } from '@ycloud/k8s';
import type { ApplyRecord, DesiredState, NorthboundApplier } from '@ycloud/ovn';
import { translateNodeChassis } from '@ycloud/translate';
import { nodeHostRoutes, portAllocation, translateNodePort } from '@ycloud/translate/topology';
import type { EventSink, ObjectCache } from '../common/ports';
import type { SubnetIpam } from '../ipam/subnet-ipam';

export interface NodeNetworkControllerDeps {
  nodes: ObjectCache<V1Node>;
  joinSubnet(): Subnet;
  ipam: SubnetIpam;
  applier: NorthboundApplier;
  kube: KubeClient;
  events: EventSink;
  config: Pick<ControllerConfig, 'mtu'>;
}

/**
 * Per Node: an address in the join subnet with its Logical_Switch_Port (the node's way into the VPC, so host
 * network clients reach ClusterIPs and pods), the `ycloud.io/node-allocation` annotation the agent plugs it
 * from, the VPC router's routes to the node's InternalIPs through that port (pods reach host-network endpoints),
 * and the node's Chassis_Template_Var row that template load balancers (Local traffic policy) fill.
 */
export class NodeNetworkController {
  private restored = false;

  constructor(private readonly deps: NodeNetworkControllerDeps) {}

  restoreAll(): void {
    if (this.restored) return;
    this.restored = true;
    const allocator = this.deps.ipam.allocator(this.deps.joinSubnet());
    for (const node of this.deps.nodes.list()) {
      const ann = parseIpAllocationAnnotation(node.metadata?.annotations?.[NODE_ALLOCATION_ANNOTATION]);
      if (ann) allocator.restore(ownerOf(node.metadata!.name!), ann.ips);
    }
  }

  async reconcile(name: string, { reason }: ReconcileContext): Promise<ApplyRecord> {
    this.restoreAll();
    const node = this.deps.nodes.get(name);
    const owner = { kind: OWNER_KINDS.Node, name };
    if (!node) {
      this.deps.ipam.release(ownerOf(name));
      return this.deps.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, reason);
    }
    const join = this.deps.joinSubnet();
    const ann = parseIpAllocationAnnotation(node.metadata?.annotations?.[NODE_ALLOCATION_ANNOTATION]);
    const keep = ann && ann.subnet === join.metadata.name ? ann.ips.map((ip) => ip.split('/')[0]) : [];
    const result = this.deps.ipam.allocator(join).allocate(ownerOf(name), keep);
    if (!result.ok) {
      this.deps.events.warning({ apiVersion: 'v1', kind: 'Node', name }, 'JoinAddressAllocationFailed', result.message);
      throw new Error(result.message);
    }
    const port = translateNodePort(
      name,
      portAllocation(join, result.ips, { mtu: this.deps.config.mtu, mac: keep.length ? ann?.mac : undefined }),
    );
    // Keyed by the chassis the Node names (ycloud.io/chassis), as the Service translation expects.
    const templateVars = translateNodeChassis(node);
    const internalIPs = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
    const hostRoutes = nodeHostRoutes(name, internalIPs, result.ips, join.spec.vpc);
    const state: DesiredState = {
      owner,
      rows: [...port.state.rows, ...templateVars.rows, ...hostRoutes],
      memberships: [...port.state.memberships, ...templateVars.memberships],
    };
    const record = await this.deps.applier.apply(state, reason);
    const value = JSON.stringify(port.annotation);
    if (node.metadata?.annotations?.[NODE_ALLOCATION_ANNOTATION] !== value) {
      await this.deps.kube.mergePatch(Resources.nodes, undefined, name, {
        metadata: { annotations: { [NODE_ALLOCATION_ANNOTATION]: value } },
      });
    }
    return record;
  }
}

function ownerOf(node: string): string {
  return `node:${node}`;
}
