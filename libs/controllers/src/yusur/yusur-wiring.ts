import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import type {
  BackendKind,
  BareMetalServer,
  ControllerConfig,
  Eip,
  EipPool,
  NetworkProbe,
  Subnet,
  VNic,
  Vpc,
  YusurService,
} from '@ycloud/api';
import { DATAPATH_READY_CONDITION } from '@ycloud/api';
import {
  Informer,
  isNotFound,
  objectKey,
  ownerKeys,
  Resources,
  type Controller,
  type EventHandler,
  type KeyMapper,
  type KubeClient,
  type KubeObject,
  type Logger,
} from '@ycloud/k8s';
import type { NorthboundApplier } from '@ycloud/ovn';
import { EIP_LINK, LINK_CIDR_ID, LINK_ID } from '@ycloud/translate';
import type { EventSink } from '../common/ports';
import type { ServiceGatewayEips } from '../eip/service-gateway-eips';
import { selects, type BackendSources, type VirtualMachineInstance } from './backends';
import { ClusterIpBook } from './cluster-ip-book';
import { ClusterIpReservations } from './cluster-ip-reservations';
import { ServiceGatewayLinkBook, type LinkRecord } from './service-gateway-links';
import { YusurEips } from './yusur-eips';
import { YUSUR_RESOURCES } from './yusur-resources';
import { YusurServiceController } from './yusur-service.controller';

type Inf<T> = Informer<T & KubeObject>;

/** What the manager lends the YusurService wiring (its caches, controller factory and handler helper). */
export interface YusurWiringDeps {
  kube: KubeClient;
  config: ControllerConfig;
  applier: NorthboundApplier;
  events: EventSink;
  logger: Logger;
  pods: Inf<V1Pod>;
  topology: { vpcs: Inf<Vpc>; subnets: Inf<Subnet>; eipPools: Inf<EipPool>; eips: Inf<Eip> };
  /** Built-in subnets (default, join, extra) beside the Subnet resources. */
  builtinSubnets(): Subnet[];
  vpcForNamespace(namespace: string): string;
  controller(name: string, reconcile: (key: string) => Promise<unknown>): Controller;
  noting<T extends KubeObject>(c: Controller, reason: string, map?: KeyMapper<T>): EventHandler<T>;
  /** The EIPs service-gateways serve, shared with the topology controller (scenario 4). */
  serviceGatewayEips?: ServiceGatewayEips;
  /** The NB rows YusurServices own now (link networks are rebuilt from them at start). */
  yusurRows?: () => Array<{ table: string; row: Record<string, unknown> }>;
  /** How often to look for KubeVirt's API while it is not served (default 30 s). */
  vmDiscoveryIntervalMs?: number;
}

/** Whether the YusurService, NetworkProbe, BareMetalServer and VNic resources are served. */
export async function yusurCrdsServed(kube: KubeClient): Promise<boolean> {
  return servedAll(kube, [
    YUSUR_RESOURCES.YusurService,
    YUSUR_RESOURCES.NetworkProbe,
    YUSUR_RESOURCES.BareMetalServer,
    YUSUR_RESOURCES.VNic,
  ]);
}

