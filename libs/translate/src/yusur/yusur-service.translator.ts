import {
  BackendKind,
  EXTERNAL_IDS,
  OWNER_KINDS,
  SERVICE_GATEWAY_ROLE,
  EipPool,
  Vpc,
  YusurService,
  cidrsOverlap,
  firstHost,
  formatIp,
  macFromIp,
  parseCidr,
  parseIpAddress,
  type ParsedIp,
} from '@ycloud/api';
import { DesiredMembership, DesiredRow, Owner, ref } from '@ycloud/ovn';
import { parseSourceRanges, sourceRangeAcls, type SourceRangesResult } from '../service/source-ranges';
import { buildLoadBalancers } from '../lb/load-balancer.builder';
import { lbOptions } from '../lb/lb-options';
import {
  lbProtocolOf,
  type LbAttachment,
  type LbBackend,
  type LbProtocol,
  type LoadBalancerSpec,
} from '../lb/load-balancer.model';
import { cmp } from '../lb/order';
import { isValidPort } from '../lb/address';
import { keys as topoKeys } from '../topology/keys';
import { TranslationIssue, TranslateResult, failed } from '../translation-issue';
import { activeGatewayNode } from '../topology/vpc.translator';
import { yusurKeys, yusurNames } from './keys';

/** A backend after resolution (the controller reads Pods, VMIs, BareMetalServers, VNics). */
export interface YusurBackend {
  kind: BackendKind;
  /** `namespace/name` for namespaced kinds, `name` for BareMetalServer. */
  name: string;
  vpc: string;
  address: string;
  /** Named ports (a pod's container ports), for a string targetPort. */
  namedPorts?: Record<string, number>;
  /** False when ycloud's probes say the backend is down: it is left out of every load balancer. */
  healthy?: boolean;
}

/**
 * Link networks of the service-gateway, allocated by the controller from its system CIDR. Each is a small IPv4
 * block (/30 or shorter prefix... up to /29): the first host is the service-gateway's side, the second the peer's.
 */
export interface ServiceGatewayLinks {
  /** Towards the EipPool's gateway router. */
  eip: string;
  /** Towards each backend VPC's router, by Vpc name. */
  vpcs: Record<string, string>;
}

/** EXTERNAL_IDS.link of the link towards the EipPool's gateway router. */
export const EIP_LINK = 'eip';
/** EXTERNAL_IDS.link of the link towards a backend VPC's router. */
export const vpcLinkId = (vpc: string): string => `vpc/${vpc}`;

export interface YusurTranslationContext {
  /** The Service's VPC: spec.scenarios.clusterIP.vpc, else the VPC of its namespace. */
  vpc: string;
  vpcs: Vpc[];
  /** The default VPC's name: it comes from the controller's config and has no Vpc resource, yet it exists. */
  defaultVpc?: string;
  eipPools: EipPool[];
  backends: YusurBackend[];
  /** Allocated ClusterIPs (status.clusterIPs). */
  clusterIPs?: string[];
  /** Allocated EIP and the pool it is from. */
  eip?: { address: string; pool: string };
  /** Allocated link networks; needed only for the service-gateway (scenario 4). */
  serviceGatewayLinks?: ServiceGatewayLinks;
  offloadSelectionFields?: boolean;
}

export type EipMode = 'none' | 'vpc' | 'service-gateway';

export interface YusurTranslation {
  result: TranslateResult;
  /** Where the EIP is served: the VPC router (all backends in the Service's VPC) or a service-gateway. */
  eipMode: EipMode;
  /** VPCs holding a backend, sorted: the links a service-gateway needs. */
  backendVpcs: string[];
  /** The chassis the service-gateway is pinned to (the pool's active gateway node). */
  gatewayChassis?: string;
  /** The service-gateway's system IP per link (`eip` and each VPC), once allocated. */
  systemIps?: Record<string, string>;
}

