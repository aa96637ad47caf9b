import type { ReconcileContext } from '@ycloud/k8s';
import type { V1Node } from '@kubernetes/client-node';
import {
  API_VERSION,
  ControllerConfig,
  Eip,
  EipPool,
  GROUP,
  Subnet,
  VERSION,
  Vpc,
  crdResources,
  parseCidr,
} from '@ycloud/api';
import { KubeClient, Logger, ResourceType, isNotFound, resourceType, setCondition } from '@ycloud/k8s';
import type { ApplyRecord, DesiredState, NorthboundApplier } from '@ycloud/ovn';
import {
  TranslationIssue,
  DEFAULT_VPC_GATEWAY_KIND,
  TranslateResult,
  activeGatewayNode,
  defaultVpcTransitAddress,
  defaultVpcWithStatus,
  translateDefaultVpcGateway,
  translateEip,
  translateEipPool,
  translateSubnet,
  translateVpc,
} from '@ycloud/translate/topology';
import type { EventSink, ObjectCache } from '../common/ports';
import { EipAddressBook } from '../eip/eip-addresses';

/** The custom resources the topology controller reconciles; queue keys are `<Kind>/<name>`. */
export type TopologyKind = 'Vpc' | 'Subnet' | 'EipPool' | 'Eip';
type TopologyObject = Vpc | Subnet | EipPool | Eip;
type Allocated = { ok: true; obj: TopologyObject } | { ok: false; errors: TranslationIssue[] };

export const TOPOLOGY_RESOURCES: Record<TopologyKind, ResourceType> = {
  Vpc: crdType('Vpc'),
  Subnet: crdType('Subnet'),
  EipPool: crdType('EipPool'),
  Eip: crdType('Eip'),
};

function crdType(kind: TopologyKind): ResourceType {
  const r = crdResources[kind];
  return resourceType(GROUP, VERSION, r.plural, r.kind, false);
}

export interface TopologyCaches {
  vpcs: ObjectCache<Vpc>;
  subnets: ObjectCache<Subnet>;
  eipPools: ObjectCache<EipPool>;
  eips: ObjectCache<Eip>;
  nodes: ObjectCache<V1Node>;
}

export interface TopologyObjectsControllerDeps {
  caches: TopologyCaches;
  config: ControllerConfig;
  applier: NorthboundApplier;
  kube: KubeClient;
  events: EventSink;
  addresses: EipAddressBook;
  log: Logger;
  /**
   * EIPs served by YusurService service-gateways (docs/adr/0004-service-gateway.md): their pool answers ARP for
   * them statelessly and their Eip objects own no rows. The manager queues the pool and its Eips when this changes.
   */
  serviceGatewayEips?: () => Array<{ pool: string; address: string }>;
}

/** The Vpc serving a namespace: the first Vpc (by name) whose spec.namespaces lists it, else the default VPC. */
export function vpcForNamespace(vpcs: Vpc[], namespace: string, defaultVpc: string): string {
  const claim = vpcs
    .filter((v) => v.spec.namespaces?.includes(namespace))
    .map((v) => v.metadata.name)
    .sort()[0];
  return claim ?? defaultVpc;
}

/**
 * The Vpcs as translation and the EIP controller see them: the Vpc resources plus, with `eip.defaultPool`, the
 * default VPC with its transit address in status (it has no resource; built-in names in the cache are ignored).
 * Its transit address (defaultVpcTransitAddress) is reserved in `addresses`, so no Vpc resource is given it.
 */
export function vpcsWithDefault(
  config: ControllerConfig,
  vpcs: ObjectCache<Vpc>,
  addresses: EipAddressBook,
): ObjectCache<Vpc> {
  const resources = () => vpcs.list().filter((v) => v.metadata.name !== config.defaultVpc);
  const defaultVpc = (): Vpc | undefined => {
    if (!config.eip.defaultPool) return undefined;
    const address = defaultVpcTransitAddress(config);
    const r = address
      ? addresses.reserveTransit(config.defaultVpc, address, resources(), config.eip.transitCIDR)
      : undefined;
    return defaultVpcWithStatus(config, r?.ok ? r.address : undefined);
  };
  return {
    get: (name) => (name === config.defaultVpc ? defaultVpc() : vpcs.get(name)),
    list: () => {
      const def = defaultVpc();
      const rest = resources();
      return def ? [...rest, def] : rest;
    },
  };
}

