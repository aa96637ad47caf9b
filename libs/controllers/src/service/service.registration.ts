import { OWNER_KINDS, type Subnet } from '@ycloud/api';
import { serviceKeyOfEndpointSlice, updatesWhen, type KubeObject } from '@ycloud/k8s';
import { nodeReplyRouteContextOf, serviceNodeOf, translateNodeReplyGateway } from '@ycloud/translate';
import { endpointSlicesFor } from '../common/controller-env';
import type { ControllerRegistration } from '../common/registration';
import { TOPOLOGY_RESOURCES } from '../topology/topology-objects.controller';
import { ServiceLoadBalancerController } from './service-load-balancer.controller';
import { routerAddressesOf, vpcFamiliesOf } from './service-address-conflicts';

/** Services → Load_Balancer rows (owner `Service/<ns>/<name>`). */
export const serviceRegistration: ControllerRegistration = {
  name: 'service',
  ownerKey: (owner) => (owner.kind === OWNER_KINDS.Service ? owner.name : undefined),
  async setup(b) {
    const { caches, config, northbound, events } = b.env;
    const nodeReplyRoutesOf = (vpc: string) =>
      nodeReplyRouteContextOf(vpc, {
        defaultVpc: config.defaultVpc,
        ownIpv4DefaultRoute: !!config.eip.defaultPool,
        cidrsOf: (v) =>
          b.env
            .subnets()
            .filter((s) => s.spec.vpc === v)
            .flatMap((s) => s.spec.cidrBlocks),
        joinCidrsOf: (v) =>
          b.env
            .subnets()
            .filter((s) => s.spec.vpc === v && s.spec.role === 'join')
            .flatMap((s) => s.spec.cidrBlocks),
      });
    // What Services read of a Node (a kubelet's status updates would otherwise reconcile
    // every Service).
    const nodeChanges = updatesWhen(
      caches.nodes,
      (a, b) => JSON.stringify(serviceNodeOf(a)) !== JSON.stringify(serviceNodeOf(b)),
    );
    const services = new ServiceLoadBalancerController({
      services: caches.services.store,
      endpointSlicesFor: endpointSlicesFor(caches),
      nodes: caches.nodes.store,
      topology: { vpcForNamespace: (ns) => b.env.vpcForNamespace(ns) },
      applier: northbound.applier,
      events,
      offloadSelectionFields: config.offload.selectionFields,
      // Addresses a Service's externalIPs / loadBalancerIP must not take (an Event names the holder).
      addressHolders: () => ({
        services: caches.services.store.list(),
        routerAddresses: routerAddressesOf(b.env.subnets()),
        podOf: (ip) => {
          const pod = caches.pods.store.list().find((p) => (p.status?.podIPs ?? []).some((x) => x.ip === ip));
          return pod && `${pod.metadata?.namespace}/${pod.metadata?.name}`;
        },
      }),
      kube: b.env.kube,
      vpcFamilies: (ns) => vpcFamiliesOf(b.env.vpcForNamespace(ns), b.env.subnets()),
      nodeReplyRoutesOf,
    });
    // The default VPC's reply gateway (owner NodeReplyGateway/<vpc>, key the VPC): follows the VPC's Subnets (its
    // allow policies cover their ranges, its sink routes follow the join subnet).
    const gateway = b.controller(
      'node-reply-gateway',
      (vpc, { reason }) => northbound.applier.apply(translateNodeReplyGateway(vpc, nodeReplyRoutesOf(vpc)), reason),
      { ownerKey: (owner) => (owner.kind === OWNER_KINDS.NodeReplyGateway ? owner.name : undefined) },
    );
    gateway.resyncKeys(() => [config.defaultVpc]);
    if (await b.env.informers.served(TOPOLOGY_RESOURCES.Subnet)) {
      gateway.watch(b.env.informers.get<Subnet & KubeObject>(TOPOLOGY_RESOURCES.Subnet), 'Subnet changed', () => [
        config.defaultVpc,
      ]);
    }
    gateway.enqueue(config.defaultVpc, 'startup repair');
    b.watch(caches.services, 'Service changed')
      .watch(caches.endpointSlices, 'EndpointSlice changed', serviceKeyOfEndpointSlice)
      // NodePort VIPs, Local traffic policy and topology follow the nodes.
      .watch(nodeChanges, 'Node changed', () => caches.services.store.keys())
      .resyncKeys(() => caches.services.store.keys());
    return (key, ctx) => services.reconcile(key, ctx);
  },
};
