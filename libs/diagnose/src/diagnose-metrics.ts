import { SERVICE_NAME_LABEL } from '@ycloud/api';
import { Counter, Gauge, Registry } from 'prom-client';
import { NodeFacts } from './facts';

/** The fields of an EndpointSlice the backend counts read. */
export interface SliceLike {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  endpoints?: Array<{
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  }>;
}

/** Endpoints per Service by state, counted from EndpointSlices (what diagnose's endpoints hop reads). Pure. */
export function backendCounts(
  slices: Iterable<SliceLike>,
): Map<string, { ready: number; serving: number; terminating: number }> {
  const out = new Map<string, { ready: number; serving: number; terminating: number }>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${s.metadata?.namespace ?? ''}/${svc}`;
    const c = out.get(key) ?? { ready: 0, serving: 0, terminating: 0 };
    for (const e of s.endpoints ?? []) {
      const n = e.addresses.length ? 1 : 0;
      if (e.conditions?.ready !== false && e.conditions?.terminating !== true) c.ready += n;
      if (e.conditions?.serving !== false) c.serving += n;
      if (e.conditions?.terminating === true) c.terminating += n;
    }
    out.set(key, c);
  }
  return out;
}

/** `ycloud_service_backends{namespace,service,state}` from the controller's EndpointSlice cache, on scrape. */
export function registerServiceBackendMetrics(registry: Registry, slices: () => Iterable<SliceLike>): void {
  new Gauge({
    name: 'ycloud_service_backends',
    help: 'Endpoints of each Service by state (ready, serving, terminating), from its EndpointSlices.',
    labelNames: ['namespace', 'service', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, c] of backendCounts(slices())) {
        const [namespace, service] = key.split('/');
        for (const state of ['ready', 'serving', 'terminating'] as const)
          this.set({ namespace, service, state }, c[state]);
      }
    },
  });
}

/**
 * `ycloud_service_backend_packets_total` / `_bytes_total{group,backend}` from this node's OpenFlow select groups
 * (one bucket per load-balancer backend), read on scrape. OVS keeps the counters; they restart with the group.
 */
export function registerBackendPacketMetrics(registry: Registry, node: () => Promise<NodeFacts>): void {
  const read = async (): Promise<NodeFacts['groups']> => (await node().catch(() => undefined))?.groups ?? [];
  let last: Promise<NodeFacts['groups']> | undefined;
  // Both counters come from one read per scrape.
  const groups = (): Promise<NodeFacts['groups']> => {
    last ??= read().finally(() => setTimeout(() => (last = undefined), 1000).unref());
    return last;
  };
  const counter = (name: string, help: string, field: 'packets' | 'bytes') =>
    new Counter({
      name,
      help,
      labelNames: ['group', 'backend'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const g of await groups())
          for (const b of g.buckets) this.inc({ group: String(g.id), backend: b.backend }, b[field]);
      },
    });
  counter(
    'ycloud_service_backend_packets_total',
    "Packets this node's load balancers sent to each backend.",
    'packets',
  );
  counter('ycloud_service_backend_bytes_total', "Bytes this node's load balancers sent to each backend.", 'bytes');
}