/** The first two hosts of a link network: the service-gateway's side and the peer's. */
export function linkAddresses(cidrText: string): { gateway: string; peer: string; prefix: number } | undefined {
  const cidr = parseCidr(cidrText, true);
  if (!cidr || cidr.family !== 4 || cidr.prefix > 30) return undefined;
  const first = firstHost(cidr);
  return {
    gateway: formatIp(first),
    peer: formatIp({ family: 4, value: first.value + 1n }),
    prefix: cidr.prefix,
  };
}

/** Which EIP mode a service needs given its resolved backends (healthy or not: membership must not flap). */
export function eipModeOf(service: YusurService, serviceVpc: string, backends: YusurBackend[]): EipMode {
  if (!service.spec.scenarios?.eip) return 'none';
  return backends.some((b) => b.vpc !== serviceVpc) ? 'service-gateway' : 'vpc';
}

interface PortPlan {
  protocol: LbProtocol;
  port: number;
  /** The LB backends of some resolved backends at this port (named target ports resolve per backend). */
  backends: (among: YusurBackend[]) => LbBackend[];
}

/** A ClusterIP never crosses VPCs: say how many backends it leaves out. */
function warnAboutForeignBackends(foreign: number, vpc: string, warnings: TranslationIssue[]): void {
  if (!foreign) return;
  warnings.push({
    reason: 'BackendsOutsideVpc',
    field: 'spec.scenarios.clusterIP',
    message: `${foreign} backend(s) outside Vpc ${vpc} are not reachable through the ClusterIP`,
  });
}

/** One address is one backend; the same address in two VPCs cannot be told apart by one LB. */
function uniqueBackends(all: YusurBackend[], warnings: TranslationIssue[]): YusurBackend[] {
  const byAddress = new Map<string, YusurBackend>();
  for (const b of [...all].sort((x, y) => cmp(x.kind + x.name, y.kind + y.name))) {
    const ip = parseIpAddress(b.address);
    if (!ip) {
      warnings.push({ reason: 'InvalidBackendAddress', message: `${b.kind} ${b.name}: ${b.address} is not an IP` });
      continue;
    }
    const earlier = byAddress.get(ip.address);
    if (earlier && earlier.vpc !== b.vpc) {
      warnings.push({
        reason: 'OverlappingBackendAddress',
        message: `${b.kind} ${b.name} in Vpc ${b.vpc} has address ${ip.address}, as ${earlier.kind} ${earlier.name} in Vpc ${earlier.vpc}; ignored`,
      });
      continue;
    }
    if (!earlier) byAddress.set(ip.address, { ...b, address: ip.address });
  }
  return [...byAddress.values()];
}

/** The Service's ports with how each picks its backends' host:port (named target ports per backend). */
function portPlans(service: YusurService, errors: TranslationIssue[]): PortPlan[] {
  const ports: PortPlan[] = [];
  (service.spec.ports ?? []).forEach((p, i) => {
    const protocol = lbProtocolOf(p.protocol);
    if (!protocol || !isValidPort(p.port)) {
      errors.push({ reason: 'InvalidPort', field: `spec.ports[${i}]`, message: 'protocol or port is invalid' });
      return;
    }
    const target = p.targetPort ?? p.port;
    ports.push({
      protocol,
      port: p.port,
      backends: (among) =>
        among.flatMap((b): LbBackend[] => {
          const port = typeof target === 'number' ? target : b.namedPorts?.[target];
          if (!isValidPort(port)) return [];
          // A YusurService backend has no readiness of its own: ycloud's probes (healthy) decide.
          const address = parseIpAddress(b.address) as ParsedIp;
          return [{ address, port, ready: true, serving: true, terminating: false, healthy: b.healthy !== false }];
        }),
    });
  });
  return ports;
}

