import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { translateService } from './service.translator';
import { parseIpAddress, type ParsedIp } from '@ycloud/api';
import {
  NODE_REPLY_OUTSIDE_DROP_PRIORITY,
  NODE_REPLY_ROUTE_PRIORITY,
  nodeReplyGateway,
  nodeReplyRouteContextOf,
  type NodeReplyRouteContext,
} from './node-reply-routes';

const ctx = {
  vpc: 'default',
  lbGroupKey: (vpc: string) => `vpc/${vpc}/lb-group`,
  nodes: [
    { name: 'n1', addresses: ['192.168.0.1'], joinAddresses: ['100.64.0.2', 'fd00:100:64::2'] },
    { name: 'n2', addresses: ['192.168.0.2'], joinAddresses: ['100.64.0.3'] },
    { name: 'n3', addresses: ['192.168.0.3'] },
  ],
  nodeReplyRoutes: {
    router: 'vpc/default/router',
    vpcCidrs: ['10.16.0.0/16', '100.64.0.0/16', 'fd00:10:16::/64', 'fd00:100:64::/64'],
  },
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

/** The IPv6 endpoints of the same Service (its IPv6 family, as the EndpointSlice controller gives it). */
const slice6: V1EndpointSlice = {
  ...slice,
  addressType: 'IPv6',
  metadata: { ...slice.metadata, name: 'web-2' },
  endpoints: [
    { addresses: ['fd00:10:16::5'], nodeName: 'n1', conditions: { ready: true } },
    // n2 has no IPv6 join address: its node captures no IPv6 NodePort, so nothing routes its replies.
    { addresses: ['fd00:10:16::7'], nodeName: 'n2', conditions: { ready: true } },
  ],
};

const policies = (svc: V1Service, c: object = ctx, slices = [slice]) =>
  translateService(svc, slices, c as typeof ctx).state.rows.filter((r) => r.table === 'Logical_Router_Policy');

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

  it("routes an IPv6 endpoint's replies with ip6 matches to its node's IPv6 join address", () => {
    const dual = service({ clusterIPs: ['10.96.0.20', 'fd00:10:96::20'], ipFamilies: ['IPv4', 'IPv6'] });
    const rows = policies(dual, ctx, [slice, slice6]).filter((r) => String(r.columns.match).startsWith('ip6'));
    expect(rows.map((r) => [r.key, r.columns.match, r.columns.nexthops])).toEqual([
      [
        'lrp:Service:ns/web:tcp:[fd00:10:16::5]:8080',
        'ip6.src == fd00:10:16::5 && tcp.src == 8080 && ip6.dst != {fd00:100:64::/64, fd00:10:16::/64}',
        ['fd00:100:64::2'],
      ],
      [
        'lrp:Service:ns/web:udp:[fd00:10:16::5]:5353',
        'ip6.src == fd00:10:16::5 && udp.src == 5353 && ip6.dst != {fd00:100:64::/64, fd00:10:16::/64}',
        ['fd00:100:64::2'],
      ],
    ]);
    expect(rows[0].columns).toMatchObject({ priority: NODE_REPLY_ROUTE_PRIORITY, action: 'reroute' });
  });

  it('routes only the families whose externalIPs the nodes capture on a ClusterIP Service', () => {
    const only4 = service({
      type: 'ClusterIP',
      clusterIPs: ['10.96.0.20', 'fd00:10:96::20'],
      externalIPs: ['192.0.2.10'],
      ports: [{ name: 'http', port: 80 }],
    });
    expect(policies(only4, ctx, [slice, slice6]).map((r) => r.key)).toEqual([
      'lrp:Service:ns/web:tcp:10.16.0.5:8080',
      'lrp:Service:ns/web:tcp:10.16.0.7:8080',
    ]);
    const only6 = { ...only4, spec: { ...only4.spec, externalIPs: ['2001:db8::10'] } };
    expect(policies(only6, ctx, [slice, slice6]).map((r) => r.key)).toEqual([
      'lrp:Service:ns/web:tcp:[fd00:10:16::5]:8080',
    ]);
  });
});

