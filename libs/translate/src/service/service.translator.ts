import type { V1EndpointSlice, V1Service, V1ServicePort } from '@kubernetes/client-node';
import {
  ownerMapKeyPrefix,
  ref,
  type DesiredMapEntries,
  type DesiredMembership,
  type DesiredRow,
  type DesiredState,
  type Owner,
} from '@ycloud/ovn';
import {
  endpointsForPort,
  formatBackends,
  parseSlices,
  selectBackends,
  sliceBelongsTo,
  type ResolvedEndpoint,
} from './endpoints';
import { compareIp, hostPort, isValidPort, parseIp, type IpFamily, type ParsedIp } from './ip';
import {
  chassisTemplateVarKey,
  serviceLbKey,
  serviceLbName,
  serviceLocalLbKey,
  serviceLocalLbName,
  type LbProtocol,
} from './naming';
import { resolveLbGroupKey, type ServiceTranslationContext, type TranslationWarning } from './service-context';

/** Where a VIP takes traffic from; a router LB for north-south traffic can be built from the `external` ones. */
export type VipScope = 'cluster' | 'node' | 'external';

/** One VIP of the Service's load balancers, so callers can split them by scope. */
export interface ServiceVip {
  /** Key of the Load_Balancer row holding it. */
  lb: string;
  /** The `vips` map key, e.g. `10.96.0.10:80`, `[fd00::10]:80`, or `^YC_..._VIP4_0:80` on a template LB. */
  vip: string;
  /** The address (for a template VIP, the value its variable takes on every chassis). */
  address: string;
  port: number;
  protocol: LbProtocol;
  scope: VipScope;
  /** Served by node-local endpoints only (traffic policy Local). */
  local: boolean;
}

export interface ServiceTranslation {
  state: DesiredState;
  warnings: TranslationWarning[];
  vips: ServiceVip[];
}

const PROTOCOLS: Record<string, LbProtocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
const DEFAULT_AFFINITY_TIMEOUT = 10800;
/** OVN stores learned affinity flows with a 16-bit idle timeout. */
const MAX_AFFINITY_TIMEOUT = 65535;
/** The 5-tuple minus the protocol, which the LB fixes. eth_* would only add cost. */
const OFFLOAD_SELECTION_FIELDS = ['ip_dst', 'ip_src', 'tp_dst', 'tp_src'];

interface VipEntry {
  ip: ParsedIp;
  port: number;
  scope: VipScope;
  /** Literal backends, for VIPs on the regular LB. */
  backends?: string;
}

/** A VIP of the template LB: its backends come from a per-chassis variable. */
interface LocalVipEntry {
  ip: ParsedIp;
  port: number;
  scope: VipScope;
  endpoints: ResolvedEndpoint[];
}

interface ProtocolVips {
  regular: VipEntry[];
  local: LocalVipEntry[];
}

interface Addresses {
  cluster: ParsedIp[];
  external: ParsedIp[];
  nodes: Array<{ name: string; chassis: string; addresses: ParsedIp[] }>;
}

/** Builds a Service translation; a class only to keep the per-call state (warnings, context) in one place. */
class ServiceTranslationBuilder {
  readonly warnings: TranslationWarning[] = [];
  private readonly namespace: string;
  private readonly name: string;
  private readonly object: string;
  private readonly owner: Owner;
  private readonly families: IpFamily[];

  constructor(
    private readonly service: V1Service,
    private readonly slices: V1EndpointSlice[],
    private readonly ctx: ServiceTranslationContext,
  ) {
    this.namespace = service.metadata?.namespace ?? 'default';
    this.name = service.metadata?.name ?? '';
    this.object = `Service ${this.namespace}/${this.name}`;
    this.owner = { kind: 'Service', name: `${this.namespace}/${this.name}` };
    this.families = ctx.ipFamilies ?? ['IPv4', 'IPv6'];
  }

  build(): ServiceTranslation {
    const empty = { owner: this.owner, rows: [], memberships: [], mapEntries: [] };
    const spec = this.service.spec ?? {};
    // Headless and ExternalName Services are DNS-only: no VIP, so nothing in OVN (apply deletes leftovers).
    if (spec.type === 'ExternalName' || spec.clusterIP === 'None') return { state: empty, warnings: [], vips: [] };
    if (!this.name) {
      this.warn('metadata.name', 'a Service needs a name');
      return { state: empty, warnings: this.warnings, vips: [] };
    }

    const addresses = this.collectAddresses();
    const parsedSlices = parseSlices(
      this.slices.filter((s) => sliceBelongsTo(s, this.namespace, this.name)),
      this.warnings,
    );
    const byProtocol = new Map<LbProtocol, ProtocolVips>();
    (spec.ports ?? []).forEach((port, i) => {
      const protocol = this.checkPort(port, i);
      if (!protocol) return;
      const endpoints = endpointsForPort(parsedSlices, port.name ?? '', port.protocol ?? 'TCP');
      let vips = byProtocol.get(protocol);
      if (!vips) byProtocol.set(protocol, (vips = { regular: [], local: [] }));
      this.addPortVips(vips, port, i, endpoints, addresses);
    });
    return this.assemble(byProtocol, addresses);
  }

