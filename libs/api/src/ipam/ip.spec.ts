import { compareIp, ipFamilyOf, parseIpAddress, type ParsedIp } from './ip';

describe('parseIpAddress', () => {
  it.each([
    ['10.0.0.1', 4, '10.0.0.1'],
    ['FD00:0:0::0010', 6, 'fd00::10'],
    ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1'],
  ])('reads %s as IPv%s %s', (text, family, address) => {
    expect(parseIpAddress(text)).toMatchObject({ family, address });
  });

  it.each(['010.0.0.1', '10.0.0.1/32', 'fe80::1%eth0', ' 10.0.0.1', 'host', '', 42, undefined])(
    'rejects %j',
    (text) => {
      expect(parseIpAddress(text)).toBeUndefined();
    },
  );
});

describe('compareIp', () => {
  it('orders IPv4 before IPv6, then numerically', () => {
    const ips = ['fd00::2', '10.0.0.10', 'fd00::10', '10.0.0.9'].map((t) => parseIpAddress(t) as ParsedIp);
    expect(ips.sort(compareIp).map((ip) => ip.address)).toEqual(['10.0.0.9', '10.0.0.10', 'fd00::2', 'fd00::10']);
  });
});

it('maps Kubernetes family names', () => {
  expect([ipFamilyOf('IPv4'), ipFamilyOf('IPv6'), ipFamilyOf('FQDN')]).toEqual([4, 6, undefined]);
});
