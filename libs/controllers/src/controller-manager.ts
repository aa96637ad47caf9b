import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { ControllerConfig, Subnet } from '@ycloud/api';
import { defaultTopologyObjects } from '@ycloud/translate/topology';
import { SubnetIpam } from './ipam/subnet-ipam';
import { routerAddressesOf } from './service/service-address-conflicts';
import { SubnetStatusWriter, wireSubnetStatus } from './ipam/subnet-status';
import { NodeNetworkController } from './node/node-network.controller';
import { PodNetworkController } from './pod/pod-network.controller';
import {
  Controller,
  EventRecorder,
  Informer,
  KubeClient,
  Logger,
  Resources,
  SERVICE_NAME_LABEL,
  enqueueHandler,
  indexByLabel,
  serviceKeyOfEndpointSlice,
  type KubeObject,
} from '@ycloud/k8s';
import type { ApplyRecord } from '@ycloud/ovn';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import type { EventSink, ObjectReference } from './common/ports';
import { ReasonBook } from './common/ports';
import { Northbound, type NorthboundOptions } from './northbound/northbound';
import { ServiceLoadBalancerController } from './service/service-load-balancer.controller';
import { DefaultTopologyController } from './topology/default-topology.controller';
import { EipAddressBook } from './eip/eip-addresses';
import { ServiceEipController } from './eip/service-eip.controller';
import { ServiceGatewayEips } from './eip/service-gateway-eips';
import { YusurServiceWiring, yusurCrdsServed } from './yusur/yusur-wiring';
import { ATTACHMENT_OWNER_KINDS, wireNetworkAttachments } from './attachment/network-attachment.wiring';
import { probePortAddresses, startNetworkProbes, type ProbeRuntimeOptions } from './probe/network-probe.wiring';
import {
  TopologyObjectsController,
  createTopologyInformers,
  topologyCrdsServed,
  vpcForNamespace,
  type TopologyInformers,
} from './topology/topology-objects.controller';

export interface ControllerManagerOptions {
  config: ControllerConfig;
  kube: KubeClient;
  northbound: NorthboundOptions;
  logger?: Logger;
  registry?: Registry;
  events?: EventSink;
  /** Called for every committed NB transaction (the change journal, metrics). */
  onApply?: (record: ApplyRecord) => void;
  workers?: number;
  /** How often to look for KubeVirt's VMI API while it is not served (YusurService VM backends; default 30 s). */
  vmDiscoveryIntervalMs?: number;
  /** Run NetworkProbes in this process (a node with OVS; ADR 0003). Omitted: probes are not run here. */
  probe?: ProbeRuntimeOptions;
}

/**
 * Runs ycloud's controllers in one process: informers fill caches, the Northbound client replicates the rows
 * ycloud uses, and each controller turns keys into desired states that the applier writes. Start-up repair:
 * once caches are synced, every owner found in the Northbound database is queued, so rows of objects deleted
 * while the controller was down are removed by the ordinary reconcile.
 */
export class ControllerManager {
  readonly log: Logger;
  readonly registry: Registry;
  private nb?: Northbound;
  private readonly informers: Array<Pick<Informer<KubeObject>, 'start' | 'stop' | 'waitForSync' | 'hasSynced'>> = [];
  private readonly controllers: Controller[] = [];
  private readonly reasons = new ReasonBook();
  private started = false;
  private stopProbes?: () => Promise<void>;
  private subnetStatus?: SubnetStatusWriter;
  /** Subnets beyond the built-in ones (Subnet resources), for pod IPAM. */
  extraSubnets: () => Subnet[] = () => [];

  readonly services: Informer<V1Service & KubeObject>;
  readonly endpointSlices: Informer<V1EndpointSlice & KubeObject>;
  readonly nodes: Informer<V1Node & KubeObject>;
  readonly pods: Informer<V1Pod & KubeObject>;
  /** Vpc, Subnet, EipPool, Eip. */
  readonly topologyObjects: TopologyInformers;

