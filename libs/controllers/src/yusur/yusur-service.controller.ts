import type { V1Node } from '@kubernetes/client-node';
import type { ReconcileContext } from '@ycloud/k8s';
import {
  API_VERSION,
  OWNER_KINDS,
  type BackendCounts,
  type ControllerConfig,
  type EipPool,
  type NetworkProbe,
  type NetworkProbeSpec,
  type Vpc,
  type YusurService,
  type YusurServiceStatus,
} from '@ycloud/api';
import { isNotFound, KubeApiError, setCondition, type Condition, type KubeClient } from '@ycloud/k8s';
import type { ApplyRecord, DesiredState, NorthboundApplier } from '@ycloud/ovn';
import {
  EIP_LINK,
  translateYusurService,
  vpcLinkId,
  type YusurTranslation,
  type YusurTranslationContext,
} from '@ycloud/translate';
import type { EventSink, ObjectCache } from '../common/ports';
import type { ServiceGatewayEips } from '../eip/service-gateway-eips';
import { backendDatapathVerdict, backendNode } from './backend-datapath';
import { backendProbePort } from './backend-probe';
import { applyProbeHealth, resolveBackends, type BackendSources, type ResolvedBackend } from './backends';
import { ClusterIpBook, type ClusterIpAllocation } from './cluster-ip-book';
import type { ClusterIpReservations } from './cluster-ip-reservations';
import type { ServiceGatewayLinkBook } from './service-gateway-links';
import { YusurEips, type EipOutcome } from './yusur-eips';
import { YUSUR_RESOURCES } from './yusur-resources';

export interface YusurServiceControllerDeps {
  services: ObjectCache<YusurService>;
  probes: ObjectCache<NetworkProbe>;
  vpcs: ObjectCache<Vpc>;
  eipPools: ObjectCache<EipPool>;
  eips: YusurEips;
  sources: BackendSources;
  config: ControllerConfig;
  applier: NorthboundApplier;
  kube: KubeClient;
  events: EventSink;
  clusterIps: ClusterIpBook;
  /** Default-VPC ClusterIPs reserved with the apiserver (shared with Kubernetes Services); omitted: not reserved. */
  reservations?: ClusterIpReservations;
  /** Service-gateway link networks (scenario 4). */
  links: ServiceGatewayLinkBook;
  /** Where the controller says which EIPs its service-gateways serve (the EipPool answers ARP for them). */
  serviceGatewayEips?: ServiceGatewayEips;
  /** Nodes, for their agents' YcloudDatapathReady condition (condition BackendDatapathReady); omitted: not judged. */
  nodes?: ObjectCache<V1Node>;
}

type ConditionType =
  'Ready' | 'Programmed' | 'BackendsResolved' | 'AddressesAllocated' | 'ProbesHealthy' | 'BackendDatapathReady';
type Verdict = { status: 'True' | 'False'; reason: string; message: string };

/** What one reconcile worked out, before and after translation. */
interface Plan {
  vpc: string;
  backends: ResolvedBackend[];
  clusterIPs: string[];
  eip?: { address: string; pool: string };
  backendsResolved: Verdict;
  addresses: Verdict;
  probes: Verdict;
  /** Whether the backends' nodes have a working datapath; undefined when nodes are not watched. */
  datapath?: Verdict & { allDown: boolean };
}

/** Max targets of a NetworkProbe (CRD limit). */
const MAX_PROBE_TARGETS = 256;
const COUNT_KEYS = { Pod: 'pod', VM: 'vm', BareMetal: 'bareMetal', VNicIP: 'vnicIP' } as const;

/** Name of the NetworkProbe the controller keeps for a service's backends. */
export function backendsProbeName(service: string): string {
  return `${service}-backends`;
}

/** JSON with object keys sorted (the apiserver does not keep our key order). */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

const ok = (reason: string, message: string): Verdict => ({ status: 'True', reason, message });
const bad = (reason: string, message: string): Verdict => ({ status: 'False', reason, message });

