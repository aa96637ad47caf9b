import { DiagnoseFacts, Maybe, NodeFacts, OffloadFacts, Unavailable, isUnavailable } from '../facts';
import { Hop, broken, ok, unknown } from '../hop';
import { expectedVips } from '../service-path';
import { sourceNodeName } from './southbound.checks';

const L = 'node' as const;

/** Node hops: the source node's ovn-controller, datapath and the VIP's OpenFlow group; each backend node's datapath. */
export function nodeHops(facts: DiagnoseFacts): Hop[] {
  const hops: Hop[] = [];
  const src = sourceNodeName(facts);
  if (src) {
    const n = facts.sourceNode;
    if (!n || isUnavailable(n)) {
      hops.push(
        unknown(
          L,
          `node/${src}`,
          `node agent of ${src} not reachable: ${n ? n.unavailable : 'not asked'}`,
          'check the ycloud agent pod on that node',
        ),
      );
    } else {
      hops.push(controllerHop(n));
      hops.push(datapathHop(n));
      if (n.datapath.reachable) hops.push(groupHop(facts, n));
      if (n.offload) hops.push(offloadHop(facts, n.node, n.offload));
    }
  }
  for (const [name, n] of Object.entries(facts.backendNodes).sort(([a], [b]) => a.localeCompare(b))) {
    if (name === src) continue;
    hops.push(backendNodeHop(name, n));
  }
  return hops;
}

function controllerHop(n: NodeFacts): Hop {
  const id = `node/${n.node}/ovn-controller`;
  if (!n.ovnController.running)
    return broken(
      L,
      id,
      `ovn-controller is not running on ${n.node}: ${n.ovnController.detail}`,
      `start ovn-controller on ${n.node} (systemctl start ovn-controller)`,
    );
  if (n.ovnController.connected === false)
    return broken(
      L,
      id,
      `ovn-controller on ${n.node} is not connected to SB: ${n.ovnController.detail}`,
      'check the SB address (external_ids:ovn-remote) and the SB server',
    );
  return ok(L, id, `ovn-controller on ${n.node}: ${n.ovnController.detail}`);
}

function datapathHop(n: NodeFacts): Hop {
  const id = `node/${n.node}/datapath`;
  if (!n.datapath.reachable)
    return broken(
      L,
      id,
      `br-int of ${n.node} does not answer: ${n.datapath.detail}`,
      `start ovs-vswitchd on ${n.node}`,
    );
  return ok(L, id, `br-int of ${n.node} answers`);
}

function groupHop(facts: DiagnoseFacts, n: NodeFacts): Hop {
  const id = `node/${n.node}/vip-groups`;
  const found: string[] = [];
  const lacking: string[] = [];
  for (const v of expectedVips(facts)) {
    if (!v.backends.length) continue;
    const want = [...v.backends].sort().join(',');
    const group = n.groups.find((g) => [...new Set(g.buckets.map((b) => b.backend))].sort().join(',') === want);
    if (!group) {
      lacking.push(`no group with buckets [${v.backends.join(' ')}] for ${v.key}`);
      continue;
    }
    const counters = group.buckets.map((b) => `${b.backend} ${b.packets} pkt`).join(', ');
    found.push(`${v.key}: group ${group.id} (${counters})`);
  }
  if (lacking.length) {
    return broken(
      L,
      id,
      `${n.node}: ${lacking.join('; ')}`,
      `ovn-controller on ${n.node} has not installed the load balancer: check its log and recompute (ovn-appctl -t ovn-controller recompute)`,
    );
  }
  return ok(L, id, found.join('; ') || 'no backend to balance to');
}

function backendNodeHop(name: string, n: Maybe<NodeFacts>): Hop {
  const id = `node/${name}/backend-node`;
  if (isUnavailable(n))
    return unknown(
      L,
      id,
      `node agent of ${name} not reachable: ${n.unavailable}`,
      'check the ycloud agent pod on that node',
    );
  if (!n.datapath.reachable)
    return broken(
      L,
      id,
      `backends on ${name} unreachable: br-int does not answer (${n.datapath.detail})`,
      `start ovs-vswitchd on ${name}`,
    );
  if (!n.ovnController.running || n.ovnController.connected === false) {
    return broken(
      L,
      id,
      `backends on ${name}: ovn-controller ${n.ovnController.running ? 'not connected' : 'not running'} (${n.ovnController.detail})`,
      `start ovn-controller on ${name}`,
    );
  }
  return ok(L, id, `${name}: br-int answers, ovn-controller ${n.ovnController.detail}`);
}

/**
 * SmartNIC / DPU mode: are the VIPs' datapath flows offloaded to the NIC? Ok only when OVS lists them among its
 * offloaded flows; otherwise unknown with what was measured (never ok by assumption; traffic still flows in
 * software, so not broken either).
 */
function offloadHop(facts: DiagnoseFacts, node: string, o: OffloadFacts | Unavailable): Hop {
  const id = `node/${node}/offload`;
  if (isUnavailable(o)) return unknown(L, id, `offload of the VIP flows on ${node} not measured: ${o.unavailable}`);
  const vips = expectedVips(facts).filter((v) => v.backends.length);
  const counts = vips.map((v) => ({ key: v.key, ...(o.vips[v.key] ?? { offloaded: 0, software: 0 }) }));
  const list = counts.map((c) => `${c.key} ${c.offloaded} offloaded / ${c.software} in software`).join(', ');
  if (counts.length && counts.every((c) => c.offloaded > 0))
    return ok(L, id, `${node} (${o.mode}): datapath flows ${list} (dpctl/dump-flows type=offloaded)`);
  const hw = o.hwOffload ? `hw-offload=${o.hwOffload}` : 'hw-offload unset';
  const why = `${hw}, datapath ${o.datapath || 'unknown'}, dpctl/dump-flows type=offloaded lists ${o.offloadedFlows} flow(s)`;
  const fix =
    o.hwOffload !== 'true'
      ? `set other_config:hw-offload=true on ${node} (the agent does in ${o.mode} mode) and restart ovs-vswitchd`
      : o.datapath.startsWith('netdev@')
        ? 'the userspace (netdev) datapath offloads only through DPDK rte_flow on DPDK ports: there is no TC flower here'
        : 'check the NIC is in switchdev mode and the representors carry tc-offload (ethtool -k REP hw-tc-offload)';
  return unknown(
    L,
    id,
    `${node} (${o.mode}): VIP flows not seen offloaded: ${list || 'no VIP with backends'}; ${why}`,
    fix,
  );
}
