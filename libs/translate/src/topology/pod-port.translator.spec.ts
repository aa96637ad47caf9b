import { nodeHostRoutes } from './pod-port.translator';

describe('nodeHostRoutes', () => {
  const owner = { kind: 'Node', name: 'node-1' };
  const parent = (column: string) => ({ table: 'Logical_Router', key: 'vpc/default/router', column });
  /** The route of one node address (no policy: the reply gateway's drops take only what its sink routes took). */
  const hostRoute = (address: string, prefix: string, nexthop: string) => [
    {
      table: 'Logical_Router_Static_Route',
      key: `node/node-1/host-route/${address}`,
      owner,
      parent: parent('static_routes'),
      columns: { ip_prefix: `${address}/${prefix}`, nexthop, policy: 'dst-ip', output_port: [] },
    },
  ];

  it("routes each IPv4 address of the node to its IPv4 join address, on its VPC's router, owned by the Node", () => {
    const rows = nodeHostRoutes(
      'node-1',
      ['192.168.100.2', 'fd00::2', '10.0.0.7', '192.168.100.2'],
      ['100.64.0.2/16'],
      'default',
    );
    expect(rows).toEqual([
      ...hostRoute('10.0.0.7', '32', '100.64.0.2'),
      ...hostRoute('192.168.100.2', '32', '100.64.0.2'),
    ]);
  });

  it('routes each IPv6 address of the node to its IPv6 join address (/128), beside the IPv4 ones', () => {
    const rows = nodeHostRoutes(
      'node-1',
      ['192.168.100.2', 'fd00:192:168:100:0:0:0:2', 'fd00:192:168:100::2', '2001:db8::7'],
      ['100.64.0.2/16', 'fd00:100:64::2/64'],
      'default',
    );
    expect(rows).toEqual([
      ...hostRoute('192.168.100.2', '32', '100.64.0.2'),
      ...hostRoute('2001:db8::7', '128', 'fd00:100:64::2'),
      ...hostRoute('fd00:192:168:100::2', '128', 'fd00:100:64::2'),
    ]);
  });

  it('writes nothing for a family without a join address, and never a route of the join address to itself', () => {
    expect(nodeHostRoutes('node-1', ['192.168.100.2', 'fd00::2'], [], 'default')).toEqual([]);
    expect(nodeHostRoutes('node-1', ['192.168.100.2'], ['fd00:100:64::2/64'], 'default')).toEqual([]);
    expect(nodeHostRoutes('node-1', ['fd00::2'], ['100.64.0.2/16'], 'default')).toEqual([]);
    expect(
      nodeHostRoutes('node-1', ['100.64.0.2', 'fd00:100:64::2'], ['100.64.0.2', 'fd00:100:64::2'], 'default'),
    ).toEqual([]);
  });
});
