import { API_VERSION, type Subnet } from '@ycloud/api';
import { attachmentOwner, attachmentPortName, translateAttachmentPort } from './attachment-port.translator';
import { portAllocation } from './pod-port.translator';

const subnet: Subnet = {
  apiVersion: API_VERSION,
  kind: 'Subnet',
  metadata: { name: 'db' },
  spec: { vpc: 'blue', cidrBlocks: ['10.1.0.0/24', 'fd00:1::/64'] },
};

describe('translateAttachmentPort', () => {
  it('gives a BareMetalServer a pod-like port bms.<name> bound to its node, owned by the server', () => {
    const allocation = portAllocation(subnet, ['10.1.0.10'], { mtu: 1400, mac: '0A:00:00:00:00:01' });
    const state = translateAttachmentPort({ kind: 'BareMetalServer', name: 'db-1', nodeName: 'node-2' }, allocation);
    expect(state.owner).toEqual({ kind: 'BareMetalServer', name: 'db-1' });
    expect(state.memberships).toEqual([]);
    expect(state.rows).toEqual([
      {
        table: 'Logical_Switch_Port',
        key: 'bms/db-1',
        owner: { kind: 'BareMetalServer', name: 'db-1' },
        parent: { table: 'Logical_Switch', key: 'subnet/db/switch', column: 'ports' },
        columns: {
          name: 'bms.db-1',
          addresses: ['0a:00:00:00:00:01 10.1.0.10'],
          port_security: ['0a:00:00:00:00:01 10.1.0.10'],
          options: { 'requested-chassis': 'node-2' },
        },
      },
    ]);
  });

  it('names a VNic port vnic.<namespace>.<name>, derives its MAC from the address and binds it anywhere without a node', () => {
    const allocation = portAllocation(subnet, ['10.1.0.7', 'fd00:1::7'], { mtu: 1400 });
    const state = translateAttachmentPort({ kind: 'VNic', namespace: 'shop', name: 'nic-a' }, allocation);
    expect(state.owner).toEqual({ kind: 'VNic', name: 'shop/nic-a' });
    const [row] = state.rows;
    expect(row.key).toBe('vnic/shop/nic-a');
    expect(row.owner).toEqual({ kind: 'VNic', name: 'shop/nic-a' });
    expect(row.columns.name).toBe('vnic.shop.nic-a');
    expect(row.columns.addresses).toEqual([`${allocation.mac} 10.1.0.7 fd00:1::7`]);
    expect(row.columns.port_security).toEqual(row.columns.addresses);
    expect(allocation.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(row.columns.options).toEqual({});
  });

  it('keeps the names of the two kinds and of pods apart', () => {
    expect(attachmentPortName({ kind: 'BareMetalServer', name: 'x' })).toBe('bms.x');
    expect(attachmentPortName({ kind: 'VNic', namespace: 'ns', name: 'x' })).toBe('vnic.ns.x');
    expect(attachmentOwner({ kind: 'VNic', namespace: 'ns', name: 'x' })).toEqual({ kind: 'VNic', name: 'ns/x' });
  });
});
