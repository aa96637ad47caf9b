import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { flushConntrackArgs, newlyBackedFrontends, parseLbFlowKey, removedLbFlows, udpLbFlows } from './lb-flows';

const svc = (spec: V1Service['spec'], ingress: string[] = []): V1Service => ({
  metadata: { namespace: 'ns', name: 'dns' },
  spec,
  status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } },
});
const slice = (ready: Record<string, boolean>, port = 5353, extra: object = {}): V1EndpointSlice => ({
  addressType: 'IPv4',
  ports: [{ name: 'dns', port, protocol: 'UDP' }],
  endpoints: Object.entries(ready).map(([ip, r]) => ({ addresses: [ip], conditions: { ready: r, ...extra } })),
});
const udp = { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 as never };

describe('udpLbFlows', () => {
  it('pairs every frontend (ClusterIP, externalIP, ingress IP, NodePort) with every ready backend', () => {
    const s = svc(
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.10',
        externalIPs: ['192.0.2.7'],
        ports: [{ ...udp, nodePort: 30053 }],
      },
      ['172.16.0.53'],
    );
    const flows = udpLbFlows([s], () => [slice({ '10.16.0.21': true, '10.16.0.22': false })]);
    expect([...flows].sort()).toEqual([
      'udp  30053 10.16.0.21 5353',
      'udp 10.96.0.10 53 10.16.0.21 5353',
      'udp 172.16.0.53 53 10.16.0.21 5353',
      'udp 192.0.2.7 53 10.16.0.21 5353',
    ]);
  });

  it('leaves TCP alone, and falls back to serving terminating endpoints when none is ready', () => {
    const tcp = svc({ clusterIP: '10.96.0.1', ports: [{ name: 'dns', port: 53, protocol: 'TCP' }] });
    expect(udpLbFlows([tcp], () => [slice({ '10.16.0.21': true })]).size).toBe(0);
    const u = svc({ clusterIP: '10.96.0.10', ports: [udp] });
    const terminating = slice({ '10.16.0.23': false }, 5353, { serving: true, terminating: true });
    expect([...udpLbFlows([u], () => [terminating])]).toEqual(['udp 10.96.0.10 53 10.16.0.23 5353']);
  });

  it('matches the slice port by name and protocol, and skips a frontend of the other family', () => {
    const u = svc({ clusterIPs: ['10.96.0.10', 'fd00::10'], ports: [udp] });
    const other = slice({ '10.16.0.21': true }, 5353);
    other.ports = [{ name: 'other', port: 1, protocol: 'UDP' }];
    expect(udpLbFlows([u], () => [other]).size).toBe(0);
    expect([...udpLbFlows([u], () => [slice({ '10.16.0.21': true })])]).toEqual(['udp 10.96.0.10 53 10.16.0.21 5353']);
  });
});

describe('removedLbFlows', () => {
  it('returns the pairs that are gone, nothing for pairs that stay or are new', () => {
    const before = new Set(['udp 10.96.0.10 53 10.16.0.21 5353', 'udp 10.96.0.10 53 10.16.0.22 5353']);
    const after = new Set(['udp 10.96.0.10 53 10.16.0.22 5353', 'udp 10.96.0.10 53 10.16.0.23 5353']);
    expect(removedLbFlows(before, after)).toEqual([parseLbFlowKey('udp 10.96.0.10 53 10.16.0.21 5353')]);
  });
});

describe('newlyBackedFrontends', () => {
  it("gives a VIP's un-NATed flow when it gets its first backend, nothing for one that had a backend or a NodePort", () => {
    const before = new Set(['udp 10.96.0.10 53 10.16.0.21 5353']);
    const after = new Set([
      'udp 10.96.0.10 53 10.16.0.22 5353', // had a backend before: its clients were answered
      'udp 10.96.0.11 53 10.16.0.23 5353', // first backend
      'udp 10.96.0.11 53 10.16.0.24 5353',
      'udp  30053 10.16.0.23 5353', // a NodePort: no VIP to match
    ]);
    const flows = newlyBackedFrontends(before, after);
    expect(flows).toEqual([parseLbFlowKey('udp 10.96.0.11 53 10.96.0.11 53')]);
    // Only entries whose reply came from the VIP itself: never one a backend answers.
    expect(flushConntrackArgs(flows[0])).toEqual([
      'dpctl/flush-conntrack',
      'ct_nw_dst=10.96.0.11,ct_nw_proto=17,ct_tp_dst=53',
      'ct_nw_src=10.96.0.11,ct_nw_proto=17,ct_tp_src=53',
    ]);
  });
});

describe('flushConntrackArgs', () => {
  it('matches the client-side destination and the backend-side source, in every zone', () => {
    expect(flushConntrackArgs(parseLbFlowKey('udp 172.16.0.53 53 10.16.0.21 5353'))).toEqual([
      'dpctl/flush-conntrack',
      'ct_nw_dst=172.16.0.53,ct_nw_proto=17,ct_tp_dst=53',
      'ct_nw_src=10.16.0.21,ct_nw_proto=17,ct_tp_src=5353',
    ]);
  });
  it('uses IPv6 fields for IPv6, and no address for a NodePort', () => {
    expect(flushConntrackArgs(parseLbFlowKey('sctp  30053 fd00::21 5353'))).toEqual([
      'dpctl/flush-conntrack',
      'ct_nw_proto=132,ct_tp_dst=30053',
      'ct_ipv6_src=fd00::21,ct_nw_proto=132,ct_tp_src=5353',
    ]);
  });
});
