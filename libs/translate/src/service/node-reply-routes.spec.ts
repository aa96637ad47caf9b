import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { translateService } from './service.translator';
import {
  NODE_REPLY_INSIDE_ALLOW_PRIORITY,
  NODE_REPLY_OUTSIDE_DROP_PRIORITY,
  NODE_REPLY_ROUTE_PRIORITY,
  nodeReplyGateway,
  nodeReplyRouteContextOf,
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
  it("routes each ready local endpoint's replies back to its node's join address", () => {
    const rows = policies(service({}));
    expect(rows.map((r) => [r.columns.match, r.columns.nexthops])).toEqual([
      ['ip4.src == 10.16.0.5 && tcp.src == 8080', ['100.64.0.2']],
      ['ip4.src == 10.16.0.7 && tcp.src == 8080', ['100.64.0.3']],
      ['ip4.src == 10.16.0.5 && udp.src == 5353', ['100.64.0.2']],
      ['ip4.src == 10.16.0.7 && udp.src == 5353', ['100.64.0.3']],
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
        'ip6.src == fd00:10:16::5 && tcp.src == 8080',
        ['fd00:100:64::2'],
      ],
      [
        'lrp:Service:ns/web:udp:[fd00:10:16::5]:5353',
        'ip6.src == fd00:10:16::5 && udp.src == 5353',
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

const owner = { kind: 'NodeReplyGateway', name: 'default' };
const externalIds = { 'ycloud.io/vpc': 'default' };
const routeRow = (key: string, prefix: string, nexthop: string) => ({
  table: 'Logical_Router_Static_Route',
  key,
  owner,
  parent: { table: 'Logical_Router', key: 'vpc/default/router', column: 'static_routes' },
  columns: { ip_prefix: prefix, nexthop, policy: 'dst-ip', output_port: [], external_ids: externalIds },
});
const policyRow = (key: string, priority: number, match: string, action: string) => ({
  table: 'Logical_Router_Policy',
  key,
  owner,
  parent: { table: 'Logical_Router', key: 'vpc/default/router', column: 'policies' },
  columns: { priority, match, action, nexthops: [], external_ids: externalIds },
});

describe('reply gateway (sink routes to reach the reply routes, drops of what they took, allows for the VPC)', () => {
  const contextOf = (vpc: string, ownIpv4DefaultRoute: boolean, join = ['100.64.0.0/16', 'fd00:100:64::/64']) =>
    nodeReplyRouteContextOf(vpc, {
      defaultVpc: 'default',
      ownIpv4DefaultRoute,
      cidrsOf: () => ['fd00:10:16::/64', '10.16.0.0/16', ...join],
      joinCidrsOf: () => join,
    });

  it('routes the default VPC only, with the IPv4 sink hop (join broadcast) only without eip.defaultPool, the IPv6 one (join Subnet-Router anycast) always', () => {
    expect(contextOf('default', false)).toEqual({
      router: 'vpc/default/router',
      vpcCidrs: ['fd00:10:16::/64', '10.16.0.0/16', '100.64.0.0/16', 'fd00:100:64::/64'],
      ipv4SinkHop: '100.64.255.255',
      ipv6SinkHop: 'fd00:100:64::',
    });
    expect(contextOf('default', false, ['100.64.0.0/22'])?.ipv4SinkHop).toBe('100.64.3.255');
    expect(contextOf('default', true)).toEqual({
      router: 'vpc/default/router',
      vpcCidrs: ['fd00:10:16::/64', '10.16.0.0/16', '100.64.0.0/16', 'fd00:100:64::/64'],
      ipv6SinkHop: 'fd00:100:64::',
    });
    expect(contextOf('default', false, ['fd00:100:64::/64'])?.ipv4SinkHop).toBeUndefined();
    expect(contextOf('default', false, ['100.64.0.0/16'])?.ipv6SinkHop).toBeUndefined();
    expect(contextOf('blue', false)).toBeUndefined();
  });

  it('routes both catch-alls to their sink hops, drops below the reply routes exactly what they took, and allows the VPC above them', () => {
    const rows = nodeReplyGateway('default', contextOf('default', false)!);
    expect(rows).toEqual([
      routeRow('vpc/default/node-reply/ipv6-route', '::/0', 'fd00:100:64::'),
      // No list of the VPC's other destinations: longer routes win in routing and set another next hop.
      policyRow(
        'vpc/default/node-reply/ipv6-sink-drop',
        NODE_REPLY_OUTSIDE_DROP_PRIORITY,
        'ip6 && xxreg0 == fd00:100:64::',
        'drop',
      ),
      routeRow('vpc/default/node-reply/ipv4-route', '0.0.0.0/0', '100.64.255.255'),
      policyRow(
        'vpc/default/node-reply/ipv4-sink-drop',
        NODE_REPLY_OUTSIDE_DROP_PRIORITY,
        'ip4 && reg0 == 100.64.255.255',
        'drop',
      ),
      // One positive set match per family instead of a != clause in every reply route.
      policyRow(
        'vpc/default/node-reply/ipv4-inside-allow',
        NODE_REPLY_INSIDE_ALLOW_PRIORITY,
        'ip4.dst == {10.16.0.0/16, 100.64.0.0/16}',
        'allow',
      ),
      policyRow(
        'vpc/default/node-reply/ipv6-inside-allow',
        NODE_REPLY_INSIDE_ALLOW_PRIORITY,
        'ip6.dst == {fd00:100:64::/64, fd00:10:16::/64}',
        'allow',
      ),
    ]);
    expect(NODE_REPLY_OUTSIDE_DROP_PRIORITY).toBeLessThan(NODE_REPLY_ROUTE_PRIORITY);
    expect(NODE_REPLY_INSIDE_ALLOW_PRIORITY).toBeGreaterThan(NODE_REPLY_ROUTE_PRIORITY);
  });

  it('keeps the allows but has no IPv4 route or drop with a default route of the VPC own (eip.defaultPool)', () => {
    expect(nodeReplyGateway('default', contextOf('default', true)!).map((r) => r.key)).toEqual([
      'vpc/default/node-reply/ipv6-route',
      'vpc/default/node-reply/ipv6-sink-drop',
      'vpc/default/node-reply/ipv4-inside-allow',
      'vpc/default/node-reply/ipv6-inside-allow',
    ]);
  });

  it('has only IPv4 rows for an IPv4-only VPC', () => {
    expect(nodeReplyGateway('default', contextOf('default', false, ['100.64.0.0/16'])!).map((r) => r.key)).toEqual([
      'vpc/default/node-reply/ipv4-route',
      'vpc/default/node-reply/ipv4-sink-drop',
      'vpc/default/node-reply/ipv4-inside-allow',
      'vpc/default/node-reply/ipv6-inside-allow',
    ]);
  });
});
