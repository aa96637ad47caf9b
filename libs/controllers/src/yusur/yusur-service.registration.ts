import type { V1Namespace, V1Node } from '@kubernetes/client-node';
import {
  EXTERNAL_IDS,
  OWNER_KINDS,
  type BackendKind,
  type BareMetalServer,
  type Eip,
  type EipPool,
  type NetworkProbe,
  type Subnet,
  type VNic,
  type Vpc,
  type YusurService,
} from '@ycloud/api';
import {
  Resources,
  enqueueHandler,
  objectKey,
  ownerKeys,
  type Informer,
  type KeyMapper,
  type KubeObject,
} from '@ycloud/k8s';
import { EIP_LINK } from '@ycloud/translate';
import type { ControllerEnv, ControllerRegistration } from '../common/registration';
import { TOPOLOGY_RESOURCES } from '../topology/topology-objects.controller';
import { onDatapathChange } from './backend-datapath';
import { selects, type BackendSources, type VirtualMachineInstance } from './backends';
import { ClusterIpBook } from './cluster-ip-book';
import { ClusterIpReservations } from './cluster-ip-reservations';
import { ServiceGatewayLinkBook, type LinkRecord } from './service-gateway-links';
import { YusurEips } from './yusur-eips';
import { YUSUR_RESOURCES } from './yusur-resources';
import { YusurServiceController } from './yusur-service.controller';

type Inf<T> = Informer<T & KubeObject>;

/**
 * YusurServices (Pod/VM/BareMetal/VNic backends, probes, ClusterIPs, EIPs) → OVN (owner `YusurService/<ns>/<name>`).
 * VMIs are watched only once KubeVirt's API is served: discovery is re-checked periodically, so VMs are picked up
 * when KubeVirt is installed after the controller started.
 */
