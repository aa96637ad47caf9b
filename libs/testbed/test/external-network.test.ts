import { OvnTestbed, TcpServer, tcpRequest } from '@ycloud/testbed';

// Gateway router on node-1 with an external switch holding a localnet port; the external namespace hangs off
// br-ex through ovn-bridge-mappings=external:br-ex.
describe('external network through a localnet port on a gateway router', () => {
  let bed: OvnTestbed;
  const servers: TcpServer[] = [];

  beforeAll(async () => {
    bed = await OvnTestbed.start({ nodes: ['node-1'], gatewayNodes: ['node-1'] });
  }, 120_000);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await bed?.stop();
  }, 60_000);

  it('reaches a pod from outside through a router LB VIP and through a dnat_and_snat (EIP) address', async () => {
    const nb = (...a: string[]) => bed.central.nbctl(...a);
    await nb('ls-add', 'sw0');
    await nb('lr-add', 'gr0', '--', 'set', 'Logical_Router', 'gr0', 'options:chassis=node-1');
    await nb('lrp-add', 'gr0', 'gr0-sw0', '0a:58:0a:00:00:01', '10.0.0.1/24');
    await bed.central.addRouterLsp('sw0', 'sw0-gr0', 'gr0-sw0');
    await nb('lrp-add', 'gr0', 'gr0-ext', '0a:58:ac:10:00:01', '172.16.0.1/24');
    await nb('ls-add', 'ext');
    await bed.central.addRouterLsp('ext', 'ext-gr0', 'gr0-ext');
    await bed.central.addLocalnetLsp('ext', 'ext-localnet', 'external');
    await nb('lsp-add', 'sw0', 'pod-a', '--', 'lsp-set-addresses', 'pod-a', '0a:58:0a:00:00:05 10.0.0.5');
    await nb('lsp-add', 'sw0', 'pod-b', '--', 'lsp-set-addresses', 'pod-b', '0a:58:0a:00:00:06 10.0.0.6');

    const node = bed.node('node-1');
    const a = await node.plugPod({
      netns: 'pod-a',
      ifaceId: 'pod-a',
      mac: '0a:58:0a:00:00:05',
      ips: ['10.0.0.5/24'],
      gateway: '10.0.0.1',
    });
    const b = await node.plugPod({
      netns: 'pod-b',
      ifaceId: 'pod-b',
      mac: '0a:58:0a:00:00:06',
      ips: ['10.0.0.6/24'],
      gateway: '10.0.0.1',
    });
    const ext = await node.attachExternalNetwork({
      network: 'external',
      netns: 'ext',
      ip: '172.16.0.100/24',
      gateway: '172.16.0.1',
    });
    servers.push(await TcpServer.start(b.netns, 8080, 'pod-b'));
    servers.push(await TcpServer.start(a.netns, 8080, 'pod-a'));
    servers.push(await TcpServer.start(ext.netns, 9000, 'external'));

    await nb('lb-add', 'lb-ext', '172.16.0.10:80', '10.0.0.6:8080', 'tcp');
    await nb('lr-lb-add', 'gr0', 'lb-ext');
    await nb('lr-nat-add', 'gr0', 'dnat_and_snat', '172.16.0.20', '10.0.0.5');
    await nb('--wait=hv', 'sync');

    // Router LB: client address preserved (no lb_force_snat_ip).
    expect(await tcpRequest(ext.netns, '172.16.0.10', 80)).toBe('pod-b 172.16.0.100');
    // EIP inbound: DNAT to pod-a.
    expect(await tcpRequest(ext.netns, '172.16.0.20', 8080)).toBe('pod-a 172.16.0.100');
    // EIP outbound: pod-a is seen outside as 172.16.0.20, pod-b (no NAT) by its own address.
    expect(await tcpRequest(a.netns, '172.16.0.100', 9000)).toBe('external 172.16.0.20');
    expect(await tcpRequest(b.netns, '172.16.0.100', 9000)).toBe('external 10.0.0.6');
  });
});
