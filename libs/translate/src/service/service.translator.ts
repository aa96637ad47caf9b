import type { V1EndpointSlice, V1Service, V1ServicePort } from '@kubernetes/client-node';
import {
  EXTERNAL_IDS,
  OWNER_KINDS,
  ipFamilyOf,
  nodePortMayKeepClientAddress,
  parseIpAddress,
  type IpFamily,
  type ParsedIp,
} from '@ycloud/api';
import type { DesiredState, Owner } from '@ycloud/ovn';
import { isValidPort } from '../lb/address';
import { buildLoadBalancers, type BuiltVip } from '../lb/load-balancer.builder';
import { lbOptions, type LbPolicyRequest } from '../lb/lb-options';
import {
  SUPPORTED_PROTOCOLS,
  lbProtocolOf,
  type LbBackend,
  type LbFrontend,
  type LbOptions,
  type LbProtocol,
  type LoadBalancerSpec,
} from '../lb/load-balancer.model';
import type { TranslationIssue } from '../translation-issue';
import { endpointsForPort, parseSlices, sliceBelongsTo } from './endpoints';
import { serviceLbKey, serviceLbName, serviceLocalLbKey, serviceLocalLbName } from './naming';
import { nodeReplyRoutes, type ClientKeepingNodePort } from './node-reply-routes';
import { parsedJoinAddresses, resolveLbGroupKey, type ServiceTranslationContext } from './service-context';

export type { VipScope } from '../lb/load-balancer.model';

/** One VIP of the Service's load balancers, so callers can split them by scope. */
export type ServiceVip = BuiltVip;

/** A TranslationIssue of a Service translation: always says which object and field. */
export type ServiceIssue = TranslationIssue & { object: string; field: string };

export interface ServiceTranslation {
  state: DesiredState;
  /** Each names its object (the Service or one of its EndpointSlices) and field. */
  warnings: ServiceIssue[];
  vips: ServiceVip[];
  /** The Service as the load-balancer model sees it; other placements (the EIP on a VPC router) start from it. */
  loadBalancers: LoadBalancerSpec[];
}

/** The frontends of one protocol: on the regular LB, and node-local ones on per-chassis template LBs. */
interface ProtocolFrontends {
  regular: LbFrontend[];
  local: LbFrontend[];
}

interface Addresses {
  cluster: ParsedIp[];
  external: ParsedIp[];
  nodes: Array<{ name: string; chassis: string; zone?: string; addresses: ParsedIp[]; joinAddresses: ParsedIp[] }>;
}

/** Builds a Service translation; a class only to keep the per-call state (warnings, context) in one place. */
class ServiceTranslationBuilder {
  readonly warnings: ServiceIssue[] = [];
  private readonly namespace: string;
  private readonly name: string;
  private readonly object: string;
  private readonly owner: Owner;
  private readonly families: IpFamily[];
  /** NodePorts whose node rules keep the client address: their endpoints get reply routes. */
  private readonly clientKeepingNodePorts: ClientKeepingNodePort[] = [];

  constructor(
    private readonly service: V1Service,
    private readonly slices: V1EndpointSlice[],
    private readonly ctx: ServiceTranslationContext,
  ) {
    this.namespace = service.metadata?.namespace ?? 'default';
    this.name = service.metadata?.name ?? '';
    this.object = `Service ${this.namespace}/${this.name}`;
    this.owner = { kind: OWNER_KINDS.Service, name: `${this.namespace}/${this.name}` };
    this.families = ctx.ipFamilies ?? [4, 6];
  }

  build(): ServiceTranslation {
    const empty = { owner: this.owner, rows: [], memberships: [], mapEntries: [] };
    const spec = this.service.spec ?? {};
    // Headless and ExternalName Services are DNS-only: no VIP, so nothing in OVN (apply deletes leftovers).
    if (spec.type === 'ExternalName' || spec.clusterIP === 'None') {
      return { state: empty, warnings: [], vips: [], loadBalancers: [] };
    }
    if (!this.name) {
      this.warn('metadata.name', 'a Service needs a name');
      return { state: empty, warnings: this.warnings, vips: [], loadBalancers: [] };
    }

    const addresses = this.collectAddresses();
    const parsedSlices = parseSlices(
      this.slices.filter((s) => sliceBelongsTo(s, this.namespace, this.name)),
      this.warnings,
    );
    const byProtocol = new Map<LbProtocol, ProtocolFrontends>();
    (spec.ports ?? []).forEach((port, i) => {
      const protocol = this.checkPort(port, i);
      if (!protocol) return;
      const backends = endpointsForPort(parsedSlices, port.name ?? '', port.protocol ?? 'TCP');
      let frontends = byProtocol.get(protocol);
      if (!frontends) byProtocol.set(protocol, (frontends = { regular: [], local: [] }));
      this.addPortFrontends(frontends, port, i, backends, addresses);
    });
    return this.assemble(byProtocol, addresses);
  }