/**
 * YusurService → OVN (one DesiredState per service, owner `YusurService/<ns>/<name>`). Per key: resolve backends
 * of the four kinds, mark them from the service's NetworkProbe (`<name>-backends`, created from spec.probe with an
 * owner reference), allocate ClusterIPs (given, or from the VPC's service range) and the EIP (through an Eip
 * object), translate, apply, and write status (addresses, counts, five conditions with observedGeneration; no
 * write when nothing changed). A service that does not translate owns no rows.
 */
export class YusurServiceController {
  constructor(private readonly deps: YusurServiceControllerDeps) {}

  async reconcile(key: string, { reason }: ReconcileContext): Promise<ApplyRecord> {
    const owner = { kind: OWNER_KINDS.YusurService, name: key };
    const svc = this.deps.services.get(key);
    const empty: DesiredState = { owner, rows: [], memberships: [], mapEntries: [] };
    if (!svc || svc.metadata.deletionTimestamp) {
      const [ns, name] = key.split('/');
      this.deps.clusterIps.release(key);
      await this.deps.reservations?.release(key);
      await this.deps.eips.releaseAll(ns, name);
      this.deps.serviceGatewayEips?.set(key, undefined);
      const gone = await this.deps.applier.apply(empty, reason);
      this.deps.links.release(key);
      return gone;
    }
    const plan = await this.plan(key, svc);
    const { t, links } = this.translate(key, svc, plan);
    const state = t.result.ok && plan.addresses.status === 'True' ? t.result.state : empty;
    const gateway = state !== empty && t.gatewayChassis !== undefined && plan.eip;
    // Before the apply: the pool starts answering for the EIP (and its Eip object gives up the route) meanwhile.
    this.deps.serviceGatewayEips?.set(key, gateway ? { pool: gateway.pool, address: gateway.address } : undefined);
    let record: ApplyRecord;
    try {
      record = await this.deps.applier.apply(state, reason);
    } catch (err) {
      const failed = bad('ApplyFailed', (err as Error).message);
      await this.writeStatus(svc, plan, failed, failed);
      throw err;
    }
    // Only now that NB no longer uses them: links of VPCs that left (or of a gateway no longer needed).
    this.deps.links.release(key, gateway ? links : []);
    const programmed = this.programmed(plan, t);
    await this.writeStatus(svc, plan, programmed, this.serving(plan, programmed));
    return record;
  }

  /**
   * Translates; for a service-gateway (backends in several VPCs) first allocates its link networks: one for the
   * EIP side and one per backend VPC (the translation without links says which VPCs), then translates with them.
   */
  private translate(key: string, svc: YusurService, plan: Plan): { t: YusurTranslation; links: string[] } {
    const ctx: YusurTranslationContext = {
      vpc: plan.vpc,
      vpcs: this.deps.vpcs.list(),
      defaultVpc: this.deps.config.defaultVpc,
      eipPools: this.deps.eipPools.list(),
      backends: plan.backends,
      clusterIPs: plan.clusterIPs,
      eip: plan.eip,
      offloadSelectionFields: this.deps.config.offload.selectionFields,
    };
    const t = translateYusurService(svc, ctx);
    if (t.eipMode !== 'service-gateway' || !plan.eip || plan.addresses.status === 'False') return { t, links: [] };
    const links = [EIP_LINK, ...t.backendVpcs.map(vpcLinkId)];
    const a = this.deps.links.allocate(key, links);
    if (!a.ok) {
      plan.addresses = bad(a.reason, `service-gateway links: ${a.message}`);
      return { t, links: [] };
    }
    const vpcs = Object.fromEntries(t.backendVpcs.map((v) => [v, a.cidrs[vpcLinkId(v)]]));
    const serviceGatewayLinks = { eip: a.cidrs[EIP_LINK], vpcs };
    return { t: translateYusurService(svc, { ...ctx, serviceGatewayLinks }), links };
  }

