import { names } from '@ycloud/translate/topology/keys';
import { EIP_ANNOTATION, EIP_POOL_ANNOTATION } from '@ycloud/api';
import { DiagnoseFacts, NbEipPathFacts, NorthboundFacts, SouthboundFacts } from '../facts';
import { Hop, broken, ok } from '../hop';
import { expectedVips } from '../service-path';

const DRIFT_FIX =
  'ycloud rewrites the rows it owns when it next reconciles them (a change to the Service, Eip or EipPool, or a controller restart); `ycloud journal` shows what it wrote last';

/** The EIP path's coordinates once Kubernetes has them all: address, pool and the VPC of the bound service. */
export function eipPathQuery(
  facts: Pick<DiagnoseFacts, 'kube'>,
): { address: string; pool: string; vpc: string } | undefined {
  const eip = facts.kube.eip;
  if (!eip?.address || !eip.pool || !eip.vpc || !facts.kube.service) return undefined;
  return { address: eip.address, pool: eip.pool, vpc: eip.vpc };
}

/** OVN names the chassis-redirect port of a distributed gateway port `cr-<port>`. */
export const chassisRedirectPort = (lrp: string): string => `cr-${lrp}`;

/** The logical ports of the EIP path that a gateway chassis must claim: the VPC router's DGP and the pool router's. */
export function eipGatewayPorts(pool: string, vpc: string): string[] {
  return [
    names.poolRouterExternalLrp(pool),
    names.poolRouterTransitLrp(pool),
    chassisRedirectPort(names.vpcTransitLrp(vpc, pool)),
  ];
}

/** Runs hop checks in path order, up to and including the first broken one (later ones would only repeat it). */
function untilBroken(checks: Array<() => Hop>): Hop[] {
  const hops: Hop[] = [];
  for (const check of checks) {
    const h = check();
    hops.push(h);
    if (h.status === 'broken') break;
  }
  return hops;
}

/** Kubernetes hops of the EIP path: the Eip (allocated, bound, resolved to a VPC) and its pool's gateway node. */
export function eipKubernetesHops(facts: DiagnoseFacts): Hop[] {
  return untilBroken([() => eipObjectHop(facts), () => eipPoolHop(facts)]);
}

/** No Eip to walk: asked by a name that does not exist or is unbound, or none serves the Service. */
function noEipHop({ kube }: DiagnoseFacts): Hop {
  const t = kube.target;
  const eip = kube.eip;
  return broken(
    'kubernetes',
    'kubernetes/eip',
    kube.eipError ??
      `no Eip is bound to ${t.kind} ${t.namespace}/${t.name} (ingress: ${kube.service?.ingressIPs?.join(',') || 'none'})`,
    kube.eipError && eip
      ? `bind it: annotate the Service ${EIP_ANNOTATION}=${eip.name}`
      : `see the Service's Events (kubectl describe ${t.kind.toLowerCase()} -n ${t.namespace} ${t.name}): no pool (${EIP_POOL_ANNOTATION}, eip.defaultPool), pool exhausted, address taken`,
  );
}

function eipObjectHop(facts: DiagnoseFacts): Hop {
  const L = 'kubernetes' as const;
  const id = 'kubernetes/eip';
  const { kube } = facts;
  const t = kube.target;
  const eip = kube.eip;
  const svc = kube.service;
  const what = `${t.kind} ${t.namespace}/${t.name}`;
  if (kube.eipError || !eip) return noEipHop(facts);
  const ready = eip.ready;
  const readyText = ready ? ` (Ready=${ready.status} ${ready.reason ?? ''}: ${ready.message ?? ''})` : '';
  const ingress = svc?.ingressIPs ?? [];
  if (!eip.address)
    return broken(
      L,
      id,
      `Eip ${eip.name} has no address${readyText}`,
      `the pool cannot give one (exhausted, or spec.address taken): kubectl get eippool ${eip.pool} -o yaml`,
    );
  if (t.kind === 'Service' && svc?.type !== 'LoadBalancer')
    return broken(
      L,
      id,
      `Eip ${eip.name} (${eip.address}) is bound to ${what}, which is type ${svc?.type ?? 'unknown'}, not LoadBalancer`,
      "make the Service type LoadBalancer: only those get their Eip's load balancer",
    );
  if (t.kind === 'Service' && !ingress.includes(eip.address))
    return broken(
      L,
      id,
      `Eip ${eip.name} has ${eip.address} but the Service's ingress is ${ingress.join(',') || 'empty'}`,
      'the controller writes the ingress when it serves the address: check its Events on the Service and that it runs',
    );
  if (!eip.vpc)
    return broken(
      L,
      id,
      `Eip ${eip.name} (${eip.address}) is not resolved to a VPC yet${readyText}`,
      `kubectl get eip ${eip.name} -o yaml: the bound service's namespace must belong to a Vpc (or the default VPC)`,
    );
  if (ready?.status === 'False')
    return broken(
      L,
      id,
      `Eip ${eip.name} (${eip.address})${readyText}`,
      'fix what the condition names (a Vpc whose external gateway is another pool, a missing pool)',
    );
  return ok(L, id, `Eip ${eip.name} ${eip.address} from pool ${eip.pool}, bound to ${what}, VPC ${eip.vpc}`);
}

