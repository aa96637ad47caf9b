import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { serviceSummaries } from './service-summary';

const svc = (name: string, spec: unknown): V1Service => ({ metadata: { namespace: 'ns', name }, spec }) as V1Service;
const slice = (service: string, body: unknown): V1EndpointSlice =>
  ({
    metadata: { namespace: 'ns', name: `${service}-x`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ...(body as object),
  }) as unknown as V1EndpointSlice;

describe('serviceSummaries (ycloud sandbox status)', () => {
  it('treats absent and null lists as empty (endpoints: null is valid for a Service with no backends)', () => {
    const services = [
      svc('empty', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }),
      svc('no-ports', { clusterIP: 'None', ports: null }),
      svc('no-spec', undefined),
      svc('web', { clusterIP: '10.96.0.11', ports: [{ port: 80, protocol: 'UDP' }] }),
    ];
    const slices = [
      slice('empty', { endpoints: null, ports: null }),
      slice('no-ports', {}),
      slice('web', {
        endpoints: [
          { addresses: ['10.16.0.5'], conditions: null },
          { addresses: ['10.16.0.6'], conditions: { ready: false } },
          { addresses: null },
          { addresses: ['10.16.0.7'] },
        ],
      }),
    ];
    expect(serviceSummaries(services, slices)).toEqual([
      { namespace: 'ns', name: 'empty', clusterIP: '10.96.0.10', ports: ['80/TCP'], readyEndpoints: 0 },
      { namespace: 'ns', name: 'no-ports', clusterIP: 'None', ports: [], readyEndpoints: 0 },
      { namespace: 'ns', name: 'no-spec', clusterIP: '', ports: [], readyEndpoints: 0 },
      { namespace: 'ns', name: 'web', clusterIP: '10.96.0.11', ports: ['80/UDP'], readyEndpoints: 2 },
    ]);
    expect(serviceSummaries(null, null)).toEqual([]);
  });
});