/**
 * A YusurService and its resolved backends → the rows it owns. ClusterIPs: one LB per protocol in the VPC's
 * Load_Balancer_Group (backends of the Service's VPC only: a ClusterIP never crosses VPCs). EIP with every
 * backend in the Service's VPC: one LB per protocol on the VPC router (the DGP makes it legal, ADR 0001). EIP
 * with backends in several VPCs: a service-gateway (docs/adr/0004-service-gateway.md). Pure.
 */
export function translateYusurService(service: YusurService, ctx: YusurTranslationContext): YusurTranslation {
  const ns = service.metadata.namespace ?? 'default';
  const svc = `${ns}/${service.metadata.name}`;
  const owner: Owner = { kind: OWNER_KINDS.YusurService, name: svc };
  const warnings: TranslationIssue[] = [];
  const errors: TranslationIssue[] = [];

  const backends = uniqueBackends(ctx.backends, warnings);
  const backendVpcs = [...new Set(backends.map((b) => b.vpc))].sort();
  const eipMode = eipModeOf(service, ctx.vpc, backends);

  const ports = portPlans(service, errors);
  if (errors.length) return { result: failed(errors), eipMode, backendVpcs };

  const affinity =
    service.spec.sessionAffinity === 'ClientIP'
      ? { timeoutSeconds: service.spec.sessionAffinityTimeoutSeconds, field: 'spec.sessionAffinityTimeoutSeconds' }
      : undefined;
  const options = lbOptions({ affinity, offloadSelectionFields: ctx.offloadSelectionFields }, (issue) =>
    warnings.push(issue),
  );
  const protocols = [...new Set(ports.map((p) => p.protocol))].sort();
  /** One LB per protocol with a VIP per (address, port) of that protocol. */
  const perProtocol = (
    key: (svc: string, protocol: LbProtocol) => string,
    name: (svc: string, protocol: LbProtocol) => string,
    scope: 'cluster' | 'eip',
    attachment: LbAttachment,
    addresses: ParsedIp[],
    among: YusurBackend[],
  ): LoadBalancerSpec[] =>
    protocols.map((protocol) => ({
      key: key(svc, protocol),
      name: name(svc, protocol),
      protocol,
      attachment,
      externalIds: { [EXTERNAL_IDS.scope]: scope, [EXTERNAL_IDS.service]: svc, [EXTERNAL_IDS.vpc]: ctx.vpc },
      options,
      frontends: addresses.flatMap((address) =>
        ports
          .filter((p) => p.protocol === protocol)
          .map((p) => ({
            address,
            port: p.port,
            scope: scope === 'eip' ? ('external' as const) : ('cluster' as const),
            backends: p.backends(among),
          })),
      ),
    }));
  const specs: LoadBalancerSpec[] = [];
  const rows: DesiredRow[] = [];

  // ClusterIPs: same-VPC backends only.
  const local = backends.filter((b) => b.vpc === ctx.vpc);
  const foreign = backends.length - local.length;
  const clusterIps = (ctx.clusterIPs ?? []).map((t) => parseIpAddress(t)).filter((ip): ip is ParsedIp => !!ip);
  if (clusterIps.length) {
    warnAboutForeignBackends(foreign, ctx.vpc, warnings);
    const group = { kind: 'switch-group' as const, key: topoKeys.lbGroup(ctx.vpc) };
    specs.push(...perProtocol(yusurKeys.clusterLb, yusurNames.clusterLb, 'cluster', group, clusterIps, local));
  }

  const out: YusurTranslation = { result: failed([]), eipMode, backendVpcs };
  const eip = ctx.eip;
  const eipRanges = eipSourceRanges(service);
  let acls: { rows: DesiredRow[]; memberships: DesiredMembership[] } = { rows: [], memberships: [] };
  const eipIp = eip && parseIpAddress(eip.address);
  if (eipMode !== 'none' && (!eip || !eipIp)) {
    warnings.push({ reason: 'AddressPending', field: 'spec.scenarios.eip', message: 'no EIP allocated yet' });
  } else if (eip && eipIp && eipIp.family !== 4) {
    warnings.push({ reason: 'InvalidEip', field: 'spec.scenarios.eip', message: 'EIPs are IPv4 only' });
  } else if (eip && eipIp && eipRanges.errors.length) {
    // Fail closed: a restriction that cannot be read must not leave the address open to everyone.
    warnings.push(...eipRanges.errors.map((e) => withheldEip(e, eip.address)));
  } else if (eip && eipIp) {
    const attachment: LbAttachment =
      eipMode === 'vpc' ? { kind: 'vpc-router', key: topoKeys.vpcRouter(ctx.vpc) } : { kind: 'service-gateway' };
    const among = eipMode === 'vpc' ? local : backends;
    const eipLbs = perProtocol(yusurKeys.eipLb, yusurNames.eipLb, 'eip', attachment, [eipIp], among);
    const guarded = { address: eip.address, ports: ports.map((p) => ({ protocol: p.protocol, port: p.port })) };
    const aclIds = { [EXTERNAL_IDS.service]: svc, [EXTERNAL_IDS.eip]: eip.address };
    if (eipMode === 'vpc') {
      specs.push(...eipLbs);
      // The pool's transit switch: EIP traffic crosses it before the VPC router's LB rewrites the destination.
      acls = sourceRangeAcls(owner, topoKeys.poolTransitSwitch(eip.pool), guarded, eipRanges.ranges, aclIds);
    } else {
      const lbKeys = eipLbs.filter((l) => l.frontends.length).map((l) => l.key);
      const gw = serviceGatewayRows(svc, owner, eip.address, eip.pool, backends, lbKeys, ctx, warnings);
      if ('errors' in gw) return { ...out, result: failed(gw.errors) };
      if (gw.rows.length) {
        specs.push(...eipLbs);
        rows.push(...gw.rows);
        out.gatewayChassis = gw.chassis;
        out.systemIps = gw.systemIps;
        // The link switch from the pool's router: crossed before the service-gateway's LB rewrites the EIP.
        acls = sourceRangeAcls(owner, yusurKeys.eipLinkSwitch(svc), guarded, eipRanges.ranges, aclIds);
      }
    }
  }
  const built = buildLoadBalancers(owner, specs, [], (issue) => warnings.push({ ...issue, field: 'spec.ports' }));
  rows.push(...built.rows, ...acls.rows);
  const memberships = [...built.memberships, ...acls.memberships];
  rows.sort((a, b) => cmp(a.table, b.table) || cmp(a.key, b.key));
  out.result = { ok: true, state: { owner, rows, memberships }, warnings };
  return out;
}

