import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { type Eip, type EipPool, type Subnet, type Vpc } from '@ycloud/api';
import { TOPOLOGY_RESOURCES } from '@ycloud/controllers';
import { Resources, isNotFound, type KubeClient, type KubeObject } from '@ycloud/k8s';
import { ControllerTestEnv, createNode, eventually } from '@ycloud/testbed';

type Kind = keyof typeof TOPOLOGY_RESOURCES;
type Obj = (Vpc | Subnet | EipPool | Eip) & KubeObject;

/**
 * The topology and EIP controllers against a real kube-apiserver and a real OVN Northbound: what a user sees is the
 * objects' status and the NB rows (read with ovn-nbctl).
 */
describe('Vpc/Subnet/EipPool/Eip controllers (real apiserver + real OVN NB)', () => {
  let env: ControllerTestEnv;
  let kube: KubeClient;
  let core: CoreV1Api;

  const nb = (...a: string[]) => env.nbctl(...a);
  const create = (kind: Kind, name: string, spec: unknown) => env.createTopology(kind, name, spec);
  const get = (kind: Kind, name: string) => kube.get<Obj>(TOPOLOGY_RESOURCES[kind], undefined, name);
  const ready = (o: Obj) => o.status?.conditions?.find((c) => c.type === 'Ready');

  const condition = (kind: Kind, name: string, status: string, reason: string) =>
    eventually(
      () => get(kind, name),
      (o) =>
        ready(o)?.status === status &&
        ready(o)?.reason === reason &&
        ready(o)?.observedGeneration === o.metadata.generation,
      `${kind} ${name} Ready=${status} ${reason}`,
    );

  const lbService = (name: string, annotations: Record<string, string> = {}, loadBalancerIP?: string): V1Service => ({
    metadata: { name, namespace: 'blue', annotations },
    spec: { type: 'LoadBalancer', loadBalancerIP, ports: [{ port: 80, targetPort: 8080 as never, protocol: 'TCP' }] },
  });
  const ingressOf = (name: string) =>
    core.readNamespacedServiceStatus({ namespace: 'blue', name }).then((s) => s.status?.loadBalancer?.ingress?.[0]?.ip);

  beforeAll(async () => {
    env = await ControllerTestEnv.start({
      config: { eip: { transitCIDR: '100.65.0.0/16', defaultPool: 'ext' } },
      manager: false,
    });
    kube = env.kube;
    core = env.k8s.kubeConfig.makeApiClient(CoreV1Api);
    await createNode(env.k8s.kubeConfig, 'gw-1', '192.168.100.1');
    await createNode(env.k8s.kubeConfig, 'gw-2', '192.168.100.2');
    await core.createNamespace({ body: { metadata: { name: 'blue' } } });
    await env.startManager();
  }, 180_000);
  afterAll(async () => {
    await env?.stop();
  }, 60_000);

  it('builds pool, VPC and subnet rows, allocates the transit address and reports Ready', async () => {
    await create('EipPool', 'ext', {
      networkName: 'external',
      cidr: '172.16.0.0/24',
      gateway: '172.16.0.254',
      ranges: ['172.16.0.50-172.16.0.52'],
      gatewayNodes: ['gw-1', 'gw-2'],
    });
    await create('Vpc', 'blue', { namespaces: ['blue'], externalGateway: { eipPool: 'ext' } });
    await create('Subnet', 'blue', { vpc: 'blue', cidrBlocks: ['10.1.0.0/24'] });
    await condition('Vpc', 'blue', 'True', 'Ready');
    await condition('Subnet', 'blue', 'True', 'Ready');
    const pool = (await condition('EipPool', 'ext', 'True', 'Ready')) as EipPool;
    expect(pool.status).toMatchObject({ activeGatewayNode: 'gw-1', used: 0, free: 3 });
    expect(((await get('Vpc', 'blue')) as Vpc).status?.transitAddress).toBe('100.65.0.2');
    expect(await nb('get', 'Logical_Router', 'eip-ext-gw', 'options:chassis')).toBe('gw-1');
    // The VPC gateway port sits on the active node only: it follows the pool's gateway router (ADR 0001).
    const gwc = await nb('--bare', '--columns=chassis_name', 'list', 'Gateway_Chassis');
    expect([...new Set(gwc.split(/\s+/).filter(Boolean))]).toEqual(['gw-1']);
    expect(await nb('--bare', '--columns=networks', 'list', 'Logical_Router_Port', 'vpc-blue-to-eip-ext')).toBe(
      '100.65.0.2/16',
    );
  });

  it('gives LoadBalancer Services an EIP (pool, loadBalancerIP, named Eip), a router LB and the gateway route', async () => {
    await core.createNamespacedService({ namespace: 'blue', body: lbService('a') });
    expect(
      await eventually(
        () => ingressOf('a'),
        (ip) => !!ip,
        'ingress of a',
      ),
    ).toBe('172.16.0.50');
    await core.createNamespacedService({ namespace: 'blue', body: lbService('b', {}, '172.16.0.52') });
    expect(
      await eventually(
        () => ingressOf('b'),
        (ip) => !!ip,
        'ingress of b',
      ),
    ).toBe('172.16.0.52');
    await create('Eip', 'fixed', { pool: 'ext' });
    await core.createNamespacedService({ namespace: 'blue', body: lbService('c', { 'ycloud.io/eip': 'fixed' }) });
    expect(
      await eventually(
        () => ingressOf('c'),
        (ip) => !!ip,
        'ingress of c',
      ),
    ).toBe('172.16.0.51');
    expect(((await get('Eip', 'fixed')) as Eip).status).toMatchObject({
      address: '172.16.0.51',
      boundTo: 'Service/blue/c',
      vpc: 'blue',
    });
    await eventually(
      () => get('EipPool', 'ext') as Promise<EipPool>,
      (p) => p.status?.used === 3 && p.status?.free === 0,
      'pool counts',
    );
    // Per EIP: /32 route and identity NAT on the gateway router; a router LB on the VPC router.
    const routes = await nb('--bare', '--columns=ip_prefix', 'list', 'Logical_Router_Static_Route');
    expect(routes).toMatch(/172\.16\.0\.50\/32/);
    expect((await nb('--bare', '--columns=external_ip', 'list', 'NAT')).split(/\s+/).sort()).toEqual([
      '172.16.0.50',
      '172.16.0.51',
      '172.16.0.52',
    ]);
    const routerLbs = await nb('--bare', '--columns=load_balancer', 'list', 'Logical_Router', 'vpc-blue');
    expect(routerLbs.split(/\s+/).filter(Boolean)).toHaveLength(3);
    // The pool is exhausted: a fourth Service gets an Eip that says so.
    await core.createNamespacedService({ namespace: 'blue', body: lbService('d') });
    await condition('Eip', 'svc-blue-d', 'False', 'PoolExhausted');
    // loadBalancerIP already taken: AddressInUse.
    await core.deleteNamespacedService({ namespace: 'blue', name: 'd' });
    await core.createNamespacedService({ namespace: 'blue', body: lbService('e', {}, '172.16.0.50') });
    await condition('Eip', 'svc-blue-e', 'False', 'AddressInUse');
    await core.deleteNamespacedService({ namespace: 'blue', name: 'e' });
    // The Service and Service-EIP controllers share keys (blue/a, ...) but each journals only its own reasons:
    // the Service controller watches no Eips or Vpcs, so its writes never say so.
    const reasons = (kind: string) => new Set(env.records.filter((r) => r.owner.kind === kind).map((r) => r.reason));
    expect([...reasons('ServiceEip')].length).toBeGreaterThan(0);
    for (const r of reasons('ServiceEip'))
      expect(['Service changed', 'EndpointSlice changed', 'Eip changed', 'Vpc changed', 'EipPool changed']).toContain(
        r,
      );
    for (const r of reasons('Service'))
      expect(['Service changed', 'EndpointSlice changed', 'Node changed']).toContain(r);
  });

  it('reports invalid objects in Ready conditions and owns no rows for them', async () => {
    await create('Subnet', 'orphan', { vpc: 'nope', cidrBlocks: ['10.9.0.0/24'] });
    await condition('Subnet', 'orphan', 'False', 'VpcNotFound');
    await create('Subnet', 'overlap', { vpc: 'blue', cidrBlocks: ['10.1.0.0/25'] });
    await condition('Subnet', 'overlap', 'False', 'CidrOverlap');
    await create('Eip', 'lost', { pool: 'missing' });
    await condition('Eip', 'lost', 'False', 'EipPoolNotFound');
    await create('Vpc', 'waiting', { externalGateway: { eipPool: 'missing' } });
    await condition('Vpc', 'waiting', 'False', 'EipPoolNotFound');
    const switches = await nb('--bare', '--columns=name', 'list', 'Logical_Switch');
    expect(switches).not.toMatch(/orphan|overlap/);
  });

  it('moves the pool gateway to the next gateway node when the active Node goes NotReady', async () => {
    await kube.mergePatch(
      Resources.nodes,
      undefined,
      'gw-1',
      {
        status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletStopped', message: 'test' }] },
      },
      'status',
    );
    await eventually(
      () => get('EipPool', 'ext') as Promise<EipPool>,
      (p) => p.status?.activeGatewayNode === 'gw-2',
      'failover to gw-2',
    );
    await eventually(
      () => nb('get', 'Logical_Router', 'eip-ext-gw', 'options:chassis'),
      (c) => c === 'gw-2',
      'chassis',
    );
    // Every VPC gateway port on the pool (blue's and the default VPC's, eip.defaultPool) moved to gw-2, and only there.
    await eventually(
      () => nb('--bare', '--columns=chassis_name', 'list', 'Gateway_Chassis'),
      (p) => p.split(/\s+/).filter(Boolean).join(' ') === 'gw-2 gw-2',
      'VPC gateway ports on gw-2 only',
    );
  });

  it('writes nothing after a restart, keeps every address, and never hands one out twice', async () => {
    await env.stopManager();
    const before = await nb('--bare', '--columns=external_ip', 'list', 'NAT');
    const recordsBefore = env.records.length;
    await env.startManager();
    await env.settled();
    expect(env.records.slice(recordsBefore).filter((r) => r.written)).toEqual([]);
    expect(await nb('--bare', '--columns=external_ip', 'list', 'NAT')).toBe(before);
    await core.deleteNamespacedService({ namespace: 'blue', name: 'a' });
    await eventually(
      () => nb('--bare', '--columns=external_ip', 'list', 'NAT'),
      (t) => !t.includes('172.16.0.50'),
      'a freed',
    );
    await core.createNamespacedService({ namespace: 'blue', body: lbService('f') });
    expect(
      await eventually(
        () => ingressOf('f'),
        (ip) => !!ip,
        'ingress of f',
      ),
    ).toBe('172.16.0.50');
  });

  it('cleans every row when Services and topology objects are deleted', async () => {
    for (const s of ['b', 'c', 'f']) await core.deleteNamespacedService({ namespace: 'blue', name: s });
    await eventually(
      () => kube.list(TOPOLOGY_RESOURCES.Eip).then((l) => l.items.map((e) => e.metadata?.name)),
      (n) => n.sort().join(',') === 'fixed,lost',
      'service Eips deleted',
    );
    expect(((await get('Eip', 'fixed')) as Eip).spec.binding).toBeUndefined();
    await kube.delete(TOPOLOGY_RESOURCES.Eip, undefined, 'fixed');
    await kube.delete(TOPOLOGY_RESOURCES.Eip, undefined, 'lost');
    for (const [k, n] of [
      ['Subnet', 'blue'],
      ['Subnet', 'orphan'],
      ['Vpc', 'blue'],
      ['Vpc', 'waiting'],
      ['EipPool', 'ext'],
      ['Subnet', 'overlap'],
    ] as const) {
      await kube.delete(TOPOLOGY_RESOURCES[k], undefined, n).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
    await eventually(
      () => nb('--bare', '--columns=name', 'list', 'Logical_Router'),
      (t) => t.split(/\s+/).filter(Boolean).join(' ') === 'vpc-default',
      'only the default router left',
    );
    expect(await nb('--bare', '--columns=name', 'list', 'Logical_Switch')).not.toMatch(/blue|eip-/);
    expect(await nb('list', 'NAT')).toBe('');
    // The default VPC's gateway port goes with its pool.
    await eventually(
      () => nb('list', 'Gateway_Chassis'),
      (t) => t === '',
      'no Gateway_Chassis left',
    );
    expect(await nb('--bare', '--columns=name', 'list', 'Logical_Router_Port')).not.toMatch(/to-eip/);
    expect(await nb('--bare', '--columns=name', 'list', 'Load_Balancer')).not.toMatch(/router/);
  });
});
