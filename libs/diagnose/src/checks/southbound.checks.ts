import { EXTERNAL_IDS } from '@ycloud/api';
import { DiagnoseFacts, NorthboundFacts, SouthboundFacts, isUnavailable } from '../facts';
import { Hop, broken, ok } from '../hop';
import { backendPods, entryNodeOf, expectedVips } from '../service-path';

const L = 'southbound' as const;

/** Southbound hops: the VIP's logical flows on every switch, backend port bindings, chassis liveness. */
export function southboundHops(facts: DiagnoseFacts, sb: SouthboundFacts): Hop[] {
  return [flowsHop(facts, sb), portBindingsHop(facts, sb), chassisHop(facts, sb)];
}

function flowsHop(facts: DiagnoseFacts, sb: SouthboundFacts): Hop {
  const vips = expectedVips(facts);
  const nb = isUnavailable(facts.northbound) ? undefined : (facts.northbound as NorthboundFacts);
  const lacking: string[] = [];
  const found: string[] = [];
  for (const v of vips) {
    const flows = sb.lflows.filter((f) => f.vip === v.key && f.stage === 'ls_in_lb');
    if (!flows.length) {
      lacking.push(`no ${'ls_in_lb'} flow for ${v.key}`);
      continue;
    }
    const covered = new Set(flows.flatMap((f) => f.datapaths));
    const lb = nb?.loadBalancers.find((l) => l.owned && v.key in l.vips);
    const vpc = lb?.externalIds[EXTERNAL_IDS.vpc];
    const needed = vpc ? (nb?.vpcSwitches[vpc] ?? []) : [];
    const missing = needed.filter((s) => !covered.has(s));
    if (missing.length) lacking.push(`${v.key} has no flow on ${missing.join(', ')}`);
    else found.push(`${v.key} on ${covered.size} datapath(s)`);
  }
  if (lacking.length) {
    return broken(
      L,
      'southbound/logical-flows',
      lacking.join('; '),
      'ovn-northd has not translated the load balancer: check ovn-northd runs and is connected to NB and SB (ovn-appctl -t ovn-northd status)',
    );
  }
  return ok(L, 'southbound/logical-flows', found.join(', ') || 'no VIP to check');
}

export function portBindingsHop(facts: DiagnoseFacts, sb: SouthboundFacts): Hop {
  const backends = backendPods(facts.kube);
  const bad: string[] = [];
  let good = 0;
  for (const [ip, b] of backends) {
    if (!b.lsp) continue;
    const pb = sb.portBindings.find((p) => p.logicalPort === b.lsp);
    if (!pb) bad.push(`${b.pod ?? ip}: no Port_Binding ${b.lsp}`);
    else if (!pb.chassis) bad.push(`${b.pod ?? ip}: ${b.lsp} bound to no chassis`);
    else if (pb.up === false) bad.push(`${b.pod ?? ip}: ${b.lsp} on ${pb.chassis} is not up`);
    else good++;
  }
  if (bad.length) {
    return broken(
      L,
      'southbound/port-bindings',
      bad.join('; '),
      "the backend's node has not plugged its port: check the node agent and ovn-controller of that node",
    );
  }
  return ok(L, 'southbound/port-bindings', `${good} backend port(s) bound and up`);
}

export function chassisHop(facts: DiagnoseFacts, sb: SouthboundFacts): Hop {
  const backends = backendPods(facts.kube);
  const nodes = new Set<string>();
  for (const b of backends.values()) if (b.node) nodes.add(b.node);
  const src = sourceNodeName(facts);
  if (src) nodes.add(src);
  const stale: string[] = [];
  const fine: string[] = [];
  for (const n of [...nodes].sort()) {
    const ch = sb.chassis.find((c) => c.name === n || c.hostname === n);
    if (!ch) stale.push(`node ${n} has no Chassis`);
    else if (ch.nbCfg !== undefined && ch.nbCfg < sb.nbCfg)
      stale.push(`chassis ${ch.name} applied nb_cfg ${ch.nbCfg} < ${sb.nbCfg}`);
    else fine.push(ch.name);
  }
  if (stale.length) {
    return broken(
      L,
      'southbound/chassis',
      stale.join('; '),
      'ovn-controller on that node is down or behind: check it (ovn-appctl -t ovn-controller connection-status)',
    );
  }
  return ok(L, 'southbound/chassis', `chassis ${fine.join(', ')} registered and caught up (nb_cfg ${sb.nbCfg})`);
}

/** The node the traffic starts on (pod or node client), or enters OVN on (EIP gateway, NodePort node). */
export function sourceNodeName(facts: DiagnoseFacts): string | undefined {
  if (facts.source.kind === 'node') return facts.source.name;
  if (facts.source.kind === 'pod') return facts.kube.sourcePod?.node;
  return entryNodeOf(facts);
}
