import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { translateService } from './service.translator';
import { NODE_REPLY_ROUTE_PRIORITY } from './node-reply-routes';

const ctx = {
  vpc: 'default',
  lbGroupKey: (vpc: string) => `vpc/${vpc}/lb-group`,
  nodes: [
    { name: 'n1', addresses: ['192.168.0.1'], joinAddress: '100.64.0.2' },
    { name: 'n2', addresses: ['192.168.0.2'], joinAddress: '100.64.0.3' },
    { name: 'n3', addresses: ['192.168.0.3'] },
  ],
  nodeReplyRoutes: { router: 'vpc/default/router', vpcCidrs: ['10.16.0.0/16', '100.64.0.0/16', 'fd00::/64'] },
};

const service = (spec: V1Service['spec'], status?: V1Service['status']): V1Service => ({
  metadata: { namespace: 'ns', name: 'web' },
  spec: {
    type: 'NodePort',
    clusterIPs: ['10.96.0.20'],
    externalTrafficPolicy: 'Local',
    ports: [
      { name: 'http', port: 80, nodePort: 30080 },
      { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
    ],
    ...spec,
  },
  status,
});

const slice: V1EndpointSlice = {
  addressType: 'IPv4',
  metadata: { namespace: 'ns', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
  ports: [
    { name: 'http', port: 8080, protocol: 'TCP' },
    { name: 'dns', port: 5353, protocol: 'UDP' },
  ],
  endpoints: [
    { addresses: ['10.16.0.5'], nodeName: 'n1', conditions: { ready: true } },
    { addresses: ['10.16.0.7'], nodeName: 'n2', conditions: { ready: true } },
    { addresses: ['10.16.0.8'], nodeName: 'n2', conditions: { ready: false } },
    { addresses: ['10.16.0.9'], nodeName: 'n3', conditions: { ready: true } },
  ],
};

const policies = (svc: V1Service, c: object = ctx) =>
  translateService(svc, [slice], c as typeof ctx).state.rows.filter((r) => r.table === 'Logical_Router_Policy');

describe('reply routes of Local NodePorts (the backend sees the client address)', () => {
  it("routes each ready local endpoint's replies to outside the VPC back to its node's join address", () => {
    const rows = policies(service({}));
    expect(rows.map((r) => [r.columns.match, r.columns.nexthops])).toEqual([
      ['ip4.src == 10.16.0.5 && tcp.src == 8080 && ip4.dst != {10.16.0.0/16, 100.64.0.0/16}', ['100.64.0.2']],
      ['ip4.src == 10.16.0.7 && tcp.src == 8080 && ip4.dst != {10.16.0.0/16, 100.64.0.0/16}', ['100.64.0.3']],
      ['ip4.src == 10.16.0.5 && udp.src == 5353 && ip4.dst != {10.16.0.0/16, 100.64.0.0/16}', ['100.64.0.2']],
      ['ip4.src == 10.16.0.7 && udp.src == 5353 && ip4.dst != {10.16.0.0/16, 100.64.0.0/16}', ['100.64.0.3']],
    ]);
    expect(rows[0]).toMatchObject({
      key: 'lrp:Service:ns/web:tcp:10.16.0.5:8080',
      owner: { kind: 'Service', name: 'ns/web' },
      parent: { table: 'Logical_Router', key: 'vpc/default/router', column: 'policies' },
      columns: { priority: NODE_REPLY_ROUTE_PRIORITY, action: 'reroute' },
    });
  });

  it('has none for Cluster policy, a LoadBalancer with an address, a ClusterIP Service or another VPC', () => {
    expect(policies(service({ externalTrafficPolicy: 'Cluster' }))).toEqual([]);
    const lb = service({ type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '172.16.0.50' }] } });
    expect(policies(lb)).toEqual([]);
    expect(policies(service({ type: 'LoadBalancer' }))).toHaveLength(4);
    expect(policies(service({ type: 'ClusterIP', ports: [{ name: 'http', port: 80 }] }))).toEqual([]);
    expect(policies(service({}), { ...ctx, nodeReplyRoutes: undefined })).toEqual([]);
  });

  it('covers a ClusterIP Service whose IPv4 externalIPs the nodes capture', () => {
    const ext = service({ type: 'ClusterIP', externalIPs: ['192.0.2.10'], ports: [{ name: 'http', port: 80 }] });
    expect(policies(ext).map((r) => r.key)).toEqual([
      'lrp:Service:ns/web:tcp:10.16.0.5:8080',
      'lrp:Service:ns/web:tcp:10.16.0.7:8080',
    ]);
  });

  it('is byte-identical for the same input in any order of nodes', () => {
    const a = translateService(service({}), [slice], ctx).state;
    const b = translateService(service({}), [slice], { ...ctx, nodes: [...ctx.nodes].reverse() }).state;
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});