  private async plan(key: string, svc: YusurService): Promise<Plan> {
    const ns = svc.metadata.namespace ?? 'default';
    const vpc = svc.spec.scenarios?.clusterIP?.vpc ?? this.deps.sources.vpcForNamespace(ns);
    const resolved = resolveBackends(svc, this.deps.sources);
    const { probe, problem } = await this.syncProbe(svc, resolved);
    const backends = applyProbeHealth(resolved, problem ? undefined : probe);
    const plan: Plan = {
      vpc,
      backends,
      clusterIPs: [],
      backendsResolved: this.backendsVerdict(svc, backends),
      addresses: ok('Allocated', 'addresses allocated'),
      probes: problem ?? this.probesVerdict(svc, backends),
      datapath:
        this.deps.nodes &&
        backendDatapathVerdict(backends, (b) => backendNode(b, this.deps.sources.pods), this.deps.nodes),
    };
    const vpcKnown = vpc === this.deps.config.defaultVpc || !!this.deps.vpcs.get(vpc);
    if (!vpcKnown) {
      plan.addresses = bad('VpcNotFound', `Vpc ${vpc} does not exist`);
      return plan;
    }
    const cluster = await this.reserveClusterIps(key, svc, vpc);
    if (cluster.ok) plan.clusterIPs = cluster.addresses;
    else plan.addresses = bad(cluster.reason, `spec.scenarios.clusterIP: ${cluster.message}`);
    const eip: EipOutcome = await this.deps.eips.ensure(svc, vpc);
    if (eip.ok === true) plan.eip = { address: eip.address, pool: eip.pool };
    else if (eip.ok === false && plan.addresses.status === 'True')
      plan.addresses = bad(eip.reason, `spec.scenarios.eip: ${eip.message}`);
    return plan;
  }

  /**
   * Allocates the ClusterIPs and, in the default VPC, reserves them with the apiserver: an address a Kubernetes
   * Service already holds is skipped (allocated) or reported (requested).
   */
  private async reserveClusterIps(key: string, svc: YusurService, vpc: string): Promise<ClusterIpAllocation> {
    const reservations = this.deps.reservations;
    let r = this.allocateClusterIps(key, svc, vpc);
    if (!reservations) return r;
    if (!r.ok || vpc !== this.deps.config.defaultVpc) {
      if (r.ok) await reservations.release(key);
      return r;
    }
    for (let attempt = 0; r.ok; attempt++) {
      const res = await reservations.reserve(key, r.addresses);
      if (res.ok) {
        await reservations.release(key, r.addresses);
        return r;
      }
      const message = `${res.address} is used by ${res.holder}`;
      if (svc.spec.scenarios?.clusterIP?.address || attempt >= 16) {
        this.deps.clusterIps.release(key);
        return { ok: false, reason: 'AddressInUse', message };
      }
      this.deps.clusterIps.block(vpc, res.address);
      r = this.allocateClusterIps(key, svc, vpc);
    }
    return r;
  }

  private allocateClusterIps(key: string, svc: YusurService, vpc: string): ClusterIpAllocation {
    const want = svc.spec.scenarios?.clusterIP;
    if (!want) {
      this.deps.clusterIps.release(key);
      return { ok: true, addresses: [] };
    }
    const vpcObj = this.deps.vpcs.get(vpc);
    const cidrs =
      vpcObj?.spec.serviceCIDRs ?? (vpc === this.deps.config.defaultVpc ? this.deps.config.serviceCIDRs : []);
    const holders = () =>
      this.deps.services.list().map((s) => ({
        key: `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`,
        vpc: s.spec.scenarios?.clusterIP?.vpc ?? this.deps.sources.vpcForNamespace(s.metadata.namespace ?? 'default'),
        addresses: s.status?.clusterIPs ?? [],
      }));
    return this.deps.clusterIps.allocate(key, vpc, cidrs, want.address, holders);
  }

  private backendsVerdict(svc: YusurService, backends: ResolvedBackend[]): Verdict {
    if (!backends.length) return bad('NoBackends', 'no selected backend has an address');
    for (const [i, p] of (svc.spec.ports ?? []).entries()) {
      const target = p.targetPort;
      if (typeof target !== 'string') continue;
      if (!backends.some((b) => b.namedPorts?.[target] !== undefined)) {
        return bad('NamedPortNotFound', `spec.ports[${i}].targetPort: no backend has a port named ${target}`);
      }
    }
    return ok('Resolved', `${backends.length} backend(s)`);
  }