/** A Node is Ready when its Ready condition is True. */
function nodeReady(node: V1Node | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * Vpc, Subnet, EipPool and Eip → OVN, one owner per object, each applied as one transaction (or nothing). Before
 * translating it allocates what the object's status carries (Vpc transit address, Eip address, pool counts and
 * active gateway node), then reports `Ready` with observedGeneration; problems are the translator's reasons, and
 * an object that does not translate owns no rows at all. Objects depend on each other (a Subnet on its Vpc, a Vpc
 * on its pool, an Eip on both): the manager queues every topology object on any change, which is cheap because
 * unchanged states write nothing.
 */
export class TopologyObjectsController {
  /** Last problem logged for the default VPC's gateway (logged once per change: it has no status to carry it). */
  private defaultGatewayProblem = '';

  /** The Vpcs as translation and the EIP controller see them (see vpcsWithDefault). */
  readonly vpcs: ObjectCache<Vpc>;

  constructor(private readonly deps: TopologyObjectsControllerDeps) {
    this.vpcs = vpcsWithDefault(deps.config, deps.caches.vpcs, deps.addresses);
  }

  /** Every key of every topology object in the caches, and the default VPC's (its external gateway). */
  allKeys(): string[] {
    const c = this.deps.caches;
    return [
      `Vpc/${this.deps.config.defaultVpc}`,
      ...c.vpcs.list().map((o) => `Vpc/${o.metadata.name}`),
      ...c.subnets.list().map((o) => `Subnet/${o.metadata.name}`),
      ...c.eipPools.list().map((o) => `EipPool/${o.metadata.name}`),
      ...c.eips.list().map((o) => `Eip/${o.metadata.name}`),
    ];
  }

  vpcForNamespace(namespace: string): string {
    return vpcForNamespace(this.deps.caches.vpcs.list(), namespace, this.deps.config.defaultVpc);
  }

