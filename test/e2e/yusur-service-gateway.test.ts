import { CoreV1Api } from '@kubernetes/client-node';
import {
  API_VERSION,
  IP_ALLOCATION_ANNOTATION,
  parseIpAllocationAnnotation,
  type Eip,
  type YusurService,
} from '@ycloud/api';
import { TOPOLOGY_RESOURCES, YUSUR_RESOURCES } from '@ycloud/controllers';
import type { KubeClient, KubeObject } from '@ycloud/k8s';
import {
  ControllerTestEnv,
  TEST_EIP_NETWORK,
  KubeControlPlane,
  setPodStatus,
  OvnTestbed,
  TcpServer,
  attachEipClient,
  eventually,
  tcpRequest,
  testEipPoolSpec,
  type NetnsEndpoint,
  waitForCondition,
} from '@ycloud/testbed';

type Svc = YusurService & KubeObject;

/**
 * Scenario 4 driven by the controllers, with real traffic: a YusurService in namespace blue selects pods in blue
 * (Vpc blue, gateway node) and green (Vpc green, the other node) and publishes them on one EIP from a pool. The
 * controller allocates the service-gateway's link networks, the EipPool answers ARP for the EIP, and an external
 * client on the pool's localnet network reaches both backends, which see the system IP of their VPC's link.
 * Only the pods' interfaces are plugged by hand (no kubelet), at the addresses and ports the controller allocated.
 */