function eipPoolHop(facts: DiagnoseFacts): Hop {
  const L = 'kubernetes' as const;
  const id = 'kubernetes/eip-pool';
  const { kube } = facts;
  const pool = kube.eipPool;
  if (!pool)
    return broken(
      L,
      id,
      `EipPool ${kube.eip?.pool ?? ''} not found`,
      'create the EipPool or move the Eip to one that exists (kubectl get eippools)',
    );
  const active = pool.activeGatewayNode;
  const node = kube.nodes?.find((n) => n.name === active);
  if (!active)
    return broken(
      L,
      id,
      `EipPool ${pool.name} has no active gateway node (gatewayNodes: ${pool.gatewayNodes.join(', ') || 'none'})`,
      'list at least one Node (its name equals its OVN chassis name) in spec.gatewayNodes',
    );
  if (kube.nodes && !node?.ready) {
    const others = pool.gatewayNodes.filter((n) => n !== active && kube.nodes?.find((x) => x.name === n)?.ready);
    return broken(
      L,
      id,
      `EipPool ${pool.name}: active gateway node ${active} is ${node ? 'not Ready' : 'not a Node'}; Ready candidates: ${others.join(', ') || 'none'}`,
      others.length
        ? 'the controller moves the gateway to a Ready candidate: check it runs (its Events on the EipPool)'
        : `bring ${active} back, or add a Ready node to spec.gatewayNodes`,
    );
  }
  return ok(
    L,
    id,
    `EipPool ${pool.name}: network ${pool.networkName}, active gateway node ${active}${node ? ' (Ready)' : ''} of [${pool.gatewayNodes.join(', ')}]`,
  );
}

interface EipNbContext {
  q: { address: string; pool: string; vpc: string };
  path: NbEipPathFacts;
  active?: string;
}

/**
 * Northbound hops of the EIP path, in the order a packet from outside meets them: the pool's gateway router
 * (pinned to the active node, ports, external network), its identity NAT (answers ARP for the EIP), the /32 route
 * to the VPC, the VPC router's gateway port on the active node, and the router load balancer with the EIP VIPs.
 */
export function eipNorthboundHops(facts: DiagnoseFacts, nb: NorthboundFacts): Hop[] {
  const q = eipPathQuery(facts)!;
  const c: EipNbContext = { q, path: nb.eipPath ?? { ...q }, active: facts.kube.eipPool?.activeGatewayNode };
  return untilBroken([
    () => gatewayRouterHop(c, facts.kube.eipPool?.networkName),
    () => eipNatHop(c),
    () => eipRouteHop(c),
    () => vpcGatewayPortHop(c),
    () => routerLbHop(facts, nb, c),
  ]);
}

