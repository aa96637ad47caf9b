import { DEFAULT_AGENT_CONFIG, CniAgentConfig } from '../agent/agent-config';
import { desiredOvsSettings, mapDiff } from './node-bootstrap';
import { nodePortBatch } from './node-port';

const cfg = (o: Partial<CniAgentConfig> = {}): CniAgentConfig => ({
  ...DEFAULT_AGENT_CONFIG,
  nodeName: 'n1',
  ovn: {
    systemId: 'n1',
    remote: 'ssl:10.0.0.1:6642',
    encapType: 'geneve',
    encapIp: '192.168.1.5',
    bridgeMappings: 'external:br-ex',
  },
  ...o,
});

describe('node bootstrap', () => {
  it('maps config and Node labels to Open_vSwitch external_ids / other_config', () => {
    const plain = desiredOvsSettings(cfg(), { labels: {}, annotations: {} });
    expect(plain.externalIds).toMatchObject({
      'system-id': 'n1',
      'ovn-remote': 'ssl:10.0.0.1:6642',
      'ovn-encap-type': 'geneve',
      'ovn-encap-ip': '192.168.1.5',
      'ovn-bridge-datapath-type': 'netdev',
      'ovn-bridge-mappings': null,
    });
    expect(plain.otherConfig).toEqual({ 'hw-offload': null });
    const gw = desiredOvsSettings(cfg({ mode: 'smartnic' }), {
      labels: { 'ycloud.io/eip-gateway': 'true' },
      annotations: {},
    });
    expect(gw.externalIds['ovn-bridge-mappings']).toBe('external:br-ex');
    expect(gw.otherConfig).toEqual({ 'hw-offload': 'true' });
  });
  it('writes only what differs', () => {
    expect(mapDiff({ a: '1', b: '2', c: '3' }, { a: '1', b: 'x', c: null, d: null, e: '5' })).toEqual({
      b: 'x',
      c: null,
      e: '5',
    });
    expect(mapDiff({ a: '1' }, { a: '1' })).toEqual({});
  });
  it('node port: address and a route per CIDR via the join gateway', () => {
    const alloc = {
      ip: '100.64.0.2/16',
      mac: '0a:58:64:40:00:02',
      gateway: '100.64.0.1',
      logicalSwitch: 'join',
      logicalSwitchPort: 'node-n1',
      addresses: [{ cidr: '100.64.0.2/16', gateway: '100.64.0.1', family: 4 as const }],
      mtu: 1400,
    };
    expect(nodePortBatch(alloc, ['10.96.0.0/16', '10.16.0.0/16'])).toEqual([
      'link set dev ycloud0 address 0a:58:64:40:00:02 mtu 1400',
      'addr replace 100.64.0.2/16 dev ycloud0',
      'link set dev ycloud0 up',
      'route replace 10.96.0.0/16 via 100.64.0.1 dev ycloud0 mtu 1400',
      'route replace 10.16.0.0/16 via 100.64.0.1 dev ycloud0 mtu 1400',
    ]);
    // An IPv6 Service CIDR without an IPv6 join address: no route (it could not be reached through ycloud0).
    expect(nodePortBatch(alloc, ['10.96.0.0/16', 'fd00:10:96::/112'])).not.toContainEqual(
      expect.stringContaining('fd00'),
    );
  });
  it("node port, dual-stack join subnet: both addresses, each CIDR via its family's gateway", () => {
    const alloc = {
      ip: '100.64.0.2/16',
      mac: '0a:58:64:40:00:02',
      gateway: '100.64.0.1',
      logicalSwitch: 'join',
      logicalSwitchPort: 'node-n1',
      addresses: [
        { cidr: '100.64.0.2/16', gateway: '100.64.0.1', family: 4 as const },
        { cidr: 'fd00:100:64::2/64', gateway: 'fd00:100:64::1', family: 6 as const },
      ],
      mtu: 1400,
    };
    expect(nodePortBatch(alloc, ['10.96.0.0/16', 'fd00:10:96::/112', '10.16.0.0/16', 'fd00:10:16::/64'])).toEqual([
      'link set dev ycloud0 address 0a:58:64:40:00:02 mtu 1400',
      'addr replace 100.64.0.2/16 dev ycloud0',
      'addr replace fd00:100:64::2/64 dev ycloud0 nodad',
      'link set dev ycloud0 up',
      'route replace 10.96.0.0/16 via 100.64.0.1 dev ycloud0 mtu 1400',
      'route replace fd00:10:96::/112 via fd00:100:64::1 dev ycloud0 mtu 1400',
      'route replace 10.16.0.0/16 via 100.64.0.1 dev ycloud0 mtu 1400',
      'route replace fd00:10:16::/64 via fd00:100:64::1 dev ycloud0 mtu 1400',
    ]);
  });
});