export const yusurServiceRegistration: ControllerRegistration = {
  name: 'yusur-service',
  requires: [
    ...Object.values(TOPOLOGY_RESOURCES),
    YUSUR_RESOURCES.YusurService,
    YUSUR_RESOURCES.NetworkProbe,
    YUSUR_RESOURCES.BareMetalServer,
    YUSUR_RESOURCES.VNic,
  ],
  ownerKey: (owner) => (owner.kind === OWNER_KINDS.YusurService ? owner.name : undefined),
  async setup(b) {
    const env = b.env;
    const { informers } = env;
    const services = informers.get<YusurService & KubeObject>(YUSUR_RESOURCES.YusurService);
    const probes = informers.get<NetworkProbe & KubeObject>(YUSUR_RESOURCES.NetworkProbe);
    const bareMetalServers = informers.get<BareMetalServer & KubeObject>(YUSUR_RESOURCES.BareMetalServer);
    const vnics = informers.get<VNic & KubeObject>(YUSUR_RESOURCES.VNic);
    const namespaces = informers.get<V1Namespace & KubeObject>(Resources.namespaces);
    // Their agents' YcloudDatapathReady condition (the service's BackendDatapathReady).
    const nodes = informers.get<V1Node & KubeObject>(Resources.nodes);
    const topo = {
      vpcs: informers.get<Vpc & KubeObject>(TOPOLOGY_RESOURCES.Vpc),
      subnets: informers.get<Subnet & KubeObject>(TOPOLOGY_RESOURCES.Subnet),
      eipPools: informers.get<EipPool & KubeObject>(TOPOLOGY_RESOURCES.EipPool),
      eips: informers.get<Eip & KubeObject>(TOPOLOGY_RESOURCES.Eip),
    };
    await Promise.all([services, probes, bareMetalServers, vnics, namespaces, nodes].map((i) => i.waitForSync()));
    let vmis: Inf<VirtualMachineInstance> | undefined;
    const sources: BackendSources = {
      pods: env.caches.pods.store,
      namespaces: namespaces.store,
      vmis: () => vmis?.store.list() ?? [],
      bareMetalServers: bareMetalServers.store,
      vnics: vnics.store,
      subnets: () => [...env.builtinSubnets, ...topo.subnets.store.list()],
      vpcForNamespace: (ns) => env.vpcForNamespace(ns),
    };
    /** The keys of the YusurServices selecting `obj` as a backend of `kind`. */
    const selecting =
      (kind: BackendKind): KeyMapper<KubeObject> =>
      (obj) =>
        services.store
          .list()
          .filter((s) => selects(s, kind, obj as never, sources))
          .map((s) => objectKey(s));

    // Scenario 4: EIPs served by service-gateways, seeded from their routers in NB (ADR 0004) before any reconcile.
    const view = env.northbound.view;
    const yusurRows = () =>
      view
        .allOwners()
        .filter((o) => o.kind === OWNER_KINDS.YusurService)
        .flatMap((o) => view.ownedBy(o));
    env.serviceGatewayEips.seed(yusurRows().flatMap((r) => (r.table === 'Logical_Router' ? [r.row] : [])));

    const log = env.log.child({ part: 'informer' });
    const reservations = new ClusterIpReservations(env.kube, log);
    // Our IPAddresses whose YusurService is gone are deleted before the first reconcile reserves anything.
    reservations
      .start((key) => !!services.store.get(key))
      .catch((err: unknown) => {
        log.warn('reading ClusterIP reservations failed', { error: (err as Error).message });
      });
    const reconciler = new YusurServiceController({
      services: services.store,
      probes: probes.store,
      vpcs: topo.vpcs.store,
      eipPools: topo.eipPools.store,
      eips: new YusurEips({ eips: topo.eips.store, vpcs: topo.vpcs.store, config: env.config, kube: env.kube }),
      sources,
      config: env.config,
      applier: env.northbound.applier,
      kube: env.kube,
      events: env.events,
      clusterIps: new ClusterIpBook(),
      reservations,
      links: new ServiceGatewayLinkBook(env.config.serviceGateway.linkCIDR, () => linkRecords(yusurRows())),
      serviceGatewayEips: env.serviceGatewayEips,
      nodes: nodes.store,
    });
    const all = () => services.store.keys();
    b.watch(services, 'YusurService changed')
      .watch(probes, 'NetworkProbe changed', ownerKeys('YusurService'))
      .watch(env.caches.pods, 'Pod changed', selecting('Pod'))
      .watch(bareMetalServers, 'BareMetalServer changed', selecting('BareMetal'))
      .watch(vnics, 'VNic changed', selecting('VNicIP'))
      .watch(namespaces, 'Namespace changed', all)
      .watch(nodes, 'Node datapath changed', onDatapathChange(all))
      .watch(topo.vpcs, 'Vpc changed', all)
      .watch(topo.subnets, 'Subnet changed', all)
      .watch(topo.eipPools, 'EipPool changed', all)
      .watch(topo.eips, 'Eip changed', (e) =>
        e.spec.binding?.kind === 'YusurService' ? `${e.spec.binding.namespace}/${e.spec.binding.name}` : undefined,
      )
      .resyncKeys(all);
    const discovery = discoverVms(env, (found) => {
      vmis = found;
      // Not through b.watch: the workers must not wait for an informer that may appear much later.
      found.addHandler(
        enqueueHandler({ enqueue: (k) => b.enqueue(k, 'VirtualMachineInstance changed') }, selecting('VM')),
      );
    });
    b.onStop(() => discovery.stop());
    return (key, ctx) => reconciler.reconcile(key, ctx);
  },
};

/** Starts a VMI informer once `kubevirt.io/v1` VMIs are served; until then re-checks periodically. */
function discoverVms(env: ControllerEnv, found: (vmis: Inf<VirtualMachineInstance>) => void): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const look = async (): Promise<void> => {
    let served = false;
    try {
      served = await env.informers.served(YUSUR_RESOURCES.VirtualMachineInstance);
    } catch (err) {
      env.log.warn('VMI discovery failed', { error: (err as Error).message });
    }
    if (stopped) return;
    if (!served) {
      timer = setTimeout(() => void look(), env.vmDiscoveryIntervalMs ?? 30_000);
      timer.unref?.();
      return;
    }
    found(env.informers.get<VirtualMachineInstance & KubeObject>(YUSUR_RESOURCES.VirtualMachineInstance));
    env.log.info('KubeVirt VMIs are served: watching them for YusurService backends');
  };
  void look();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Link networks recorded on service-gateway link switches (external_ids `ycloud.io/link`, `ycloud.io/link-cidr`). */
function linkRecords(rows: Array<{ table: string; row: Record<string, unknown> }>): LinkRecord[] {
  const out: LinkRecord[] = [];
  for (const { table, row } of rows) {
    const ids = (row.external_ids ?? {}) as Record<string, string>;
    const [service, link, cidr] = [ids[EXTERNAL_IDS.service], ids[EXTERNAL_IDS.link], ids[EXTERNAL_IDS.linkCidr]];
    if (table !== 'Logical_Switch' || !service || !cidr || !(link === EIP_LINK || link?.startsWith('vpc/'))) continue;
    out.push({ service, link, cidr });
  }
  return out;
}