function gatewayRouterHop({ q, path, active }: EipNbContext, network?: string): Hop {
  const id = 'northbound/eip-gateway-router';
  const gwName = names.poolRouter(q.pool);
  const r = path.poolRouter;
  if (!r)
    return broken(
      'northbound',
      id,
      `no Logical_Router ${gwName} (the gateway router of EipPool ${q.pool})`,
      `check the EipPool's Ready condition and Events (kubectl describe eippool ${q.pool}); ${DRIFT_FIX}`,
    );
  const problems: string[] = [];
  if (r.chassis !== active)
    problems.push(`pinned to chassis ${r.chassis ?? '(none)'}, the pool's active node is ${active}`);
  for (const p of [names.poolRouterExternalLrp(q.pool), names.poolRouterTransitLrp(q.pool)])
    if (!r.ports.includes(p)) problems.push(`no port ${p}`);
  const ext = path.externalSwitch;
  if (!ext) problems.push(`no external switch ${names.poolExternalSwitch(q.pool)}`);
  else if (ext.localnetNetwork === undefined) problems.push(`${ext.name} has no localnet port`);
  else if (network && ext.localnetNetwork !== network)
    problems.push(`${ext.name}'s localnet is on network ${ext.localnetNetwork}, the pool's is ${network}`);
  if (problems.length) return broken('northbound', id, `${gwName}: ${problems.join('; ')}`, DRIFT_FIX);
  return ok('northbound', id, `${gwName} on chassis ${r.chassis}, external network ${ext!.localnetNetwork}`);
}

function eipNatHop({ q, path }: EipNbContext): Hop {
  const nat = path.poolRouter?.nats.find((n) => n.externalIp === q.address);
  if (!nat)
    return broken(
      'northbound',
      'northbound/eip-nat',
      `${names.poolRouter(q.pool)} has no NAT row for ${q.address}: nothing answers ARP for the EIP on the external network`,
      DRIFT_FIX,
    );
  return ok(
    'northbound',
    'northbound/eip-nat',
    `${nat.type} ${nat.externalIp}${nat.stateless ? ' stateless' : ''} (answers ARP)`,
  );
}

function eipRouteHop({ q, path }: EipNbContext): Hop {
  const gwName = names.poolRouter(q.pool);
  const transitIp = path.vpcRouter?.gatewayPort?.networks[0]?.split('/')[0];
  const route = path.poolRouter?.routes.find((x) => x.prefix === `${q.address}/32` || x.prefix === q.address);
  if (!route || (transitIp && route.nexthop !== transitIp))
    return broken(
      'northbound',
      'northbound/eip-route',
      route
        ? `${gwName} routes ${q.address} to ${route.nexthop}, VPC ${q.vpc}'s gateway port is ${transitIp}`
        : `${gwName} has no route for ${q.address}/32 towards VPC ${q.vpc}`,
      DRIFT_FIX,
    );
  return ok(
    'northbound',
    'northbound/eip-route',
    `${q.address}/32 via ${route.nexthop}${route.outputPort ? ` (${route.outputPort})` : ''}`,
  );
}

function vpcGatewayPortHop({ q, path, active }: EipNbContext): Hop {
  const vpcRouter = names.vpcRouter(q.vpc);
  const lrp = names.vpcTransitLrp(q.vpc, q.pool);
  const lsp = names.vpcTransitLsp(q.vpc, q.pool);
  const gwPort = path.vpcRouter?.gatewayPort;
  const problems: string[] = [];
  const top = [...(gwPort?.gatewayChassis ?? [])].sort((a, b) => b.priority - a.priority)[0];
  if (!path.vpcRouter) problems.push(`no Logical_Router ${vpcRouter}`);
  else if (!gwPort) problems.push(`${vpcRouter} has no gateway port ${lrp}`);
  else if (!top) problems.push(`${lrp} has no Gateway_Chassis`);
  else if (top.chassis !== active)
    problems.push(`${lrp} is on chassis ${top.chassis}, the pool's gateway router on ${active}`);
  if (!path.transitSwitch) problems.push(`no transit switch ${names.poolTransitSwitch(q.pool)}`);
  else if (!path.transitSwitch.ports.includes(lsp)) problems.push(`${path.transitSwitch.name} has no port ${lsp}`);
  if (problems.length) return broken('northbound', 'northbound/vpc-gateway-port', problems.join('; '), DRIFT_FIX);
  return ok(
    'northbound',
    'northbound/vpc-gateway-port',
    `${vpcRouter} port ${lrp} (${gwPort!.networks.join(',')}) on chassis ${active}`,
  );
}

