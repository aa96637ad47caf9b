import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import { isIP } from 'node:net';

const validPort = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536;

/**
 * Pure: the `[address, port]` pairs a proxy sends one Service port's traffic to, as kube-proxy picks them: the
 * ready endpoints, else (none ready) the serving and terminating ones; on the slice port of the same name and
 * protocol. `keep` narrows further (a node, an address family).
 */
export function usableEndpoints(
  slices: V1EndpointSlice[],
  portName: string,
  protocol: string,
  keep: (endpoint: V1Endpoint, address: string) => boolean = () => true,
): Array<[string, number]> {
  const pick = (want: (c: NonNullable<V1Endpoint['conditions']>) => boolean) => {
    const found: Array<[string, number]> = [];
    for (const sl of slices) {
      const port = (sl.ports ?? []).find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
      if (!validPort(port?.port)) continue;
      for (const ep of sl.endpoints ?? []) {
        if (!want(ep.conditions ?? {})) continue;
        for (const ip of ep.addresses ?? []) if (isIP(ip) !== 0 && keep(ep, ip)) found.push([ip, port.port]);
      }
    }
    return found;
  };
  const ready = pick((c) => c.ready !== false);
  return ready.length ? ready : pick((c) => c.serving === true && c.terminating === true);
}
