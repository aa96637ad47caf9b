import type { ReconcileContext } from '@ycloud/k8s';
import type { V1EndpointSlice, V1Node, V1PortStatus, V1Service } from '@kubernetes/client-node';
import {
  API_VERSION,
  EIP_ANNOTATION,
  EIP_POOL_ANNOTATION,
  EXTERNAL_IDS,
  OWNER_KINDS,
  SERVICE_EIP_LABEL,
  type ControllerConfig,
  type Eip,
  type EipPool,
  type Vpc,
} from '@ycloud/api';
import { KubeClient, Resources, isAlreadyExists, isNotFound, type KubeObject } from '@ycloud/k8s';
import { type ApplyRecord, type DesiredState, type NorthboundApplier } from '@ycloud/ovn';
import {
  buildLoadBalancers,
  eipRouterLoadBalancers,
  lbProtocolOf,
  loadBalancerSourceRanges,
  sourceRangeAcls,
  translateService,
  serviceNodeOf,
  type GuardedAddress,
  type LbNode,
  type SourceRange,
} from '@ycloud/translate';
import { keys, lbGroupKey, vpcRouterKey } from '@ycloud/translate/topology';
import type { EventSink, ObjectCache, ObjectReference } from '../common/ports';
import { outsidePool, poolRanges } from './eip-addresses';
import { TOPOLOGY_RESOURCES } from '../topology/topology-objects.controller';

export interface ServiceEipControllerDeps {
  services: ObjectCache<V1Service>;
  endpointSlicesFor(namespace: string, name: string): V1EndpointSlice[];
  eips: ObjectCache<Eip>;
  /** To refuse an address outside the pool before an Eip is made for it. */
  eipPools: ObjectCache<EipPool>;
  /** For the zone of the node that runs a VPC's gateway (topology hints on the EIP). */
  nodes: ObjectCache<V1Node>;
  vpcs: ObjectCache<Vpc>;
  vpcForNamespace(namespace: string): string;
  config: ControllerConfig;
  applier: NorthboundApplier;
  kube: KubeClient;
  events: EventSink;
}

/** Name of the Eip the controller creates for a Service. */
export function serviceEipName(namespace: string, name: string): string {
  return `svc-${namespace}-${name}`.slice(0, 253);
}

/**
 * LoadBalancer Services ↔ Eips. A Service gets its address from the Eip named by `ycloud.io/eip` (bound to it), or
 * from an Eip the controller creates: address `spec.loadBalancerIP` or the next free one of the pool
 * (`ycloud.io/eip-pool`, else its Vpc's external gateway pool, else `eip.defaultPool`). The address goes to
 * `status.loadBalancer.ingress`; the Service's VIPs on it go into a router load balancer on the Vpc router (owner
 * `ServiceEip/<ns>/<name>`), because only the router's gateway port sees traffic from the EIP gateway. The
 * Service's own switch LBs are left to the Service controller. Deleting the Service (or leaving type
 * LoadBalancer) deletes the Eip it created and unbinds a named one, which frees the address.
 */
export class ServiceEipController {
  constructor(private readonly deps: ServiceEipControllerDeps) {}

  async reconcile(key: string, { reason }: ReconcileContext): Promise<ApplyRecord> {
    const owner = { kind: OWNER_KINDS.ServiceEip, name: key };
    const [namespace, name] = key.split('/');
    const svc = this.deps.services.get(key);
    const bound = this.boundEips(namespace, name);
    const empty: DesiredState = { owner, rows: [], memberships: [], mapEntries: [] };
    if (!svc || svc.spec?.type !== 'LoadBalancer') {
      const released = bound.map((e) => e.status?.address).filter((a): a is string => !!a);
      for (const e of bound) await this.release(e);
      if (svc?.status?.loadBalancer?.ingress?.length) await this.writeIngress(svc, []);
      // Gone from the cache but maybe not deleted: it now names another proxy (service-proxy-name), which the
      // informer filters out. The addresses ycloud wrote there are no longer served: take them back out.
      if (!svc && released.length) await this.withdrawIngress(namespace, name, released);
      return this.deps.applier.apply(empty, reason);
    }
    if (!this.isOurClass(svc)) {
      for (const e of bound) await this.release(e);
      return this.deps.applier.apply(empty, reason);
    }
    const eip = await this.ensureEip(svc);
    for (const e of bound) if (e.metadata.name !== eip?.metadata.name) await this.release(e);
    const address = eip?.status?.address;
    if (!address) {
      if (eip) this.reportUnallocated(svc, eip);
      return this.deps.applier.apply(empty, reason);
    }
    return this.deps.applier.apply(await this.serve(svc, address, owner), reason);
  }

