import { type EipPool, macFromIp } from '@ycloud/api';
import { TOPOLOGY_RESOURCES } from '@ycloud/controllers';
import { type KubeClient, type KubeObject, Resources } from '@ycloud/k8s';
import {
  ControllerTestEnv,
  KubeControlPlane,
  NetnsEndpoint,
  OvnTestbed,
  TEST_EIP_NETWORK,
  TcpServer,
  eventually,
  testEipPoolSpec,
  createLoadBalancerService,
} from '@ycloud/testbed';
import { type ClientAttempt, TcpClientLoop } from '@ycloud/testbed/tcp-client-loop';

const GATEWAYS = ['gw-1', 'gw-2'];
const ROUTER_IP = TEST_EIP_NETWORK.routerAddress;
/** Outage bound (kill → first successful connection through the other gateway); see results/eip-failover.md. */
const OUTAGE_BOUND_MS = 15_000;

interface FailoverRun {
  run: number;
  killed: string;
  after: string;
  outageMs: number;
  notReadyToOkMs: number;
  /** Milliseconds after the NotReady patch at which each step was first seen (polled every ~50 ms). */
  steps: Record<'poolStatus' | 'nbChassis' | 'sbBinding' | 'bridgeLearnt', number>;
  failed: number;
  restoredActive: string;
}

/**
 * Issue 5, failover with real traffic: two gateway nodes share one external L2 network (a Linux bridge that learns
 * MACs); a client there connects to a LoadBalancer Service's EIP every 150 ms. The active gateway node dies
 * (ovn-controller and ovs-vswitchd SIGKILLed, its Node marked NotReady as the node lifecycle controller would); the
 * controller moves the pool's gateway router and the VPC gateway port to the other node, whose ovn-controller
 * announces the router's addresses with GARPs (`nat-addresses=router`), and traffic resumes. The node comes back;
 * traffic keeps flowing and the gateway stays where it is.
 */
