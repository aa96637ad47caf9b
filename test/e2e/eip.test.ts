import { CoreV1Api } from '@kubernetes/client-node';
import type { EipPool } from '@ycloud/api';
import { TOPOLOGY_RESOURCES } from '@ycloud/controllers';
import type { KubeClient, KubeObject } from '@ycloud/k8s';
import {
  ControllerTestEnv,
  KubeControlPlane,
  NetnsEndpoint,
  OvnTestbed,
  TcpServer,
  attachEipClient,
  tcpAttempt as attempt,
  tcpRequest,
  eventually,
  testEipPoolSpec,
  waitForCondition,
  createLoadBalancerService,
} from '@ycloud/testbed';

/**
 * Scenario 3 with real traffic: an external client on a localnet network reaches a LoadBalancer Service's EIP; the
 * pool's gateway router routes it to the Service's VPC, whose router DNATs it to a backend. Everything in OVN is
 * written by the controller from Vpc/Subnet/EipPool/Service objects; only the pods' switch ports are made by hand
 * (no kubelet here) on the switch the controller created.
 */
describe('EIP gateway: external client → LoadBalancer Service EIP → backends in a VPC (real traffic)', () => {
  let env: ControllerTestEnv;
  let bed: OvnTestbed;
  let k8s: KubeControlPlane;
  let kube: KubeClient;
  let core: CoreV1Api;
  const servers: TcpServer[] = [];
  let ext: NetnsEndpoint;
  let red: NetnsEndpoint;
  let eip = '';

  const nb = (...a: string[]) => bed.central.nbctl(...a);
  const create = (kind: keyof typeof TOPOLOGY_RESOURCES, name: string, spec: unknown) =>
    env.createTopology(kind, name, spec);

  beforeAll(async () => {
    env = await ControllerTestEnv.start({
      nodes: ['node-1'],
      gatewayNodes: ['node-1'],
      kubeNodes: true,
      namespaces: ['blue', 'red'],
      config: { eip: { transitCIDR: '100.65.0.0/16' } },
      logLevel: 'warn',
    });
    ({ testbed: bed, k8s, kube } = env);
    core = k8s.kubeConfig.makeApiClient(CoreV1Api);
  }, 240_000);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await env?.stop();
  }, 120_000);

  it('answers on the EIP from the VPC backends, not from another VPC, and stops when the Service is deleted', async () => {
    await create('EipPool', 'ext', testEipPoolSpec(['node-1']));
    await create('Vpc', 'blue', { namespaces: ['blue'], externalGateway: { eipPool: 'ext' } });
    await create('Subnet', 'blue', { vpc: 'blue', cidrBlocks: ['10.1.0.0/24'], namespaces: ['blue'] });
    await create('Vpc', 'red', { namespaces: ['red'] });
    await create('Subnet', 'red', { vpc: 'red', cidrBlocks: ['10.2.0.0/24'], namespaces: ['red'] });
    for (const s of ['blue', 'red']) await waitForCondition(kube, TOPOLOGY_RESOURCES.Subnet, undefined, s);
    await eventually(
      () => nb('--bare', '--columns=name', 'list', 'Logical_Switch_Port'),
      (t) => /eip-ext-transit-to-vpc-blue/.test(t) && /subnet-red-to-router/.test(t),
      'topology in NB',
    );

    // Pods: ports on the controller's switches, plugged on node-1.
    const node = bed.node('node-1');
    const pod = async (sw: string, id: string, mac: string, ip: string, gw: string) => {
      await nb('lsp-add', sw, id, '--', 'lsp-set-addresses', id, `${mac} ${ip}`);
      return node.plugPod({ netns: id, ifaceId: id, mac, ips: [`${ip}/24`], gateway: gw });
    };
    const a = await pod('subnet-blue', 'blue-a', '0a:58:0a:01:00:05', '10.1.0.5', '10.1.0.1');
    const b = await pod('subnet-blue', 'blue-b', '0a:58:0a:01:00:06', '10.1.0.6', '10.1.0.1');
    red = await pod('subnet-red', 'red-c', '0a:58:0a:02:00:05', '10.2.0.5', '10.2.0.1');
    servers.push(await TcpServer.start(a.netns, 8080, 'blue-a'), await TcpServer.start(b.netns, 8080, 'blue-b'));
    ext = await attachEipClient(node);

    const started = Date.now();
    eip = await createLoadBalancerService(k8s.kubeConfig, {
      namespace: 'blue',
      name: 'web',
      port: 80,
      targetPort: 8080,
      endpoints: ['10.1.0.5', '10.1.0.6'],
    });
    expect(eip).toBe('172.16.0.50');
    const allocatedMs = Date.now() - started;

    // From outside: both backends answer, and they see the client's own address.
    const seen = new Set<string>();
    await eventually(
      async () => {
        seen.add(await attempt(ext.netns, eip, 80));
        return seen;
      },
      (s) => s.has('blue-a 172.16.0.100') && s.has('blue-b 172.16.0.100'),
      'answers from both backends',
    );
    const firstAnswersMs = Date.now() - started;
    console.log(`EIP allocated+ingress after ${allocatedMs} ms; both backends answering after ${firstAnswersMs} ms`);
    const lat: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = process.hrtime.bigint();
      expect(await tcpRequest(ext.netns, eip, 80)).toMatch(/^blue-[ab] 172\.16\.0\.100$/);
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    lat.sort((x, y) => x - y);
    console.log(
      `20 connections from outside: median ${lat[10].toFixed(1)} ms, max ${lat[19].toFixed(1)} ms (incl. process spawn)`,
    );

    // Another VPC reaches neither the EIP nor the backends.
    expect(await attempt(red.netns, eip, 80)).toMatch(/^error/);
    expect(await attempt(red.netns, '10.1.0.5', 8080)).toMatch(/^error/);

    // Delete the Service: the EIP is freed and the path stops answering.
    await core.deleteNamespacedService({ namespace: 'blue', name: 'web' });
    await eventually(
      () => kube.list(TOPOLOGY_RESOURCES.Eip).then((l) => l.items.length),
      (n) => n === 0,
      'Eip deleted',
    );
    await eventually(
      () => attempt(ext.netns, eip, 80),
      (r) => r.startsWith('error'),
      'EIP stops answering',
    );
    const nat = await nb('--bare', '--columns=external_ip', 'list', 'NAT');
    expect(nat).toBe('');
    const lbs = await nb('--bare', '--columns=name', 'list', 'Load_Balancer');
    expect(lbs).not.toMatch(/router/);
    const pool = await kube.get<EipPool & KubeObject>(TOPOLOGY_RESOURCES.EipPool, undefined, 'ext');
    expect(pool.status).toMatchObject({ used: 0, free: 10 });
  });
});