  /** No class or ycloud's: ours. Another provider's Service: its status is that provider's to write. */
  private isOurClass(svc: V1Service): boolean {
    const cls = svc.spec?.loadBalancerClass;
    const ours = this.deps.config.eip.loadBalancerClass;
    if (!cls || cls === ours) return true;
    this.deps.events.normal(
      serviceRef(svc),
      'LoadBalancerClassNotOurs',
      `spec.loadBalancerClass ${cls} is not ${ours}: no EIP from ycloud`,
    );
    return false;
  }

  /** The router LBs of an allocated address, with the ingress status; nothing when the source ranges are bad. */
  private async serve(svc: V1Service, address: string, owner: DesiredState['owner']): Promise<DesiredState> {
    const ranges = loadBalancerSourceRanges(svc);
    if (ranges.errors.length) {
      // Fail closed: a restriction that cannot be read must not leave the address open to everyone.
      const what = ranges.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      this.warn(svc, 'InvalidLoadBalancerSourceRanges', `${what}; EIP ${address} withheld`);
      if (svc.status?.loadBalancer?.ingress?.length) await this.writeIngress(svc, []);
      return { owner, rows: [], memberships: [], mapEntries: [] };
    }
    const desired = this.withSourceRanges(this.routerLoadBalancers(svc, address, owner), svc, address, ranges.ranges);
    const ports = ingressPorts(svc);
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    const current = ingress.length === 1 ? ingress[0] : undefined;
    if (current?.ip !== address || canonicalPorts(current.ports) !== canonicalPorts(ports))
      await this.writeIngress(svc, [address], ports);
    return desired;
  }

  /**
   * loadBalancerSourceRanges in OVN: a drop ACL per protocol on the EIP pool's transit switch, which EIP traffic
   * crosses with its client address and the EIP still as destination (the VPC router's LB rewrites it after).
   * Only with the router LBs in place: without them nothing answers on the address anyway.
   */
  private withSourceRanges(state: DesiredState, svc: V1Service, address: string, ranges: SourceRange[]): DesiredState {
    const vpc = this.deps.vpcs.get(this.deps.vpcForNamespace(svc.metadata!.namespace!));
    const pool = vpc?.spec.externalGateway?.eipPool;
    if (!pool || state.rows.length === 0) return state;
    const guarded = { address, ports: [] as GuardedAddress['ports'] };
    for (const p of svc.spec?.ports ?? []) {
      const protocol = lbProtocolOf(p.protocol);
      if (protocol && Number.isInteger(p.port)) guarded.ports.push({ protocol, port: p.port });
    }
    const acls = sourceRangeAcls(state.owner, keys.poolTransitSwitch(pool), guarded, ranges, {
      [EXTERNAL_IDS.service]: state.owner.name,
      [EXTERNAL_IDS.eip]: address,
    });
    if (!acls.rows.length) return state;
    return {
      ...state,
      rows: [...state.rows, ...acls.rows],
      memberships: [...state.memberships, ...acls.memberships],
    };
  }