  private warn(field: string, message: string): void {
    this.warnings.push({ object: this.object, field, message });
  }

  /** A served IP of user input, or a warning naming the field. */
  private checkIp(text: string | undefined, field: string): ParsedIp | undefined {
    const ip = parseIp(text);
    if (!ip) {
      this.warn(field, `${JSON.stringify(text)} is not an IP address`);
      return undefined;
    }
    if (!this.families.includes(ip.family)) {
      this.warn(field, `${ip.family} address ${ip.address} is not served by VPC ${this.ctx.vpc}`);
      return undefined;
    }
    return ip;
  }

  private collectAddresses(): Addresses {
    const spec = this.service.spec ?? {};
    const clusterIPs = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
    const field = spec.clusterIPs?.length ? 'spec.clusterIPs' : 'spec.clusterIP';
    const cluster = clusterIPs
      .map((t, i) => this.checkIp(t, field === 'spec.clusterIP' ? field : `${field}[${i}]`))
      .filter((ip): ip is ParsedIp => !!ip);
    const external = (spec.externalIPs ?? [])
      .map((t, i) => this.checkIp(t, `spec.externalIPs[${i}]`))
      .filter((ip): ip is ParsedIp => !!ip);
    if (spec.type === 'LoadBalancer') {
      (this.service.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
        // Host-name ingresses and ipMode Proxy (the cloud LB proxies to node ports) need no VIP here.
        if (ing.ip === undefined || ing.ipMode === 'Proxy') return;
        const ip = this.checkIp(ing.ip, `status.loadBalancer.ingress[${i}].ip`);
        if (ip) external.push(ip);
      });
    }
    // NodePorts listen in the Service's own families only (kube-proxy runs one proxier per family).
    const serviceFamilies = new Set<string>(spec.ipFamilies?.length ? spec.ipFamilies : cluster.map((ip) => ip.family));
    const nodes = (this.ctx.nodes ?? [])
      .map((n) => ({
        name: n.name,
        chassis: n.chassis ?? n.name,
        // Node addresses come from Node status, not from the Service: skip unusable ones quietly.
        addresses: n.addresses
          .map((a) => parseIp(a))
          .filter((ip): ip is ParsedIp => !!ip && this.families.includes(ip.family) && serviceFamilies.has(ip.family)),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return { cluster, external, nodes };
  }

  /** The LB protocol of a valid port, or undefined with a warning naming the field. */
  private checkPort(port: V1ServicePort | null, i: number): LbProtocol | undefined {
    if (typeof port !== 'object' || port === null) {
      this.warn(`spec.ports[${i}]`, 'not a port');
      return undefined;
    }
    const protocol = PROTOCOLS[port.protocol ?? 'TCP'];
    if (!protocol) {
      this.warn(`spec.ports[${i}].protocol`, `protocol ${String(port.protocol)} is not supported (TCP, UDP, SCTP)`);
      return undefined;
    }
    if (!isValidPort(port.port)) {
      this.warn(`spec.ports[${i}].port`, `port ${String(port.port)} is not in 1-65535`);
      return undefined;
    }
    return protocol;
  }

  private nodePortOf(port: V1ServicePort, i: number): number | undefined {
    const type = this.service.spec?.type;
    if ((type !== 'NodePort' && type !== 'LoadBalancer') || port.nodePort === undefined || port.nodePort === null) {
      return undefined;
    }
    if (!isValidPort(port.nodePort)) {
      this.warn(`spec.ports[${i}].nodePort`, `nodePort ${String(port.nodePort)} is not in 1-65535`);
      return undefined;
    }
    return port.nodePort;
  }

  private addPortVips(
    vips: ProtocolVips,
    port: V1ServicePort,
    i: number,
    endpoints: ResolvedEndpoint[],
    addresses: Addresses,
  ): void {
    const spec = this.service.spec ?? {};
    const internalLocal = spec.internalTrafficPolicy === 'Local';
    const externalLocal = spec.externalTrafficPolicy === 'Local';
    const all = (ip: ParsedIp): string => formatBackends(selectBackends(endpoints, ip.family));
    for (const ip of addresses.cluster) {
      if (internalLocal) vips.local.push({ ip, port: port.port, scope: 'cluster', endpoints });
      else vips.regular.push({ ip, port: port.port, scope: 'cluster', backends: all(ip) });
    }
    for (const ip of addresses.external) {
      if (externalLocal) vips.local.push({ ip, port: port.port, scope: 'external', endpoints });
      else vips.regular.push({ ip, port: port.port, scope: 'external', backends: all(ip) });
    }
    const nodePort = this.nodePortOf(port, i);
    if (nodePort === undefined) return;
    // A NodePort VIP names its node already, so Local needs no template: the VIP maps to that node's endpoints
    // wherever the packet is load-balanced.
    for (const node of addresses.nodes) {
      for (const ip of node.addresses) {
        const backends = externalLocal ? formatBackends(selectBackends(endpoints, ip.family, node.name)) : all(ip);
        vips.regular.push({ ip, port: nodePort, scope: 'node', backends });
      }
    }
  }

  /** Options and selection fields shared by every LB of the Service. */
  private lbPolicy(): { options: Record<string, string>; selectionFields: string[] } {
    const spec = this.service.spec ?? {};
    // reject=true: a VIP without backends answers with TCP RST / ICMP unreachable at once, like kube-proxy.
    const options: Record<string, string> = { reject: 'true' };
    let selectionFields = this.ctx.offloadSelectionFields ? [...OFFLOAD_SELECTION_FIELDS] : [];
    if (spec.sessionAffinity === 'ClientIP') {
      const field = 'spec.sessionAffinityConfig.clientIP.timeoutSeconds';
      let timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT;
      if (!Number.isInteger(timeout) || timeout < 1) {
        this.warn(field, `timeout ${String(timeout)} is not a positive integer; using ${DEFAULT_AFFINITY_TIMEOUT}`);
        timeout = DEFAULT_AFFINITY_TIMEOUT;
      }
      if (timeout <= MAX_AFFINITY_TIMEOUT) {
        options.affinity_timeout = String(timeout);
      } else {
        // Hashing on the client address keeps a client on one backend for as long as the backend set is stable:
        // the nearest OVN offers to an affinity longer than its 16-bit timeout.
        selectionFields = ['ip_src'];
        this.warn(
          field,
          `OVN supports session affinity timeouts up to ${MAX_AFFINITY_TIMEOUT}s; ${timeout}s is served by hashing ` +
            'on the client address instead (clients move when backends change)',
        );
      }
    }
    return { options, selectionFields };
  }

  private externalIds(protocol: LbProtocol, extra: Record<string, string> = {}): Record<string, string> {
    return sortKeys({
      'ycloud.io/protocol': protocol,
      'ycloud.io/service': `${this.namespace}/${this.name}`,
      'ycloud.io/vpc': this.ctx.vpc,
      ...extra,
    });
  }

  private assemble(byProtocol: Map<LbProtocol, ProtocolVips>, addresses: Addresses): ServiceTranslation {
    const policy = this.lbPolicy();
    const rows: DesiredRow[] = [];
    const allVips: ServiceVip[] = [];
    const varsByChassis = new Map<string, Record<string, string>>();
    for (const [protocol, vips] of byProtocol) {
      const regular = this.regularLb(protocol, vips.regular, policy, allVips);
      if (regular) rows.push(regular);
      for (const family of [4, 6] as const) {
        const local = vips.local.filter((v) => v.ip.family === (family === 4 ? 'IPv4' : 'IPv6'));
        if (local.length === 0) continue;
        rows.push(this.localLb(protocol, family, local, policy, addresses, varsByChassis, allVips));
      }
    }
    rows.sort((a, b) => cmp(a.key, b.key));
    allVips.sort((a, b) => cmp(a.lb, b.lb) || cmp(a.vip, b.vip));
    const memberships: DesiredMembership[] = rows.length
      ? [
          {
            owner: this.owner,
            table: 'Load_Balancer_Group',
            key: resolveLbGroupKey(this.ctx),
            column: 'load_balancer',
            members: rows.map((r) => ref('Load_Balancer', r.key)),
          },
        ]
      : [];
    const mapEntries: DesiredMapEntries[] = [...varsByChassis.entries()]
      .sort(([a], [b]) => cmp(a, b))
      .map(([chassis, entries]) => ({
        owner: this.owner,
        table: 'Chassis_Template_Var',
        key: chassisTemplateVarKey(chassis),
        column: 'variables',
        entries: sortKeys(entries),
      }));
    return { state: { owner: this.owner, rows, memberships, mapEntries }, warnings: this.warnings, vips: allVips };
  }

  private regularLb(
    protocol: LbProtocol,
    entries: VipEntry[],
    policy: { options: Record<string, string>; selectionFields: string[] },
    allVips: ServiceVip[],
  ): DesiredRow | undefined {
    const key = serviceLbKey(this.namespace, this.name, protocol);
    const vips: Array<[VipEntry, string]> = [];
    const seen = new Map<string, VipScope>();
    for (const e of entries) {
      const vip = hostPort(e.ip, e.port);
      const earlier = seen.get(vip);
      if (earlier) {
        // The same address and port twice (an external IP equal to a node address, say): first one wins.
        if (earlier !== e.scope || e.scope !== 'node') {
          this.warn('spec', `${protocol} VIP ${vip} (${e.scope}) is already a ${earlier} VIP; ignored`);
        }
        continue;
      }
      seen.set(vip, e.scope);
      vips.push([e, vip]);
      allVips.push({ lb: key, vip, address: e.ip.address, port: e.port, protocol, scope: e.scope, local: false });
    }
    if (vips.length === 0) return undefined;
    vips.sort(([a], [b]) => compareIp(a.ip, b.ip) || a.port - b.port);
    return {
      table: 'Load_Balancer',
      key,
      owner: this.owner,
      columns: {
        name: serviceLbName(this.namespace, this.name, protocol),
        protocol,
        vips: Object.fromEntries(vips.map(([e, vip]) => [vip, e.backends ?? ''])),
        options: sortKeys(policy.options),
        selection_fields: policy.selectionFields,
        external_ids: this.externalIds(protocol),
      },
    };
  }

  /**
   * A template LB (options:template=true) for VIPs whose traffic policy is Local. OVN 23.03 applies a switch LB on
   * every chassis, so node-local backends cannot be literal: each VIP key is `^VIPVAR:port` and its backends are
   * `^BACKENDSVAR`, and every chassis's Chassis_Template_Var gives BACKENDSVAR only that node's endpoints. See
   * docs/adr/0002-traffic-policy-local.md.
   */
  private localLb(
    protocol: LbProtocol,
    family: 4 | 6,
    entries: LocalVipEntry[],
    policy: { options: Record<string, string>; selectionFields: string[] },
    addresses: Addresses,
    varsByChassis: Map<string, Record<string, string>>,
    allVips: ServiceVip[],
  ): DesiredRow {
    const key = serviceLocalLbKey(this.namespace, this.name, protocol, family);
    const prefix = ownerMapKeyPrefix(this.owner);
    const ipFamily: IpFamily = family === 4 ? 'IPv4' : 'IPv6';
    const distinct = [...new Map(entries.map((e) => [e.ip.address, e.ip])).values()].sort(compareIp);
    const vipVar = new Map(distinct.map((ip, n) => [ip.address, `${prefix}VIP${family}_${n}`]));
    const vips: Record<string, string> = {};
    for (const e of entries) {
      const vip = `^${vipVar.get(e.ip.address)}:${e.port}`;
      if (vip in vips) continue;
      const backendsVar = `${prefix}${protocol.toUpperCase()}${e.port}_BACKENDS${family}`;
      vips[vip] = `^${backendsVar}`;
      allVips.push({ lb: key, vip, address: e.ip.address, port: e.port, protocol, scope: e.scope, local: true });
      for (const node of addresses.nodes) {
        let vars = varsByChassis.get(node.chassis);
        if (!vars) varsByChassis.set(node.chassis, (vars = {}));
        vars[vipVar.get(e.ip.address) as string] = e.ip.address;
        vars[backendsVar] = formatBackends(selectBackends(e.endpoints, ipFamily, node.name));
      }
    }
    return {
      table: 'Load_Balancer',
      key,
      owner: this.owner,
      columns: {
        name: serviceLocalLbName(this.namespace, this.name, protocol, family),
        protocol,
        vips: sortKeys(vips),
        options: sortKeys({ ...policy.options, template: 'true', 'address-family': `ipv${family}` }),
        selection_fields: policy.selectionFields,
        external_ids: this.externalIds(protocol, { 'ycloud.io/traffic-policy': 'Local' }),
      },
    };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => cmp(a, b)));
}

/**
 * Translates one Service and its EndpointSlices into the Load_Balancer rows it owns, its membership in its VPC's
 * Load_Balancer_Group and (for Local traffic policies) its per-chassis template variables. Pure: the same input
 * gives the same output, byte for byte. Never throws on bad user input: the bad part is skipped with a warning.
 * Slices of other Services (by the `kubernetes.io/service-name` label) are ignored.
 */
export function translateService(
  service: V1Service,
  endpointSlices: V1EndpointSlice[],
  ctx: ServiceTranslationContext,
): ServiceTranslation {
  return new ServiceTranslationBuilder(service, endpointSlices, ctx).build();
}
