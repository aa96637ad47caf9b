import { OWNER_KINDS } from '@ycloud/api';
import { serviceKeyOfEndpointSlice, updatesWhen } from '@ycloud/k8s';
import { serviceNodeOf } from '@ycloud/translate';
import { vpcRouterKey } from '@ycloud/translate/topology';
import { endpointSlicesFor } from '../common/controller-env';
import type { ControllerRegistration } from '../common/registration';
import { ServiceLoadBalancerController } from './service-load-balancer.controller';
import { routerAddressesOf, vpcFamiliesOf } from './service-address-conflicts';

/** Services → Load_Balancer rows (owner `Service/<ns>/<name>`). */
export const serviceRegistration: ControllerRegistration = {
  name: 'service',
  ownerKey: (owner) => (owner.kind === OWNER_KINDS.Service ? owner.name : undefined),
  setup(b) {
    const { caches, config, northbound, events } = b.env;
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
      // The nodes' ycloud0 ports are in the default VPC's join subnet: only its router can send replies to them,
      // and only with a default route (its EIP gateway): OVN applies router policies after routing.
      nodeReplyRoutesOf: (vpc) =>
        vpc === config.defaultVpc && config.eip.defaultPool
          ? {
              router: vpcRouterKey(vpc),
              vpcCidrs: b.env
                .subnets()
                .filter((s) => s.spec.vpc === vpc)
                .flatMap((s) => s.spec.cidrBlocks),
            }
          : undefined,
    });
    b.watch(caches.services, 'Service changed')
      .watch(caches.endpointSlices, 'EndpointSlice changed', serviceKeyOfEndpointSlice)
      // NodePort VIPs, Local traffic policy and topology follow the nodes: only what Services read of a Node (a
      // kubelet's status updates would otherwise reconcile every Service).
      .watch(
        updatesWhen(caches.nodes, (a, b) => JSON.stringify(serviceNodeOf(a)) !== JSON.stringify(serviceNodeOf(b))),
        'Node changed',
        () => caches.services.store.keys(),
      )
      .resyncKeys(() => caches.services.store.keys());
    return (key, ctx) => services.reconcile(key, ctx);
  },
};
