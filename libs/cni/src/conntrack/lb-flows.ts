import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { usableEndpoints } from '../k8s/service-endpoints';

/**
 * One way a datagram reaches a backend through a Service's OVN load balancer: `frontend:port` (the VIP the client
 * sent to; '' for a NodePort, whose VIP is any node address) DNATed to `backend:backendPort`.
 */
export interface LbFlow {
  protocol: 'udp' | 'sctp';
  frontend: string;
  port: number;
  backend: string;
  backendPort: number;
}

/** Connection-less protocols only: TCP connections to a removed backend end by themselves (kube-proxy agrees). */
const FLUSHED: Record<string, LbFlow['protocol']> = { UDP: 'udp', SCTP: 'sctp' };
const IP_PROTO: Record<LbFlow['protocol'], number> = { udp: 17, sctp: 132 };

const validPort = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;

export const lbFlowKey = (f: LbFlow): string => `${f.protocol} ${f.frontend} ${f.port} ${f.backend} ${f.backendPort}`;

export function parseLbFlowKey(key: string): LbFlow {
  const [protocol, frontend, port, backend, backendPort] = key.split(' ');
  return {
    protocol: protocol as LbFlow['protocol'],
    frontend,
    port: Number(port),
    backend,
    backendPort: Number(backendPort),
  };
}

/**
 * Pure: every (frontend, backend) pair of the Services' UDP and SCTP ports, as `lbFlowKey`s. Frontends are what
 * ycloud puts on the load balancers: the ClusterIPs, externalIPs and LoadBalancer ingress IPs on the port, and the
 * NodePort on any address. Backends are the ready endpoints (else the serving and terminating ones, kube-proxy's
 * fallback), on the slice port of the same name and protocol.
 */
export function udpLbFlows(services: V1Service[], slicesOf: (serviceKey: string) => V1EndpointSlice[]): Set<string> {
  const out = new Set<string>();
  for (const svc of services) {
    const spec = svc.spec;
    if (!spec || spec.type === 'ExternalName') continue;
    const addresses = frontendAddresses(svc);
    const slices = slicesOf(`${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`);
    for (const sp of spec.ports ?? []) {
      const protocol = FLUSHED[sp.protocol ?? 'TCP'];
      if (!protocol || !validPort(sp.port)) continue;
      const frontends: Array<[string, number]> = addresses.map((ip) => [ip, sp.port]);
      if (validPort(sp.nodePort)) frontends.push(['', sp.nodePort]);
      for (const [backend, backendPort] of usableEndpoints(slices, sp.name ?? '', sp.protocol ?? 'TCP')) {
        for (const [frontend, port] of frontends) {
          // A frontend reaches only backends of its own family.
          if (frontend && isIP(frontend) !== isIP(backend)) continue;
          out.add(lbFlowKey({ protocol, frontend, port, backend, backendPort }));
        }
      }
    }
  }
  return out;
}

/** The Service's addresses ycloud puts on load balancers: ClusterIPs, externalIPs, LoadBalancer ingress IPs. */
function frontendAddresses(svc: V1Service): string[] {
  const spec = svc.spec ?? {};
  return [
    ...(spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])),
    ...(spec.externalIPs ?? []),
    ...(svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ''),
  ].filter((ip) => isIP(ip) !== 0);
}

/** Pure: the pairs in `before` that `after` no longer has (a backend left, or its Service or port went away). */
export function removedLbFlows(before: Set<string>, after: Set<string>): LbFlow[] {
  return [...before].filter((k) => !after.has(k)).map(parseLbFlowKey);
}

/**
 * Pure: for each frontend (VIP and port, not a NodePort) that had no backend in `before` and has one in `after`,
 * the flow of its un-NATed entries: a datagram sent while the VIP had no backend leaves an entry whose reply comes
 * from the VIP itself, and a client that keeps sending on the same 5-tuple keeps it alive, so it would never reach
 * the new backend (kube-proxy flushes the ClusterIP's UDP entries when a Service gets its first endpoint). Flushing
 * with the VIP as reply source removes only those, never a connection that a backend answers.
 */
export function newlyBackedFrontends(before: Set<string>, after: Set<string>): LbFlow[] {
  const frontendOf = (k: string) => k.split(' ').slice(0, 3).join(' ');
  const backedBefore = new Set([...before].map(frontendOf));
  const out = new Map<string, LbFlow>();
  for (const k of after) {
    const f = parseLbFlowKey(k);
    if (!f.frontend || backedBefore.has(frontendOf(k))) continue;
    const unNated = { ...f, backend: f.frontend, backendPort: f.port };
    out.set(lbFlowKey(unNated), unNated);
  }
  return [...out.values()];
}

/**
 * Pure: `ovs-appctl dpctl/flush-conntrack` arguments removing every connection, in any zone, that a client opened
 * to the frontend and that was DNATed to the backend (original tuple: destination; reply tuple: source). No zone
 * is given, so Open vSwitch walks every zone: the load balancer's zone differs per router and switch.
 */
export function flushConntrackArgs(f: LbFlow): string[] {
  const v6 = isIP(f.backend) === 6;
  const src = v6 ? 'ct_ipv6_src' : 'ct_nw_src';
  const dst = v6 ? 'ct_ipv6_dst' : 'ct_nw_dst';
  const proto = `ct_nw_proto=${IP_PROTO[f.protocol]}`;
  const orig = [...(f.frontend ? [`${dst}=${f.frontend}`] : []), proto, `ct_tp_dst=${f.port}`].join(',');
  const reply = [`${src}=${f.backend}`, proto, `ct_tp_src=${f.backendPort}`].join(',');
  return ['dpctl/flush-conntrack', orig, reply];
}
