import { IpAllocator } from './ip-allocator';
import { formatIp, parseCidr, parseIp } from './ip';
import { macFromIp, randomMac } from './mac';

describe('IpAllocator', () => {
  it('skips network, gateway, excluded addresses and broadcast; counts what is left', () => {
    const ipam = new IpAllocator({ cidrs: ['10.0.0.0/29'], excludeIps: ['10.0.0.3..10.0.0.4'] });
    // /29 = 8 addresses: .0 network, .1 gateway, .3-.4 excluded, .7 broadcast → .2 .5 .6 free.
    expect(ipam.counts().v4).toEqual({ used: 0, available: 3n });
    expect(ipam.allocate('a')).toEqual({ ok: true, ips: ['10.0.0.2'] });
    expect(ipam.allocate('b')).toEqual({ ok: true, ips: ['10.0.0.5'] });
    expect(ipam.allocate('c')).toEqual({ ok: true, ips: ['10.0.0.6'] });
    expect(ipam.counts().v4).toEqual({ used: 3, available: 0n });
  });

  it('reports exhaustion and recovers after a release', () => {
    const ipam = new IpAllocator({ cidrs: ['10.0.0.0/30'] });
    expect(ipam.allocate('a')).toEqual({ ok: true, ips: ['10.0.0.2'] });
    expect(ipam.allocate('b')).toMatchObject({ ok: false, reason: 'Exhausted' });
    expect(ipam.release('a')).toEqual(['10.0.0.2']);
    expect(ipam.allocate('b')).toEqual({ ok: true, ips: ['10.0.0.2'] });
  });

  it('is idempotent per owner and refuses an address another owner holds', () => {
    const ipam = new IpAllocator({ cidrs: ['10.0.0.0/24'] });
    const a = ipam.allocate('ns/a');
    expect(ipam.allocate('ns/a')).toEqual(a);
    expect(ipam.allocate('ns/b', ['10.0.0.2'])).toMatchObject({
      ok: false,
      reason: 'InUse',
      message: '10.0.0.2 is in use by ns/a',
    });
    expect(ipam.allocate('ns/b', ['10.0.0.1'])).toMatchObject({ ok: false, reason: 'Excluded' });
    expect(ipam.allocate('ns/b', ['10.0.1.1'])).toMatchObject({ ok: false, reason: 'OutOfRange' });
    expect(ipam.allocate('ns/b', ['10.0.0.200'])).toEqual({ ok: true, ips: ['10.0.0.200'] });
    expect(ipam.ownerOf('10.0.0.200')).toBe('ns/b');
  });

  it('allocates one address per family in a dual-stack subnet, all or nothing', () => {
    const ipam = new IpAllocator({ cidrs: ['10.0.0.0/30', 'fd00:10::/64'] });
    expect(ipam.allocate('a')).toEqual({ ok: true, ips: ['10.0.0.2', 'fd00:10::2'] });
    // IPv4 is full: b must not keep an IPv6 address either.
    expect(ipam.allocate('b')).toMatchObject({ ok: false, reason: 'Exhausted' });
    expect(ipam.counts().v6).toEqual({ used: 1, available: 2n ** 64n - 3n });
    expect(ipam.allocate('c', ['fd00:10::abcd'])).toMatchObject({ ok: false, reason: 'Exhausted' });
    expect(ipam.ownerOf('fd00:10::abcd')).toBeUndefined();
  });

  it('handles IPv6-only subnets with a custom gateway', () => {
    const ipam = new IpAllocator({ cidrs: ['fd00:20::/120'], gateways: ['fd00:20::ff'] });
    expect(ipam.allocate('a')).toEqual({ ok: true, ips: ['fd00:20::1'] });
    expect(ipam.allocate('b', ['fd00:20::ff'])).toMatchObject({ ok: false, reason: 'Excluded' });
    // 256 - network - gateway; IPv6 has no broadcast.
    expect(ipam.counts().v6).toEqual({ used: 1, available: 253n });
  });

  it('restores after a restart and reports conflicts instead of accepting them', () => {
    const before = new IpAllocator({ cidrs: ['10.0.0.0/24'], excludeIps: ['10.0.0.50'] });
    const held = ['a', 'b', 'c'].map((o) => [o, (before.allocate(o) as { ips: string[] }).ips] as const);
    const after = new IpAllocator({ cidrs: ['10.0.0.0/24'], excludeIps: ['10.0.0.50'] });
    for (const [owner, ips] of held) expect(after.restore(owner, ips)).toEqual({ ok: true, ips });
    expect(after.counts().v4?.used).toBe(3);
    // The next allocation does not reuse a restored address.
    expect(after.allocate('d')).toEqual({ ok: true, ips: ['10.0.0.5'] });
    expect(after.restore('e', ['10.0.0.2/24'])).toEqual({
      ok: false,
      conflicts: [{ ip: '10.0.0.2/24', reason: 'InUse', message: '10.0.0.2 is in use by a' }],
    });
    expect(after.restore('e', ['10.0.0.50'])).toMatchObject({ ok: false, conflicts: [{ reason: 'Excluded' }] });
    expect(after.restore('e', ['192.168.0.1'])).toMatchObject({ ok: false, conflicts: [{ reason: 'OutOfRange' }] });
    expect(after.addressesOf('e')).toEqual([]);
  });

  it('restricts an EipPool to its ranges', () => {
    const ipam = new IpAllocator({
      cidrs: ['172.18.0.0/16'],
      gateways: ['172.18.0.1', '172.18.0.2'],
      ranges: ['172.18.10.5-172.18.10.6', '172.18.20.0/31'],
    });
    expect(ipam.counts().v4).toEqual({ used: 0, available: 4n });
    const got = ['a', 'b', 'c', 'd'].map((o) => ipam.allocate(o));
    expect(got.map((r) => (r.ok ? r.ips[0] : r.reason))).toEqual([
      '172.18.10.5',
      '172.18.10.6',
      '172.18.20.0',
      '172.18.20.1',
    ]);
    expect(ipam.allocate('e')).toMatchObject({ ok: false, reason: 'Exhausted' });
    expect(ipam.allocate('e', ['172.18.30.1'])).toMatchObject({ ok: false, reason: 'Excluded' });
  });

  it('is fast on a /16 and fills it exactly', () => {
    const ipam = new IpAllocator({ cidrs: ['10.16.0.0/16'] });
    const seen = new Set<string>();
    for (let i = 0; i < 65533; i++) {
      const r = ipam.allocate(`p${i}`);
      if (!r.ok) throw new Error(`allocation ${i} failed: ${r.message}`);
      seen.add(r.ips[0]);
    }
    expect(seen.size).toBe(65533);
    expect(ipam.allocate('one-too-many')).toMatchObject({ ok: false, reason: 'Exhausted' });
    ipam.release('p30000');
    expect(ipam.allocate('again')).toMatchObject({ ok: true });
  });

  it('rejects invalid configuration', () => {
    expect(new IpAllocator({ cidrs: ['10.0.0.1/24'] }).problem?.message).toMatch(/host bits/);
    expect(new IpAllocator({ cidrs: ['10.0.0.0/24', '10.1.0.0/24'] }).problem).toMatchObject({
      option: 'cidrs',
      index: 1,
      message: 'second IPv4 CIDR 10.1.0.0/24',
    });
    expect(new IpAllocator({ cidrs: ['10.0.0.0/24'], excludeIps: ['x'] }).problem).toMatchObject({
      option: 'excludeIps',
      index: 0,
    });
  });

  it('never throws on user input: a reversed range refuses every allocation with the field and the value', () => {
    const ipam = new IpAllocator({ cidrs: ['10.230.0.0/24'], excludeIps: ['10.230.0.20..10.230.0.2'] });
    const why = 'excludeIps[0]: "10.230.0.20..10.230.0.2" is reversed: 10.230.0.20 comes after 10.230.0.2';
    expect(ipam.allocate('a')).toEqual({ ok: false, reason: 'Invalid', message: why });
    expect(ipam.restore('a', ['10.230.0.5'])).toEqual({
      ok: false,
      conflicts: [{ ip: '10.230.0.5', reason: 'Invalid', message: why }],
    });
    expect(ipam.counts()).toEqual({});
    const pool = new IpAllocator({ cidrs: ['172.38.0.0/24'], ranges: ['172.38.0.50-172.38.0.10'] });
    expect(pool.problem).toMatchObject({ option: 'ranges', index: 0, value: '172.38.0.50-172.38.0.10' });
    for (const bad of [['10.0.0.0/24', 7], null, 'x', [{}]] as unknown[]) {
      expect(() => new IpAllocator({ cidrs: ['10.0.0.0/24'], excludeIps: bad as string[] })).not.toThrow();
      expect(() => new IpAllocator({ cidrs: bad as string[] })).not.toThrow();
    }
  });
});

describe('ip and mac helpers', () => {
  it('parses and formats IPv6 canonically', () => {
    expect(formatIp(parseIp('FD00:0:0:0:0:0:0:1')!)).toBe('fd00::1');
    expect(formatIp(parseIp('::ffff:10.0.0.1')!)).toBe('::ffff:a00:1');
    expect(parseIp('1::2::3')).toBeUndefined();
    expect(parseIp('10.0.0.256')).toBeUndefined();
    expect(parseCidr('fd00:10::5/64')?.text).toBe('fd00:10::/64');
    expect(parseCidr('fd00:10::5/64', true)).toBeUndefined();
  });

  it('derives stable, locally administered MACs', () => {
    expect(macFromIp('10.16.0.5')).toBe('0e:79:0a:10:00:05');
    expect(macFromIp('fd00::a:b')).toBe('0e:79:00:0a:00:0b');
    const mac = randomMac('0e:79', () => 0.5);
    expect(mac).toBe('0e:79:80:80:80:80');
    expect(() => randomMac('01:00')).toThrow(/locally administered unicast/);
  });
});