  constructor(private readonly options: ControllerManagerOptions) {
    this.log = options.logger ?? new Logger({ fields: { component: 'ycloud-controller' } });
    this.registry = options.registry ?? new Registry();
    const kube = options.kube;
    const informerLog = this.log.child({ part: 'informer' });
    this.services = new Informer(kube, Resources.services, { logger: informerLog });
    this.endpointSlices = new Informer(kube, Resources.endpointSlices, {
      logger: informerLog,
      indexers: { service: indexByLabel(SERVICE_NAME_LABEL) },
    });
    this.nodes = new Informer(kube, Resources.nodes, { logger: informerLog });
    this.pods = new Informer(kube, Resources.pods, { logger: informerLog });
    this.informers.push(this.services, this.endpointSlices, this.nodes, this.pods);
    // Started in start() only when the CRDs are served (clusters and tests without them still run Services).
    this.topologyObjects = createTopologyInformers(kube, informerLog);
  }

  get northbound(): Northbound {
    if (!this.nb) throw new Error('not started');
    return this.nb;
  }

  /** Connects, syncs caches, builds the default topology, then starts every controller. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { config } = this.options;
    this.nb = await Northbound.connect(this.options.northbound);
    if (this.options.onApply) this.nb.applier.onApply(this.options.onApply);
    for (const inf of this.informers) inf.start();
    await Promise.all(this.informers.map((i) => i.waitForSync()));
    this.log.info('caches synced', {
      services: this.services.store.list().length,
      nodes: this.nodes.store.list().length,
    });

    const events =
      this.options.events ??
      new RecorderEventSink(
        new EventRecorder(this.options.kube, {
          reportingController: 'ycloud.io/controller',
          reportingInstance: hostname(),
          logger: this.log,
        }),
      );
    const topology = new DefaultTopologyController(config, this.nb.applier);
    await topology.reconcile('startup');

    const services = new ServiceLoadBalancerController({
      services: this.services.store,
      endpointSlicesFor: (ns, name) => this.endpointSlices.store.byIndex('service', `${ns}/${name}`),
      nodes: this.nodes.store,
      topology: {
        vpcForNamespace: (ns) => this.vpcOf(ns),
      },
      applier: this.nb.applier,
      events,
      offloadSelectionFields: config.offload.selectionFields,
      addressHolders: () => ({
        services: this.services.store.list(),
        routerAddresses: routerAddressesOf([...defaultTopologyObjects(config).subnets, ...this.extraSubnets()]),
        podOf: (ip) => {
          const pod = this.pods.store.list().find((p) => (p.status?.podIPs ?? []).some((x) => x.ip === ip));
          return pod && `${pod.metadata?.namespace}/${pod.metadata?.name}`;
        },
      }),
    });
    const serviceController = this.controller('service', (key) => services.reconcile(key, this.reasons.take(key)));
    this.services.addHandler(this.noting(serviceController, 'Service changed'));
    this.endpointSlices.addHandler(this.noting(serviceController, 'EndpointSlice changed', serviceKeyOfEndpointSlice));
    // NodePort VIPs and Local traffic policy follow the nodes.
    this.nodes.addHandler(this.noting(serviceController, 'Node changed', () => this.services.store.keys()));

    // Pods and nodes: addresses, switch ports and the annotations the CNI agent plugs interfaces from.
    const builtin = defaultTopologyObjects(config).subnets;
    const subnets = (): Subnet[] => [...builtin, ...this.extraSubnets()];
    const ipam = new SubnetIpam();
    const podNetwork = new PodNetworkController({
      pods: this.pods.store,
      subnets,
      ipam,
      applier: this.nb.applier,
      kube: this.options.kube,
      events,
      config,
      vpcForNamespace: (ns) => this.vpcOf(ns),
    });
    const podController = this.controller('pod-network', (key) => podNetwork.reconcile(key, this.reasons.take(key)));
    this.pods.addHandler(this.noting(podController, 'Pod changed'));
    const nodeNetwork = new NodeNetworkController({
      nodes: this.nodes.store,
      joinSubnet: () => builtin.find((s) => s.spec.role === 'join')!,
      ipam,
      applier: this.nb.applier,
      kube: this.options.kube,
      events,
      config,
    });
    const nodeController = this.controller('node-network', (key) => nodeNetwork.reconcile(key, this.reasons.take(key)));
    this.nodes.addHandler(this.noting(nodeController, 'Node changed'));

    // --- Topology objects (Vpc, Subnet, EipPool, Eip) and LoadBalancer EIPs: libs/controllers/src/{topology,eip} ---
    const topo = this.topologyObjects;
    // Scenario 4: EIPs served by YusurService service-gateways, seeded from their routers in NB (ADR 0004).
    const view = this.nb.view;
    const yusurRows = () =>
      view
        .allOwners()
        .filter((o) => o.kind === 'YusurService')
        .flatMap((o) => view.ownedBy(o));
    const serviceGatewayEips = new ServiceGatewayEips();
    serviceGatewayEips.seed(yusurRows().flatMap((r) => (r.table === 'Logical_Router' ? [r.row] : [])));
    const crdsServed = await topologyCrdsServed(this.options.kube);
    if (crdsServed) {
      for (const inf of Object.values(topo)) inf.start();
      await Promise.all(Object.values(topo).map((i) => i.waitForSync()));
      this.informers.push(...Object.values(topo));
      // Pods may use any Subnet whose topology is in place (Ready), not only the built-in ones.
      this.extraSubnets = () =>
        topo.subnets.store
          .list()
          .filter((s) => s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) as Subnet[];
      this.subnetStatus = wireSubnetStatus({
        ...{ ipam, informer: topo.subnets, kube: this.options.kube, log: this.log },
        ...{ builtin: builtin.map((s) => s.metadata.name), beforeCount: () => podNetwork.restoreAll() },
      });
    } else this.log.warn('Vpc/Subnet/EipPool/Eip CRDs are not served: topology and EIP controllers not started');
    if (crdsServed) {
      const topologyObjects = new TopologyObjectsController({
        caches: {
          vpcs: topo.vpcs.store,
          subnets: topo.subnets.store,
          eipPools: topo.eipPools.store,
          eips: topo.eips.store,
          nodes: this.nodes.store,
        },
        config,
        applier: this.nb.applier,
        kube: this.options.kube,
        events,
        addresses: new EipAddressBook(),
        log: this.log,
        serviceGatewayEips: () => serviceGatewayEips.list(),
      });
      const topologyController = this.controller('topology', (key) =>
        topologyObjects.reconcile(key, this.reasons.take(key)),
      );
      topologyObjects.onPoolChanged = (pool) => topologyController.enqueue(`EipPool/${pool}`);
      serviceGatewayEips.onChange((pool, address) => {
        const eips = topo.eips.store.list().filter((e) => e.spec.pool === pool && e.status?.address === address);
        for (const key of [`EipPool/${pool}`, ...eips.map((e) => `Eip/${e.metadata.name}`)]) {
          this.reasons.note(key, 'service-gateway EIPs changed');
          topologyController.enqueue(key);
        }
      });
      // Objects depend on each other (Subnet → Vpc → EipPool, Eip → all): any change queues them all.
      for (const [kind, inf] of [
        ['Vpc', topo.vpcs],
        ['Subnet', topo.subnets],
        ['EipPool', topo.eipPools],
        ['Eip', topo.eips],
      ] as const) {
        const keys = (o: KubeObject) => [`${kind}/${o.metadata?.name ?? ''}`, ...topologyObjects.allKeys()];
        (inf as unknown as Informer<KubeObject>).addHandler(this.noting(topologyController, 'topology changed', keys));
      }
      this.nodes.addHandler(
        this.noting(topologyController, 'Node changed', () => topo.eipPools.store.keys().map((k) => `EipPool/${k}`)),
      );
      const serviceEips = new ServiceEipController({
        services: this.services.store,
        endpointSlicesFor: (ns, name) => this.endpointSlices.store.byIndex('service', `${ns}/${name}`),
        eips: topo.eips.store,
        vpcs: topologyObjects.vpcs, // with the default VPC when eip.defaultPool is set
        vpcForNamespace: (ns) => this.vpcOf(ns),
        config,
        applier: this.nb.applier,
        kube: this.options.kube,
        events,
      });
      const serviceEipController = this.controller('service-eip', (key) =>
        serviceEips.reconcile(key, this.reasons.take(key)),
      );
      this.services.addHandler(this.noting(serviceEipController, 'Service changed'));
      this.endpointSlices.addHandler(
        this.noting(serviceEipController, 'EndpointSlice changed', serviceKeyOfEndpointSlice),
      );
      topo.eips.addHandler(
        this.noting(serviceEipController, 'Eip changed', (e) =>
          e.spec.binding?.kind === 'Service' ? `${e.spec.binding.namespace}/${e.spec.binding.name}` : undefined,
        ),
      );
      topo.vpcs.addHandler(this.noting(serviceEipController, 'Vpc changed', () => this.services.store.keys()));
      for (const owner of this.northbound.view.allOwners()) {
        if (['Vpc', 'Subnet', 'EipPool', 'Eip'].includes(owner.kind))
          topologyController.enqueue(`${owner.kind}/${owner.name}`);
        if (owner.kind === 'ServiceEip') serviceEipController.enqueue(owner.name);
      }
      topologyController.enqueue(`Vpc/${config.defaultVpc}`); // its external gateway (VpcGateway owner)
    }
    // --- end topology objects and EIPs ---

    // --- NetworkProbes (ADR 0003): libs/controllers/src/probe ---
    const probePortOwners = this.nb.view.allOwners().filter((o) => o.kind === 'ProbePort');
    if (crdsServed && this.options.probe) {
      const nbView = this.nb.view;
      const probes = await startNetworkProbes({
        kube: this.options.kube,
        log: this.log,
        runtime: this.options.probe,
        pods: this.pods.store,
        subnets,
        ipam,
        applier: this.nb.applier,
        config,
        vpcForNamespace: (ns) => this.vpcOf(ns),
        existingPorts: probePortOwners.map((o) => ({ vpc: o.name, addresses: probePortAddresses(nbView.ownedBy(o)) })),
        controller: (name, reconcile) => this.controller(name, reconcile),
      });
      this.informers.push(probes.informer);
      this.pods.addHandler({
        onAdd: probes.backendsChanged,
        onUpdate: probes.backendsChanged,
        onDelete: probes.backendsChanged,
      });
      this.stopProbes = probes.stop;
    } else {
      // No prober here, so nothing plugs these ports: remove them (their addresses go back to the pods' IPAM).
      for (const owner of probePortOwners)
        await this.nb.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, 'NetworkProbes not run');
    }
    // --- end NetworkProbes ---

    // --- YusurServices (Pod/VM/BareMetal/VNic backends, probes, ClusterIPs, EIPs): libs/controllers/src/yusur ---
    const repairYusur: Record<string, Controller> = {};
    if (crdsServed && (await yusurCrdsServed(this.options.kube))) {
      const yusur = new YusurServiceWiring({
        ...{ kube: this.options.kube, config, applier: this.nb.applier, events, logger: informerLog(this.log) },
        ...{ pods: this.pods, topology: topo, builtinSubnets: subnets },
        vpcForNamespace: (ns) => this.vpcOf(ns),
        controller: (name, reconcile) => this.controller(name, reconcile),
        noting: (c, reason, map) => this.noting(c, reason, map),
        vmDiscoveryIntervalMs: this.options.vmDiscoveryIntervalMs,
        ...{ serviceGatewayEips, yusurRows },
      });
      yusur.start();
      await yusur.waitForSync();
      this.informers.push(yusur);
      repairYusur.YusurService = yusur.register();
    } else this.log.warn('YusurService CRDs are not served: YusurService controller not started');
    // --- end YusurServices ---

    // --- Network attachments of BareMetalServers and VNics (ADR 0006): libs/controllers/src/attachment ---
    // Reuses the YusurService wiring's BareMetalServer/VNic caches (served together with the YusurService CRDs).
    const attachmentCaches = this.informers.find((i): i is YusurServiceWiring => i instanceof YusurServiceWiring);
    if (attachmentCaches) {
      const attachmentController = wireNetworkAttachments({
        ...{ kube: this.options.kube, config, applier: this.nb.applier, ipam, subnets },
        ...{ bareMetalServers: attachmentCaches.bareMetalServers, vnics: attachmentCaches.vnics, pods: this.pods },
        subnetObjects: topo.subnets,
        controller: (name, reconcile) => this.controller(name, reconcile),
        noting: (c, reason, map) => this.noting(c, reason, map),
        reasonOf: (key) => this.reasons.take(key),
      });
      for (const owner of this.northbound.view.allOwners()) {
        if (!(ATTACHMENT_OWNER_KINDS as readonly string[]).includes(owner.kind)) continue;
        this.reasons.note(owner.name, 'startup repair');
        attachmentController.enqueue(owner.name);
      }
    }
    // --- end network attachments ---

    this.repair({ Service: serviceController, Pod: podController, Node: nodeController, ...repairYusur });
    await Promise.all(this.controllers.map((c) => c.start()));
    this.log.info('controllers started', { controllers: this.controllers.map((c) => c.name) });
  }

  async stop(): Promise<void> {
    this.subnetStatus?.stop();
    await Promise.all(this.controllers.map((c) => c.stop({ drain: true })));
    await this.stopProbes?.();
    await Promise.all(this.informers.map((inf) => inf.stop()));
    await this.nb?.close();
  }

  /** The VPC serving a namespace: the Vpc resource that claims it, else the default VPC. */
  private vpcOf(namespace: string): string {
    return vpcForNamespace(this.topologyObjects.vpcs.store.list(), namespace, this.options.config.defaultVpc);
  }

