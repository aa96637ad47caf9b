import { nodeHostRoutes } from './pod-port.translator';

describe('nodeHostRoutes', () => {
  it("routes each IPv4 address of the node to its join address, on its VPC's router, owned by the Node", () => {
    const rows = nodeHostRoutes(
      'node-1',
      ['192.168.100.2', 'fd00::2', '10.0.0.7', '192.168.100.2'],
      '100.64.0.2/16',
      'default',
    );
    expect(rows).toEqual(
      ['10.0.0.7', '192.168.100.2'].map((address) => ({
        table: 'Logical_Router_Static_Route',
        key: `node/node-1/host-route/${address}`,
        owner: { kind: 'Node', name: 'node-1' },
        parent: { table: 'Logical_Router', key: 'vpc/default/router', column: 'static_routes' },
        columns: { ip_prefix: `${address}/32`, nexthop: '100.64.0.2', policy: 'dst-ip', output_port: [] },
      })),
    );
  });

  it('writes nothing without an IPv4 join address, and never a route of the join address to itself', () => {
    expect(nodeHostRoutes('node-1', ['192.168.100.2'], undefined, 'default')).toEqual([]);
    expect(nodeHostRoutes('node-1', ['192.168.100.2'], 'fd00:100:64::2/64', 'default')).toEqual([]);
    expect(nodeHostRoutes('node-1', ['100.64.0.2'], '100.64.0.2', 'default')).toEqual([]);
  });
});