/** Pure: the YusurService's EIP source ranges (`spec.scenarios.eip.sourceRanges`), each entry named by its field. */
function eipSourceRanges(service: YusurService): SourceRangesResult {
  const entries = service.spec.scenarios?.eip?.sourceRanges ?? [];
  return parseSourceRanges(entries.map((text, i) => ({ field: `spec.scenarios.eip.sourceRanges[${i}]`, text })));
}

function withheldEip(e: { field: string; message: string }, address: string): TranslationIssue {
  return {
    reason: 'InvalidSourceRanges',
    field: e.field,
    message: `${e.field}: ${e.message}; EIP ${address} withheld`,
  };
}

/**
 * Scenario 4: a gateway router `svcgw-<ns>.<name>` pinned to the EipPool's active gateway node, holding the EIP
 * LBs with `lb_force_snat_ip=router_ip`; one link switch to the pool's gateway router and one to each backend
 * VPC's router; routes: default → pool gateway, backend /32 → its VPC router; EIP /32 on the pool gateway →
 * service-gateway. The VPC routers need no route back: the link network is directly connected to them.
 */
function serviceGatewayRows(
  svc: string,
  owner: Owner,
  eipAddress: string,
  poolName: string,
  backends: YusurBackend[],
  eipLbKeys: string[],
  ctx: YusurTranslationContext,
  warnings: TranslationIssue[],
): { rows: DesiredRow[]; chassis?: string; systemIps?: Record<string, string> } | { errors: TranslationIssue[] } {
  const pool = ctx.eipPools.find((p) => p.metadata.name === poolName);
  if (!pool) {
    warnings.push({
      reason: 'EipPoolNotFound',
      field: 'spec.scenarios.eip',
      message: `EipPool ${poolName} does not exist`,
    });
    return { rows: [] };
  }
  const chassis = activeGatewayNode(pool);
  const links = ctx.serviceGatewayLinks;
  const vpcs = [...new Set(backends.map((b) => b.vpc))].sort();
  const missing = vpcs.filter((v) => !links?.vpcs[v]);
  if (!links || missing.length || !chassis) {
    warnings.push({
      reason: 'ServiceGatewayPending',
      message: `service-gateway links not allocated yet${missing.length ? ` (Vpc ${missing.join(', ')})` : ''}`,
    });
    return { rows: [] };
  }
  const unknownVpc = vpcs.filter((v) => v !== ctx.defaultVpc && !ctx.vpcs.some((x) => x.metadata.name === v));
  if (unknownVpc.length) {
    return { errors: [{ reason: 'VpcNotFound', message: `Vpc ${unknownVpc.join(', ')} does not exist` }] };
  }
  const eipLink = linkAddresses(links.eip);
  const vpcLinks = vpcs.map((v) => ({ vpc: v, link: linkAddresses(links.vpcs[v]) }));
  const all = [links.eip, ...vpcs.map((v) => links.vpcs[v])].map((c) => parseCidr(c, true));
  if (
    !eipLink ||
    vpcLinks.some((l) => !l.link) ||
    all.some((a, i) => all.some((b, j) => i < j && a && b && cidrsOverlap(a, b)))
  ) {
    return {
      errors: [
        {
          reason: 'InvalidLinkNetwork',
          message: 'service-gateway link networks must be distinct IPv4 blocks of /30 or larger',
        },
      ],
    };
  }

  const routerKey = yusurKeys.gatewayRouter(svc);
  const rows: DesiredRow[] = [
    {
      table: 'Logical_Router',
      key: routerKey,
      owner,
      columns: {
        name: yusurNames.gatewayRouter(svc),
        options: { chassis, lb_force_snat_ip: 'router_ip' },
        load_balancer: eipLbKeys.map((key) => ref('Load_Balancer', key)),
        // The EIP and pool let a restarted controller know which EIPs service-gateways serve before it reconciles.
        external_ids: {
          [EXTERNAL_IDS.role]: SERVICE_GATEWAY_ROLE,
          [EXTERNAL_IDS.service]: svc,
          [EXTERNAL_IDS.eip]: eipAddress,
          [EXTERNAL_IDS.eipPool]: poolName,
        },
      },
    },
  ];
  const lrp = (key: string, routerKey2: string, name: string, ip: string, prefix: number): DesiredRow => ({
    table: 'Logical_Router_Port',
    key,
    owner,
    parent: { table: 'Logical_Router', key: routerKey2, column: 'ports' },
    columns: { name, mac: macFromIp(ip), networks: [`${ip}/${prefix}`] },
  });
  const lsp = (key: string, switchKey: string, name: string, routerPort: string): DesiredRow => ({
    table: 'Logical_Switch_Port',
    key,
    owner,
    parent: { table: 'Logical_Switch', key: switchKey, column: 'ports' },
    columns: { name, type: 'router', addresses: ['router'], options: { 'router-port': routerPort } },
  });
  const route = (key: string, parentKey: string, prefix: string, nexthop: string, port: string): DesiredRow => ({
    table: 'Logical_Router_Static_Route',
    key,
    owner,
    parent: { table: 'Logical_Router', key: parentKey, column: 'static_routes' },
    columns: { ip_prefix: prefix, nexthop, policy: 'dst-ip', output_port: port },
  });

  // Link switches record their network, so a restarted controller rebuilds its link allocations from them.
  const linkSwitch = (key: string, name: string, link: string, cidr: string): DesiredRow => ({
    table: 'Logical_Switch',
    key,
    owner,
    columns: {
      name,
      external_ids: { [EXTERNAL_IDS.service]: svc, [EXTERNAL_IDS.link]: link, [EXTERNAL_IDS.linkCidr]: cidr },
    },
  });

  // EIP side.
  const poolRouter = topoKeys.poolRouter(poolName);
  const gwEipLrp = yusurNames.eipLinkGatewayLrp(svc);
  const poolLrp = yusurNames.eipLinkPoolLrp(svc, poolName);
  rows.push(
    linkSwitch(yusurKeys.eipLinkSwitch(svc), yusurNames.eipLinkSwitch(svc), EIP_LINK, links.eip),
    lrp(yusurKeys.eipLinkGatewayLrp(svc), routerKey, gwEipLrp, eipLink.gateway, eipLink.prefix),
    lsp(yusurKeys.eipLinkGatewayLsp(svc), yusurKeys.eipLinkSwitch(svc), yusurNames.eipLinkGatewayLsp(svc), gwEipLrp),
    lrp(yusurKeys.eipLinkPoolLrp(svc), poolRouter, poolLrp, eipLink.peer, eipLink.prefix),
    lsp(yusurKeys.eipLinkPoolLsp(svc), yusurKeys.eipLinkSwitch(svc), yusurNames.eipLinkPoolLsp(svc), poolLrp),
    route(yusurKeys.defaultRoute(svc), routerKey, '0.0.0.0/0', eipLink.peer, gwEipLrp),
    route(yusurKeys.eipRoute(svc, eipAddress), poolRouter, `${eipAddress}/32`, eipLink.gateway, poolLrp),
  );
  const systemIps: Record<string, string> = { eip: eipLink.gateway };
  // VPC sides.
  for (const { vpc, link } of vpcLinks) {
    const l = link!;
    systemIps[vpc] = l.gateway;
    const sw = yusurKeys.vpcLinkSwitch(svc, vpc);
    const gwLrp = yusurNames.vpcLinkGatewayLrp(svc, vpc);
    const vpcLrp = yusurNames.vpcLinkVpcLrp(svc, vpc);
    rows.push(
      linkSwitch(sw, yusurNames.vpcLinkSwitch(svc, vpc), vpcLinkId(vpc), links.vpcs[vpc]),
      lrp(yusurKeys.vpcLinkGatewayLrp(svc, vpc), routerKey, gwLrp, l.gateway, l.prefix),
      lsp(yusurKeys.vpcLinkGatewayLsp(svc, vpc), sw, yusurNames.vpcLinkGatewayLsp(svc, vpc), gwLrp),
      lrp(yusurKeys.vpcLinkVpcLrp(svc, vpc), topoKeys.vpcRouter(vpc), vpcLrp, l.peer, l.prefix),
      lsp(yusurKeys.vpcLinkVpcLsp(svc, vpc), sw, yusurNames.vpcLinkVpcLsp(svc, vpc), vpcLrp),
    );
    // Routes to backends, unhealthy ones included (a route costs nothing; LB membership is what probes change).
    for (const b of backends.filter((x) => x.vpc === vpc && parseIpAddress(x.address)?.family === 4)) {
      rows.push(route(yusurKeys.backendRoute(svc, b.address), routerKey, `${b.address}/32`, l.peer, gwLrp));
    }
  }
  return { rows, chassis, systemIps };
}

/** Names for `ycloud translate` and status: the service-gateway router of a service. */
export function serviceGatewayName(namespace: string, name: string): string {
  return yusurNames.gatewayRouter(`${namespace}/${name}`);
}
