import type { V1Service } from '@kubernetes/client-node';
import { translateService } from './service.translator';

const ctx = {
  vpc: 'blue',
  lbGroupKey: (vpc: string) => `lbg:Vpc:${vpc}`,
  nodes: [{ name: 'n1', addresses: ['192.168.0.1'] }],
};

describe('translateService', () => {
  it('labels VIPs by scope so a router LB can be built from the external ones', () => {
    const service: V1Service = {
      metadata: { name: 'web', namespace: 'ns' },
      spec: {
        type: 'LoadBalancer',
        clusterIPs: ['10.96.0.1'],
        externalIPs: ['198.51.100.1'],
        ports: [{ port: 80, nodePort: 30000 }],
      },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } },
    };
    const { vips, state } = translateService(service, [], ctx);
    expect(vips.map((v) => [v.vip, v.scope])).toEqual([
      ['10.96.0.1:80', 'cluster'],
      ['192.168.0.1:30000', 'node'],
      ['198.51.100.1:80', 'external'],
      ['203.0.113.1:80', 'external'],
    ]);
    expect(state.memberships).toEqual([
      expect.objectContaining({
        key: 'lbg:Vpc:blue',
        members: [{ ref: { table: 'Load_Balancer', key: 'lb:Service:ns/web:tcp' } }],
      }),
    ]);
  });

  it('never throws on garbage input', () => {
    const garbage = { metadata: { name: 'x' }, spec: { clusterIPs: [42], ports: [{ port: 'http' }, null] } };
    expect(() => translateService(garbage as unknown as V1Service, [{} as never], ctx)).not.toThrow();
  });
});
