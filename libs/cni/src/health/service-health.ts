import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

/** kube-proxy's default address of the proxy's own health endpoints (`/healthz`, `/livez`). */
export const PROXY_HEALTH_PORT = 10256;

/** One Service's health-check node port and what it answers. */
export interface ServiceHealthCheck {
  namespace: string;
  name: string;
  port: number;
  /** Ready endpoints on this node; 0 makes the check answer 503. */
  localEndpoints: number;
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
 * all terminating fails the check and the external load balancer drains it (kube-proxy's rule).
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
    const ready = new Set<string>();
    for (const slice of slicesOf(key(svc))) {
      for (const ep of slice.endpoints ?? []) {
        if (ep.nodeName !== nodeName || ep.conditions?.ready === false || !ep.addresses?.[0]) continue;
        ready.add(ep.addresses[0]);
      }
    }
    out.set(port, {
      namespace: svc.metadata?.namespace ?? '',
      name: svc.metadata?.name ?? '',
      port,
      localEndpoints: ready.size,
    });
  }
  return [...out.values()].sort((a, b) => a.port - b.port);
}

function key(svc: V1Service): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}
