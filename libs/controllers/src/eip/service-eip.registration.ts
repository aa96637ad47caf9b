import { OWNER_KINDS, type Eip, type EipPool, type Vpc } from '@ycloud/api';
import { serviceKeyOfEndpointSlice, updatesWhen, type KubeObject } from '@ycloud/k8s';
import { serviceNodeOf } from '@ycloud/translate';
import { endpointSlicesFor } from '../common/controller-env';
import type { ControllerRegistration } from '../common/registration';
import { TOPOLOGY_RESOURCES, vpcsWithDefault } from '../topology/topology-objects.controller';
import { ServiceEipController } from './service-eip.controller';

/** LoadBalancer Services ↔ Eips, and the Service's VIPs on its EIP (owner `ServiceEip/<ns>/<name>`). */
export const serviceEipRegistration: ControllerRegistration = {
  name: 'service-eip',
  requires: Object.values(TOPOLOGY_RESOURCES),
  ownerKey: (owner) => (owner.kind === OWNER_KINDS.ServiceEip ? owner.name : undefined),
  setup(b) {
    const env = b.env;
    const { services, endpointSlices, nodes } = env.caches;
    const eips = env.informers.get<Eip & KubeObject>(TOPOLOGY_RESOURCES.Eip);
    const vpcs = env.informers.get<Vpc & KubeObject>(TOPOLOGY_RESOURCES.Vpc);
    const eipPools = env.informers.get<EipPool & KubeObject>(TOPOLOGY_RESOURCES.EipPool);
    const serviceEips = new ServiceEipController({
      services: services.store,
      endpointSlicesFor: endpointSlicesFor(env.caches),
      eips: eips.store,
      eipPools: eipPools.store,
      nodes: nodes.store,
      vpcs: vpcsWithDefault(env.config, vpcs.store, env.eipAddresses), // with the default VPC when eip.defaultPool is set
      vpcForNamespace: (ns) => env.vpcForNamespace(ns),
      config: env.config,
      applier: env.northbound.applier,
      kube: env.kube,
      events: env.events,
    });
    b.watch(services, 'Service changed')
      .watch(endpointSlices, 'EndpointSlice changed', serviceKeyOfEndpointSlice)
      .watch(eips, 'Eip changed', (e) =>
        e.spec.binding?.kind === 'Service' ? `${e.spec.binding.namespace}/${e.spec.binding.name}` : undefined,
      )
      .watch(vpcs, 'Vpc changed', () => services.store.keys())
      .watch(eipPools, 'EipPool changed', () => services.store.keys())
      // The zone of a gateway node chooses hinted backends for the EIPs it serves.
      .watch(
        updatesWhen(nodes, (a, b) => serviceNodeOf(a).zone !== serviceNodeOf(b).zone),
        'Node zone changed',
        () => services.store.keys(),
      )
      .resyncKeys(() => services.store.keys());
    return (key, ctx) => serviceEips.reconcile(key, ctx);
  },
};