describe('EIP gateway failover between two gateway nodes (real traffic)', () => {
  let env: ControllerTestEnv;
  let bed: OvnTestbed;
  let k8s: KubeControlPlane;
  let kube: KubeClient;
  let loop: TcpClientLoop | undefined;
  const servers: TcpServer[] = [];
  let ext: NetnsEndpoint;
  const runs: FailoverRun[] = [];

  const nb = (...a: string[]) => bed.central.nbctl(...a);
  const pool = () => kube.get<EipPool & KubeObject>(TOPOLOGY_RESOURCES.EipPool, undefined, 'ext');
  const activeNode = async () => (await pool()).status?.activeGatewayNode;
  /** Where the pool's gateway router really runs: the chassis bound to its port on the external switch. */
  const boundChassis = async () => {
    const uuid = await bed.central.sbctl(
      '--bare',
      '--columns=chassis',
      'find',
      'Port_Binding',
      'logical_port=eip-ext-external-to-gw',
    );
    return uuid ? bed.central.sbctl('--bare', '--columns=name', 'list', 'Chassis', uuid) : '';
  };
  /** Waits until the attempts started since `t` satisfy `ok`; on timeout says what the loop saw, briefly. */
  const waitAttempts = async (t: number, ok: (a: ClientAttempt[]) => boolean, what: string, timeoutMs = 60_000) => {
    try {
      return await eventually(async () => loop!.since(t), ok, what, timeoutMs, 50);
    } catch {
      const a = loop!.since(t);
      const errors = [...new Set(a.filter((x) => !x.ok).map((x) => x.error))].join(',');
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}: ${a.length} attempts, ${a.filter((x) => x.ok).length} ok, errors ${errors}`,
      );
    }
  };
  /** When `probe` first satisfies `ok` (polled every 50 ms, bounded): the timeline of a failover. */
  const firstSeen = async <T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string) =>
    (await eventually(probe, ok, what, 60_000, 50)) && Date.now();
  /** As the node lifecycle controller writes it when a kubelet stops posting status (or as a kubelet comes back). */
  const setNodeReady = (name: string, ready: boolean) =>
    kube.mergePatch(
      Resources.nodes,
      undefined,
      name,
      {
        status: {
          conditions: [
            ready
              ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test bed' }
              : {
                  type: 'Ready',
                  status: 'Unknown',
                  reason: 'NodeStatusUnknown',
                  message: 'Kubelet stopped posting node status.',
                },
          ],
        },
      },
      'status',
    );

  beforeAll(async () => {
    env = await ControllerTestEnv.start({
      nodes: ['node-1', ...GATEWAYS],
      gatewayNodes: GATEWAYS,
      kubeNodes: true,
      namespaces: ['blue'],
      config: { eip: { transitCIDR: '100.65.0.0/16' } },
      logLevel: 'warn',
    });
    ({ testbed: bed, k8s, kube } = env);
  }, 240_000);
  afterAll(async () => {
    await loop?.stop();
    for (const s of servers) await s.stop();
    await env?.stop();
  }, 120_000);

  it('serves the EIP through gw-1 on a shared external network', async () => {
    ext = await bed.addSharedExternalNetwork({
      network: 'external',
      nodes: GATEWAYS,
      client: { ...TEST_EIP_NETWORK.client, gateway: ROUTER_IP },
    });
    await env.createTopology('EipPool', 'ext', testEipPoolSpec(GATEWAYS));
    await env.createTopology('Vpc', 'blue', { namespaces: ['blue'], externalGateway: { eipPool: 'ext' } });
    await env.createTopology('Subnet', 'blue', { vpc: 'blue', cidrBlocks: ['10.1.0.0/24'], namespaces: ['blue'] });
    await eventually(
      () => nb('--bare', '--columns=name', 'list', 'Logical_Switch_Port'),
      (t) => /eip-ext-transit-to-vpc-blue/.test(t),
      'topology in NB',
    );
    const node = bed.node('node-1');
    for (const [id, last] of [
      ['blue-a', 5],
      ['blue-b', 6],
    ] as const) {
      const mac = `0a:58:0a:01:00:0${last}`;
      await nb('lsp-add', 'subnet-blue', id, '--', 'lsp-set-addresses', id, `${mac} 10.1.0.${last}`);
      const pod = await node.plugPod({ netns: id, ifaceId: id, mac, ips: [`10.1.0.${last}/24`], gateway: '10.1.0.1' });
      servers.push(await TcpServer.start(pod.netns, 8080, id));
    }
    const eip = await createLoadBalancerService(k8s.kubeConfig, {
      namespace: 'blue',
      name: 'web',
      port: 80,
      targetPort: 8080,
      endpoints: ['10.1.0.5', '10.1.0.6'],
    });
    // The pool's status is written by its own reconcile, which a loaded machine may finish after the Service's EIP.
    expect(await eventually(activeNode, (n) => n === 'gw-1', 'gw-1 active in the pool status')).toBe('gw-1');
    expect(await eventually(boundChassis, (c) => c === 'gw-1', 'gateway router bound on gw-1')).toBe('gw-1');

    // L2/ARP first (ping), then TCP.
    await eventually(
      () => ext.exec(['ping', '-c1', '-W1', ROUTER_IP], { allowFailure: true }).then((r) => r.code),
      (c) => c === 0,
      'the gateway router answers ping from the external client',
      60_000,
    );
    loop = await TcpClientLoop.start(ext.netns, eip, 80, { periodMs: 150, timeoutMs: 1_500 });
    const t0 = Date.now();
    await waitAttempts(t0, (a) => a.filter((x) => x.ok).length >= 10, 'ten answers through gw-1', 60_000);
    expect([...TcpClientLoop.answeredBy(loop.since(t0))].sort()).toEqual(['blue-a', 'blue-b']);
    // The shared bridge learnt the router's MAC on gw-1's uplink (up0).
    expect(await bed.sharedNetworkPortOf('external', macFromIp(ROUTER_IP))).toBe('up0');
  }, 240_000);

  for (const run of [1, 2, 3]) {
    it(`run ${run}: the active gateway node dies, traffic resumes through the other, and keeps flowing when it returns`, async () => {
      const killed = (await activeNode())!;
      const other = GATEWAYS.find((n) => n !== killed)!;
      // Steady before the kill.
      const pre = Date.now();
      await waitAttempts(pre, (a) => a.filter((x) => x.ok).length >= 5, 'answers before the kill', 60_000);

      const killAt = Date.now();
      await bed.node(killed).killDatapath();
      const notReadyAt = Date.now();
      const mac = macFromIp(ROUTER_IP);
      const uplink = `up${GATEWAYS.indexOf(other)}`;
      const timeline = Promise.all([
        firstSeen(activeNode, (n) => n === other, 'pool status'),
        firstSeen(
          () => nb('get', 'Logical_Router', 'eip-ext-gw', 'options:chassis'),
          (c) => c === other,
          'NB chassis',
        ),
        firstSeen(boundChassis, (c) => c === other, 'SB binding'),
        firstSeen(
          () => bed.sharedNetworkPortOf('external', mac),
          (p) => p === uplink,
          'bridge learnt',
        ),
      ]);
      await setNodeReady(killed, false);
      // The first connection that completed after the datapath was gone (attempts overlap: earliest end).
      const firstOk = (
        await waitAttempts(notReadyAt, (a) => a.some((x) => x.ok), `an answer through ${other} after ${killed} died`)
      )
        .filter((x) => x.ok)
        .sort((x, y) => x.end - y.end)[0];
      const outageMs = firstOk.end - killAt;
      const [poolStatus, nbChassis, sbBinding, bridgeLearnt] = (await timeline).map((t) => t - notReadyAt);
      expect(await activeNode()).toBe(other);
      expect(await boundChassis()).toBe(other);
      // The shared bridge learnt the router's MAC on the new node's uplink (ovn-controller's GARP for the
      // l3gateway port's nat_addresses, which northd fills with the router port's MAC and address).
      expect(await bed.sharedNetworkPortOf('external', mac)).toBe(uplink);
      // Steady after: the next ten attempts all succeed.
      const resumed = firstOk.end;
      const after = await waitAttempts(
        resumed,
        (a) => a.length >= 10 && a.slice(0, 10).every((x) => x.end > 0),
        'ten attempts after resuming',
        60_000,
      );
      expect(after.slice(0, 10).filter((a) => !a.ok)).toEqual([]);
      // Attempts that started after the kill and failed (all have ended by now: timeout 1.5 s).
      const failed = loop!.since(killAt).filter((a) => !a.ok && a.start < firstOk.start).length;

      // The node comes back (vswitchd, ovn-controller, Node Ready): no failed attempt while it rejoins, and the
      // gateway stays on the node that took over (no second outage for a move back).
      const backAt = Date.now();
      await bed.node(killed).restartDatapath();
      await setNodeReady(killed, true);
      const settledAt = Date.now();
      const window = await waitAttempts(
        backAt,
        (a) => a.filter((x) => x.start > settledAt + 5_000).length >= 5,
        'five seconds of traffic after the node returned',
        60_000,
      );
      const restoredActive = (await activeNode())!;
      const lost = window.filter((a: ClientAttempt) => !a.ok);
      runs.push({
        run,
        killed,
        after: other,
        outageMs,
        notReadyToOkMs: firstOk.end - notReadyAt,
        steps: { poolStatus, nbChassis, sbBinding, bridgeLearnt },
        failed,
        restoredActive,
      });
      console.log(
        `failover run ${run}: ${killed} → ${other}: outage ${outageMs} ms (NotReady → first answer ` +
          `${firstOk.end - notReadyAt} ms, ${failed} failed attempts; after NotReady: pool status ${poolStatus}, ` +
          `NB ${nbChassis}, SB ${sbBinding}, bridge ${bridgeLearnt} ms); after ${killed} returned: active ` +
          `${restoredActive}, ${lost.length} failed of ${window.length}`,
      );
      expect(lost).toEqual([]);
      expect(restoredActive).toBe(other);
      expect(await boundChassis()).toBe(other);
      expect(outageMs).toBeLessThan(OUTAGE_BOUND_MS);
    }, 240_000);
  }

  it('summarises the runs', () => {
    console.log(`failover runs: ${JSON.stringify(runs)}`);
    expect(runs).toHaveLength(3);
  });
});
