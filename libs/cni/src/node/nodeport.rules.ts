import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { nodePortKeepsClientAddress } from '@ycloud/api';
import { isIP } from 'node:net';
import { usableEndpoints } from '../k8s/service-endpoints';
import { NODE_PORT_NAME } from './node-port';

/**
 * The nftables tables the agent owns in the node's host namespace, `ip ycloud` and `ip6 ycloud` (one per
 * address family, as kube-proxy's nftables proxier runs one proxier and table per family); nothing else is touched.
 */
export const NODEPORT_TABLE = 'ycloud';

/** An address family of the node rules: 4 renders `table ip ycloud`, 6 `table ip6 ycloud`. */
export type IpFamily = 4 | 6;

/** The rules of both families: each family's addresses only, rendered into its own table. */
export interface NodePortRuleSet {
  ipv4: NodePortRule[];
  ipv6: NodePortRule[];
}

/**
 * One host NodePort: `<any local address>:<nodePort>` is DNATed to `<clusterIP>:<port>`; or, with `externalIP`,
 * one external IP of a Service: `<externalIP>:<port>` arriving at (or sent from) this node, DNATed the same way.
 */
export interface NodePortRule {
  protocol: 'tcp' | 'udp' | 'sctp';
  /** The port matched: the nodePort, or the Service port for an externalIP rule. */
  nodePort: number;
  /** Set for an externalIP rule: the destination address matched (any address, not only the node's). */
  externalIP?: string;
  /** The ClusterIP of the rule's family. */
  clusterIP: string;
  port: number;
  /** `namespace/name:portName`, written as the rule's comment. */
  source: string;
  /**
   * `externalTrafficPolicy: Local`: this node's endpoints (`ip:port`, IPv6 `[ip]:port`), DNATed to directly (one picked at random)
   * instead of the ClusterIP; empty drops the traffic, as kube-proxy does.
   */
  localEndpoints?: string[];
  /**
   * Local and no LoadBalancer address (`nodePortKeepsClientAddress`): connections to the local endpoints are not
   * masqueraded, so the backend sees the client; the controller routes the endpoint's replies back to this node.
   */
  keepClientAddress?: boolean;
}

/** Pure: the ready (else serving-and-terminating) endpoints of `family` on `nodeName` for one Service port. */
export function localEndpointsOf(
  slices: V1EndpointSlice[],
  nodeName: string,
  portName: string,
  protocol: string,
  family: IpFamily = 4,
): string[] {
  const found = usableEndpoints(
    slices,
    portName,
    protocol,
    (ep, ip) => ep.nodeName === nodeName && isIP(ip) === family,
  );
  return [...new Set(found.map(([ip, port]) => hostPort(ip, port)))].sort();
}

/** `ip:port`, or `[ip]:port` for IPv6: how nft and conntrack's callers here write an endpoint. */
const hostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** The address and port of an endpoint written by `hostPort`. */
function splitHostPort(ep: string): { ip: string; port: string } {
  const colon = ep.lastIndexOf(':');
  return { ip: ep.slice(0, colon).replace(/^\[|\]$/g, ''), port: ep.slice(colon + 1) };
}
const PROTOCOLS: Record<string, NodePortRule['protocol']> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

const validPort = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;

/** With `externalTrafficPolicy: Local` (and `local` given), what a port's rules add: the local endpoints. */
function localPolicy(
  svc: V1Service,
  portName: string,
  protocol: string,
  family: IpFamily,
  local?: { nodeName: string; slices: V1EndpointSlice[] },
): (r: NodePortRule) => NodePortRule {
  if (!local || svc.spec?.externalTrafficPolicy !== 'Local') return (r) => r;
  const localEndpoints = localEndpointsOf(local.slices, local.nodeName, portName, protocol, family);
  // Both families at once: the controller's condition stands for its reply routes of both (docs/adr/0005, 0011).
  const keep = nodePortKeepsClientAddress(svc) ? { keepClientAddress: true } : {};
  return (r) => ({ ...r, localEndpoints, ...keep });
}

/**
 * Pure: the host NodePorts of one Service in one address family — every port with a `nodePort` (type NodePort,
 * and LoadBalancer unless it opted out) on its ClusterIP of that family, and its externalIPs of that family. A
 * Service without a ClusterIP of the family has none (as kube-proxy's per-family proxier skips it). With
 * `externalTrafficPolicy: Local` and `local` given (this node's name and the Service's EndpointSlices), each rule
 * carries the node-local endpoints of the family (docs/adr/0005).
 */
