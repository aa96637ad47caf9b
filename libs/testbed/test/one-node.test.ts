import { OvnTestbed, TcpServer, tcpRequest } from '@ycloud/testbed';

describe('one node: pods on a logical switch', () => {
  let bed: OvnTestbed;
  const servers: TcpServer[] = [];

  beforeAll(async () => {
    bed = await OvnTestbed.start({ nodes: ['node-1'] });
  }, 120_000);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await bed?.stop();
  }, 60_000);

  it('carries pod-to-pod TCP and pod-to-LB-VIP TCP through conntrack', async () => {
    const nb = (...a: string[]) => bed.central.nbctl(...a);
    await nb('ls-add', 'sw0');
    await nb('lr-add', 'lr0');
    await nb('lrp-add', 'lr0', 'lr0-sw0', '0a:58:0a:00:00:01', '10.0.0.1/24');
    await bed.central.addRouterLsp('sw0', 'sw0-lr0', 'lr0-sw0');
    for (const [name, mac, ip] of [
      ['pod-a', '0a:58:0a:00:00:05', '10.0.0.5'],
      ['pod-b', '0a:58:0a:00:00:06', '10.0.0.6'],
    ]) {
      await nb('lsp-add', 'sw0', name, '--', 'lsp-set-addresses', name, `${mac} ${ip}`);
    }
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
    servers.push(await TcpServer.start(b.netns, 8080, 'pod-b'));

    expect(await tcpRequest(a.netns, '10.0.0.6', 8080)).toBe('pod-b 10.0.0.5');

    await nb('lb-add', 'lb0', '172.30.0.10:80', '10.0.0.6:8080', 'tcp');
    await nb('ls-lb-add', 'sw0', 'lb0');
    await bed.central.nbctl('--wait=hv', 'sync');
    expect(await tcpRequest(a.netns, '172.30.0.10', 80)).toBe('pod-b 10.0.0.5');
    const trace = await bed.trace({
      datapath: 'sw0',
      microflow:
        'inport=="pod-a" && eth.src==0a:58:0a:00:00:05 && eth.dst==0a:58:0a:00:00:01 && ip4.src==10.0.0.5 && ip4.dst==172.30.0.10 && ip.ttl==64 && tcp.dst==80',
      flags: ['--ct=new'],
    });
    expect(trace).toMatch(/ct_lb_mark|ct_lb/);
    expect(trace).toContain('output to "pod-b"');
    const ct = await node.appctl('vswitchd', 'dpctl/dump-conntrack');
    expect(ct).toMatch(/dst=172\.30\.0\.10.*dport=80/);
  });
});
