import type { ReconcileContext } from '@ycloud/k8s';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { CLIENT_ADDRESS_KEPT_CONDITION, OWNER_KINDS, nodePortMayKeepClientAddress } from '@ycloud/api';
import { Resources, type KubeClient } from '@ycloud/k8s';
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
  /** Writes the Service's CLIENT_ADDRESS_KEPT_CONDITION; absent: never written (the agents keep masquerading). */
  kube?: Pick<KubeClient, 'mergePatch'>;
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
    const record = await this.deps.applier.apply(state, reason);
    // After the reply routes are in: only then may the node agents stop masquerading (docs/adr/0005).
    await this.writeClientAddressCondition(service, this.inputs.vpcForNamespace(namespace));
    return record;
  }

  /** Sets or removes CLIENT_ADDRESS_KEPT_CONDITION when it differs from what the Service says (no write else). */
  private async writeClientAddressCondition(service: V1Service, vpc: string): Promise<void> {
    if (!this.deps.kube) return;
    const want = nodePortMayKeepClientAddress(service) && !!this.deps.nodeReplyRoutesOf?.(vpc);
    const conditions = service.status?.conditions ?? [];
    const mine = conditions.find((c) => c.type === CLIENT_ADDRESS_KEPT_CONDITION);
    if (want === (mine?.status === 'True')) return;
    const others = conditions.filter((c) => c.type !== CLIENT_ADDRESS_KEPT_CONDITION);
    const condition = {
      type: CLIENT_ADDRESS_KEPT_CONDITION,
      status: 'True',
      reason: 'RepliesRoutedToNodes',
      message: 'externalTrafficPolicy Local: replies of local endpoints are routed back to their node, no SNAT',
      lastTransitionTime: new Date().toISOString(),
      observedGeneration: service.metadata?.generation,
    };
    const patch = { status: { conditions: want ? [...others, condition] : others } };
    await this.deps.kube.mergePatch(
      Resources.services,
      service.metadata!.namespace,
      service.metadata!.name!,
      patch,
      'status',
    );
  }
}
