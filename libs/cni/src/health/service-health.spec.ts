import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { serviceHealthChecks } from './service-health';

const svc = (name: string, spec: V1Service['spec']): V1Service => ({ metadata: { name, namespace: 'ns' }, spec });
const local = (name: string, port: number): V1Service =>
  svc(name, { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: port, ports: [{ port: 80 }] });

type Cond = { ready?: boolean; serving?: boolean; terminating?: boolean };
const slice = (eps: Array<[string, string, Cond]>): V1EndpointSlice => ({
  addressType: 'IPv4',
  endpoints: eps.map(([ip, nodeName, conditions]) => ({ addresses: [ip], nodeName, conditions })),
});

describe('serviceHealthChecks (kube-proxy service_health.go)', () => {
  it('counts the distinct ready endpoints on this node, per Local Service with a healthCheckNodePort', () => {
    const slices: Record<string, V1EndpointSlice[]> = {
      'ns/web': [
        slice([
          ['10.0.0.1', 'n1', { ready: true }],
          ['10.0.0.2', 'n1', {}],
          ['10.0.0.3', 'n2', { ready: true }],
        ]),
        slice([['10.0.0.1', 'n1', { ready: true }]]),
      ],
    };
    const checks = serviceHealthChecks([local('web', 32000), local('idle', 32001)], (k) => slices[k] ?? [], 'n1');
    expect(checks).toEqual([
      { namespace: 'ns', name: 'web', port: 32000, localEndpoints: 2 },
      { namespace: 'ns', name: 'idle', port: 32001, localEndpoints: 0 },
    ]);
  });

  it('does not count serving-but-terminating endpoints: such a node fails the check', () => {
    const slices = [slice([['10.0.0.1', 'n1', { ready: false, serving: true, terminating: true }]])];
    expect(serviceHealthChecks([local('web', 32000)], () => slices, 'n1')[0].localEndpoints).toBe(0);
  });

  it('only Local Services with a port get a check', () => {
    const services = [
      svc('cluster', { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32002 }),
      svc('noport', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }),
      svc('clusterip', { type: 'ClusterIP', externalTrafficPolicy: 'Local', healthCheckNodePort: 32003 }),
    ];
    expect(serviceHealthChecks(services, () => [], 'n1')).toEqual([]);
  });
});
