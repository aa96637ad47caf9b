import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { ApplyRecord, NorthboundApplier } from '@ycloud/ovn';
import { translateService, type ServiceNode, type ServiceTranslationContext } from '@ycloud/translate';
import { lbGroupKey } from '@ycloud/translate/topology';
import type { EventSink, ObjectCache } from '../common/ports';
import { serviceAddressConflicts, type AddressHolders } from './service-address-conflicts';

export interface ServiceTopology {
  /** The VPC serving a namespace. */
  vpcForNamespace(namespace: string): string;
}

export interface ServiceLoadBalancerControllerDeps {
  services: ObjectCache<V1Service>;
  endpointSlicesFor(namespace: string, name: string): V1EndpointSlice[];
  nodes: ObjectCache<V1Node>;
  topology: ServiceTopology;
  applier: NorthboundApplier;
  events: EventSink;
  offloadSelectionFields: boolean;
  /** Who holds addresses a Service may clash with; absent: no AddressConflict Events. */
  addressHolders?: () => AddressHolders;
}

/**
 * Keeps each Service's Load_Balancer rows in step with the Service and its EndpointSlices. Level-based: given a
 * key it reads the caches, translates (pure) and lets the applier write the difference; a missing Service means
 * "nothing may be left for it", which is also how start-up repair removes rows of Services deleted meanwhile.
 */
export class ServiceLoadBalancerController {
  constructor(private readonly deps: ServiceLoadBalancerControllerDeps) {}

  async reconcile(key: string, reason: string): Promise<ApplyRecord> {
    const owner = { kind: 'Service', name: key };
    const service = this.deps.services.get(key);
    if (!service) {
      return this.deps.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, reason);
    }
    const namespace = service.metadata!.namespace!;
    const name = service.metadata!.name!;
    const { state, warnings } = translateService(
      service,
      this.deps.endpointSlicesFor(namespace, name),
      this.context(namespace),
    );
    const ref = { apiVersion: 'v1', kind: 'Service', namespace, name, uid: service.metadata?.uid };
    for (const w of warnings) {
      this.deps.events.warning(ref, 'InvalidServiceSpec', `${w.object} ${w.field}: ${w.message}`);
    }
    const holders = this.deps.addressHolders?.();
    for (const m of holders ? serviceAddressConflicts(service, holders) : []) {
      this.deps.events.warning(ref, 'AddressConflict', m);
    }
    return this.deps.applier.apply(state, reason);
  }

  private context(namespace: string): ServiceTranslationContext {
    return {
      vpc: this.deps.topology.vpcForNamespace(namespace),
      lbGroupKey,
      offloadSelectionFields: this.deps.offloadSelectionFields,
      nodes: this.deps.nodes.list().map(serviceNode),
    };
  }
}

function serviceNode(node: V1Node): ServiceNode {
  const addresses = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
  return { name: node.metadata!.name!, addresses };
}
