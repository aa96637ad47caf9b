import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { reconcileContext } from '@ycloud/k8s';
import { API_VERSION, type BareMetalServer, type Subnet, type VNic } from '@ycloud/api';
import type { DesiredState, NorthboundApplier } from '@ycloud/ovn';
import { SubnetIpam } from '../ipam/subnet-ipam';
import { NetworkAttachmentController, type AttachmentStatusPatch } from './network-attachment.controller';

const subnet: Subnet = {
  apiVersion: API_VERSION,
  kind: 'Subnet',
  metadata: { name: 'db' },
  spec: { vpc: 'blue', cidrBlocks: ['10.1.0.0/24', 'fd00:1::/120'] },
};

const cache = <T extends { metadata: { name: string; namespace?: string } }>(items: T[]) => ({
  get: (key: string) =>
    items.find((i) => (i.metadata.namespace ? `${i.metadata.namespace}/` : '') + i.metadata.name === key),
  list: () => items,
});

function setup(bms: BareMetalServer[], vnics: VNic[] = [], nodes: V1Node[] = [], pods: V1Pod[] = []) {
  const applied: DesiredState[] = [];
  const writes: Array<{ name: string; status: AttachmentStatusPatch }> = [];
  const ipam = new SubnetIpam();
  const controller = new NetworkAttachmentController({
    bareMetalServers: cache(bms),
    vnics: cache(vnics),
    nodes: cache(nodes as Array<V1Node & { metadata: { name: string } }>),
    pods: cache(pods as Array<V1Pod & { metadata: { name: string } }>),
    subnets: () => [subnet],
    ipam,
    applier: { apply: async (s: DesiredState) => void applied.push(s) } as unknown as NorthboundApplier,
    config: { mtu: 1400 },
    writeStatus: async (_kind, _ns, name, status) => void writes.push({ name, status }),
  });
  return { controller, applied, writes, ipam };
}

const server = (name: string, ip: string, vpc = 'blue'): BareMetalServer => ({
  apiVersion: API_VERSION,
  kind: 'BareMetalServer',
  metadata: { name, generation: 1 },
  spec: { vpc, subnet: 'db', ip },
});

