import type { ReconcileContext } from '@ycloud/k8s';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { OWNER_KINDS } from '@ycloud/api';
import type { ApplyRecord, NorthboundApplier } from '@ycloud/ovn';
import { translateServiceFrom, type NodeReplyRouteContext, type ServiceInputs } from '@ycloud/translate';
import { lbGroupKey } from '@ycloud/translate/topology';
import type { EventSink, ObjectCache } from '../common/ports';
import {
  asksForAddresses,
  serviceAddressConflicts,
  serviceFamilyMismatches,
  type AddressHolders,
  type ServiceVpcFamilies,
} from './service-address-conflicts';

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
  /** The families of the Subnets of a namespace's VPC; absent: no IPFamilyNotInVpc Events. */
  vpcFamilies?: (namespace: string) => ServiceVpcFamilies;
  /** Where a VPC's Local NodePort replies go back to their node (the VPC of the nodes' ycloud0 ports only). */
  nodeReplyRoutesOf?: (vpc: string) => NodeReplyRouteContext | undefined;
}

/**
 * Keeps each Service's Load_Balancer rows in step with the Service and its EndpointSlices. Level-based: given a
 * key it reads the caches, translates (pure) and lets the applier write the difference; a missing Service means
 * "nothing may be left for it", which is also how start-up repair removes rows of Services deleted meanwhile.
 */
export class ServiceLoadBalancerController {
  private readonly inputs: ServiceInputs;

  constructor(private readonly deps: ServiceLoadBalancerControllerDeps) {
    this.inputs = {
      endpointSlicesFor: (namespace, name) => deps.endpointSlicesFor(namespace, name),
      nodes: () => deps.nodes.list(),
      vpcForNamespace: (namespace) => deps.topology.vpcForNamespace(namespace),
      lbGroupKey,
      offloadSelectionFields: deps.offloadSelectionFields,
      nodeReplyRoutesOf: deps.nodeReplyRoutesOf,
    };
  }

  async reconcile(key: string, { reason }: ReconcileContext): Promise<ApplyRecord> {
    const owner = { kind: OWNER_KINDS.Service, name: key };
    const service = this.deps.services.get(key);
    if (!service) {
      return this.deps.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, reason);
    }
    const namespace = service.metadata!.namespace!;
    const name = service.metadata!.name!;
    // The same path as `ycloud translate` and its script tests: only where the inputs come from differs.
    const { state, warnings } = translateServiceFrom(service, this.inputs);
    const ref = { apiVersion: 'v1', kind: 'Service', namespace, name, uid: service.metadata?.uid };
    for (const w of warnings) {
      this.deps.events.warning(ref, w.reason, `${w.object} ${w.field}: ${w.message}`);
    }
    // The holders come from whole caches: read them only for a Service that asks for such an address (scanning
    // them for every Service cost 40 % of the controller's CPU at 10k Services; results/service-bench.md).
    const holders = asksForAddresses(service) ? this.deps.addressHolders?.() : undefined;
    for (const m of holders ? serviceAddressConflicts(service, holders) : []) {
      this.deps.events.warning(ref, 'AddressConflict', m);
    }
    const vpc = this.deps.vpcFamilies?.(namespace);
    for (const m of vpc ? serviceFamilyMismatches(service, vpc) : []) {
      this.deps.events.warning(ref, 'IPFamilyNotInVpc', m);
    }
    return this.deps.applier.apply(state, reason);
  }
}
