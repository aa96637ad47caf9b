import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { translateService } from './service.translator';

/** trafficDistribution: the EndpointSlice controller writes hints, ycloud honours them per node as kube-proxy does. */
const ctx = {
  vpc: 'default',
  lbGroupKey: (vpc: string) => `vpc/${vpc}/lb-group`,
  nodes: [
    { name: 'n1', zone: 'zone-a', addresses: ['192.168.0.1'] },
    { name: 'n2', zone: 'zone-b', addresses: ['192.168.0.2'] },
    { name: 'n3', zone: 'zone-c', addresses: ['192.168.0.3'] },
    { name: 'n4', addresses: ['192.168.0.4'] },
  ],
};

const service = (spec: V1Service['spec'] = {}): V1Service => ({
  metadata: { namespace: 'ns', name: 'web' },
  spec: {
    clusterIPs: ['10.96.0.20'],
    ports: [{ name: 'http', port: 80 }],
    trafficDistribution: 'PreferClose',
    ...spec,
  },
});

type Ep = { ip: string; node: string; zones?: string[]; nodes?: string[]; ready?: boolean };
const slice = (eps: Ep[]): V1EndpointSlice => ({
  addressType: 'IPv4',
  metadata: { namespace: 'ns', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: eps.map((e) => ({
    addresses: [e.ip],
    nodeName: e.node,
    conditions: { ready: e.ready ?? true },
    hints:
      e.zones || e.nodes
        ? { forZones: e.zones?.map((name) => ({ name })), forNodes: e.nodes?.map((name) => ({ name })) }
        : undefined,
  })),
});

/** Per chassis: the backends its variable gives the ClusterIP. */
function backendsPerNode(svc: V1Service, eps: Ep[]): Record<string, string> {
  const { state } = translateService(svc, [slice(eps)], ctx);
  const out: Record<string, string> = {};
  for (const m of state.mapEntries ?? []) {
    const [, value] = Object.entries(m.entries).find(([k]) => k.includes('TCP80_TOPO_BACKENDS4')) ?? [];
    out[m.key.replace('ctv:', '')] = value ?? '(none)';
  }
  return out;
}

describe('topology hints (trafficDistribution PreferClose / PreferSameZone / PreferSameNode)', () => {
  const a = { ip: '10.16.0.5', node: 'n1', zones: ['zone-a'] };
  const b = { ip: '10.16.0.7', node: 'n2', zones: ['zone-b'] };

  it('sends each node to the endpoints hinted for its zone; a zone without any, or no zone label, gets all', () => {
    expect(backendsPerNode(service(), [a, b])).toEqual({
      n1: '10.16.0.5:8080',
      n2: '10.16.0.7:8080',
      n3: '10.16.0.5:8080,10.16.0.7:8080',
      n4: '10.16.0.5:8080,10.16.0.7:8080',
    });
    const rows = translateService(service(), [slice([a, b])], ctx).state.rows;
    expect(rows.map((r) => r.key)).toEqual(['lb:Service:ns/web:tcp:local:ipv4']);
    expect(Object.entries(rows[0].columns.vips as object)).toEqual([
      [expect.stringMatching(/^\^YC_\w+_VIP4_0:80$/), expect.stringMatching(/^\^YC_\w+_TCP80_TOPO_BACKENDS4$/)],
    ]);
  });

  it('ignores zone hints unless every ready endpoint has them (kube-proxy falls back the same way)', () => {
    const unhinted = { ip: '10.16.0.9', node: 'n3' };
    const all = '10.16.0.5:8080,10.16.0.7:8080,10.16.0.9:8080';
    expect(backendsPerNode(service(), [a, b, unhinted])).toEqual({ n1: all, n2: all, n3: all, n4: all });
    // An unready endpoint without hints does not count.
    expect(backendsPerNode(service(), [a, b, { ...unhinted, ready: false }]).n1).toBe('10.16.0.5:8080');
  });

  it('PreferSameNode: node hints first, then zone hints', () => {
    const a2 = { ...a, nodes: ['n1'] };
    const b2 = { ...b, nodes: ['n2'] };
    const c = { ip: '10.16.0.6', node: 'n1', zones: ['zone-a'], nodes: ['n1'] };
    expect(backendsPerNode(service({ trafficDistribution: 'PreferSameNode' }), [a2, b2, c])).toEqual({
      n1: '10.16.0.5:8080,10.16.0.6:8080',
      n2: '10.16.0.7:8080',
      n3: '10.16.0.5:8080,10.16.0.6:8080,10.16.0.7:8080',
      n4: '10.16.0.5:8080,10.16.0.6:8080,10.16.0.7:8080',
    });
  });

  it('without hints the Service keeps its one literal LB; internalTrafficPolicy Local wins over hints', () => {
    const plain = translateService(service(), [slice([{ ip: '10.16.0.5', node: 'n1' }])], ctx).state;
    expect(plain.rows.map((r) => r.key)).toEqual(['lb:Service:ns/web:tcp']);
    expect(plain.mapEntries).toEqual([]);
    const local = translateService(service({ internalTrafficPolicy: 'Local' }), [slice([a, b])], ctx).state;
    const n3 = local.mapEntries?.find((m) => m.key === 'ctv:n3')?.entries ?? {};
    expect(Object.entries(n3).find(([k]) => k.includes('BACKENDS4'))?.[1]).toBe('');
  });
});
