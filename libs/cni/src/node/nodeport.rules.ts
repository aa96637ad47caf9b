import type { V1Service } from '@kubernetes/client-node';
import { NODE_PORT_NAME } from './node-port';

/** The nftables table the agent owns in the node's host namespace; nothing else is touched. */
export const NODEPORT_TABLE = 'ycloud';

/** One host NodePort: `<any local address>:<nodePort>` is DNATed to `<clusterIP>:<port>`. */
export interface NodePortRule {
  protocol: 'tcp' | 'udp' | 'sctp';
  nodePort: number;
  clusterIP: string;
  port: number;
  /** `namespace/name:portName`, written as the rule's comment. */
  source: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const PROTOCOLS: Record<string, NodePortRule['protocol']> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

const validPort = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;

/**
 * Pure: the host NodePorts of one Service — every port with a `nodePort` (type NodePort, and LoadBalancer unless
 * it opted out) on its IPv4 ClusterIP. `externalTrafficPolicy: Local` is treated as Cluster (docs/adr/0005).
 */
export function nodePortRulesOf(svc: V1Service): NodePortRule[] {
  const clusterIP = (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]).find((ip) => ip && IPV4.test(ip));
  if (!clusterIP) return [];
  const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
  const out: NodePortRule[] = [];
  for (const p of svc.spec?.ports ?? []) {
    const protocol = PROTOCOLS[p.protocol ?? 'TCP'];
    if (!protocol || !validPort(p.nodePort) || !validPort(p.port)) continue;
    out.push({ protocol, nodePort: p.nodePort, clusterIP, port: p.port, source: `${key}:${p.name ?? p.port}` });
  }
  return out;
}

/** Pure: the rules of all Services, sorted, one per protocol/nodePort (the first Service by key wins a clash). */
export function nodePortRules(services: V1Service[]): NodePortRule[] {
  const seen = new Map<string, NodePortRule>();
  const all = services.flatMap(nodePortRulesOf).sort((a, b) => a.source.localeCompare(b.source));
  for (const r of all) {
    const k = `${r.protocol}/${r.nodePort}`;
    if (!seen.has(k)) seen.set(k, r);
  }
  return [...seen.values()].sort((a, b) => a.nodePort - b.nodePort || a.protocol.localeCompare(b.protocol));
}

/** nft strings are double-quoted; Kubernetes names cannot hold quotes, but never trust input in a ruleset. */
const quote = (s: string): string => `"${s.replace(/[^A-Za-z0-9._:/-]/g, '_').slice(0, 120)}"`;

/**
 * Pure: an `nft -f` script that replaces `table ip ycloud` atomically (declare, delete, define — one
 * transaction). Traffic to any local address of the node (not loopback) on a nodePort is DNATed to the ClusterIP,
 * then routed through ycloud0 into OVN, whose load balancer picks the backend. Connections this host DNATed
 * and that leave through ycloud0 are masqueraded to ycloud0's join address so replies come back through OVN
 * and this host's conntrack undoes both translations.
 */
export function renderNodePortTable(rules: NodePortRule[], nodePortDevice = NODE_PORT_NAME): string {
  const t = `table ip ${NODEPORT_TABLE}`;
  return [
    t,
    `delete ${t}`,
    `${t} {`,
    '  chain nodeports {',
    ...rules.map(
      (r) => `    ${r.protocol} dport ${r.nodePort} dnat to ${r.clusterIP}:${r.port} comment ${quote(r.source)}`,
    ),
    '  }',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '    fib daddr type local jump nodeports',
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    ip daddr != 127.0.0.0/8 fib daddr type local jump nodeports',
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname ${quote(nodePortDevice)} ct status dnat masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}
