import { Registry } from 'prom-client';
import { SliceLike, backendCounts, registerServiceBackendMetrics } from './diagnose-metrics';

const slice = (
  ns: string,
  svc: string | undefined,
  conds: Array<{ ready?: boolean; serving?: boolean; terminating?: boolean }>,
): SliceLike => ({
  metadata: { namespace: ns, labels: svc ? { 'kubernetes.io/service-name': svc } : ({} as Record<string, string>) },
  endpoints: conds.map((conditions, i) => ({ addresses: [`10.0.0.${i}`], conditions })),
});

describe('service backend metrics', () => {
  it('counts endpoints per Service by state across its slices', () => {
    const counts = backendCounts([
      slice('a', 'web', [
        { ready: true, serving: true },
        { ready: false, serving: false },
      ]),
      slice('a', 'web', [{ ready: false, serving: true, terminating: true }]),
      slice('a', undefined, [{ ready: true }]),
    ]);
    expect([...counts]).toEqual([['a/web', { ready: 1, serving: 2, terminating: 1 }]]);
  });

  it('exposes them as ycloud_service_backends', async () => {
    const registry = new Registry();
    registerServiceBackendMetrics(registry, () => [slice('a', 'web', [{ ready: true, serving: true }])]);
    const text = await registry.metrics();
    expect(text).toContain('ycloud_service_backends{namespace="a",service="web",state="ready"} 1');
    expect(text).toContain('ycloud_service_backends{namespace="a",service="web",state="terminating"} 0');
  });
});
