import { DiagnoseFacts, EndpointFact, KubeFacts, ServicePortFact } from './facts';

/** One VIP of the path with the backends Kubernetes says it should have. */
export interface ExpectedVip {
  /** `10.96.0.10:80` or `[fd00::10]:80`: the Load_Balancer `vips` key. */
  key: string;
  ip: string;
  port: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  servicePort: ServicePortFact;
  /** `ip:port` of the endpoints a proxy should use (ready ones; serving-terminating when none is ready). */
  backends: string[];
}

export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `[fd00::1]:80` / `10.0.0.1:80` -> the address. */
export function ipOfHostPort(hp: string): string {
  if (hp.startsWith('[')) return hp.slice(1, hp.indexOf(']'));
  const i = hp.lastIndexOf(':');
  return i < 0 ? hp : hp.slice(0, i);
}

/** The Service ports diagnose looks at: all, or the one `--port` names (number or name). */
export function selectedPorts(facts: Pick<DiagnoseFacts, 'port' | 'kube'>): ServicePortFact[] {
  const ports = facts.kube.service?.ports ?? [];
  if (!facts.port) return ports;
  return ports.filter((p) => String(p.port) === facts.port || p.name === facts.port);
}

/** Endpoints the way kube-proxy chooses them: ready ones, else serving and terminating ones. */
export function usableEndpoints(endpoints: EndpointFact[]): EndpointFact[] {
  const ready = endpoints.filter((e) => e.ready !== false && e.terminating !== true);
  if (ready.length) return ready;
  return endpoints.filter((e) => e.serving === true && e.terminating === true);
}

/**
 * Which path a diagnosis walks: `cluster` (a pod or node to the ClusterIP), `eip` (an external client to the EIP
 * of a LoadBalancer Service, or an Eip asked by name), `nodeport` (an external client to a node's NodePort),
 * `none` (an external client and a Service nothing publishes outside).
 */
export type PathScenario = 'cluster' | 'eip' | 'nodeport' | 'none';

export function scenarioOf(facts: Pick<DiagnoseFacts, 'source' | 'kube'>): PathScenario {
  if (facts.source.kind !== 'external') return 'cluster';
  const svc = facts.kube.service;
  if (facts.kube.eip || facts.kube.eipError || svc?.type === 'LoadBalancer') return 'eip';
  if (svc?.type === 'NodePort') return 'nodeport';
  return 'none';
}

/** The address an external client uses on the EIP path: the Eip's, else the Service's ingress. */
export function eipAddressOf(kube: KubeFacts): string | undefined {
  return kube.eip?.address ?? kube.service?.ingressIPs?.[0];
}

/**
 * The node where the path meets OVN when the client is outside: the pool's active gateway node (EIP), or the
 * node whose address an external client uses for a NodePort (the first with an ExternalIP, else the first Ready).
 */
export function entryNodeOf(facts: Pick<DiagnoseFacts, 'source' | 'kube'>): string | undefined {
  const scenario = scenarioOf(facts);
  if (scenario === 'eip') return facts.kube.eipPool?.activeGatewayNode;
  if (scenario !== 'nodeport') return undefined;
  const nodes = [...(facts.kube.nodes ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  return (nodes.find((n) => n.externalIPs.length) ?? nodes.find((n) => n.ready))?.name;
}

/**
 * The VIPs on the path with their expected backends: ClusterIPs x selected ports for a pod or node client (and for
 * a NodePort, which the entry node DNATs to the ClusterIP), the EIP x selected ports for the EIP path.
 */
export function expectedVips(
  facts: Pick<DiagnoseFacts, 'port' | 'kube'> & Partial<Pick<DiagnoseFacts, 'source'>>,
): ExpectedVip[] {
  const kube: KubeFacts = facts.kube;
  const svc = kube.service;
  if (!svc) return [];
  const scenario = facts.source ? scenarioOf({ source: facts.source, kube }) : 'cluster';
  const eip = eipAddressOf(kube);
  const addresses = scenario === 'eip' ? (eip ? [eip] : []) : svc.clusterIPs;
  const out: ExpectedVip[] = [];
  for (const sp of selectedPorts(facts)) {
    if (scenario === 'nodeport' && !sp.nodePort) continue;
    for (const ip of addresses) {
      const family = ip.includes(':') ? 'IPv6' : 'IPv4';
      const backends = new Set<string>();
      for (const slice of kube.endpointSlices) {
        if (slice.addressType !== family) continue;
        const port = slice.ports.find(
          (p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'),
        );
        if (!port?.port) continue;
        for (const ep of usableEndpoints(slice.endpoints))
          for (const a of ep.addresses) backends.add(hostPort(a, port.port));
      }
      out.push({
        key: hostPort(ip, sp.port),
        ip,
        port: sp.port,
        protocol: (sp.protocol ?? 'TCP').toLowerCase() as ExpectedVip['protocol'],
        servicePort: sp,
        backends: [...backends].sort(),
      });
    }
  }
  return out;
}

/** Backend addresses -> the pods behind them (endpoints' pod names resolved against the selected pods). */
export function backendPods(kube: KubeFacts): Map<string, { pod?: string; node?: string; lsp?: string }> {
  const byIp = new Map(kube.selectedPods.filter((p) => p.ip).map((p) => [p.ip!, p]));
  const out = new Map<string, { pod?: string; node?: string; lsp?: string }>();
  for (const slice of kube.endpointSlices) {
    for (const ep of usableEndpoints(slice.endpoints)) {
      for (const a of ep.addresses) {
        const pod = byIp.get(a);
        out.set(a, { pod: ep.podName ?? pod?.name, node: ep.nodeName ?? pod?.node, lsp: pod?.logicalSwitchPort });
      }
    }
  }
  return out;
}
