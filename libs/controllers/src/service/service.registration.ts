import { serviceKeyOfEndpointSlice } from '@ycloud/k8s';
import { endpointSlicesFor } from '../common/controller-env';
import type { ControllerRegistration } from '../common/registration';
import { ServiceLoadBalancerController } from './service-load-balancer.controller';

/** Services → Load_Balancer rows (owner `Service/<ns>/<name>`). */
export const serviceRegistration: ControllerRegistration = {
  name: 'service',
  ownerKey: (owner) => (owner.kind === 'Service' ? owner.name : undefined),
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
    });
    b.watch(caches.services, 'Service changed')
      .watch(caches.endpointSlices, 'EndpointSlice changed', serviceKeyOfEndpointSlice)
      // NodePort VIPs and Local traffic policy follow the nodes.
      .watch(caches.nodes, 'Node changed', () => caches.services.store.keys())
      .resyncKeys(() => caches.services.store.keys());
    return (key, ctx) => services.reconcile(key, ctx);
  },
};