  private probesVerdict(svc: YusurService, backends: ResolvedBackend[]): Verdict {
    if (!svc.spec.probe) return ok('NoProbe', 'spec.probe is not set: every backend counts as healthy');
    const down = backends.filter((b) => b.healthy === false);
    if (!down.length) return ok('Healthy', `${backends.length} backend(s) healthy`);
    const names = down.slice(0, 5).map((b) => b.target);
    return bad('BackendsUnhealthy', `${down.length} of ${backends.length} unhealthy: ${names.join(', ')}`);
  }

  /**
   * Ready = serving: programmed and at least one backend healthy (a Ready Pod that its probe, if any, finds up).
   * Programmed alone says only that OVN has the service; a user reading READY must not see True with no backend.
   */
  private serving(plan: Plan, programmed: Verdict): Verdict {
    if (programmed.status === 'False') return programmed;
    const healthy = plan.backends.filter((b) => b.healthy !== false).length;
    if (healthy > 0) return ok('Ready', `programmed in OVN; ${healthy} of ${plan.backends.length} backend(s) healthy`);
    const unready = plan.backends.filter((b) => b.ready === false).length;
    const why = unready ? `${unready} Pod(s) not Ready` : 'probes failing';
    return bad('NoHealthyBackends', `programmed in OVN but no backend is healthy (${why})`);
  }

  private programmed(plan: Plan, t: YusurTranslation): Verdict {
    if (!t.result.ok) {
      const e = t.result.errors[0];
      return bad(e.reason, t.result.errors.map((x) => (x.field ? `${x.field}: ${x.message}` : x.message)).join('; '));
    }
    if (plan.addresses.status === 'False') return plan.addresses;
    if (plan.backendsResolved.status === 'False') return plan.backendsResolved;
    // Programmed, but nothing can answer: every backend's node has lost its datapath.
    if (plan.datapath?.allDown) return bad(plan.datapath.reason, plan.datapath.message);
    const w = t.result.warnings[0];
    if (w) return bad(w.reason, t.result.warnings.map((x) => x.message).join('; '));
    return ok('Programmed', 'programmed in OVN');
  }

