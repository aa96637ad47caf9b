import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { isIP } from 'node:net';

/** kube-proxy's default address of the proxy's own health endpoints (`/healthz`, `/livez`). */
export const PROXY_HEALTH_PORT = 10256;

/** One Service's health-check node port and what it answers. */
export interface ServiceHealthCheck {
  namespace: string;
  name: string;
  port: number;
  /** Ready endpoints on this node (a dual-stack Service: of its primary family); 0 makes the check answer 503. */
  localEndpoints: number;
  /**
   * A dual-stack Service only: the count of each family, answered to a probe that arrives over that family, as
   * kube-proxy's per-family proxiers each serve their own count (a dual-stack pod is one endpoint, not two).
   */
  byFamily?: { ipv4: number; ipv6: number };
}

/** The state a health worker serves: the proxy's own health and every Service's check. */
export interface HealthState {
  proxy: { port: number; healthy: boolean; nodeEligible: boolean; lastUpdated: string };
  services: ServiceHealthCheck[];
}

const validPort = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;

/**
 * Pure: the Services that get a health-check node port on this node: type LoadBalancer (or NodePort with one
 * allocated) with `externalTrafficPolicy: Local` and `spec.healthCheckNodePort`. The count is this node's
 * distinct **ready** endpoint addresses: serving-but-terminating ones do not count, so a node whose endpoints are
 * all terminating fails the check and the external load balancer drains it (kube-proxy's rule). A dual-stack
 * Service counts each family apart (`byFamily`).
 */
export function serviceHealthChecks(
  services: V1Service[],
  slicesOf: (serviceKey: string) => V1EndpointSlice[],
  nodeName: string,
): ServiceHealthCheck[] {
  const out = new Map<number, ServiceHealthCheck>();
  const sorted = [...services].sort((a, b) => key(a).localeCompare(key(b)));
  for (const svc of sorted) {
    const port = svc.spec?.healthCheckNodePort;
    if (svc.spec?.externalTrafficPolicy !== 'Local' || !validPort(port) || out.has(port)) continue;
    if (svc.spec?.type !== 'LoadBalancer' && svc.spec?.type !== 'NodePort') continue;
    const ready = readyLocalAddresses(slicesOf(key(svc)), nodeName);
    const families = svc.spec?.ipFamilies ?? [];
    const dual = families.includes('IPv4') && families.includes('IPv6');
    const byFamily = { ipv4: ready[4].size, ipv6: ready[6].size };
    out.set(port, {
      namespace: svc.metadata?.namespace ?? '',
      name: svc.metadata?.name ?? '',
      port,
      localEndpoints: dual ? (families[0] === 'IPv6' ? byFamily.ipv6 : byFamily.ipv4) : ready[4].size + ready[6].size,
      ...(dual ? { byFamily } : {}),
    });
  }
  return [...out.values()].sort((a, b) => a.port - b.port);
}

/** This node's distinct ready endpoint addresses, per family. */
function readyLocalAddresses(slices: V1EndpointSlice[], nodeName: string): Record<4 | 6, Set<string>> {
  const ready = { 4: new Set<string>(), 6: new Set<string>() };
  for (const slice of slices) {
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (ep.nodeName !== nodeName || ep.conditions?.ready === false || !ip) continue;
      ready[isIP(ip) === 6 ? 6 : 4].add(ip);
    }
  }
  return ready;
}

function key(svc: V1Service): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}
