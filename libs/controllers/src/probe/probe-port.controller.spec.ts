import { reconcileContext } from '@ycloud/k8s';
import type { Subnet } from '@ycloud/api';
import type { DesiredState, NorthboundApplier } from '@ycloud/ovn';
import type { ProbePortPlug } from '@ycloud/probe';
import { SubnetIpam } from '../ipam/subnet-ipam';
import { ProbePortController } from './probe-port.controller';

const subnet = (name: string, vpc: string, cidr: string): Subnet =>
  ({
    apiVersion: 'sdn.ycloud.io/v1alpha1',
    kind: 'Subnet',
    metadata: { name },
    spec: { vpc, cidrBlocks: [cidr] },
  }) as Subnet;

describe('ProbePortController', () => {
  it('gives a VPC with targets an LSP probe.<vpc> on its subnet from the shared IPAM, and removes it after', async () => {
    const applied: DesiredState[] = [];
    const published: Array<[string, ProbePortPlug | undefined]> = [];
    const wanted = new Set(['vpc-a']);
    const ipam = new SubnetIpam();
    const subnets = [subnet('sub-a', 'vpc-a', '10.1.0.0/24'), subnet('sub-b', 'vpc-b', '10.2.0.0/24')];
    ipam.allocator(subnets[0]).allocate('shop/web-1', ['10.1.0.2']);
    const c = new ProbePortController({
      subnets: () => subnets,
      ipam,
      applier: { apply: async (s: DesiredState) => void applied.push(s) } as unknown as NorthboundApplier,
      config: { mtu: 1400 },
      nodeName: 'node-1',
      wantedVpcs: () => wanted,
      publish: (vpc, plug) => void published.push([vpc, plug]),
    });
    await c.reconcile('vpc-a', reconcileContext('vpc-a', { reason: 'test' }));
    const row = applied[0].rows[0];
    expect(applied[0].owner).toEqual({ kind: 'ProbePort', name: 'vpc-a' });
    expect(row.columns).toMatchObject({ name: 'probe.vpc-a', options: { 'requested-chassis': 'node-1' } });
    const plug = published[0][1]!;
    expect(plug).toMatchObject({ vpc: 'vpc-a', gateway: '10.1.0.1', mtu: 1400 });
    expect(plug.ipCidr).toMatch(/^10\.1\.0\.\d+\/24$/);
    expect(plug.ipCidr).not.toBe('10.1.0.2/24');
    // Stable across reconciles.
    await c.reconcile('vpc-a', reconcileContext('vpc-a', { reason: 'test' }));
    expect(published[1][1]).toEqual(plug);
    wanted.clear();
    await c.reconcile('vpc-a', reconcileContext('vpc-a', { reason: 'test' }));
    expect(applied[2].rows).toEqual([]);
    expect(published[2]).toEqual(['vpc-a', undefined]);
    expect(ipam.subnetOf('probe/vpc-a')).toBeUndefined();
  });

  it('restores the address its LSP has in NB before pods allocate, so the port keeps it and no pod gets it', async () => {
    const published: Array<ProbePortPlug | undefined> = [];
    const ipam = new SubnetIpam();
    const subnets = [subnet('sub-a', 'vpc-a', '10.1.0.0/24'), subnet('sub-z', 'vpc-z', '10.9.0.0/24')];
    const c = new ProbePortController({
      subnets: () => subnets,
      ipam,
      applier: { apply: async () => undefined } as unknown as NorthboundApplier,
      config: { mtu: 1400 },
      nodeName: 'node-2',
      wantedVpcs: () => new Set(['vpc-a']),
      publish: (_vpc, plug) => void published.push(plug),
    });
    expect(c.restore('vpc-a', ['0a:58:0a:01:00:07 10.1.0.7'])).toBeUndefined();
    expect(c.restore('vpc-a', ['0a:58:0a:09:00:07 10.9.0.7'])).toMatch(/10\.9\.0\.7 is in no pod subnet of VPC vpc-a/);
    expect(c.restore('vpc-z', [])).toMatch(/no address/);
    // A pod asking for that address does not get it; the port does.
    expect(ipam.allocator(subnets[0]).allocate('shop/web-1', ['10.1.0.7']).ok).toBe(false);
    await c.reconcile('vpc-a', reconcileContext('vpc-a', { reason: 'test' }));
    expect(published[0]).toMatchObject({ ipCidr: '10.1.0.7/24', mac: '0a:58:0a:01:00:07' }); // the MAC it had, too
  });
});
