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
    scenarios: { clusterIP: { vpc: 'blue' }, eip: { pool: 'pub' } },
  },
};

function stateOf(r: TranslateResult): DesiredState {
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.state;
}

describe('service-gateway (scenario 4): one EIP, backends in two VPCs', () => {
  let bed: OvnTestbed;
  let nb: Northbound;
  const servers: TcpServer[] = [];
  /** Connections to the EIP and how many were lost (first SYN), over the whole file. */
  const tally = { connections: 0, lost: 0, warmupFailures: 0 };
  const backends: YusurBackend[] = [
    { kind: 'Pod', name: 'shop/web-blue', vpc: 'blue', address: '10.1.0.10' },
    { kind: 'Pod', name: 'shop/web-green', vpc: 'green', address: '10.2.0.10' },
  ];
  let ext: { netns: string };
  let blueNs: string;
  let greenNs: string;
  const translate = (bs: YusurBackend[]) =>
    translateYusurService(service, {
      vpc: 'blue',
      vpcs: [vpc('blue'), vpc('green')],
      eipPools: [pool],
      backends: bs,
      // A ClusterIP too, so blue's switches carry a load balancer (conntrack on every port) as in a real VPC.
      clusterIPs: ['10.96.1.10'],
      eip: { address: EIP, pool: 'pub' },
      serviceGatewayLinks: LINKS,
    });

  beforeAll(async () => {
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
    // Warm-up: the first connection right after programming can lose its first SYN, and OVN 23.03 does not
    // force-SNAT a retransmitted SYN (ADR 0004), so it may fail once. Every assertion below runs after one success.
    for (let i = 0; i < 10; i++) {
      if ((await tcpRequest(ext.netns, EIP, 80, 3_000).catch(() => '')) !== '') break;
      tally.warmupFailures++;
    }
  }, 240_000);

  afterAll(async () => {
    // The figures behind the README's known limitation, per release (results/ovn-versions.md).
    if (bed) {
      console.log(
        `service-gateway on ${bed.release.description}: ${tally.lost} of ${tally.connections} connections lost, ` +
          `${tally.warmupFailures} failed warm-up connection(s)`,
      );
    }
    for (const s of servers) await s.stop();
    await nb?.close();
    await bed?.stop();
  }, 60_000);

  /**
   * Who answers `n` connections to the EIP. KNOWN ISSUE (Debian's OVN 23.03.1, userspace datapath; ADR 0004): now
   * and then a connection's first SYN is lost on this 7-stage path and OVN does not force-SNAT the retransmitted
   * SYN, so that one connection times out. Lost connections are counted and bounded, never ignored.
   */
  async function answers(n: number, maxLost = Math.ceil(n / 12)): Promise<Set<string>> {
    const seen = new Set<string>();
    const lost: string[] = [];
    tally.connections += n;
    for (let i = 0; i < n; i++) {
      await tcpRequest(ext.netns, EIP, 80).then(
        (reply) => seen.add(reply),
        (e: Error) => lost.push(e.message.split('\n').pop()!),
      );
    }
    tally.lost += lost.length;
    if (lost.length > maxLost) throw new Error(`${lost.length} of ${n} connections lost: ${lost.join('; ')}`);
    return seen;
  }

  it('answers on the EIP from both VPCs; each backend sees the service-gateway system IP of its VPC link', async () => {
    const seen = await answers(24);
    // blue's link 100.66.0.4/30 → service-gateway side .5; green's 100.66.0.8/30 → .9.
    expect([...seen].sort()).toEqual(['blue 100.66.0.5', 'green 100.66.0.9']);
  });

  it('keeps VPCs isolated: no path from one VPC to the other, nor from outside to a backend address', async () => {
    await expect(tcpRequest(blueNs, '10.2.0.10', 9090, 2_000)).rejects.toThrow();
    await expect(tcpRequest(ext.netns, '10.2.0.10', 9090, 2_000)).rejects.toThrow();
    await expect(tcpRequest(ext.netns, '100.66.0.9', 9090, 2_000)).rejects.toThrow();
  });

  it('an unhealthy backend leaves the EIP load balancer and comes back', async () => {
    const apply = async (bs: YusurBackend[]) => {
      await nb.applier.apply(stateOf(translate(bs).result), 'e2e health');
      await bed.central.nbctl('--wait=hv', 'sync');
    };
    await apply([backends[0], { ...backends[1], healthy: false }]);
    expect([...(await answers(10))]).toEqual(['blue 100.66.0.5']);
    await apply(backends);
    expect([...(await answers(24))].sort()).toEqual(['blue 100.66.0.5', 'green 100.66.0.9']);
  });

  it('removes everything it created when the service-gateway is no longer needed', async () => {
    const owner = { kind: 'YusurService', name: 'shop/web' };
    // Backends only in the Service's VPC: the EIP moves to the VPC router; no service-gateway rows remain.
    const single = translate([backends[0]]);
    expect(single.eipMode).toBe('vpc');
    await nb.applier.apply(stateOf(single.result), 'e2e one vpc');
    await nb.applier.apply({ owner, rows: [], memberships: [] }, 'e2e delete');
    await bed.central.nbctl('--wait=hv', 'sync');
    const routers = await bed.central.nbctl('--bare', '--columns=name', 'list', 'Logical_Router');
    expect(routers.split(/\s+/).filter(Boolean).sort()).toEqual(['eip-pub-gw', 'vpc-blue', 'vpc-green']);
    const switches = await bed.central.nbctl('--bare', '--columns=name', 'list', 'Logical_Switch');
    expect(switches).not.toContain('svcgw');
    const lrps = await bed.central.nbctl('--bare', '--columns=name', 'list', 'Logical_Router_Port');
    expect(lrps).not.toContain('svcgw');
    expect(await bed.central.nbctl('lr-route-list', 'eip-pub-gw')).not.toContain(EIP);
    expect(await bed.central.nbctl('--bare', '--columns=name', 'list', 'Load_Balancer')).toBe('');
    expect(await bed.central.nbctl('--bare', '--columns=load_balancer', 'list', 'Load_Balancer_Group')).toBe('');
    await expect(tcpRequest(ext.netns, EIP, 80, 2_000)).rejects.toThrow();
  });
});