describe('NetworkAttachmentController', () => {
  it('attaches a server, holds its address, and writes status once', async () => {
    const { controller, applied, writes, ipam } = setup([server('a', '10.1.0.9')]);
    await controller.reconcile('a', reconcileContext('a', { reason: 'test' }));
    expect(applied[0].rows.map((r) => r.columns.name)).toEqual(['bms.a']);
    expect(ipam.allocator(subnet).ownerOf('10.1.0.9')).toBe('BareMetalServer/a');
    expect(writes).toHaveLength(1);
    expect(writes[0].status.conditions[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'Attached' });
    // The cache has not caught up with our write yet: the same status is not written twice.
    await controller.reconcile('a', reconcileContext('a', { reason: 'test' }));
    expect(writes).toHaveLength(1);
  });

  it('refuses a taken address with AddressConflict and no port, and never throws', async () => {
    const { controller, applied, writes } = setup([server('a', '10.1.0.9'), server('b', '10.1.0.9')]);
    await controller.reconcile('a', reconcileContext('a', { reason: 'test' }));
    await controller.reconcile('b', reconcileContext('b', { reason: 'test' }));
    expect(applied[1].rows).toEqual([]);
    expect(writes[1].status.conditions[0]).toMatchObject({ status: 'False', reason: 'AddressConflict' });
    expect(controller.conflictedKeys()).toEqual(['b']);
  });

  it('reports a server in another Vpc than its subnet', async () => {
    const { controller, writes } = setup([server('a', '10.1.0.9', 'red')]);
    await controller.reconcile('a', reconcileContext('a', { reason: 'test' }));
    expect(writes[0].status.conditions[0]).toMatchObject({ status: 'False', reason: 'VpcMismatch' });
  });

  it('refuses a server on a Node that does not exist (NodeNotFound naming spec.node) and attaches it once it appears', async () => {
    const nodes: V1Node[] = [];
    const bms = { ...server('a', '10.1.0.9'), spec: { ...server('a', '10.1.0.9').spec, node: 'ghost' } };
    const { controller, applied, writes, ipam } = setup([bms], [], nodes);
    await controller.reconcile('a', reconcileContext('a', { reason: 'test' }));
    expect(applied[0].rows).toEqual([]);
    expect(writes[0].status.conditions[0]).toMatchObject({ status: 'False', reason: 'NodeNotFound' });
    expect(writes[0].status.conditions[0].message).toContain('spec.node: Node ghost does not exist');
    expect(ipam.allocator(subnet).ownerOf('10.1.0.9')).toBeUndefined();
    nodes.push({ metadata: { name: 'ghost' } });
    await controller.reconcile('a', reconcileContext('a', { reason: 'Node changed' }));
    expect(applied[1].rows.map((r) => r.columns.name)).toEqual(['bms.a']);
    expect(writes[1].status.conditions[0]).toMatchObject({ status: 'True', reason: 'Attached' });
  });

  it('gives a VNic in a dual-stack subnet one address and reports it in status', async () => {
    const nic: VNic = {
      apiVersion: API_VERSION,
      kind: 'VNic',
      metadata: { name: 'n', namespace: 'shop', generation: 1 },
      spec: { subnet: 'db' },
    };
    const { controller, applied, writes, ipam } = setup([], [nic]);
    await controller.reconcile('shop/n', reconcileContext('shop/n', { reason: 'test' }));
    const status = writes[0].status;
    expect(status).toMatchObject({ ip: '10.1.0.2', logicalSwitchPort: 'vnic.shop.n' });
    expect(applied[0].rows[0].columns.addresses).toEqual([`${status.mac} 10.1.0.2`]);
    expect(ipam.counts(subnet).v6?.used).toBe(0);
  });

  it('keeps the port of a VNic attached to a missing Pod but reports PodNotFound, then binds it to the pod', async () => {
    const pods: V1Pod[] = [];
    const nic: VNic = {
      apiVersion: API_VERSION,
      kind: 'VNic',
      metadata: { name: 'n', namespace: 'shop', generation: 1 },
      spec: { subnet: 'db', attachedTo: { kind: 'Pod', name: 'web-0' } },
    };
    const { controller, applied, writes } = setup([], [nic], [], pods);
    await controller.reconcile('shop/n', reconcileContext('shop/n', { reason: 'test' }));
    expect(applied[0].rows.map((r) => r.columns.name)).toEqual(['vnic.shop.n']);
    expect(writes[0].status.conditions[0]).toMatchObject({ status: 'False', reason: 'PodNotFound' });
    expect(writes[0].status.conditions[0].message).toContain('spec.attachedTo: Pod shop/web-0 does not exist');
    pods.push({ metadata: { name: 'web-0', namespace: 'shop' }, spec: { nodeName: 'node-1', containers: [] } });
    await controller.reconcile('shop/n', reconcileContext('shop/n', { reason: 'Pod changed' }));
    expect(writes[1].status.conditions[0]).toMatchObject({ status: 'True', reason: 'Attached' });
    expect(writes[1].status.conditions[0].message).toContain('bound to node node-1');
  });

  it('re-records held addresses before anything is allocated', () => {
    const nic: VNic = {
      apiVersion: API_VERSION,
      kind: 'VNic',
      metadata: { name: 'n', namespace: 'shop' },
      spec: { subnet: 'db' },
      status: { ip: '10.1.0.2' },
    };
    const { controller, ipam } = setup([server('a', '10.1.0.3')], [nic]);
    controller.restoreAll();
    expect(ipam.allocator(subnet).ownerOf('10.1.0.2')).toBe('VNic/shop/n');
    expect(ipam.allocator(subnet).ownerOf('10.1.0.3')).toBe('BareMetalServer/a');
  });

  it('removes the port and frees the address of a deleted object', async () => {
    const items = [server('a', '10.1.0.9')];
    const { controller, applied, ipam } = setup(items);
    await controller.reconcile('a', reconcileContext('a', { reason: 'test' }));
    items.pop();
    await controller.reconcile('a', reconcileContext('a', { reason: 'test' }));
    expect(applied[1]).toMatchObject({ owner: { kind: 'BareMetalServer', name: 'a' }, rows: [] });
    expect(ipam.allocator(subnet).ownerOf('10.1.0.9')).toBeUndefined();
  });
});
