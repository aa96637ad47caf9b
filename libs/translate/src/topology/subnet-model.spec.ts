import type { Subnet, Vpc } from '@ycloud/api';
import { subnetPrecedes, validateSubnet } from './subnet-model';

const vpc = { metadata: { name: 'blue' }, spec: {} } as unknown as Vpc;
const subnet = (name: string, cidr: string, created: string, ready = false): Subnet =>
  ({
    metadata: { name, creationTimestamp: created },
    spec: { vpc: 'blue', cidrBlocks: [cidr] },
    status: ready ? { conditions: [{ type: 'Ready', status: 'True' }] } : undefined,
  }) as unknown as Subnet;

describe('Subnet overlap outcomes', () => {
  const t = '2026-12-07T03:00:00Z';
  it('a serving (Ready) Subnet keeps its claim against one created earlier or in the same second', () => {
    const serving = subnet('zz-serving', '10.0.0.0/16', t, true);
    const newcomer = subnet('aa-new', '10.0.1.0/24', t);
    expect(subnetPrecedes(serving, newcomer)).toBe(true);
    expect(subnetPrecedes(newcomer, serving)).toBe(false);
    const ctx = { vpcs: [vpc], subnets: [serving, newcomer] };
    expect(validateSubnet(serving, ctx).errors).toEqual([]);
    expect(validateSubnet(newcomer, ctx).errors).toEqual([
      {
        reason: 'CidrOverlap',
        field: 'spec.cidrBlocks',
        message: '10.0.1.0/24 overlaps 10.0.0.0/16 of Subnet zz-serving in Vpc blue, which keeps it (serving)',
      },
    ]);
  });

  it('between two not yet serving: the older, then (same second) the first by name; exactly one loses', () => {
    const a = subnet('a', '10.0.0.0/16', t);
    const b = subnet('b', '10.0.0.0/24', t);
    const ctx = { vpcs: [vpc], subnets: [a, b] };
    expect(validateSubnet(a, ctx).errors).toEqual([]);
    expect(validateSubnet(b, ctx).errors.map((e) => e.reason)).toEqual(['CidrOverlap']);
    const older = subnet('z', '10.0.0.0/24', '2026-12-07T02:59:59Z');
    expect(validateSubnet(a, { vpcs: [vpc], subnets: [a, older] }).errors).toHaveLength(1);
  });

  it('reports overlaps with the reserved networks (the default subnet only in its own VPC)', () => {
    const s = subnet('s', '100.64.1.0/24', t);
    const reserved = [
      { what: 'the join subnet join', cidr: '100.64.0.0/16' },
      { what: 'the default subnet default', cidr: '100.64.0.0/12', vpc: 'default' },
    ];
    expect(validateSubnet(s, { vpcs: [vpc], subnets: [s], reserved }).errors).toEqual([
      {
        reason: 'CidrOverlap',
        field: 'spec.cidrBlocks',
        message: '100.64.1.0/24 overlaps the join subnet join 100.64.0.0/16',
      },
    ]);
  });
});
