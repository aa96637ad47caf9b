import { DiagnoseFacts, isUnavailable } from '../facts';
import { Hop, broken, ok, unknown } from '../hop';
import { entryNodeOf, selectedPorts } from '../service-path';

/** The NodePort an external client uses: ports with a nodePort, and the node (with its address) it reaches. */
export function nodePortKubernetesHop(facts: DiagnoseFacts): Hop {
  const id = 'kubernetes/nodeport';
  const ports = selectedPorts(facts).filter((p) => p.nodePort);
  if (!ports.length)
    return broken(
      'kubernetes',
      id,
      'no nodePort on the selected port(s)',
      'type NodePort or LoadBalancer Services get one; pass --port with a port that has it',
    );
  const node = entryNodeOf(facts);
  if (!node)
    return broken(
      'kubernetes',
      id,
      'no Ready Node to reach the NodePort on',
      'check the Nodes: kubectl get nodes -o wide',
    );
  const addr = facts.kube.nodes?.find((n) => n.name === node)?.externalIPs[0];
  const list = ports.map((p) => `${p.nodePort}/${p.protocol}->${p.port}`).join(', ');
  return ok(
    'kubernetes',
    id,
    `${list} on node ${node}${addr ? ` (ExternalIP ${addr})` : ' (no ExternalIP: its first Ready node)'}`,
  );
}

/**
 * The entry node's NodePort rules (docs/adr/0005-nodeport-from-outside.md): the agent's table DNATs each nodePort
 * to the ClusterIP (or, for externalTrafficPolicy Local, to the node's own endpoints), and the host forwards it.
 */
export function nodePortRulesHop(facts: DiagnoseFacts): Hop {
  const node = entryNodeOf(facts) ?? '';
  const id = `node/${node}/nodeport-rules`;
  const n = facts.nodePorts;
  if (!n || isUnavailable(n))
    return unknown(
      'node',
      id,
      `node agent of ${node} not reachable: ${n ? n.unavailable : 'not asked'}`,
      'check the ycloud agent pod on that node',
    );
  const fix = `the node agent on ${node} rewrites its table when a Service changes or the table is gone: check its log (nodeports:), or delete the table to have it rebuilt (nft delete table ip ycloud)`;
  if (!n.table) return broken('node', id, `${node}: ${n.detail}`, fix);
  const svc = facts.kube.service!;
  const local = svc.externalTrafficPolicy === 'Local';
  const wrong: string[] = [];
  const good: string[] = [];
  for (const p of selectedPorts(facts).filter((x) => x.nodePort)) {
    const proto = p.protocol.toLowerCase();
    const rule = n.rules.find((r) => r.protocol === proto && r.nodePort === p.nodePort);
    const want = svc.clusterIPs.filter((ip) => !ip.includes(':')).map((ip) => `${ip}:${p.port}`)[0];
    if (!rule) wrong.push(`no rule for ${proto} dport ${p.nodePort}`);
    else if (!local && want && rule.dnatTo !== want)
      wrong.push(`${proto} dport ${p.nodePort} goes to ${rule.dnatTo ?? '(no dnat)'}, not ${want}`);
    else good.push(`${proto}/${p.nodePort} -> ${rule.dnatTo ?? 'local endpoints'}`);
  }
  if (wrong.length) return broken('node', id, `${node}: ${wrong.join('; ')}`, fix);
  if (!n.ipForward)
    return broken(
      'node',
      id,
      `${node}: net.ipv4.ip_forward is 0: the host does not forward DNATed traffic`,
      `sysctl -w net.ipv4.ip_forward=1 on ${node} (the agent sets it when it writes its table)`,
    );
  return ok('node', id, `${node}: ${good.join(', ')}, forwarding on`);
}