  private warn(field: string, message: string, reason = 'InvalidServiceSpec'): void {
    this.warnings.push({ reason, object: this.object, field, message });
  }

  /** A served IP of user input, or a warning naming the field. */
  private checkIp(text: string | undefined, field: string): ParsedIp | undefined {
    const ip = parseIpAddress(text);
    if (!ip) {
      this.warn(field, `${JSON.stringify(text)} is not an IP address`);
      return undefined;
    }
    if (!this.families.includes(ip.family)) {
      this.warn(field, `IPv${ip.family} address ${ip.address} is not served by VPC ${this.ctx.vpc}`);
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
    const serviceFamilies = new Set<IpFamily | undefined>(
      spec.ipFamilies?.length ? spec.ipFamilies.map(ipFamilyOf) : cluster.map((ip) => ip.family),
    );
    const nodes = (this.ctx.nodes ?? [])
      .map((n) => ({
        name: n.name,
        chassis: n.chassis ?? n.name,
        zone: n.zone,
        joinAddresses: parsedJoinAddresses(n),
        // Node addresses come from Node status, not from the Service: skip unusable ones quietly.
        addresses: n.addresses
          .map((a) => parseIpAddress(a))
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
    const protocol = lbProtocolOf(port.protocol);
    if (!protocol) {
      this.warn(
        `spec.ports[${i}].protocol`,
        `protocol ${String(port.protocol)} is not supported (${SUPPORTED_PROTOCOLS})`,
      );
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

  private addPortFrontends(
    frontends: ProtocolFrontends,
    port: V1ServicePort,
    i: number,
    backends: LbBackend[],
    addresses: Addresses,
  ): void {
    const spec = this.service.spec ?? {};
    const internalLocal = spec.internalTrafficPolicy === 'Local';
    const externalLocal = spec.externalTrafficPolicy === 'Local';
    // EndpointSlice hints (trafficDistribution): cluster traffic is chosen per node, so on the per-chassis LB.
    const hinted = backends.some((b) => b.ready && b.hints);
    const topology = !internalLocal && hinted;
    // A backend on a node's own host network (hostNetwork pods): each node's host reaches its own such backend only
    // through its join address (ownHostBackendsViaJoin), which differs per node, so on the per-chassis LB too.
    const hostNetworkBackends = !internalLocal && !topology && hasHostNetworkBackend(backends, addresses.nodes);
    for (const address of addresses.cluster) {
      (internalLocal || topology || hostNetworkBackends ? frontends.local : frontends.regular).push({
        address,
        port: port.port,
        scope: 'cluster',
        backends,
        ...(topology ? { topology } : {}),
        ...(hostNetworkBackends ? { hostNetworkBackends } : {}),
      });
    }
    // externalIPs and LoadBalancer ingress IPs on the switches meet in-cluster traffic only (pods, and nodes through
    // the join switch): traffic from outside is captured first, by the node agent's rules (externalIPs) or the VPC
    // router's EIP LB. kube-proxy sends such traffic to every endpoint whatever the external policy ("pod traffic
    // for external destinations" goes to the cluster chain, as if out to the load balancer and back), so Local
    // does not make these VIPs node-local.
    for (const address of addresses.external) {
      frontends.regular.push({
        address,
        port: port.port,
        scope: 'external',
        backends,
      });
    }
    const nodePort = this.nodePortOf(port, i);
    // The node agent's rules for this port that keep the client address: its NodePort (every family), its
    // externalIPs (their own families).
    const families = [4, 6].filter(
      (f) => nodePort !== undefined || addresses.external.some((a) => a.family === f),
    ) as IpFamily[];
    if (families.length && nodePortMayKeepClientAddress(this.service)) {
      this.clientKeepingNodePorts.push({ protocol: lbProtocolOf(port.protocol)!, backends, families });
    }
    if (nodePort === undefined) return;
    // A NodePort VIP names its node already, so Local needs no template: the VIP maps to that node's endpoints
    // wherever the packet is load-balanced. With Cluster, a hinted Service's NodePort takes the endpoints that
    // node's hints give (kube-proxy's cluster endpoints serve external traffic too, whatever the internal policy).
    for (const node of addresses.nodes) {
      const choice = externalLocal
        ? { backendNode: node.name }
        : hinted
          ? { topologyNode: { name: node.name, chassis: node.chassis, ...(node.zone ? { zone: node.zone } : {}) } }
          : {};
      for (const address of node.addresses) {
        frontends.regular.push({ address, port: nodePort, scope: 'node', backends, ...choice });
      }
    }
  }

  /** Options shared by every LB of the Service. */
  private options(): LbOptions {
    const affinity = serviceAffinityRequest(this.service);
    return lbOptions({ affinity, offloadSelectionFields: this.ctx.offloadSelectionFields }, (issue) =>
      this.warn(issue.field, issue.message, issue.reason),
    );
  }

  private externalIds(protocol: LbProtocol): Record<string, string> {
    return {
      [EXTERNAL_IDS.protocol]: protocol,
      [EXTERNAL_IDS.service]: `${this.namespace}/${this.name}`,
      [EXTERNAL_IDS.vpc]: this.ctx.vpc,
    };
  }

  /** The Service in the LB model: per protocol a regular LB and, for Local traffic policies, template LBs. */
  private loadBalancers(byProtocol: Map<LbProtocol, ProtocolFrontends>): LoadBalancerSpec[] {
    const options = this.options();
    const attachment = { kind: 'switch-group' as const, key: resolveLbGroupKey(this.ctx) };
    const specs: LoadBalancerSpec[] = [];
    for (const [protocol, frontends] of byProtocol) {
      specs.push({
        key: serviceLbKey(this.namespace, this.name, protocol),
        name: serviceLbName(this.namespace, this.name, protocol),
        protocol,
        attachment,
        externalIds: this.externalIds(protocol),
        options,
        frontends: frontends.regular,
      });
      for (const family of [4, 6] as const) {
        const local = frontends.local.filter((f) => f.address.family === family);
        if (local.length === 0) continue;
        specs.push({
          key: serviceLocalLbKey(this.namespace, this.name, protocol, family),
          name: serviceLocalLbName(this.namespace, this.name, protocol, family),
          protocol,
          attachment,
          externalIds: local.every((f) => f.topology || f.hostNetworkBackends)
            ? this.externalIds(protocol)
            : { ...this.externalIds(protocol), [EXTERNAL_IDS.trafficPolicy]: 'Local' },
          options,
          perChassis: { family },
          frontends: local,
        });
      }
    }
    return specs;
  }

  private assemble(byProtocol: Map<LbProtocol, ProtocolFrontends>, addresses: Addresses): ServiceTranslation {
    const loadBalancers = this.loadBalancers(byProtocol);
    const built = buildLoadBalancers(this.owner, loadBalancers, addresses.nodes, (issue) =>
      this.warn('spec', issue.message, issue.reason),
    );
    const { memberships, mapEntries } = built;
    const replyRoutes = this.ctx.nodeReplyRoutes
      ? nodeReplyRoutes(
          this.owner,
          { namespace: this.namespace, name: this.name },
          this.clientKeepingNodePorts,
          addresses.nodes,
          this.ctx.nodeReplyRoutes,
        )
      : [];
    const rows = [...built.rows, ...replyRoutes];
    return {
      state: { owner: this.owner, rows, memberships, mapEntries },
      warnings: this.warnings,
      vips: built.vips,
      loadBalancers,
    };
  }
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

/** The ClientIP affinity a Service asks of its load balancers (lbOptions decides what OVN gives it). */
export function serviceAffinityRequest(service: V1Service): LbPolicyRequest['affinity'] {
  const spec = service.spec ?? {};
  return spec.sessionAffinity === 'ClientIP'
    ? {
        timeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds,
        field: 'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      }
    : undefined;
}

/** Whether a backend is on some node's own host network (its address is the node's) and the node has a join address. */
function hasHostNetworkBackend(
  backends: LbBackend[],
  nodes: Array<{ addresses: ParsedIp[]; joinAddresses: ParsedIp[] }>,
): boolean {
  return nodes.some(
    (n) => n.joinAddresses.length > 0 && backends.some((b) => n.addresses.some((a) => a.address === b.address.address)),
  );
}
