import { OWNER_KINDS } from '@ycloud/api';
import type { ControllerRegistration } from '../common/registration';
import { NodeNetworkController } from './node-network.controller';

/** Nodes: a join-subnet port and address each, and the Chassis_Template_Var of template LBs (owner `Node/<name>`). */
export const nodeNetworkRegistration: ControllerRegistration = {
  name: 'node-network',
  ownerKey: (owner) => (owner.kind === OWNER_KINDS.Node ? owner.name : undefined),
  setup(b) {
    const env = b.env;
    const nodeNetwork = new NodeNetworkController({
      nodes: env.caches.nodes.store,
      joinSubnet: () => env.builtinSubnets.find((s) => s.spec.role === 'join')!,
      ipam: env.ipam,
      applier: env.northbound.applier,
      kube: env.kube,
      events: env.events,
      config: env.config,
    });
    b.watch(env.caches.nodes, 'Node changed').resyncKeys(() => env.caches.nodes.store.keys());
    return (key, ctx) => nodeNetwork.reconcile(key, ctx);
  },
};