function routerLbHop(facts: DiagnoseFacts, nb: NorthboundFacts, { q }: EipNbContext): Hop {
  const vpcRouter = names.vpcRouter(q.vpc);
  const routerLbs = nb.loadBalancers.filter((lb) => lb.routers.includes(vpcRouter));
  const wrong: string[] = [];
  const seen: string[] = [];
  for (const v of expectedVips(facts)) {
    const lb = routerLbs.find((x) => (x.protocol ?? 'tcp') === v.protocol && v.key in x.vips);
    if (!lb) {
      wrong.push(`no load balancer on ${vpcRouter} has VIP ${v.key}/${v.protocol}`);
      continue;
    }
    const actual = lb.vips[v.key]
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .sort();
    if (actual.join(',') !== v.backends.join(','))
      wrong.push(`${lb.name} ${v.key}: NB has [${actual.join(' ')}], ready endpoints are [${v.backends.join(' ')}]`);
    else seen.push(`${lb.name} ${v.key} -> ${actual.length} backend(s)`);
  }
  if (wrong.length) return broken('northbound', 'northbound/router-lb', wrong.join('; '), DRIFT_FIX);
  return ok('northbound', 'northbound/router-lb', seen.join(', '));
}

/**
 * Southbound hops of the EIP path: the gateway chassis registered and holding the gateway ports (the pool router's
 * ports and the VPC router's chassis-redirect port), and the router load balancer's flows on the VPC router.
 */
export function eipSouthboundHops(facts: DiagnoseFacts, sb: SouthboundFacts): Hop[] {
  const L = 'southbound' as const;
  const q = eipPathQuery(facts)!;
  const active = facts.kube.eipPool?.activeGatewayNode ?? '';
  const hops: Hop[] = [];
  const chassis = sb.chassis.find((c) => c.name === active || c.hostname === active);
  const problems: string[] = [];
  if (!chassis) problems.push(`gateway node ${active} has no Chassis in Southbound (ovn-controller gone?)`);
  else if (chassis.nbCfg !== undefined && chassis.nbCfg < sb.nbCfg)
    problems.push(
      `gateway chassis ${chassis.name} applied nb_cfg ${chassis.nbCfg} < ${sb.nbCfg} (its ovn-controller is down or behind)`,
    );
  const bound: string[] = [];
  for (const port of eipGatewayPorts(q.pool, q.vpc)) {
    const pb = sb.portBindings.find((p) => p.logicalPort === port);
    if (!pb) problems.push(`no Port_Binding ${port}`);
    else if (!pb.chassis) problems.push(`${port} is bound to no chassis`);
    else if (pb.chassis !== (chassis?.name ?? active))
      problems.push(`${port} is bound to ${pb.chassis}, not ${active}`);
    else bound.push(port);
  }
  if (problems.length) {
    hops.push(
      broken(
        L,
        'southbound/eip-gateway',
        problems.join('; '),
        `the EIP gateway node ${active} is down or not claiming its ports: check ovn-controller and ovs-vswitchd there (ovn-appctl -t ovn-controller connection-status), or fail over (a Ready node in the pool's gatewayNodes)`,
      ),
    );
    return hops;
  }
  hops.push(ok(L, 'southbound/eip-gateway', `chassis ${chassis!.name} holds ${bound.join(', ')}`));

  const vpcRouter = names.vpcRouter(q.vpc);
  const lacking: string[] = [];
  const found: string[] = [];
  for (const v of expectedVips(facts)) {
    const flows = sb.lflows.filter(
      (f) => f.vip === v.key && f.stage === 'lr_in_dnat' && f.datapaths.includes(vpcRouter),
    );
    if (flows.length) found.push(`${v.key} on ${vpcRouter}`);
    else lacking.push(`no lr_in_dnat load-balancing flow for ${v.key} on ${vpcRouter}`);
  }
  if (lacking.length) {
    hops.push(
      broken(
        L,
        'southbound/router-lb-flows',
        lacking.join('; '),
        'ovn-northd has not translated the router load balancer: check ovn-northd runs (ovn-appctl -t ovn-northd status) and the router has exactly one gateway port',
      ),
    );
    return hops;
  }
  hops.push(ok(L, 'southbound/router-lb-flows', found.join(', ')));
  return hops;
}
