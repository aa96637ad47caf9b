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

  it('counts each family of a dual-stack Service apart: a dual-stack pod is one endpoint per family', () => {
    const dual = (name: string, port: number, ipFamilies: string[]): V1Service =>
      svc(name, { ...local(name, port).spec, ipFamilyPolicy: 'RequireDualStack', ipFamilies });
    const v6 = (eps: Array<[string, string, Cond]>): V1EndpointSlice => ({ ...slice(eps), addressType: 'IPv6' });
    const slices = [
      slice([
        ['10.0.0.1', 'n1', { ready: true }],
        ['10.0.0.2', 'n1', { ready: true }],
      ]),
      v6([
        ['fd00::1', 'n1', { ready: true }],
        ['fd00::2', 'n1', { ready: false }],
      ]),
    ];
    const checks = serviceHealthChecks(
      [dual('a', 32000, ['IPv4', 'IPv6']), dual('b', 32001, ['IPv6', 'IPv4']), local('c', 32002)],
      () => slices,
      'n1',
    );
    expect(checks).toEqual([
      { namespace: 'ns', name: 'a', port: 32000, localEndpoints: 2, byFamily: { ipv4: 2, ipv6: 1 } },
      { namespace: 'ns', name: 'b', port: 32001, localEndpoints: 1, byFamily: { ipv4: 2, ipv6: 1 } },
      // Not dual-stack (no families given): every ready address counts, as before.
      { namespace: 'ns', name: 'c', port: 32002, localEndpoints: 3 },
    ]);
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
