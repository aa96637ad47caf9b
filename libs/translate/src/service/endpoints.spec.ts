import type { V1EndpointSlice } from '@kubernetes/client-node';
import { formatBackends, selectBackends } from '../lb/load-balancer.builder';
import { endpointsForPort, parseSlices } from './endpoints';
import type { ServiceIssue } from './service.translator';

function slice(conditions: Array<{ ready?: boolean; serving?: boolean; terminating?: boolean }>): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: 's', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: conditions.map((c, i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: c, nodeName: 'n1' })),
  };
}

const backends = (s: V1EndpointSlice): string[] => {
  const warnings: ServiceIssue[] = [];
  const eps = endpointsForPort(parseSlices([s], warnings), 'http', 'TCP');
  expect(warnings).toEqual([]);
  return formatBackends(selectBackends(eps, 4)).split(',').filter(Boolean);
};

describe('endpoint choice (kube-proxy endpointslicecache rules)', () => {
  it('uses a ready and terminating endpoint (publishNotReadyAddresses) beside ready ones', () => {
    const s = slice([{ ready: true }, { ready: true, serving: true, terminating: true }]);
    expect(backends(s)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
  });

  it('uses only ready endpoints while any is ready; serving-terminating ones only when none is', () => {
    expect(backends(slice([{ ready: true }, { ready: false, serving: true, terminating: true }]))).toEqual([
      '10.0.0.1:8080',
    ]);
    expect(backends(slice([{ ready: false }, { ready: false, serving: true, terminating: true }]))).toEqual([
      '10.0.0.2:8080',
    ]);
  });

  it('never uses an endpoint that is neither ready nor serving', () => {
    expect(backends(slice([{ ready: false, serving: false, terminating: true }, { ready: false }]))).toEqual([]);
  });
});
