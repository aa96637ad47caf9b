import { SANDBOX_IPV6, sandboxAddressing } from './sandbox';

describe('sandboxAddressing', () => {
  it('keeps the single-stack sandbox as it was: IPv4 ranges, controller defaults, no IPv6 state', () => {
    expect(sandboxAddressing(false)).toEqual({
      serviceCidrs: ['10.96.0.0/16'],
      podCidrs: ['10.16.0.0/16'],
      controllerSubnets: {},
      gatewayNodeIps: ['172.16.0.11/24'],
      state: {},
    });
  });

  it('adds an IPv6 range to every network of a dual-stack sandbox, IPv4 first', () => {
    const dual = sandboxAddressing(true);
    expect(dual.serviceCidrs).toEqual(['10.96.0.0/16', SANDBOX_IPV6.serviceCIDR]);
    expect(dual.podCidrs).toEqual(['10.16.0.0/16', SANDBOX_IPV6.podCIDR]);
    expect(dual.controllerSubnets).toEqual({
      defaultSubnet: { name: 'default', cidrBlocks: ['10.16.0.0/16', 'fd00:10:16::/64'] },
      joinSubnet: { name: 'join', cidrBlocks: ['100.64.0.0/16', 'fd00:100:64::/64'] },
    });
    expect(dual.gatewayNodeIps).toEqual(['172.16.0.11/24', 'fd00:172:16::11/64']);
    // Node i's IPv6 InternalIP is <prefix><i+1>: the test bed's underlay gets it beside the IPv4 address.
    expect(dual.nodeIpv6Prefix).toBe('fd00:192:168:100::');
    expect(sandboxAddressing(false).nodeIpv6Prefix).toBeUndefined();
  });
});
