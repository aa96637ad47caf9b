import { OWNER_KINDS, type Eip, type EipPool, type Subnet, type Vpc } from '@ycloud/api';
import type { KubeObject } from '@ycloud/k8s';
import { DEFAULT_VPC_GATEWAY_KIND } from '@ycloud/translate/topology';
import type { ControllerRegistration, Watchable } from '../common/registration';
import { isDefaultTopologyOwner } from './default-topology.registration';
import { TOPOLOGY_RESOURCES, TopologyObjectsController, type TopologyKind } from './topology-objects.controller';

const KINDS: readonly TopologyKind[] = [OWNER_KINDS.Vpc, OWNER_KINDS.Subnet, OWNER_KINDS.EipPool, OWNER_KINDS.Eip];

/** Vpc, Subnet, EipPool and Eip resources → routers, switches, gateways (owners `<Kind>/<name>`; keys the same). */
export const topologyRegistration: ControllerRegistration = {
  name: 'topology',
  requires: Object.values(TOPOLOGY_RESOURCES),
  ownerKey: (owner, config) => {
    const { kind, name } = owner;
    // The default VPC's external gateway is reconciled under the default Vpc's key.
    if (kind === DEFAULT_VPC_GATEWAY_KIND) return `${OWNER_KINDS.Vpc}/${name}`;
    if (!(KINDS as readonly string[]).includes(kind)) return undefined;
    // Built-in ones are the default topology's.
    return isDefaultTopologyOwner(owner, config) ? undefined : `${kind}/${name}`;
  },
  setup(b) {
    const env = b.env;
    const topo = {
      vpcs: env.informers.get<Vpc & KubeObject>(TOPOLOGY_RESOURCES.Vpc),
      subnets: env.informers.get<Subnet & KubeObject>(TOPOLOGY_RESOURCES.Subnet),
      eipPools: env.informers.get<EipPool & KubeObject>(TOPOLOGY_RESOURCES.EipPool),
      eips: env.informers.get<Eip & KubeObject>(TOPOLOGY_RESOURCES.Eip),
    };
    const topologyObjects = new TopologyObjectsController({
      caches: {
        vpcs: topo.vpcs.store,
        subnets: topo.subnets.store,
        eipPools: topo.eipPools.store,
        eips: topo.eips.store,
        nodes: env.caches.nodes.store,
      },
      config: env.config,
      applier: env.northbound.applier,
      kube: env.kube,
      events: env.events,
      addresses: env.eipAddresses,
      log: env.log,
      serviceGatewayEips: () => env.serviceGatewayEips.list(),
    });
    topologyObjects.onPoolChanged = (pool) => b.enqueue(`EipPool/${pool}`, 'EipPool counts changed');
    env.serviceGatewayEips.onChange((pool, address) => {
      const eips = topo.eips.store.list().filter((e) => e.spec.pool === pool && e.status?.address === address);
      for (const key of [`EipPool/${pool}`, ...eips.map((e) => `Eip/${e.metadata.name}`)])
        b.enqueue(key, 'service-gateway EIPs changed');
    });
    // Objects depend on each other (Subnet → Vpc → EipPool, Eip → all): any change queues them all.
    const sources: Array<[TopologyKind, Watchable<KubeObject>]> = [
      ['Vpc', topo.vpcs],
      ['Subnet', topo.subnets],
      ['EipPool', topo.eipPools],
      ['Eip', topo.eips],
    ];
    for (const [kind, source] of sources) {
      const keys = (o: KubeObject) => [`${kind}/${o.metadata?.name ?? ''}`, ...topologyObjects.allKeys()];
      b.watch(source, 'topology changed', keys);
    }
    b.watch(env.caches.nodes, 'Node changed', () => topo.eipPools.store.keys().map((k) => `EipPool/${k}`));
    b.resyncKeys(() => topologyObjects.allKeys());
    b.enqueue(`Vpc/${env.config.defaultVpc}`, 'startup repair'); // its external gateway (VpcGateway owner)
    return (key, ctx) => topologyObjects.reconcile(key, ctx);
  },
};