export function nodePortRulesOf(
  svc: V1Service,
  local?: { nodeName: string; slices: V1EndpointSlice[] },
  family: IpFamily = 4,
): NodePortRule[] {
  const clusterIP = (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]).find((ip) => ip && isIP(ip) === family);
  if (!clusterIP) return [];
  const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
  // kube-proxy captures externalIPs for every Service type, each in the proxier of its family.
  const externalIPs = [...new Set((svc.spec?.externalIPs ?? []).filter((ip) => isIP(ip) === family))].sort();
  const out: NodePortRule[] = [];
  for (const p of svc.spec?.ports ?? []) {
    const protocol = PROTOCOLS[p.protocol ?? 'TCP'];
    if (!protocol || !validPort(p.port) || (!validPort(p.nodePort) && externalIPs.length === 0)) continue;
    const rule: NodePortRule = {
      protocol,
      nodePort: 0,
      clusterIP,
      port: p.port,
      source: `${key}:${p.name ?? p.port}`,
    };
    const withPolicy = localPolicy(svc, p.name ?? '', p.protocol ?? 'TCP', family, local);
    if (validPort(p.nodePort)) out.push(withPolicy({ ...rule, nodePort: p.nodePort }));
    for (const externalIP of externalIPs) {
      out.push(withPolicy({ ...rule, nodePort: p.port, externalIP, source: `${rule.source}/${externalIP}` }));
    }
  }
  return out;
}

/**
 * Pure: the rules of all Services in one family, sorted, one per protocol/nodePort (the first Service by key wins a
 * clash). `local` (this node and the slices of a Service by `namespace/name`) enables `externalTrafficPolicy: Local`.
 */
export function nodePortRules(
  services: V1Service[],
  local?: { nodeName: string; slicesOf: (serviceKey: string) => V1EndpointSlice[] },
  family: IpFamily = 4,
): NodePortRule[] {
  const seen = new Map<string, NodePortRule>();
  const key = (s: V1Service): string => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
  const all = services
    .flatMap((s) => nodePortRulesOf(s, local && { nodeName: local.nodeName, slices: local.slicesOf(key(s)) }, family))
    .sort((a, b) => a.source.localeCompare(b.source));
  for (const r of all) {
    const k = ruleKey(r);
    if (!seen.has(k)) seen.set(k, r);
  }
  return [...seen.values()].sort(
    (a, b) =>
      (a.externalIP ?? '').localeCompare(b.externalIP ?? '') ||
      a.nodePort - b.nodePort ||
      a.protocol.localeCompare(b.protocol),
  );
}

/**
 * Pure: the rules of both families (`nodePortRules` once per family). `ipv6: false` (ycloud0 has no IPv6 join
 * address, so nothing IPv6 could be routed into OVN) leaves the IPv6 rules out: the node's IPv6 ports then refuse
 * instead of DNATing into a black hole.
 */
export function nodePortRuleSet(
  services: V1Service[],
  local?: { nodeName: string; slicesOf: (serviceKey: string) => V1EndpointSlice[] },
  families: { ipv6: boolean } = { ipv6: true },
): NodePortRuleSet {
  return { ipv4: nodePortRules(services, local, 4), ipv6: families.ipv6 ? nodePortRules(services, local, 6) : [] };
}

/** What a rule matches: protocol, port and (externalIP rules) address. */
const ruleKey = (r: NodePortRule): string => `${r.protocol}/${r.nodePort}${r.externalIP ? `@${r.externalIP}` : ''}`;

/** nft strings are double-quoted; Kubernetes names cannot hold quotes, but never trust input in a ruleset. */
const quote = (s: string): string => `"${s.replace(/[^A-Za-z0-9._:/-]/g, '_').slice(0, 120)}"`;

// nft chain names cannot hold ':' (IPv6 externalIPs): '_' stands in.
const endpointChain = (r: NodePortRule, i: number): string =>
  r.externalIP
    ? `xip-${r.externalIP.replace(/:/g, '_')}-${r.protocol}-${r.nodePort}-${i}`
    : `np-${r.protocol}-${r.nodePort}-${i}`;

/** What a NodePort does: DNAT to the ClusterIP; with Local, to the one local endpoint, a random one, or drop. */
function verdict(r: NodePortRule): string {
  const eps = r.localEndpoints;
  if (!eps) return `dnat to ${hostPort(r.clusterIP, r.port)}`;
  if (eps.length === 0) return 'drop';
  if (eps.length === 1) return `dnat to ${eps[0]}`;
  return `numgen random mod ${eps.length} vmap { ${eps.map((_, i) => `${i} : goto ${endpointChain(r, i)}`).join(', ')} }`;
}

/** One chain per endpoint when a Local NodePort picks among several. */
function endpointChains(r: NodePortRule): string[] {
  const eps = r.localEndpoints ?? [];
  if (eps.length < 2) return [];
  return eps.flatMap((ep, i) => [
    `  chain ${endpointChain(r, i)} {`,
    `    meta l4proto ${r.protocol} dnat to ${ep}`,
    '  }',
  ]);
}

/** `proto . ip . port` elements of the endpoints whose NodePort connections keep the client address. */
function clientKeepingEndpoints(rules: NodePortRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    if (!r.keepClientAddress) continue;
    for (const ep of r.localEndpoints ?? []) {
      const { ip, port } = splitHostPort(ep);
      out.add(`${r.protocol} . ${ip} . ${port}`);
    }
  }
  return [...out].sort();
}