  async reconcile(key: string, { reason }: ReconcileContext): Promise<ApplyRecord> {
    const i = key.indexOf('/');
    const kind = key.slice(0, i) as TopologyKind;
    const name = key.slice(i + 1);
    const owner = { kind, name };
    if (kind === 'Vpc' && name === this.deps.config.defaultVpc) return this.reconcileDefaultGateway(reason);
    if (this.isBuiltin(kind, name)) {
      // The default VPC and its subnets come from the config (DefaultTopologyController owns their rows).
      return { owner, reason, written: false, operations: 0, touched: [], latencyMs: 0, at: new Date() };
    }
    const cache = this.cacheOf(kind);
    const obj = cache.get(name) as TopologyObject | undefined;
    if (!obj) {
      if (kind === 'Eip') this.deps.addresses.releaseEip(name);
      if (kind === 'Vpc') this.deps.addresses.releaseTransit(name);
      return this.deps.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, reason);
    }
    const allocated = await this.allocate(kind, obj);
    const result = allocated.ok
      ? this.translate(kind, allocated.obj)
      : { ok: false as const, errors: allocated.errors };
    const state: DesiredState = result.ok ? result.state : { owner, rows: [], memberships: [] };
    let record: ApplyRecord;
    try {
      record = await this.deps.applier.apply(state, reason);
    } catch (err) {
      // Usually ordering (a Subnet before its Vpc's rows exist): the retry converges; say so meanwhile.
      await this.setReady(kind, obj, 'False', 'ApplyFailed', (err as Error).message);
      throw err;
    }
    if (!result.ok) {
      const e = result.errors[0];
      const message = result.errors.map(describe).join('; ');
      this.deps.events.warning(this.ref(kind, obj), e.reason, message);
      await this.setReady(kind, obj, 'False', e.reason, message);
    } else if (result.warnings.length) {
      await this.setReady(kind, obj, 'False', result.warnings[0].reason, result.warnings.map(describe).join('; '));
    } else {
      await this.setReady(kind, obj, 'True', 'Ready', `${kind} ${name} is programmed in OVN`);
    }
    return record;
  }

  /**
   * The default VPC's external gateway (owner `VpcGateway/<defaultVpc>`; its router stays with
   * DefaultTopologyController): the same rows a Vpc resource naming `eip.defaultPool` gets, none without it.
   */
  private async reconcileDefaultGateway(reason: string): Promise<ApplyRecord> {
    const c = this.deps.config;
    const owner = { kind: DEFAULT_VPC_GATEWAY_KIND, name: c.defaultVpc };
    const address = defaultVpcTransitAddress(c);
    const reserved =
      c.eip.defaultPool && address
        ? this.deps.addresses.reserveTransit(c.defaultVpc, address, this.vpcResources(), c.eip.transitCIDR)
        : undefined;
    const transitAddress = reserved?.ok ? reserved.address : undefined;
    const result = translateDefaultVpcGateway(c, { eipPools: this.deps.caches.eipPools.list(), transitAddress });
    const problems = [
      ...(reserved && !reserved.ok ? [reserved.message] : []),
      ...(result.ok ? result.warnings.map(describe) : result.errors.map(describe)),
    ].join('; ');
    if (problems !== this.defaultGatewayProblem) {
      if (problems) this.deps.log.warn('default VPC external gateway not programmed', { problems });
      this.defaultGatewayProblem = problems;
    }
    const state: DesiredState = result.ok ? result.state : { owner, rows: [], memberships: [] };
    await this.detachGatewayChassisFirst(state, transitAddress, reason);
    return this.deps.applier.apply(state, reason);
  }

  /**
   * Removing the whole gateway in one transaction fails: the router stays (another owner's), so the port goes by
   * garbage collection while its Gateway_Chassis rows are deleted explicitly, and ovsdb-server checks references
   * before it collects garbage ("referential integrity violation"). So when a plan would do that, first apply the
   * port alone (its chassis rows detached and collected), then the empty state.
   */
  private async detachGatewayChassisFirst(state: DesiredState, transitAddress: string | undefined, reason: string) {
    if (state.rows.some((r) => r.table === 'Logical_Router_Port')) return;
    const deletes = (table: string) =>
      this.deps.applier.plan(state).touched.some((t) => t.table === table && t.action === 'delete');
    if (!deletes('Logical_Router_Port') || !deletes('Gateway_Chassis')) return;
    const c = this.deps.config;
    const pool = c.eip.defaultPool ?? 'none';
    const placeholder = { metadata: { name: pool }, spec: { gatewayNodes: [] } } as unknown as EipPool;
    const address = transitAddress ?? defaultVpcTransitAddress(c);
    const config = { ...c, eip: { ...c.eip, defaultPool: pool } };
    const r = translateDefaultVpcGateway(config, { eipPools: [placeholder], transitAddress: address });
    const port = r.ok ? r.state.rows.filter((row) => row.table === 'Logical_Router_Port') : [];
    if (port.length) await this.deps.applier.apply({ ...state, rows: port }, `${reason} (gateway chassis first)`);
  }

  private vpcResources(): Vpc[] {
    return this.deps.caches.vpcs.list().filter((v) => v.metadata.name !== this.deps.config.defaultVpc);
  }

  /** Names the controller config reserves: the default VPC and its pod and join subnets. */
  isBuiltin(kind: string, name: string): boolean {
    const c = this.deps.config;
    if (kind === 'Vpc') return name === c.defaultVpc;
    if (kind === 'Subnet') return name === c.defaultSubnet.name || name === c.joinSubnet.name;
    return false;
  }

  private cacheOf(kind: TopologyKind): ObjectCache<TopologyObject> {
    const c = this.deps.caches;
    const byKind: Record<TopologyKind, ObjectCache<TopologyObject>> = {
      Vpc: c.vpcs,
      Subnet: c.subnets,
      EipPool: c.eipPools,
      Eip: c.eips,
    };
    return byKind[kind];
  }

  /** Status fields the controller owns, written before translation reads them. */
  private async allocate(kind: TopologyKind, obj: TopologyObject): Promise<Allocated> {
    if (kind === 'Vpc') return this.allocateVpc(obj as Vpc);
    if (kind === 'Eip') return this.allocateEip(obj as Eip);
    if (kind === 'EipPool') return this.allocatePool(obj as EipPool);
    return { ok: true, obj };
  }

  private async allocateVpc(vpc: Vpc): Promise<Allocated> {
    if (!vpc.spec.externalGateway) return { ok: true, obj: vpc };
    this.vpcs.get(this.deps.config.defaultVpc); // reserves the default VPC's transit address before any Vpc is given a new one
    const a = this.deps.addresses.allocateTransit(vpc, this.vpcResources(), this.deps.config.eip.transitCIDR);
    if (!a.ok) return { ok: false, errors: [{ reason: a.reason, message: a.message }] };
    if (vpc.status?.transitAddress !== a.address) await this.patchStatus('Vpc', vpc, { transitAddress: a.address });
    return { ok: true, obj: { ...vpc, status: { ...vpc.status, transitAddress: a.address } } };
  }

  private async allocateEip(eip: Eip): Promise<Allocated> {
    const caches = this.deps.caches;
    const pool = caches.eipPools.get(eip.spec.pool);
    if (!pool) return { ok: true, obj: eip }; // the translator reports EipPoolNotFound
    const a = this.deps.addresses.allocateEip(eip, pool, caches.eips.list());
    if (!a.ok) return { ok: false, errors: [{ reason: a.reason, field: 'spec.address', message: a.message }] };
    const b = eip.spec.binding;
    const boundTo = b ? `${b.kind}/${b.namespace}/${b.name}` : undefined;
    const vpc = b ? this.vpcForNamespace(b.namespace) : undefined;
    const s = eip.status;
    if (s?.address !== a.address || s?.boundTo !== boundTo || s?.vpc !== vpc) {
      // null deletes a field in a merge patch.
      await this.patchStatus('Eip', eip, { address: a.address, boundTo: boundTo ?? null, vpc: vpc ?? null });
      this.onPoolChanged?.(eip.spec.pool); // its counts changed
    }
    return { ok: true, obj: { ...eip, status: { ...s, address: a.address, boundTo, vpc } } };
  }

  private async allocatePool(pool: EipPool): Promise<Allocated> {
    const caches = this.deps.caches;
    const current = pool.status?.activeGatewayNode;
    // Sticky: a node that is still a Ready candidate keeps the gateway (a node coming back must not cause a second
    // outage by taking it back; test/e2e/eip-failover.test.ts). Otherwise the first Ready candidate; with none,
    // keep what is there (moving would not help), else the first candidate.
    const keep = current && pool.spec.gatewayNodes.includes(current) && nodeReady(caches.nodes.get(current));
    const ready = keep ? current : pool.spec.gatewayNodes.find((n) => nodeReady(caches.nodes.get(n)));
    const active = ready ?? activeGatewayNode(pool);
    const valid = parseCidr(pool.spec.cidr)?.family === 4;
    const { used, free } = valid ? this.deps.addresses.counts(pool, caches.eips.list()) : { used: 0, free: 0 };
    const s = pool.status;
    if (s?.activeGatewayNode !== active || s?.used !== used || s?.free !== free) {
      await this.patchStatus('EipPool', pool, { activeGatewayNode: active ?? null, used, free });
    }
    return { ok: true, obj: { ...pool, status: { ...s, activeGatewayNode: active, used, free } } };
  }

  /** Set by the manager: queue a pool whose counts changed. */
  onPoolChanged?: (pool: string) => void;

  private translate(kind: TopologyKind, obj: TopologyObject): TranslateResult {
    const c = this.deps.caches;
    const transitCIDR = this.deps.config.eip.transitCIDR;
    const with_ = <T extends TopologyObject>(list: T[]): T[] =>
      list.map((o) => (o.metadata.name === obj.metadata.name && o.kind === obj.kind ? (obj as T) : o));
    const vpcs = with_(this.vpcs.list());
    const eipPools = with_(c.eipPools.list());
    const eips = with_(c.eips.list());
    const serviceGatewayEips = this.deps.serviceGatewayEips?.() ?? [];
    switch (kind) {
      case 'Vpc':
        return translateVpc(obj as Vpc, { eipPools, transitCIDR });
      case 'Subnet':
        // Vpc resources only, as before: the default VPC is in `vpcs` only with an EIP pool.
        return translateSubnet(obj as Subnet, { vpcs: with_(c.vpcs.list()), subnets: c.subnets.list() });
      case 'EipPool':
        return translateEipPool(obj as EipPool, { vpcs, eips, eipPools, transitCIDR, serviceGatewayEips });
      case 'Eip':
        return translateEip(obj as Eip, { vpcs, eips, eipPools, transitCIDR, serviceGatewayEips });
    }
  }

  private ref(kind: TopologyKind, obj: TopologyObject) {
    return { apiVersion: API_VERSION, kind, name: obj.metadata.name, uid: obj.metadata.uid };
  }

  private async patchStatus(kind: TopologyKind, obj: TopologyObject, status: Record<string, unknown>): Promise<void> {
    try {
      await this.deps.kube.mergePatch(TOPOLOGY_RESOURCES[kind], undefined, obj.metadata.name, { status }, 'status');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The Ready condition with observedGeneration, written only when it changes. */
  private async setReady(
    kind: TopologyKind,
    obj: TopologyObject,
    status: 'True' | 'False',
    reason: string,
    message: string,
  ): Promise<void> {
    const cached = (this.cacheOf(kind).get(obj.metadata.name) ?? obj) as TopologyObject;
    const generation = cached.metadata.generation;
    const { conditions, changed } = setCondition(cached.status?.conditions as never, {
      type: 'Ready',
      status,
      reason,
      message,
      observedGeneration: generation,
    });
    if (!changed && cached.status?.observedGeneration === generation) return;
    await this.patchStatus(kind, obj, { observedGeneration: generation, conditions });
  }
}

function describe(e: TranslationIssue): string {
  return e.field ? `${e.field}: ${e.message}` : e.message;
}