  /** An Eip without an address says why in its Ready condition (pool exhausted, address taken): tell the Service. */
  private reportUnallocated(svc: V1Service, eip: Eip): void {
    const ready = eip.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'False') return; // not looked at yet
    this.warn(
      svc,
      ready.reason || 'EipNotAllocated',
      `Eip ${eip.metadata.name} has no address: ${ready.message ?? ''}`,
    );
  }

  /** Eips whose binding names this Service. */
  private boundEips(namespace: string, name: string): Eip[] {
    return this.deps.eips
      .list()
      .filter(
        (e) =>
          e.spec.binding?.kind === 'Service' && e.spec.binding.namespace === namespace && e.spec.binding.name === name,
      );
  }

  private async ensureEip(svc: V1Service): Promise<Eip | undefined> {
    const named = svc.metadata?.annotations?.[EIP_ANNOTATION];
    return named ? this.bindNamedEip(svc, named) : this.ensureServiceEip(svc);
  }

  /** The user's Eip named by the annotation, bound to this Service unless bound elsewhere. */
  private async bindNamedEip(svc: V1Service, named: string): Promise<Eip | undefined> {
    const binding = { kind: 'Service' as const, namespace: svc.metadata!.namespace!, name: svc.metadata!.name! };
    const eip = this.deps.eips.get(named);
    if (!eip) return this.warn(svc, 'EipNotFound', `Eip ${named} does not exist`);
    const b = eip.spec.binding;
    if (b && (b.kind !== 'Service' || b.namespace !== binding.namespace || b.name !== binding.name)) {
      return this.warn(svc, 'EipInUse', `Eip ${named} is bound to ${b.kind} ${b.namespace}/${b.name}`);
    }
    const fixed = eip.spec.address;
    if (fixed && this.refuseOutsidePool(svc, `Eip ${named} spec.address`, fixed, eip.spec.pool)) return undefined;
    if (!b) await this.deps.kube.mergePatch(TOPOLOGY_RESOURCES.Eip, undefined, named, { spec: { binding } });
    return eip;
  }

  /** The Eip the controller keeps for this Service (created, or replaced when pool or address changed). */
  private async ensureServiceEip(svc: V1Service): Promise<Eip | undefined> {
    const namespace = svc.metadata!.namespace!;
    const name = svc.metadata!.name!;
    const binding = { kind: 'Service' as const, namespace, name };
    const vpc = this.deps.vpcs.get(this.deps.vpcForNamespace(namespace));
    const pool =
      svc.metadata?.annotations?.[EIP_POOL_ANNOTATION] ??
      vpc?.spec.externalGateway?.eipPool ??
      this.deps.config.eip.defaultPool;
    if (!pool) {
      return void this.warn(
        svc,
        'NoEipPool',
        `no EipPool: annotate ${EIP_POOL_ANNOTATION} or configure eip.defaultPool`,
      );
    }
    const eipName = serviceEipName(namespace, name);
    const address = svc.spec?.loadBalancerIP || undefined;
    // No Eip for an address the pool cannot give (one already made is released by the caller).
    if (address && this.refuseOutsidePool(svc, 'spec.loadBalancerIP', address, pool)) return undefined;
    const existing = this.deps.eips.get(eipName);
    if (existing && (existing.spec.pool !== pool || (address && existing.spec.address !== address))) {
      // Pool and address are immutable: replace the Eip (its address is freed when it is gone).
      await this.deleteEip(eipName);
      return undefined;
    }
    if (existing) return existing;
    const eip: Eip = {
      apiVersion: API_VERSION,
      kind: 'Eip',
      metadata: { name: eipName, labels: { [SERVICE_EIP_LABEL]: `${namespace}.${name}` } },
      spec: { pool, ...(address ? { address } : {}), binding },
    };
    try {
      await this.deps.kube.create(TOPOLOGY_RESOURCES.Eip, undefined, eip as never);
    } catch (err) {
      // Made by an earlier reconcile that the informer has not shown yet (a loaded apiserver): nothing went wrong,
      // and a Warning here would outlive it (`ycloud diagnose` reads the last one).
      if (isAlreadyExists(err)) return undefined;
      this.warn(svc, 'EipCreateFailed', (err as Error).message);
      throw err;
    }
    return undefined; // the informer brings it back with its address
  }

  /** Tells the Service (Warning AddressOutsidePool) when `address` is outside the ranges of EipPool `poolName`. */
  private refuseOutsidePool(svc: V1Service, field: string, address: string, poolName: string): boolean {
    const pool = this.deps.eipPools.get(poolName);
    if (!pool || !outsidePool(pool, address)) return false;
    const ranges = poolRanges(pool).join(', ');
    this.warn(svc, 'AddressOutsidePool', `${field}: ${address} is outside EipPool ${poolName} (${ranges}): no EIP`);
    return true;
  }

  /** Deletes an Eip the controller created; unbinds one the user named. Either frees the address for the Service. */
  private async release(eip: Eip): Promise<void> {
    if (eip.metadata.labels?.[SERVICE_EIP_LABEL]) return this.deleteEip(eip.metadata.name);
    try {
      await this.deps.kube.mergePatch(TOPOLOGY_RESOURCES.Eip, undefined, eip.metadata.name, {
        spec: { binding: null },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async deleteEip(name: string): Promise<void> {
    try {
      await this.deps.kube.delete(TOPOLOGY_RESOURCES.Eip, undefined, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Removes `addresses` from the live Service's ingress status (re-read: the cache no longer has it). */
  private async withdrawIngress(namespace: string, name: string, addresses: string[]): Promise<void> {
    let live: V1Service & KubeObject;
    try {
      live = await this.deps.kube.get<V1Service & KubeObject>(Resources.services, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const ingress = live.status?.loadBalancer?.ingress ?? [];
    const kept = ingress.filter((i) => !addresses.includes(i.ip ?? ''));
    if (kept.length === ingress.length) return;
    try {
      await this.deps.kube.mergePatch(
        Resources.services,
        namespace,
        name,
        { status: { loadBalancer: { ingress: kept } } },
        'status',
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async writeIngress(svc: V1Service, ips: string[], ports?: V1PortStatus[]): Promise<void> {
    const ingress = ips.map((ip) => ({ ip, ipMode: 'VIP', ...(ports?.length ? { ports } : {}) }));
    const patch = { status: { loadBalancer: { ingress } } };
    try {
      await this.deps.kube.mergePatch(
        Resources.services,
        svc.metadata!.namespace,
        svc.metadata!.name!,
        patch,
        'status',
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * One Load_Balancer per protocol with the Service's VIPs on the EIP address, backends as the Service's own LBs
   * choose them, attached to the Vpc router: the Service's LB model placed on the router. Only when that router
   * has its gateway port (external gateway and transit address): OVN ignores router LBs on a distributed router
   * without one.
   */
  private routerLoadBalancers(svc: V1Service, address: string, owner: DesiredState['owner']): DesiredState {
    const namespace = svc.metadata!.namespace!;
    const vpcName = this.deps.vpcForNamespace(namespace);
    const vpc = this.deps.vpcs.get(vpcName);
    const empty: DesiredState = { owner, rows: [], memberships: [], mapEntries: [] };
    if (!vpc?.spec.externalGateway || !vpc.status?.transitAddress) return empty;
    const t = translateService(svc, this.deps.endpointSlicesFor(namespace, svc.metadata!.name!), {
      vpc: vpcName,
      lbGroupKey,
      nodes: [],
    });
    const onRouter = eipRouterLoadBalancers(t.loadBalancers, svc.spec?.externalTrafficPolicy, {
      address,
      router: vpcRouterKey(vpcName),
      gatewayNode: this.gatewayNodeOf(vpc),
    });
    const { rows, memberships } = buildLoadBalancers(owner, onRouter);
    return { owner, rows, memberships, mapEntries: [] };
  }

  /** The node running the VPC's gateway port: its EIP pool's active gateway node, when known. */
  private gatewayNodeOf(vpc: Vpc): LbNode | undefined {
    const pool = vpc.spec.externalGateway?.eipPool;
    const active = pool ? this.deps.eipPools.get(pool)?.status?.activeGatewayNode : undefined;
    const node = active ? this.deps.nodes.get(active) : undefined;
    if (!node) return undefined;
    const { name, chassis, zone } = serviceNodeOf(node);
    return { name, chassis: chassis ?? name, ...(zone ? { zone } : {}) };
  }

  private warn(svc: V1Service, reason: string, message: string): undefined {
    this.deps.events.warning(serviceRef(svc), reason, message);
    return undefined;
  }
}

function serviceRef(svc: V1Service): ObjectReference {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    namespace: svc.metadata?.namespace,
    name: svc.metadata!.name!,
    uid: svc.metadata?.uid,
  };
}

/** The ports the EIP serves, for `status.loadBalancer.ingress[].ports` (what an external client can reach). */
export function ingressPorts(svc: V1Service): V1PortStatus[] {
  return (svc.spec?.ports ?? [])
    .filter((p) => Number.isInteger(p.port) && p.port > 0 && p.port < 65536)
    .map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' }));
}

function canonicalPorts(ports: V1PortStatus[] | undefined): string {
  return JSON.stringify((ports ?? []).map((p) => `${p.protocol}/${p.port}${p.error ? `/${p.error}` : ''}`).sort());
}
