import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { translateService } from './service.translator';

const ctx = {
  vpc: 'blue',
  lbGroupKey: (vpc: string) => `lbg:Vpc:${vpc}`,
  nodes: [{ name: 'n1', addresses: ['192.168.0.1'] }],
};

describe('translateService', () => {
  it('labels VIPs by scope so a router LB can be built from the external ones', () => {
    const service: V1Service = {
      metadata: { name: 'web', namespace: 'ns' },
      spec: {
        type: 'LoadBalancer',
        clusterIPs: ['10.96.0.1'],
        externalIPs: ['198.51.100.1'],
        ports: [{ port: 80, nodePort: 30000 }],
      },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } },
    };
    const { vips, state } = translateService(service, [], ctx);
    expect(vips.map((v) => [v.vip, v.scope])).toEqual([
      ['10.96.0.1:80', 'cluster'],
      ['192.168.0.1:30000', 'node'],
      ['198.51.100.1:80', 'external'],
      ['203.0.113.1:80', 'external'],
    ]);
    expect(state.memberships).toEqual([
      expect.objectContaining({
        key: 'lbg:Vpc:blue',
        members: [{ ref: { table: 'Load_Balancer', key: 'lb:Service:ns/web:tcp' } }],
      }),
    ]);
  });

  it('externalTrafficPolicy Local: in-cluster traffic to the ingress IP and externalIPs reaches every endpoint', () => {
    // kube-proxy sends pod (and node) traffic to a Service's external addresses to the cluster-wide endpoints;
    // traffic from outside never meets these switch VIPs. A node-local template here left a pod on a node
    // without an endpoint unable to reach the Service by its LoadBalancer address.
    const service: V1Service = {
      metadata: { name: 'web', namespace: 'ns' },
      spec: {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        clusterIPs: ['10.96.0.1'],
        externalIPs: ['198.51.100.1'],
        ports: [{ name: 'http', port: 80, targetPort: 8080 as never, nodePort: 30000 }],
      },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } },
    };
    const slice: V1EndpointSlice = {
      metadata: { name: 'web-1', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.16.0.5'], nodeName: 'n2', conditions: { ready: true } }],
    };
    const { loadBalancers } = translateService(service, [slice], ctx);
    expect(loadBalancers.map((lb) => lb.key)).toEqual(['lb:Service:ns/web:tcp']);
    const external = loadBalancers[0].frontends.filter((f) => f.scope === 'external');
    expect(external.map((f) => [f.address.address, f.backends.map((b) => b.address.address)])).toEqual([
      ['198.51.100.1', ['10.16.0.5']],
      ['203.0.113.1', ['10.16.0.5']],
    ]);
  });

  describe('host-network endpoints', () => {
    // Two nodes with join addresses; web-0 runs on n1's host network (its address is n1's), web-1 is a pod on n2.
    const nodes = [
      { name: 'n1', addresses: ['192.168.0.1'], joinAddresses: ['100.64.0.2'] },
      { name: 'n2', addresses: ['192.168.0.2'], joinAddresses: ['100.64.0.3'] },
    ];
    const slice: V1EndpointSlice = {
      metadata: { name: 'web-1', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['192.168.0.1'], nodeName: 'n1', conditions: { ready: true } },
        { addresses: ['10.16.0.5'], nodeName: 'n2', conditions: { ready: true } },
      ],
    };
    const service = (extra: Partial<NonNullable<V1Service['spec']>> = {}): V1Service => ({
      metadata: { name: 'web', namespace: 'ns' },
      spec: { clusterIPs: ['10.96.0.1'], ports: [{ name: 'http', port: 80, targetPort: 8080 as never }], ...extra },
    });
    /** Per chassis: the backends variable's value. */
    const backendsByChassis = (t: ReturnType<typeof translateService>) =>
      (t.state.mapEntries ?? []).map((m) => [
        m.key,
        Object.entries(m.entries)
          .filter(([k]) => k.includes('BACKENDS'))
          .map(([, v]) => v),
      ]);

    it("internalTrafficPolicy Local: a node's own host-network endpoint is its join address on its chassis", () => {
      const t = translateService(service({ internalTrafficPolicy: 'Local' }), [slice], { ...ctx, nodes });
      expect(backendsByChassis(t)).toEqual([
        ['ctv:n1', ['100.64.0.2:8080']],
        ['ctv:n2', ['10.16.0.5:8080']],
      ]);
    });

    it('Cluster: the ClusterIP goes to the per-chassis LB, every backend on every chassis, the own one via join', () => {
      const t = translateService(service(), [slice], { ...ctx, nodes });
      expect(
        t.loadBalancers.map((lb) => [lb.key, lb.frontends.length, lb.externalIds['ycloud.io/traffic-policy']]),
      ).toEqual([
        ['lb:Service:ns/web:tcp', 0, undefined],
        ['lb:Service:ns/web:tcp:local:ipv4', 1, undefined],
      ]);
      expect(backendsByChassis(t)).toEqual([
        ['ctv:n1', ['10.16.0.5:8080,100.64.0.2:8080']],
        ['ctv:n2', ['10.16.0.5:8080,192.168.0.1:8080']],
      ]);
    });

    it('Cluster without host-network endpoints, or without join addresses: the regular LB as before', () => {
      const podsOnly = { ...slice, endpoints: [slice.endpoints[1]] };
      const noJoin = nodes.map(({ name, addresses }) => ({ name, addresses }));
      for (const t of [
        translateService(service(), [podsOnly], { ...ctx, nodes }),
        translateService(service(), [slice], { ...ctx, nodes: noJoin }),
      ]) {
        expect(t.loadBalancers.map((lb) => lb.key)).toEqual(['lb:Service:ns/web:tcp']);
        expect(t.state.mapEntries ?? []).toEqual([]);
      }
    });
  });

  it('never throws on garbage input', () => {
    const garbage = { metadata: { name: 'x' }, spec: { clusterIPs: [42], ports: [{ port: 'http' }, null] } };
    expect(() => translateService(garbage as unknown as V1Service, [{} as never], ctx)).not.toThrow();
  });
});
