import { OvnTestbed, TcpServer, tcpRequest } from '@ycloud/testbed';

// Two chassis joined by Geneve over an underlay (veth + Linux bridge); userspace tunnelling with the tunnel IP
// on each node's br-phy.
describe('two nodes over Geneve', () => {
  let bed: OvnTestbed;
  const servers: TcpServer[] = [];

  beforeAll(async () => {
    bed = await OvnTestbed.start({ nodes: ['node-1', 'node-2'] });
  }, 180_000);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await bed?.stop();
  }, 60_000);

  it('carries pod-to-pod TCP and LB VIP TCP between pods on different nodes', async () => {
    const nb = (...a: string[]) => bed.central.nbctl(...a);
    await nb('ls-add', 'sw0');
    await nb('lr-add', 'lr0');
    await nb('lrp-add', 'lr0', 'lr0-sw0', '0a:58:0a:00:00:01', '10.0.0.1/24');
    await bed.central.addRouterLsp('sw0', 'sw0-lr0', 'lr0-sw0');
    await nb('lsp-add', 'sw0', 'pod-a', '--', 'lsp-set-addresses', 'pod-a', '0a:58:0a:00:00:05 10.0.0.5');
    await nb('lsp-add', 'sw0', 'pod-b', '--', 'lsp-set-addresses', 'pod-b', '0a:58:0a:00:00:06 10.0.0.6');
    const a = await bed.node('node-1').plugPod({
      netns: 'pod-a',
      ifaceId: 'pod-a',
      mac: '0a:58:0a:00:00:05',
      ips: ['10.0.0.5/24'],
      gateway: '10.0.0.1',
    });
    const b = await bed.node('node-2').plugPod({
      netns: 'pod-b',
      ifaceId: 'pod-b',
      mac: '0a:58:0a:00:00:06',
      ips: ['10.0.0.6/24'],
      gateway: '10.0.0.1',
    });
    servers.push(await TcpServer.start(b.netns, 8080, 'pod-b'));
    await nb('lb-add', 'lb0', '172.30.0.10:80', '10.0.0.6:8080', 'tcp');
    await nb('ls-lb-add', 'sw0', 'lb0');
    await nb('--wait=hv', 'sync');

    // Both chassis see each other's tunnel.
    const encaps = await bed.central.sbctl('--bare', '--columns=ip', 'list', 'Encap');
    expect(encaps.split(/\s+/).sort()).toEqual(['192.168.100.1', '192.168.100.2']);

    expect(await tcpRequest(a.netns, '10.0.0.6', 8080, 10_000)).toBe('pod-b 10.0.0.5');
    expect(await tcpRequest(a.netns, '172.30.0.10', 80, 10_000)).toBe('pod-b 10.0.0.5');
    const tunnels = await bed.node('node-1').ovsVsctl('--bare', '--columns=name', 'find', 'Interface', 'type=geneve');
    expect(tunnels).toMatch(/ovn-node-2-0/);
  });
});
