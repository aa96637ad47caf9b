import { DiagnoseFacts, Maybe, NodeFacts, isUnavailable } from '../facts';
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