describe('YusurService service-gateway (scenario 4) by the controllers (real traffic)', () => {
  let env: ControllerTestEnv;
  let bed: OvnTestbed;
  let k8s: KubeControlPlane;
  let kube: KubeClient;
  let core: CoreV1Api;
  const servers: TcpServer[] = [];
  let ext: NetnsEndpoint;
  const netns: Record<string, string> = {};
  const podIps: Record<string, string> = {};
  let eip = '';

  const nb = (...a: string[]) => bed.central.nbctl(...a);
  const create = (kind: keyof typeof TOPOLOGY_RESOURCES, name: string, spec: unknown) =>
    env.createTopology(kind, name, spec);
  const getSvc = () => kube.get<Svc>(YUSUR_RESOURCES.YusurService, 'blue', 'web');
  const ready = (s: Svc) => s.status?.conditions?.find((c) => c.type === 'Ready');

  beforeAll(async () => {
    env = await ControllerTestEnv.start({
      nodes: ['node-1', 'node-2'],
      gatewayNodes: ['node-1'],
      kubeNodes: true,
      namespaces: ['blue', 'green'].map((name) => ({ name, labels: { shop: 'web' } })),
      config: { eip: { transitCIDR: '100.65.0.0/16' } },
    });
    ({ testbed: bed, k8s, kube } = env);
    core = k8s.kubeConfig.makeApiClient(CoreV1Api);

    await create('EipPool', 'ext', testEipPoolSpec(['node-1']));
    // No external gateway on either Vpc: the service-gateway links them to the pool itself (ADR 0004).
    await create('Vpc', 'blue', { namespaces: ['blue'], serviceCIDRs: ['10.201.0.0/24'] });
    await create('Subnet', 'blue', { vpc: 'blue', cidrBlocks: ['10.1.0.0/24'], namespaces: ['blue'] });
    await create('Vpc', 'green', { namespaces: ['green'] });
    await create('Subnet', 'green', { vpc: 'green', cidrBlocks: ['10.2.0.0/24'], namespaces: ['green'] });
    for (const s of ['blue', 'green']) await waitForCondition(kube, TOPOLOGY_RESOURCES.Subnet, undefined, s);

    // One backend pod per VPC: blue on the gateway node, green on the other (the path crosses the tunnel).
    for (const [ns, node] of [
      ['blue', 'node-1'],
      ['green', 'node-2'],
    ]) {
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
          spec: { nodeName: node, containers: [{ name: 'c', image: 'none', ports: [{ containerPort: 8080 }] }] },
        },
      });
      const pod = await eventually(
        () => core.readNamespacedPod({ namespace: ns, name: 'web' }),
        (p) => !!p.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION],
        `${ns}/web address`,
      );
      const ann = parseIpAllocationAnnotation(pod.metadata!.annotations![IP_ALLOCATION_ANNOTATION])!;
      const ep = await bed.node(node).plugPod({
        netns: `${ns}-web`,
        ifaceId: ann.logicalSwitchPort,
        mac: ann.mac,
        ips: ann.ips,
        gateway: ann.gateway,
      });
      netns[ns] = ep.netns;
      podIps[ns] = ann.ip.split('/')[0];
      // Plugged: report it Ready as a kubelet would (Pod backends follow readiness, like a Service's endpoints).
      await setPodStatus(k8s.kubeConfig, ns, 'web', { podIP: podIps[ns], ready: true });
      servers.push(await TcpServer.start(ep.netns, 8080, ns));
    }
    servers.push(await TcpServer.start(netns.green, 9090, 'green-direct'));
    ext = await attachEipClient(bed.node('node-1'));
  }, 300_000);

  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    await env?.stop();
  }, 120_000);

  /**
   * Who answers `n` connections to the EIP. KNOWN ISSUE (OVN 23.03.1, userspace datapath; ADR 0004): now and then a
   * connection's first SYN is lost on this path and OVN does not force-SNAT the retransmitted SYN, so that one
   * connection times out. Lost connections are counted, logged and bounded, never ignored.
   */
  async function answers(n: number, maxLost = Math.ceil(n / 12)): Promise<Set<string>> {
    const seen = new Set<string>();
    const lost: string[] = [];
    for (let i = 0; i < n; i++) {
      await tcpRequest(ext.netns, eip, 80).then(
        (reply) => seen.add(reply),
        (e: Error) => lost.push(e.message.split('\n').pop()!),
      );
    }
    if (lost.length) console.log(`${lost.length} of ${n} connections lost (first-SYN loss, ADR 0004)`);
    if (lost.length > maxLost) throw new Error(`${lost.length} of ${n} connections lost: ${lost.join('; ')}`);
    return seen;
  }

  it('publishes backends of two VPCs on one EIP; each backend sees its link system IP as source', async () => {
    const started = Date.now();
    await kube.create(YUSUR_RESOURCES.YusurService, 'blue', {
      apiVersion: API_VERSION,
      kind: 'YusurService',
      metadata: { name: 'web', namespace: 'blue' },
      spec: {
        backends: [
          {
            kind: 'Pod',
            selector: { matchLabels: { app: 'web' } },
            namespaceSelector: { matchLabels: { shop: 'web' } },
          },
        ],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
        // EIP only: a ClusterIP would leave green's backend out (a ClusterIP never crosses VPCs) and say so in Ready.
        scenarios: { eip: { pool: 'ext' } },
      },
    } as never);
    const svc = await eventually(
      getSvc,
      (s) => ready(s)?.status === 'True' && ready(s)?.observedGeneration === s.metadata.generation,
      'YusurService Ready',
    );
    expect(svc.status?.totalBackends).toBe(2);
    eip = svc.status!.eips![0];
    expect(eip).toBe('172.16.0.50');

    // What the controller allocated: a /30 per link from serviceGateway.linkCIDR, on the service-gateway's ports.
    const lrps = JSON.parse(await nb('--format=json', '--columns=name,networks', 'list', 'Logical_Router_Port')) as {
      data: Array<[string, string | ['set', string[]]]>;
    };
    const networks = Object.fromEntries(
      lrps.data.map(([name, n]) => [name, typeof n === 'string' ? [n] : n[1]]),
    ) as Record<string, string[]>;
    expect(networks['svcgw-blue.web-to-eip']).toEqual(['100.66.0.1/30']);
    expect(networks['svcgw-blue.web-to-vpc-blue']).toEqual(['100.66.0.5/30']);
    expect(networks['svcgw-blue.web-to-vpc-green']).toEqual(['100.66.0.9/30']);
    expect(networks['vpc-green-to-svcgw-blue.web']).toEqual(['100.66.0.10/30']);
    // The pool answers ARP for the EIP statelessly; the Eip object owns no route of its own.
    const nat = await eventually(
      () => nb('--bare', '--columns=external_ip,type,options', 'list', 'NAT'),
      (t) => t.includes(eip),
      'pool ARP row',
    );
    expect(nat).toContain('dnat_and_snat');
    expect(nat).toContain('stateless');
    const eipObj = await eventually(
      () => kube.get<Eip & KubeObject>(TOPOLOGY_RESOURCES.Eip, undefined, 'ysvc-blue-web'),
      (e) => e.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      'Eip Ready',
    );
    expect(eipObj.status?.address).toBe(eip);
    const routes = await nb('lr-route-list', 'eip-ext-gw');
    expect(routes.split('\n').filter((l) => l.includes(`${eip} `))).toHaveLength(1);
    expect(routes).toMatch(new RegExp(`${eip.replace(/\./g, '\\.')}\\s+100\\.66\\.0\\.1\\b`));

    await bed.central.nbctl('--wait=hv', 'sync');
    // Programming done: wait for the first answer (connections before the datapath is complete are not losses).
    await eventually(
      () => tcpRequest(ext.netns, eip, 80, 3_000).catch(() => ''),
      (r) => r !== '',
      'first answer on the EIP',
    );
    console.log(`YusurService created → first answer on the EIP after ${Date.now() - started} ms`);
    const seen = await answers(24);
    expect([...seen].sort()).toEqual(['blue 100.66.0.5', 'green 100.66.0.9']);
  });

  it('keeps VPCs isolated: no path from one VPC to the other, nor from outside to a backend', async () => {
    await expect(tcpRequest(netns.blue, podIps.green, 9090, 2_000)).rejects.toThrow();
    await expect(tcpRequest(ext.netns, podIps.green, 9090, 2_000)).rejects.toThrow();
    await expect(tcpRequest(ext.netns, '100.66.0.9', 9090, 2_000)).rejects.toThrow();
  });

  // Upstream: "should only allow access from service loadbalancer source ranges" (loadbalancer.go), for a
  // YusurService EIP: spec.scenarios.eip.sourceRanges, enforced on the EIP link switch before the service-gateway.
  it('should only allow access from spec.scenarios.eip.sourceRanges', async () => {
    const client = TEST_EIP_NETWORK.client.ip.split('/')[0];
    const ranges = (sourceRanges: string[] | null) =>
      kube.mergePatch(YUSUR_RESOURCES.YusurService, 'blue', 'web', { spec: { scenarios: { eip: { sourceRanges } } } });
    const acls = () => nb('--bare', '--columns=match', 'list', 'ACL');

    await ranges([`${client}/32`]);
    await eventually(acls, (m) => m.includes(`ip4.src != {${client}/32}`), 'the drop ACL');
    await eventually(
      () => tcpRequest(ext.netns, eip, 80, 3_000).catch(() => ''),
      (r) => r !== '',
      'the allowed client answered',
    );

    await ranges(['203.0.113.0/24']);
    await eventually(acls, (m) => m.includes('ip4.src != {203.0.113.0/24}'), 'the ACL follows the spec');
    await eventually(
      () =>
        tcpRequest(ext.netns, eip, 80, 2_000).then(
          () => 'answered',
          () => 'dropped',
        ),
      (r) => r === 'dropped',
      'the client outside the ranges dropped',
    );
    for (let i = 0; i < 3; i++) await expect(tcpRequest(ext.netns, eip, 80, 2_000)).rejects.toThrow();

    // A malformed range is refused by the apiserver, naming the field; the spec stays as it was.
    await expect(ranges(['not-a-cidr'])).rejects.toThrow(/sourceRanges/);
    expect((await getSvc()).spec.scenarios.eip?.sourceRanges).toEqual(['203.0.113.0/24']);

    await ranges(null);
    await eventually(acls, (m) => m === '', 'the ACLs removed');
    await eventually(
      () => tcpRequest(ext.netns, eip, 80, 3_000).catch(() => ''),
      (r) => r !== '',
      'everyone allowed again',
    );
  });

  it('deleting the YusurService removes the service-gateway, frees the EIP and stops the traffic', async () => {
    await kube.delete(YUSUR_RESOURCES.YusurService, 'blue', 'web');
    await eventually(
      () => nb('--bare', '--columns=name', 'list', 'Logical_Router'),
      (t) => !t.includes('svcgw'),
      'service-gateway router gone',
    );
    await eventually(
      () => kube.list(TOPOLOGY_RESOURCES.Eip).then((l) => l.items.length),
      (n) => n === 0,
      'Eip deleted',
    );
    await eventually(
      () => nb('--bare', '--columns=external_ip', 'list', 'NAT'),
      (t) => t === '',
      'pool ARP row gone',
    );
    expect(await nb('--bare', '--columns=name', 'list', 'Logical_Switch')).not.toContain('svcgw');
    expect(await nb('lr-route-list', 'eip-ext-gw')).not.toContain(eip);
    await expect(tcpRequest(ext.netns, eip, 80, 2_000)).rejects.toThrow();
  });
});
