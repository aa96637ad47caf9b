import { CoreV1Api } from '@kubernetes/client-node';
import type { Eip } from '@ycloud/api';
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
  createLoadBalancerService,
} from '@ycloud/testbed';

/**
 * The default VPC on the EIP path: with `eip.defaultPool` in the controller config, a LoadBalancer Service in a
 * namespace no Vpc claims gets an Eip from that pool, and the default VPC's router gets what a Vpc resource naming
 * the pool gets (transit address, gateway port on the pool's active node, default route; the pool gateway routes
 * the Eip to it). Real traffic from an external namespace on the pool's localnet network; pod ports are made by hand
 * (no kubelet) on the default subnet's switch, which the controller created from its config.
 */
describe('EIP gateway for the default VPC (eip.defaultPool, real traffic)', () => {
  let env: ControllerTestEnv;
  let bed: OvnTestbed;
  let k8s: KubeControlPlane;
  let kube: KubeClient;
  let core: CoreV1Api;
  const servers: TcpServer[] = [];
  let ext: NetnsEndpoint;

  const nb = (...a: string[]) => bed.central.nbctl(...a);

  beforeAll(async () => {
    env = await ControllerTestEnv.start({
      nodes: ['node-1'],
      gatewayNodes: ['node-1'],
      kubeNodes: true,
      namespaces: ['web'],
      config: { eip: { transitCIDR: '100.65.0.0/16', defaultPool: 'ext' } },
      logLevel: 'warn',
    });
    ({ testbed: bed, k8s, kube } = env);
    core = k8s.kubeConfig.makeApiClient(CoreV1Api);
  }, 240_000);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await env?.stop();
  }, 120_000);

  it('answers on the EIP from both default-VPC backends and stops when the Service is deleted', async () => {
    // Before the pool exists the default VPC has no gateway port.
    const lrps = () => nb('--bare', '--columns=name', 'list', 'Logical_Router_Port');
    expect(await lrps()).not.toMatch(/vpc-default-to-eip-ext/);
    await env.createTopology('EipPool', 'ext', testEipPoolSpec(['node-1']));
    // The default VPC's gateway port: last host of eip.transitCIDR, pinned to the pool's gateway node.
    await eventually(lrps, (t) => /vpc-default-to-eip-ext/.test(t), 'default VPC gateway port');
    expect(await nb('get', 'Logical_Router_Port', 'vpc-default-to-eip-ext', 'networks')).toContain('100.65.255.254/16');
    expect(await nb('--bare', '--columns=chassis_name', 'list', 'Gateway_Chassis')).toContain('node-1');
    expect(await nb('lr-route-list', 'vpc-default')).toMatch(
      /0\.0\.0\.0\/0\s+100\.65\.0\.1 dst-ip vpc-default-to-eip-ext/,
    );

    const node = bed.node('node-1');
    const pod = async (id: string, mac: string, ip: string) => {
      await nb('lsp-add', 'subnet-default', id, '--', 'lsp-set-addresses', id, `${mac} ${ip}`);
      return node.plugPod({ netns: id, ifaceId: id, mac, ips: [`${ip}/16`], gateway: '10.16.0.1' });
    };
    const a = await pod('web-a', '0a:58:0a:10:00:15', '10.16.0.21');
    const b = await pod('web-b', '0a:58:0a:10:00:16', '10.16.0.22');
    servers.push(await TcpServer.start(a.netns, 8080, 'web-a'), await TcpServer.start(b.netns, 8080, 'web-b'));
    ext = await attachEipClient(node);

    const eip = await createLoadBalancerService(k8s.kubeConfig, {
      namespace: 'web',
      name: 'web',
      port: 80,
      targetPort: 8080,
      endpoints: ['10.16.0.21', '10.16.0.22'],
    });
    expect(eip).toBe('172.16.0.50');
    const eips = await kube.list<Eip & KubeObject>(TOPOLOGY_RESOURCES.Eip);
    expect(eips.items.map((e) => e.status?.vpc)).toEqual(['default']);
    // The pool gateway routes the Eip to the default VPC's transit address.
    await eventually(
      () => nb('lr-route-list', 'eip-ext-gw'),
      (t) => t.includes('172.16.0.50') && t.includes('100.65.255.254'),
      'EIP /32 route to the default VPC',
    );

    const seen = new Set<string>();
    await eventually(
      async () => {
        seen.add(await attempt(ext.netns, eip, 80));
        return seen;
      },
      (s) => s.has('web-a 172.16.0.100') && s.has('web-b 172.16.0.100'),
      'answers from both backends',
    );
    for (let i = 0; i < 10; i++) expect(await tcpRequest(ext.netns, eip, 80)).toMatch(/^web-[ab] 172\.16\.0\.100$/);

    await core.deleteNamespacedService({ namespace: 'web', name: 'web' });
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
    expect(await nb('--bare', '--columns=external_ip', 'list', 'NAT')).toBe('');
    expect(await nb('lr-route-list', 'eip-ext-gw')).not.toContain('172.16.0.50');
  });
});