async function servedAll(kube: KubeClient, types: Array<(typeof YUSUR_RESOURCES)[keyof typeof YUSUR_RESOURCES]>) {
  try {
    await Promise.all(types.map((rt) => kube.list(rt, undefined, { limit: 1 })));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * The YusurService controller's informers and event wiring, as one sync source the manager starts and stops.
 * VMIs are watched only once KubeVirt's API is served: discovery is re-checked periodically, so VMs are picked up
 * when KubeVirt is installed after the controller started.
 */
export class YusurServiceWiring {
  readonly services: Inf<YusurService>;
  readonly probes: Inf<NetworkProbe>;
  readonly bareMetalServers: Inf<BareMetalServer>;
  readonly vnics: Inf<VNic>;
  readonly namespaces: Inf<V1Namespace>;
  /** Nodes, for their agents' YcloudDatapathReady condition. */
  readonly nodes: Inf<V1Node>;
  vmis?: Inf<VirtualMachineInstance>;
  private controller?: Controller;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly own: Array<Inf<unknown>>;

  constructor(private readonly deps: YusurWiringDeps) {
    const opts = { logger: deps.logger };
    this.services = new Informer(deps.kube, YUSUR_RESOURCES.YusurService, opts);
    this.probes = new Informer(deps.kube, YUSUR_RESOURCES.NetworkProbe, opts);
    this.bareMetalServers = new Informer(deps.kube, YUSUR_RESOURCES.BareMetalServer, opts);
    this.vnics = new Informer(deps.kube, YUSUR_RESOURCES.VNic, opts);
    this.namespaces = new Informer(deps.kube, Resources.namespaces, opts);
    this.nodes = new Informer(deps.kube, Resources.nodes, opts);
    this.own = [this.services, this.probes, this.bareMetalServers, this.vnics, this.namespaces, this.nodes] as Array<
      Inf<unknown>
    >;
  }

  start(): void {
    for (const i of this.own) i.start();
  }

  hasSynced(): boolean {
    return this.own.every((i) => i.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.own.map((i) => i.waitForSync(signal)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.own, ...(this.vmis ? [this.vmis] : [])].map((i) => i.stop()));
  }

  private sources(): BackendSources {
    const d = this.deps;
    return {
      pods: d.pods.store,
      namespaces: this.namespaces.store,
      vmis: () => this.vmis?.store.list() ?? [],
      bareMetalServers: this.bareMetalServers.store,
      vnics: this.vnics.store,
      subnets: () => [...d.builtinSubnets(), ...d.topology.subnets.store.list()],
      vpcForNamespace: (ns) => d.vpcForNamespace(ns),
    };
  }

  /**
   * Every service when a Node's YcloudDatapathReady status or reason changed, else none: Nodes change every few
   * seconds (heartbeats), their datapath rarely.
   */
  private datapathChanged(all: () => string[]): KeyMapper<KubeObject> {
    const seen = new Map<string, string>();
    return (obj) => {
      const n = obj as V1Node & KubeObject;
      const c = n.status?.conditions?.find((x) => x.type === DATAPATH_READY_CONDITION);
      const sig = c ? `${c.status}/${c.reason ?? ''}` : '';
      const name = n.metadata?.name ?? '';
      if ((seen.get(name) ?? '') === sig) return [];
      seen.set(name, sig);
      return all();
    };
  }

  /** The keys of the YusurServices selecting `obj` as a backend of `kind`. */
  private selecting(kind: BackendKind): KeyMapper<KubeObject> {
    const src = this.sources();
    return (obj) =>
      this.services.store
        .list()
        .filter((s) => selects(s, kind, obj as never, src))
        .map((s) => objectKey(s));
  }

  /** Creates the controller and its handlers; call after the informers synced. Returns the controller. */
  register(): Controller {
    const d = this.deps;
    const reservations = new ClusterIpReservations(d.kube, d.logger);
    // Our IPAddresses whose YusurService is gone are deleted before the first reconcile reserves anything.
    reservations
      .start((key) => !!this.services.store.get(key))
      .catch((err: unknown) => {
        d.logger.warn('reading ClusterIP reservations failed', { error: (err as Error).message });
      });
    const reconciler = new YusurServiceController({
      services: this.services.store,
      probes: this.probes.store,
      vpcs: d.topology.vpcs.store,
      eipPools: d.topology.eipPools.store,
      eips: new YusurEips({ eips: d.topology.eips.store, vpcs: d.topology.vpcs.store, config: d.config, kube: d.kube }),
      sources: this.sources(),
      config: d.config,
      applier: d.applier,
      kube: d.kube,
      events: d.events,
      clusterIps: new ClusterIpBook(),
      reservations,
      links: new ServiceGatewayLinkBook(d.config.serviceGateway.linkCIDR, () => linkRecords(d.yusurRows?.() ?? [])),
      serviceGatewayEips: d.serviceGatewayEips,
      nodes: this.nodes.store,
    });
    const c = d.controller('yusur-service', (key) => reconciler.reconcile(key, 'YusurService'));
    this.controller = c;
    const all = () => this.services.store.keys();
    this.services.addHandler(d.noting(c, 'YusurService changed'));
    this.probes.addHandler(d.noting(c, 'NetworkProbe changed', ownerKeys('YusurService')));
    d.pods.addHandler(d.noting(c, 'Pod changed', this.selecting('Pod')));
    this.bareMetalServers.addHandler(d.noting(c, 'BareMetalServer changed', this.selecting('BareMetal')));
    this.vnics.addHandler(d.noting(c, 'VNic changed', this.selecting('VNicIP')));
    this.namespaces.addHandler(d.noting(c, 'Namespace changed', all));
    this.nodes.addHandler(d.noting(c, 'Node datapath changed', this.datapathChanged(all)));
    d.topology.vpcs.addHandler(d.noting(c, 'Vpc changed', all));
    d.topology.subnets.addHandler(d.noting(c, 'Subnet changed', all));
    d.topology.eipPools.addHandler(d.noting(c, 'EipPool changed', all));
    d.topology.eips.addHandler(
      d.noting(c, 'Eip changed', (e: Eip & KubeObject) =>
        e.spec.binding?.kind === 'YusurService' ? `${e.spec.binding.namespace}/${e.spec.binding.name}` : undefined,
      ),
    );
    void this.discoverVms();
    return c;
  }

  /** Starts the VMI informer once `kubevirt.io/v1` VMIs are served; until then re-checks periodically. */
  private async discoverVms(): Promise<void> {
    if (this.stopped || this.vmis) return;
    let served = false;
    try {
      served = await servedAll(this.deps.kube, [YUSUR_RESOURCES.VirtualMachineInstance]);
    } catch (err) {
      this.deps.logger.warn('VMI discovery failed', { error: (err as Error).message });
    }
    if (this.stopped) return;
    if (!served) {
      this.timer = setTimeout(() => void this.discoverVms(), this.deps.vmDiscoveryIntervalMs ?? 30_000);
      this.timer.unref?.();
      return;
    }
    const vmis = new Informer<VirtualMachineInstance & KubeObject>(
      this.deps.kube,
      YUSUR_RESOURCES.VirtualMachineInstance,
      { logger: this.deps.logger },
    );
    this.vmis = vmis;
    vmis.addHandler(this.deps.noting(this.controller!, 'VirtualMachineInstance changed', this.selecting('VM')));
    vmis.start();
    this.deps.logger.info('KubeVirt VMIs are served: watching them for YusurService backends');
  }
}

/** Link networks recorded on service-gateway link switches (external_ids `ycloud.io/link`, `ycloud.io/link-cidr`). */
function linkRecords(rows: Array<{ table: string; row: Record<string, unknown> }>): LinkRecord[] {
  const out: LinkRecord[] = [];
  for (const { table, row } of rows) {
    const ids = (row.external_ids ?? {}) as Record<string, string>;
    const [service, link, cidr] = [ids['ycloud.io/service'], ids[LINK_ID], ids[LINK_CIDR_ID]];
    if (table !== 'Logical_Switch' || !service || !cidr || !(link === EIP_LINK || link?.startsWith('vpc/'))) continue;
    out.push({ service, link, cidr });
  }
  return out;
}