  /** Queues every owner of ycloud rows in the database, so owners deleted while we were down are cleaned. */
  private repair(byKind: Record<string, Controller>): void {
    for (const owner of this.northbound.view.allOwners()) {
      const c = byKind[owner.kind];
      if (!c) continue;
      this.reasons.note(owner.name, 'startup repair');
      c.enqueue(owner.name);
    }
  }

  private controller(name: string, reconcile: (key: string) => Promise<unknown>): Controller {
    const c = new Controller({
      name,
      // Reconciles mostly wait on their NB transaction's round trip: several in flight keep ovsdb-server busy.
      // Concurrent applies are safe: each owner's rows are its own, and membership mutations commute.
      workers: this.options.workers ?? 16,
      registry: this.registry,
      logger: this.log,
      reconcile: async (key) => {
        await reconcile(key);
        return {};
      },
    });
    c.waitFor(...this.informers);
    this.controllers.push(c);
    return c;
  }

  private noting<T extends KubeObject>(
    target: Controller,
    reason: string,
    map?: (obj: T) => string | string[] | undefined,
  ): ReturnType<typeof enqueueHandler<T>> {
    return enqueueHandler<T>(
      {
        enqueue: (key) => {
          this.reasons.note(key, reason);
          target.enqueue(key);
        },
      },
      map,
    );
  }
}

const informerLog = (log: Logger): Logger => log.child({ part: 'informer' });

/** Kubernetes Events through the recorder (which aggregates repeats and never throws). */
export class RecorderEventSink implements EventSink {
  constructor(private readonly recorder: EventRecorder) {}
  warning(object: ObjectReference, reason: string, message: string): void {
    this.recorder.event(object, 'Warning', reason, message);
  }
  normal(object: ObjectReference, reason: string, message: string): void {
    this.recorder.event(object, 'Normal', reason, message);
  }
}