describe('IPv6 reply gateway (a route to reach the reply routes, a drop for everything else)', () => {
  const ip = (a: string): ParsedIp => parseIpAddress(a)!;
  const gwCtx: NodeReplyRouteContext = {
    router: 'vpc/default/router',
    vpcCidrs: ['10.16.0.0/16', 'fd00:100:64::/64', '100.64.0.0/16', 'fd00:10:16::/64'],
  };
  const nodes = [
    { name: 'node-2', joinAddresses: [ip('100.64.0.3'), ip('fd00:100:64::3')] },
    { name: 'node-1', joinAddresses: [ip('100.64.0.2')] },
    { name: 'node-3', joinAddresses: [ip('100.64.0.4'), ip('fd00:100:64::4')] },
  ];

  it('routes ::/0 to the first node with an IPv6 join address and drops IPv6 to outside the VPC below the reply routes', () => {
    const rows = nodeReplyGateway('default', nodes, gwCtx);
    expect(rows).toEqual([
      {
        table: 'Logical_Router_Static_Route',
        key: 'vpc/default/node-reply/ipv6-route',
        owner: { kind: 'NodeReplyGateway', name: 'default' },
        parent: { table: 'Logical_Router', key: 'vpc/default/router', column: 'static_routes' },
        columns: {
          ip_prefix: '::/0',
          nexthop: 'fd00:100:64::3',
          policy: 'dst-ip',
          output_port: [],
          external_ids: { 'ycloud.io/vpc': 'default' },
        },
      },
      {
        table: 'Logical_Router_Policy',
        key: 'vpc/default/node-reply/ipv6-outside-drop',
        owner: { kind: 'NodeReplyGateway', name: 'default' },
        parent: { table: 'Logical_Router', key: 'vpc/default/router', column: 'policies' },
        columns: {
          priority: NODE_REPLY_OUTSIDE_DROP_PRIORITY,
          match: 'ip6 && ip6.dst != {fd00:100:64::/64, fd00:10:16::/64}',
          action: 'drop',
          nexthops: [],
          external_ids: { 'ycloud.io/vpc': 'default' },
        },
      },
    ]);
    expect(NODE_REPLY_OUTSIDE_DROP_PRIORITY).toBeLessThan(NODE_REPLY_ROUTE_PRIORITY);
    expect(JSON.stringify(nodeReplyGateway('default', [...nodes].reverse(), gwCtx))).toBe(JSON.stringify(rows));
  });

  it('has no rows for an IPv4-only VPC or when no node has an IPv6 join address', () => {
    expect(nodeReplyGateway('default', nodes, { ...gwCtx, vpcCidrs: ['10.16.0.0/16', '100.64.0.0/16'] })).toEqual([]);
    expect(nodeReplyGateway('default', [nodes[1]], gwCtx)).toEqual([]);
  });
});

describe('IPv4 reply gateway (no default route of the VPC own: a 0.0.0.0/0 route to a sink hop, a drop of what it took)', () => {
  const ip = (a: string): ParsedIp => parseIpAddress(a)!;
  const nodes = [{ name: 'node-1', joinAddresses: [ip('100.64.0.2')] }];
  const contextOf = (vpc: string, ownIpv4DefaultRoute: boolean, join = ['100.64.0.0/16', 'fd00:100:64::/64']) =>
    nodeReplyRouteContextOf(vpc, {
      defaultVpc: 'default',
      ownIpv4DefaultRoute,
      cidrsOf: () => ['10.16.0.0/16', ...join],
      joinCidrsOf: () => join,
    });

  it('routes the default VPC only, with the IPv4 sink hop (the join broadcast address) only without eip.defaultPool', () => {
    expect(contextOf('default', false)).toEqual({
      router: 'vpc/default/router',
      vpcCidrs: ['10.16.0.0/16', '100.64.0.0/16', 'fd00:100:64::/64'],
      ipv4SinkHop: '100.64.255.255',
    });
    expect(contextOf('default', false, ['100.64.0.0/22'])?.ipv4SinkHop).toBe('100.64.3.255');
    expect(contextOf('default', true)).toEqual({
      router: 'vpc/default/router',
      vpcCidrs: ['10.16.0.0/16', '100.64.0.0/16', 'fd00:100:64::/64'],
    });
    // An IPv6-only join subnet: nothing IPv4 to reach.
    expect(contextOf('default', false, ['fd00:100:64::/64'])?.ipv4SinkHop).toBeUndefined();
    expect(contextOf('blue', false)).toBeUndefined();
  });

  it('routes 0.0.0.0/0 to the sink hop and drops, below the reply routes, exactly what that route took', () => {
    const rows = nodeReplyGateway('default', nodes, contextOf('default', false)!);
    expect(rows).toEqual([
      {
        table: 'Logical_Router_Static_Route',
        key: 'vpc/default/node-reply/ipv4-route',
        owner: { kind: 'NodeReplyGateway', name: 'default' },
        parent: { table: 'Logical_Router', key: 'vpc/default/router', column: 'static_routes' },
        columns: {
          ip_prefix: '0.0.0.0/0',
          nexthop: '100.64.255.255',
          policy: 'dst-ip',
          output_port: [],
          external_ids: { 'ycloud.io/vpc': 'default' },
        },
      },
      {
        table: 'Logical_Router_Policy',
        key: 'vpc/default/node-reply/ipv4-sink-drop',
        owner: { kind: 'NodeReplyGateway', name: 'default' },
        parent: { table: 'Logical_Router', key: 'vpc/default/router', column: 'policies' },
        columns: {
          priority: NODE_REPLY_OUTSIDE_DROP_PRIORITY,
          // No list of the VPC's other destinations: longer routes win in routing and set another next hop.
          match: 'ip4 && reg0 == 100.64.255.255',
          action: 'drop',
          nexthops: [],
          external_ids: { 'ycloud.io/vpc': 'default' },
        },
      },
    ]);
  });

  it('has no IPv4 rows when the VPC has a default route of its own (eip.defaultPool), and gives both families on a dual-stack VPC', () => {
    expect(nodeReplyGateway('default', nodes, contextOf('default', true)!)).toEqual([]);
    const dual = [{ name: 'node-1', joinAddresses: [ip('100.64.0.2'), ip('fd00:100:64::2')] }];
    const keys = nodeReplyGateway('default', dual, contextOf('default', false)!).map((r) => r.key);
    expect(keys).toEqual([
      'vpc/default/node-reply/ipv6-route',
      'vpc/default/node-reply/ipv6-outside-drop',
      'vpc/default/node-reply/ipv4-route',
      'vpc/default/node-reply/ipv4-sink-drop',
    ]);
  });
});
