import type { V1Service } from '@kubernetes/client-node';
import { API_VERSION, type Subnet } from '@ycloud/api';
import {
  asksForAddresses,
  serviceAddressConflicts,
  serviceFamilyMismatches,
  vpcFamiliesOf,
} from './service-address-conflicts';

const svc = (name: string, spec: object, created = '2026-12-07T03:00:00Z'): V1Service =>
  ({ metadata: { namespace: 'ns', name, creationTimestamp: created }, spec }) as unknown as V1Service;

describe('serviceAddressConflicts', () => {
  const holders = (services: V1Service[]) => ({
    services,
    routerAddresses: [{ address: '10.16.0.1', what: 'the router port of Subnet default' }],
    podOf: (ip: string) => (ip === '10.16.0.7' ? 'ns/web-0' : undefined),
  });

  it('names an externalIP held by another Service, the VPC router or a pod', () => {
    const other = svc('other', { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'] });
    const me = svc('me', {
      clusterIP: '10.96.0.11',
      externalIPs: ['10.96.0.10', '10.16.0.1', '10.16.0.7', '203.0.113.1'],
    });
    expect(serviceAddressConflicts(me, holders([other, me]))).toEqual([
      'spec.externalIPs[0]: 10.96.0.10 is the ClusterIP of Service ns/other',
      'spec.externalIPs[1]: 10.16.0.1 is the address of the router port of Subnet default',
      'spec.externalIPs[2]: 10.16.0.7 is the address of pod ns/web-0',
    ]);
    expect(serviceAddressConflicts(other, holders([other, me]))).toEqual([]);
  });

  it('of two LoadBalancer Services asking for one loadBalancerIP, the younger is told (ties: by name)', () => {
    const a = svc('a', { type: 'LoadBalancer', loadBalancerIP: '172.40.0.30' });
    const b = svc('b', { type: 'LoadBalancer', loadBalancerIP: '172.40.0.30' });
    const old = svc('z', { type: 'LoadBalancer', loadBalancerIP: '172.40.0.30' }, '2026-12-07T02:00:00Z');
    expect(serviceAddressConflicts(a, holders([a, b]))).toEqual([]);
    expect(serviceAddressConflicts(b, holders([a, b]))).toEqual([
      'spec.loadBalancerIP: 172.40.0.30 is asked for by Service ns/a too, which has it (older or first by name)',
    ]);
    expect(serviceAddressConflicts(a, holders([a, old]))).toHaveLength(1);
  });

  it('reads absent lists and junk as nothing', () => {
    expect(serviceAddressConflicts(svc('x', { externalIPs: null, clusterIPs: null }), holders([]))).toEqual([]);
    expect(serviceAddressConflicts({} as V1Service, holders([{} as V1Service]))).toEqual([]);
  });
});

describe('asksForAddresses (the controller reads the address holders only then)', () => {
  it('is true for externalIPs or a LoadBalancer loadBalancerIP, false for a plain ClusterIP Service', () => {
    expect(asksForAddresses({ spec: { clusterIP: '10.96.0.5' } })).toBe(false);
    expect(asksForAddresses({ spec: { loadBalancerIP: '172.16.0.5' } })).toBe(false);
    expect(asksForAddresses({ spec: { externalIPs: ['192.0.2.1'] } })).toBe(true);
    expect(asksForAddresses({ spec: { type: 'LoadBalancer', loadBalancerIP: '172.16.0.5' } })).toBe(true);
  });
});

describe('serviceFamilyMismatches', () => {
  const subnet = (name: string, vpc: string, cidrBlocks: string[]): Subnet => ({
    apiVersion: API_VERSION,
    kind: 'Subnet',
    metadata: { name },
    spec: { vpc, cidrBlocks },
  });
  const subnets = [subnet('blue-1', 'blue', ['10.1.0.0/24']), subnet('red-1', 'red', ['10.2.0.0/24', 'fd00:2::/120'])];

  it('names an IPv6 ClusterIP of a Service in an IPv4-only VPC, field, address and VPC', () => {
    const dual = svc('web', { clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9', 'fd00:96:0:0::9'] });
    expect(vpcFamiliesOf('blue', subnets)).toEqual({ vpc: 'blue', families: [4] });
    expect(serviceFamilyMismatches(dual, vpcFamiliesOf('blue', subnets))).toEqual([
      'spec.clusterIPs[1]: fd00:96::9 is IPv6, but the Subnets of Vpc blue are IPv4 only',
    ]);
    expect(serviceFamilyMismatches(dual, vpcFamiliesOf('red', subnets))).toEqual([]);
  });

  it('says nothing for a headless Service or a VPC without Subnets', () => {
    expect(
      serviceFamilyMismatches(svc('h', { clusterIP: 'None', clusterIPs: ['None'] }), vpcFamiliesOf('blue', subnets)),
    ).toEqual([]);
    expect(serviceFamilyMismatches(svc('v6', { clusterIPs: ['fd00::9'] }), vpcFamiliesOf('green', subnets))).toEqual(
      [],
    );
  });
});