/**
 * Pure: an `nft -f` script that replaces `table ip ycloud` (family 6: `table ip6 ycloud`) atomically (declare,
 * delete, define — one transaction). Traffic to any local address of the node (not loopback) on a nodePort is DNATed to the ClusterIP,
 * then routed through ycloud0 into OVN, whose load balancer picks the backend. Connections this host DNATed
 * and that leave through ycloud0 are masqueraded to ycloud0's join address so replies come back through OVN
 * and this host's conntrack undoes both translations — except connections to the endpoints of Local NodePorts
 * that keep the client address: their replies come back to this host by the controller's reply route instead.
 */
export function renderNodePortTable(
  rules: NodePortRule[],
  nodePortDevice = NODE_PORT_NAME,
  family: IpFamily = 4,
): string {
  const ip = family === 4 ? 'ip' : 'ip6';
  const t = `table ${ip} ${NODEPORT_TABLE}`;
  const keep = clientKeepingEndpoints(rules);
  const nodePorts = rules.filter((r) => !r.externalIP);
  const externalIPs = rules.filter((r) => r.externalIP);
  const unlessKept = keep.length ? ` meta l4proto . ${ip} daddr . th dport != { ${keep.join(', ')} }` : '';
  const loopback = family === 4 ? '127.0.0.0/8' : '::1';
  return [
    t,
    `delete ${t}`,
    `${t} {`,
    '  chain nodeports {',
    ...nodePorts.map((r) => `    ${r.protocol} dport ${r.nodePort} ${verdict(r)} comment ${quote(r.source)}`),
    '  }',
    '  chain externalips {',
    ...externalIPs.map(
      (r) =>
        `    ${ip} daddr ${r.externalIP} ${r.protocol} dport ${r.nodePort} ${verdict(r)} comment ${quote(r.source)}`,
    ),
    '  }',
    ...rules.flatMap(endpointChains),
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '    jump externalips',
    '    fib daddr type local jump nodeports',
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    '    jump externalips',
    `    ${ip} daddr != ${loopback} fib daddr type local jump nodeports`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname ${quote(nodePortDevice)} ct status dnat${unlessKept} masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Pure: the one `nft -f` script for both families. The IPv4 table is always there; the IPv6 table only while
 * some Service has IPv6 rules, otherwise the script only removes it (declare, delete), so a node without IPv6
 * NodePorts never needs IPv6 NAT (which fails on kernels booted with IPv6 off).
 */
export function renderNodePortTables(set: NodePortRuleSet, nodePortDevice = NODE_PORT_NAME): string {
  const ip6 = `table ip6 ${NODEPORT_TABLE}`;
  return (
    renderNodePortTable(set.ipv4, nodePortDevice, 4) +
    (set.ipv6.length ? renderNodePortTable(set.ipv6, nodePortDevice, 6) : `${ip6}\ndelete ${ip6}\n`)
  );
}

/** One node conntrack flush: entries of `protocol` to `nodePort` whose reply comes from `endpoint` (`ip:port`). */
export interface StaleConntrack {
  protocol: 'udp' | 'sctp';
  nodePort: number;
  /** For an externalIP rule: the original destination address. */
  externalIP?: string;
  /** `ip:port`, IPv6 `[ip]:port`. */
  endpoint: string;
}

/**
 * Pure: UDP and SCTP endpoints a Local NodePort DNATed to before and no longer does. Their conntrack entries
 * would keep a client with a fixed source port on the gone endpoint until they idle out; kube-proxy deletes them
 * (pkg/proxy/conntrack). TCP is left alone: its connections end with a reset. Non-Local rules DNAT to the
 * ClusterIP, whose backend OVN picks (and flushes, ct_flush), so they leave nothing stale here.
 */
export function staleConntrackEntries(before: NodePortRule[], after: NodePortRule[]): StaleConntrack[] {
  const now = new Map(after.map((r) => [ruleKey(r), new Set(r.localEndpoints ?? [])]));
  const out: StaleConntrack[] = [];
  for (const r of before) {
    if (r.protocol === 'tcp') continue;
    const kept = now.get(ruleKey(r));
    for (const endpoint of r.localEndpoints ?? []) {
      if (kept?.has(endpoint)) continue;
      out.push({
        protocol: r.protocol,
        nodePort: r.nodePort,
        ...(r.externalIP ? { externalIP: r.externalIP } : {}),
        endpoint,
      });
    }
  }
  return out;
}

/** The `conntrack` arguments that delete one stale entry set. */
export function conntrackDeleteArgs(s: StaleConntrack): string[] {
  const { ip, port } = splitHostPort(s.endpoint);
  const dst = s.externalIP ? ['--orig-dst', s.externalIP] : [];
  // conntrack looks in the IPv4 table unless told otherwise.
  const family = ip.includes(':') ? ['-f', 'ipv6'] : [];
  return [
    '-D',
    ...family,
    '-p',
    s.protocol,
    ...dst,
    '--orig-port-dst',
    String(s.nodePort),
    '--reply-src',
    ip,
    '--reply-port-src',
    port,
  ];
}
