import { API_VERSION, EipPool, Subnet, Vpc, YusurService } from '@ycloud/api';
import { Northbound } from '@ycloud/controllers';
import type { DesiredState } from '@ycloud/ovn';
import { OvnTestbed, TcpServer, tcpRequest } from '@ycloud/testbed';
import {
  portAllocation,
  translateEipPool,
  translatePodPort,
  translateSubnet,
  translateVpc,
  translateYusurService,
  type TranslateResult,
  type YusurBackend,
} from '@ycloud/translate';

/**
 * Scenario 4 with real traffic: one EIP in front of backends in two VPCs. Rows come from the translators through
 * the applier (no apiserver). The external client sits on the pool's localnet network; backend "blue" is on the
 * gateway node, backend "green" on the other node (the path crosses a Geneve tunnel).
 */
const TRANSIT = '100.65.0.0/16';
const EIP = '172.16.0.50';
const LINKS = { eip: '100.66.0.0/30', vpcs: { blue: '100.66.0.4/30', green: '100.66.0.8/30' } };
const meta = (name: string, namespace?: string) => ({ name, ...(namespace ? { namespace } : {}) });
const vpc = (name: string): Vpc => ({ apiVersion: API_VERSION, kind: 'Vpc', metadata: meta(name), spec: {} });
const subnet = (name: string, v: string, cidr: string): Subnet => ({
  apiVersion: API_VERSION,
  kind: 'Subnet',
  metadata: meta(name),
  spec: { vpc: v, cidrBlocks: [cidr] },
});
const pool: EipPool = {
  apiVersion: API_VERSION,
  kind: 'EipPool',
  metadata: meta('pub'),
  spec: { networkName: 'external', cidr: '172.16.0.0/24', gateway: '172.16.0.254', gatewayNodes: ['node-1'] },
} as EipPool;
const service: YusurService = {
  apiVersion: API_VERSION,
  kind: 'YusurService',
  metadata: meta('web', 'shop'),
  spec: {
    backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    scenarios: { eip: { pool: 'pub' } },
  },
};

function stateOf(r: TranslateResult): DesiredState {
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.state;
}

async function main() {
  let bed!: OvnTestbed;
  let nb!: Northbound;
  const servers: TcpServer[] = [];
  const backends: YusurBackend[] = [
    { kind: 'Pod', name: 'shop/web-blue', vpc: 'blue', address: '10.1.0.10' },
    { kind: 'Pod', name: 'shop/web-green', vpc: 'green', address: '10.2.0.10' },
  ];
  let ext!: { netns: string };
  let blueNs = '';
  let greenNs = '';
  const expect = (x: unknown) => ({
    toBe: (y: unknown) => {
      if (x !== y) throw new Error(`${String(x)} != ${String(y)}`);
    },
  });
  const translate = (bs: YusurBackend[]) =>
    translateYusurService(service, {
      vpc: 'blue',
      vpcs: [vpc('blue'), vpc('green')],
      eipPools: [pool],
      backends: bs,
      eip: { address: EIP, pool: 'pub' },
      serviceGatewayLinks: LINKS,
    });
  try {
    bed = await OvnTestbed.start({ nodes: ['node-1', 'node-2'], gatewayNodes: ['node-1'] });
    nb = await Northbound.connect({ remotes: bed.central.nbRemote });
    const apply = async (s: DesiredState) => nb.applier.apply(s, 'e2e');
    const vpcs = [vpc('blue'), vpc('green')];
    const subnets = [subnet('blue-a', 'blue', '10.1.0.0/24'), subnet('green-a', 'green', '10.2.0.0/24')];
    for (const v of vpcs) await apply(stateOf(translateVpc(v, { transitCIDR: TRANSIT })));
    for (const s of subnets) await apply(stateOf(translateSubnet(s, { vpcs, subnets })));
    await apply(
      stateOf(
        translateEipPool(pool, {
          vpcs,
          eips: [],
          eipPools: [pool],
          transitCIDR: TRANSIT,
          serviceGatewayEips: [{ pool: 'pub', address: EIP }],
        }),
      ),
    );
    const plug = async (node: string, sub: Subnet, name: string, ip: string) => {
      const alloc = portAllocation(sub, [ip], { mtu: 1400 });
      const port = translatePodPort({ namespace: 'shop', name, nodeName: node }, alloc);
      await apply(port.state);
      return bed.node(node).plugPod({
        netns: name,
        ifaceId: `pod.shop.${name}`,
        mac: alloc.mac,
        ips: alloc.ips,
        gateway: alloc.gateways[0],
      });
    };
    blueNs = (await plug('node-1', subnets[0], 'web-blue', '10.1.0.10')).netns;
    greenNs = (await plug('node-2', subnets[1], 'web-green', '10.2.0.10')).netns;
    servers.push(await TcpServer.start(blueNs, 8080, 'blue'));
    servers.push(await TcpServer.start(greenNs, 8080, 'green'));
    servers.push(await TcpServer.start(greenNs, 9090, 'green-direct'));
    ext = await bed.node('node-1').attachExternalNetwork({
      network: 'external',
      netns: 'ext',
      ip: '172.16.0.100/24',
      gateway: '172.16.0.254',
    });
    const t = translate(backends);
    expect(t.eipMode).toBe('service-gateway');
    await apply(stateOf(t.result));
    await bed.central.nbctl('--wait=hv', 'sync');

    console.log(await tcpRequest(ext.netns, EIP, 80, 3000).catch((e: Error) => e.message.split('\n').pop()));
    const fs = require('fs');
    fs.writeFileSync(
      '/tmp/sgdbg/nb.txt',
      (await bed.central.nbctl('show')) +
        '\n' +
        (await bed.central.nbctl('lr-route-list', 'svcgw-shop.web')) +
        (await bed.central.nbctl('lr-route-list', 'eip-pub-gw')) +
        (await bed.central.nbctl('lr-nat-list', 'eip-pub-gw')) +
        (await bed.central.nbctl('list', 'Logical_Router', 'svcgw-shop.web')),
    );
    const lsps = await bed.central.nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'type=localnet');
    const mac = await require('child_process').execSync(`ip -n ${ext.netns} -o link`).toString();
    fs.writeFileSync(
      '/tmp/sgdbg/ext.txt',
      lsps + '\n' + mac + (await require('child_process').execSync(`ip -n ${ext.netns} neigh`).toString()),
    );
    const extMac = /link\/ether ([0-9a-f:]+)/.exec(mac.split('\n').find((l: string) => !l.includes('lo:')) ?? '')?.[1];
    const lrpMac = (await bed.central.nbctl('get', 'Logical_Router_Port', 'eip-pub-gw-to-external', 'mac')).replace(
      /"/g,
      '',
    );
    const tr = await bed
      .trace({
        datapath: 'eip-pub-external',
        microflow: `inport=="eip-pub-localnet" && eth.src==${extMac} && eth.dst==${lrpMac} && ip4.src==172.16.0.100 && ip4.dst==${EIP} && ip.ttl==64 && tcp.dst==80 && tcp.src==40000`,
        flags: ['--ct=new'],
      })
      .catch((e: Error) => e.message);
    fs.writeFileSync('/tmp/sgdbg/trace-in.txt', tr);
    if (process.env.HOLD) await new Promise((r) => setTimeout(r, Number(process.env.HOLD) * 1000));
  } finally {
    for (const s of servers) await s.stop();
    await nb?.close();
    await bed?.stop();
  }
}
void main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
