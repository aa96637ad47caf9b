import type { ReconcileContext } from '@ycloud/k8s';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import {
  API_VERSION,
  EIP_ANNOTATION,
  EIP_POOL_ANNOTATION,
  EXTERNAL_IDS,
  OWNER_KINDS,
  SERVICE_EIP_LABEL,
  type ControllerConfig,
  type Eip,
  type Vpc,
} from '@ycloud/api';
import { KubeClient, Resources, isNotFound } from '@ycloud/k8s';
import type { ApplyRecord, DesiredState, NorthboundApplier } from '@ycloud/ovn';
import { buildLoadBalancers, translateService, type LoadBalancerSpec } from '@ycloud/translate';
import { lbGroupKey, vpcRouterKey } from '@ycloud/translate/topology';
import type { EventSink, ObjectCache } from '../common/ports';
import { TOPOLOGY_RESOURCES } from '../topology/topology-objects.controller';

export interface ServiceEipControllerDeps {
  services: ObjectCache<V1Service>;
  endpointSlicesFor(namespace: string, name: string): V1EndpointSlice[];
  eips: ObjectCache<Eip>;
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
      for (const e of bound) await this.release(e);
      if (svc?.status?.loadBalancer?.ingress?.length) await this.writeIngress(svc, []);
      return this.deps.applier.apply(empty, reason);
    }
    const eip = await this.ensureEip(svc);
    for (const e of bound) if (e.metadata.name !== eip?.metadata.name) await this.release(e);
    const address = eip?.status?.address;
    if (!address) return this.deps.applier.apply(empty, reason);
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    if (ingress.length !== 1 || ingress[0].ip !== address) await this.writeIngress(svc, [address]);
    return this.deps.applier.apply(this.routerLoadBalancers(svc, address, owner), reason);
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
      this.warn(svc, 'EipCreateFailed', (err as Error).message);
      throw err;
    }
    return undefined; // the informer brings it back with its address
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

  private async writeIngress(svc: V1Service, ips: string[]): Promise<void> {
    const patch = { status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } } };
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
    const onRouter: LoadBalancerSpec[] = t.loadBalancers
      .filter((lb) => !lb.perChassis)
      .map((lb) => ({
        ...lb,
        key: `${lb.key}:router`,
        name: `${lb.name}_router`,
        attachment: { kind: 'vpc-router', key: vpcRouterKey(vpcName) },
        externalIds: { ...lb.externalIds, [EXTERNAL_IDS.eip]: address },
        frontends: lb.frontends.filter((f) => f.scope === 'external' && f.address.address === address),
      }));
    const { rows, memberships } = buildLoadBalancers(owner, onRouter);
    return { owner, rows, memberships, mapEntries: [] };
  }

  private warn(svc: V1Service, reason: string, message: string): undefined {
    this.deps.events.warning(
      {
        apiVersion: 'v1',
        kind: 'Service',
        namespace: svc.metadata?.namespace,
        name: svc.metadata!.name!,
        uid: svc.metadata?.uid,
      },
      reason,
      message,
    );
    return undefined;
  }
}
