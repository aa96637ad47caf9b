import type { V1Service } from '@kubernetes/client-node';
import { SOURCE_RANGES_ANNOTATION, loadBalancerSourceRanges, sourceRangeDropMatches } from './source-ranges';

const svc = (ranges?: string[], annotation?: string): V1Service => ({
  metadata: { name: 'lb', namespace: 'ns', annotations: annotation ? { [SOURCE_RANGES_ANNOTATION]: annotation } : {} },
  spec: { type: 'LoadBalancer', loadBalancerSourceRanges: ranges },
});

describe('loadBalancerSourceRanges', () => {
  it('no field and no annotation: no restriction', () => {
    expect(loadBalancerSourceRanges(svc())).toEqual({ ranges: [], errors: [] });
  });

  it('canonicalises the field, clearing host bits, and deduplicates', () => {
    expect(loadBalancerSourceRanges(svc(['10.1.2.3/8', '10.0.0.0/8', '2001:DB8::1/32', '0.0.0.0/0']))).toEqual({
      ranges: [
        { family: 4, cidr: '10.0.0.0/8' },
        { family: 6, cidr: '2001:db8::/32' },
        { family: 4, cidr: '0.0.0.0/0' },
      ],
      errors: [],
    });
  });

  it('reads the annotation when the field is empty; the field wins when both are set', () => {
    expect(loadBalancerSourceRanges(svc(undefined, '172.16.0.0/24, 192.168.1.7/32')).ranges).toEqual([
      { family: 4, cidr: '172.16.0.0/24' },
      { family: 4, cidr: '192.168.1.7/32' },
    ]);
    expect(loadBalancerSourceRanges(svc(['1.2.3.0/24'], '172.16.0.0/24')).ranges).toEqual([
      { family: 4, cidr: '1.2.3.0/24' },
    ]);
  });

  it('names the field of every malformed entry', () => {
    const r = loadBalancerSourceRanges(svc(['10.0.0.0/8', '10.0.0.0', '300.0.0.0/8', '10.0.0.0/33']));
    expect(r.errors.map((e) => e.field)).toEqual([
      'spec.loadBalancerSourceRanges[1]',
      'spec.loadBalancerSourceRanges[2]',
      'spec.loadBalancerSourceRanges[3]',
    ]);
    expect(r.errors[0].message).toBe('"10.0.0.0" is not a CIDR (address/prefix)');
    const a = loadBalancerSourceRanges(svc(undefined, 'nonsense'));
    expect(a.errors).toEqual([
      {
        field: `metadata.annotations[${SOURCE_RANGES_ANNOTATION}]`,
        message: '"nonsense" is not a CIDR (address/prefix)',
      },
    ]);
  });
});

describe('sourceRangeDropMatches', () => {
  const guarded = {
    address: '172.16.0.50',
    ports: [
      { protocol: 'tcp' as const, port: 443 },
      { protocol: 'tcp' as const, port: 80 },
      { protocol: 'udp' as const, port: 53 },
    ],
  };
  const v4 = (cidr: string) => ({ family: 4 as const, cidr });

  it('drops each protocol from outside the ranges of the address family', () => {
    const m = sourceRangeDropMatches(guarded, [
      v4('172.16.0.100/32'),
      v4('10.0.0.0/8'),
      { family: 6, cidr: 'fd00::/8' },
    ]);
    expect([...m.entries()]).toEqual([
      ['tcp', 'ip4.dst == 172.16.0.50 && tcp.dst == {80, 443} && ip4.src != {172.16.0.100/32, 10.0.0.0/8}'],
      ['udp', 'ip4.dst == 172.16.0.50 && udp.dst == 53 && ip4.src != {172.16.0.100/32, 10.0.0.0/8}'],
    ]);
  });

  it('no ranges or a /0: nothing to drop; only other-family ranges: everyone of this family is dropped', () => {
    expect(sourceRangeDropMatches(guarded, []).size).toBe(0);
    expect(sourceRangeDropMatches(guarded, [v4('0.0.0.0/0')]).size).toBe(0);
    const m = sourceRangeDropMatches(guarded, [{ family: 6, cidr: 'fd00::/8' }]);
    expect(m.get('udp')).toBe('ip4.dst == 172.16.0.50 && udp.dst == 53');
  });
});
