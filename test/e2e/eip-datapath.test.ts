import { OvnTestbed, TcpServer, attachEipClient, netnsExecText, tcpRequest } from '@ycloud/testbed';

/**
 * The two datapath facts ADR 0001 rests on, checked with hand-made rows (no controller): proxy ARP
 * (`arp_proxy`) on the router-type port of a localnet switch, and LB DNAT on a VPC router's distributed gateway
 * port for traffic entering from the pool's transit switch, with the reply going back the same way.
 */
describe('EIP gateway datapath (ADR 0001)', () => {
  let bed: OvnTestbed;
  const servers: TcpServer[] = [];

  beforeAll(async () => {
    bed = await OvnTestbed.start({ nodes: ['node-1'], gatewayNodes: ['node-1'] });
  }, 120_000);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await bed?.stop();
  }, 60_000);

  it('arp_proxy does not answer from a localnet port (OVN 23.03; 25.03 does); an identity dnat on the gateway router does, and the VPC router gateway port DNATs', async () => {
    const nb = (...a: string[]) => bed.central.nbctl(...a);
    const routerLsp = (sw: string, lsp: string, lrp: string) => bed.central.addRouterLsp(sw, lsp, lrp);
    // VPC: distributed router with one subnet and one gateway port on the transit switch.
    await nb('lr-add', 'vr');
    await nb('ls-add', 'sub');
    await nb('lrp-add', 'vr', 'vr-sub', '0a:58:0a:01:00:01', '10.1.0.1/24');
    await routerLsp('sub', 'sub-vr', 'vr-sub');
    await nb('ls-add', 'transit');
    await nb('lrp-add', 'vr', 'vr-transit', '0a:58:64:41:00:02', '100.65.0.2/16');
    await nb('lrp-set-gateway-chassis', 'vr-transit', 'node-1', '10');
    await routerLsp('transit', 'transit-vr', 'vr-transit');
    await nb('lr-route-add', 'vr', '0.0.0.0/0', '100.65.0.1', 'vr-transit');
    // Pool: gateway router pinned to node-1, external switch with a localnet port.
    await nb('lr-add', 'gw', '--', 'set', 'Logical_Router', 'gw', 'options:chassis=node-1');
    await nb('lrp-add', 'gw', 'gw-transit', '0a:58:64:41:00:01', '100.65.0.1/16');
    await routerLsp('transit', 'transit-gw', 'gw-transit');
    await nb('lrp-add', 'gw', 'gw-ext', '0a:58:ac:10:00:01', '172.16.0.1/24');
    await nb('ls-add', 'ext');
    await routerLsp('ext', 'ext-gw', 'gw-ext');
    await bed.central.addLocalnetLsp('ext', 'ext-localnet', 'external');
    await nb('lsp-add', 'sub', 'pod-a', '--', 'lsp-set-addresses', 'pod-a', '0a:58:0a:01:00:05 10.1.0.5');
    const node = bed.node('node-1');
    const a = await node.plugPod({
      netns: 'pod-a',
      ifaceId: 'pod-a',
      mac: '0a:58:0a:01:00:05',
      ips: ['10.1.0.5/24'],
      gateway: '10.1.0.1',
    });
    const ext = await attachEipClient(node);
    servers.push(await TcpServer.start(a.netns, 8080, 'pod-a'));

    // The EIP: proxy ARP on the external switch, /32 to the VPC's transit address, LB on the VPC router.
    await nb('set', 'Logical_Switch_Port', 'ext-gw', 'options:arp_proxy=172.16.0.50');
    await nb('lr-route-add', 'gw', '172.16.0.50/32', '100.65.0.2', 'gw-transit');
    await nb('lb-add', 'eip-lb', '172.16.0.50:80', '10.1.0.5:8080', 'tcp');
    await nb('lr-lb-add', 'vr', 'eip-lb');
    await nb('--wait=hv', 'sync');

    if (bed.release.series === '23.03') {
      // arp_proxy on 23.03: northd skips the switch's ARP responder for requests that enter through a localnet port
      // (ls_in_arp_rsp, priority 100), so nobody answers and the client never sends the SYN.
      await expect(tcpRequest(ext.netns, '172.16.0.50', 80, 3000)).rejects.toThrow(/EHOSTUNREACH|timeout/);
    } else {
      // 25.03 answers proxy ARP from a localnet port too: the same EIP works without the identity dnat.
      expect(await tcpRequest(ext.netns, '172.16.0.50', 80)).toBe('pod-a 172.16.0.100');
    }

    // What works instead: an identity dnat row (external_ip = logical_ip = the EIP) on the gateway router. The
    // router answers ARP for NAT external addresses, translates nothing, and routes by the /32.
    await nb('remove', 'Logical_Switch_Port', 'ext-gw', 'options', 'arp_proxy');
    await nb('lr-nat-add', 'gw', 'dnat', '172.16.0.50', '172.16.0.50');
    await nb('--wait=hv', 'sync');
    await netnsExecText(ext.netns, ['ip', 'neigh', 'flush', 'all'], { allowFailure: true });
    // Client address preserved; the DNAT to the pod happened on the VPC router's gateway port.
    expect(await tcpRequest(ext.netns, '172.16.0.50', 80)).toBe('pod-a 172.16.0.100');
  });
});