  /**
   * Keeps `<name>-backends` in step with spec.probe and the resolved backends; returns the object read. A probe that
   * cannot be written as asked (no port to probe, rejected by the apiserver) is a `problem`: the service is still
   * programmed, with every backend counted healthy, and ProbesHealthy says why.
   */
  private async syncProbe(
    svc: YusurService,
    backends: ResolvedBackend[],
  ): Promise<{ probe?: NetworkProbe; problem?: Verdict }> {
    const ns = svc.metadata.namespace ?? 'default';
    const name = backendsProbeName(svc.metadata.name);
    const existing = this.deps.probes.get(`${ns}/${name}`);
    const refs = (existing?.metadata as { ownerReferences?: Array<{ uid?: string }> } | undefined)?.ownerReferences;
    const owned = refs?.some((r) => r.uid === svc.metadata.uid);
    if (!svc.spec.probe || !backends.length) {
      if (existing && owned) await this.ignoreNotFound(this.deps.kube.delete(YUSUR_RESOURCES.NetworkProbe, ns, name));
      return {};
    }
    const port = backendProbePort(svc, backends);
    if (!port.ok) return { problem: bad('ProbePortUnknown', port.message) };
    const targets = backends.slice(0, MAX_PROBE_TARGETS).map((b) => ({ backendRef: b.ref }));
    const spec: NetworkProbeSpec = { ...svc.spec.probe, ...(port.port ? { port: port.port } : {}), targets };
    try {
      return { probe: await this.writeProbe(svc, existing, spec) };
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 422)) throw err;
      return { problem: bad('ProbeInvalid', `NetworkProbe ${name}: ${err.message}`) };
    }
  }

  /** Creates or patches `<name>-backends` to `spec`; returns the cached object (undefined right after a create). */
  private async writeProbe(
    svc: YusurService,
    existing: NetworkProbe | undefined,
    spec: NetworkProbeSpec,
  ): Promise<NetworkProbe | undefined> {
    const ns = svc.metadata.namespace ?? 'default';
    const name = backendsProbeName(svc.metadata.name);
    if (!existing) {
      const probe = {
        apiVersion: API_VERSION,
        kind: 'NetworkProbe',
        metadata: {
          name,
          namespace: ns,
          ownerReferences: [
            {
              apiVersion: API_VERSION,
              kind: 'YusurService',
              name: svc.metadata.name,
              uid: svc.metadata.uid,
              controller: true,
            },
          ],
        },
        spec,
      };
      await this.deps.kube.create(YUSUR_RESOURCES.NetworkProbe, ns, probe as never);
      return undefined;
    }
    if (canonical(existing.spec) !== canonical(spec)) {
      const nulls = Object.fromEntries(Object.keys(existing.spec).map((k) => [k, null]));
      await this.deps.kube.mergePatch(YUSUR_RESOURCES.NetworkProbe, ns, name, { spec: { ...nulls, ...spec } });
    }
    return existing;
  }

  private async ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private counts(plan: Plan, svc: YusurService): NonNullable<YusurServiceStatus['backends']> {
    const out: Record<string, BackendCounts> = {};
    for (const kind of new Set((svc.spec.backends ?? []).map((b) => b.kind))) {
      const of = plan.backends.filter((b) => b.kind === kind);
      out[COUNT_KEYS[kind]] = { found: of.length, healthy: of.filter((b) => b.healthy !== false).length };
    }
    return out;
  }

  /** Status with the five conditions; written only when something differs from the cached object. */
  private async writeStatus(svc: YusurService, plan: Plan, programmed: Verdict, ready: Verdict): Promise<void> {
    const cached = this.deps.services.get(`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`) ?? svc;
    const generation = cached.metadata.generation;
    let conditions = (cached.status?.conditions ?? []) as Condition[];
    let changed = false;
    const verdicts: Array<[ConditionType, Verdict]> = [
      ['BackendsResolved', plan.backendsResolved],
      ['AddressesAllocated', plan.addresses],
      ['ProbesHealthy', plan.probes],
      ['Programmed', programmed],
      ...(plan.datapath
        ? [
            [
              'BackendDatapathReady',
              { status: plan.datapath.status, reason: plan.datapath.reason, message: plan.datapath.message },
            ] as [ConditionType, Verdict],
          ]
        : []),
      ['Ready', ready],
    ];
    for (const [type, v] of verdicts) {
      const r = setCondition(conditions, { type, ...v, observedGeneration: generation });
      conditions = r.conditions;
      // Programmed and Ready repeat reasons other conditions report, except Ready's "nothing serves".
      const report = (type !== 'Ready' && type !== 'Programmed') || v.reason === 'NoHealthyBackends';
      if (r.changed && v.status === 'False' && report) this.warn(svc, v.reason, v.message);
      changed ||= r.changed;
    }
    const s = cached.status ?? {};
    const fields = {
      clusterIPs: plan.clusterIPs.length ? plan.clusterIPs : null,
      eips: plan.eip ? [plan.eip.address] : null,
      backends: this.counts(plan, svc),
      totalBackends: plan.backends.length,
      healthyBackends: plan.backends.filter((b) => b.healthy !== false).length,
    };
    const same =
      canonical([s.clusterIPs ?? null, s.eips ?? null, s.backends ?? {}, s.totalBackends, s.healthyBackends]) ===
      canonical([fields.clusterIPs, fields.eips, fields.backends, fields.totalBackends, fields.healthyBackends]);
    if (!changed && same && s.observedGeneration === generation) return;
    const status = { ...fields, backends: { pod: null, vm: null, bareMetal: null, vnicIP: null, ...fields.backends } };
    await this.ignoreNotFound(
      this.deps.kube.mergePatch(
        YUSUR_RESOURCES.YusurService,
        svc.metadata.namespace,
        svc.metadata.name,
        { status: { ...status, observedGeneration: generation, conditions } },
        'status',
      ),
    );
  }

  private warn(svc: YusurService, reason: string, message: string): void {
    this.deps.events.warning(
      {
        apiVersion: API_VERSION,
        kind: 'YusurService',
        namespace: svc.metadata.namespace,
        name: svc.metadata.name,
        uid: svc.metadata.uid,
      },
      reason,
      message,
    );
  }
}
