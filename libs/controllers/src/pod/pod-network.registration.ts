import { OWNER_KINDS, type Subnet } from '@ycloud/api';
import type { KubeObject } from '@ycloud/k8s';
import type { ControllerRegistration } from '../common/registration';
import { wireSubnetStatus } from '../ipam/subnet-status';
import { TOPOLOGY_RESOURCES } from '../topology/topology-objects.controller';
import { PodNetworkController } from './pod-network.controller';

/** Pods: addresses, switch ports and the annotation the CNI agent plugs interfaces from (owner `Pod/<ns>/<name>`). */
export const podNetworkRegistration: ControllerRegistration = {
  name: 'pod-network',
  ownerKey: (owner) => (owner.kind === OWNER_KINDS.Pod ? owner.name : undefined),
  async setup(b) {
    const env = b.env;
    const podNetwork = new PodNetworkController({
      pods: env.caches.pods.store,
      subnets: () => env.subnets(),
      ipam: env.ipam,
      applier: env.northbound.applier,
      kube: env.kube,
      events: env.events,
      config: env.config,
      vpcForNamespace: (ns) => env.vpcForNamespace(ns),
    });
    // Subnet resources show the pod IPAM's counts in their status.
    if (await env.informers.served(TOPOLOGY_RESOURCES.Subnet)) {
      const writer = wireSubnetStatus({
        ...{ ipam: env.ipam, kube: env.kube, log: env.log },
        informer: env.informers.get<Subnet & KubeObject>(TOPOLOGY_RESOURCES.Subnet),
        ...{ builtin: env.builtinSubnets.map((s) => s.metadata.name), beforeCount: () => podNetwork.restoreAll() },
      });
      b.onStop(() => writer.stop());
    }
    b.watch(env.caches.pods, 'Pod changed').resyncKeys(() => env.caches.pods.store.keys());
    return (key, ctx) => podNetwork.reconcile(key, ctx);
  },
};
