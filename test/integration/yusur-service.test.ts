import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import {
  API_VERSION,
  DATAPATH_READY_CONDITION,
  IP_ALLOCATION_ANNOTATION,
  parseIpAllocationAnnotation,
  type NetworkProbe,
  type YusurService,
} from '@ycloud/api';
import { IP_ADDRESSES, YUSUR_RESOURCES } from '@ycloud/controllers';
import { Resources, isNotFound, type KubeClient, type KubeObject } from '@ycloud/k8s';
import { ControllerTestEnv, createNode, eventually, setPodStatus } from '@ycloud/testbed';

type Svc = YusurService & KubeObject;
interface Lb {
  name: string;
  vips: Record<string, string>;
  service: string;
}

/** A minimal KubeVirt VMI CRD: group/version/plural as KubeVirt serves them, only the fields the controller reads. */
const VMI_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'virtualmachineinstances.kubevirt.io' },
  spec: {
    group: 'kubevirt.io',
    scope: 'Namespaced',
    names: { plural: 'virtualmachineinstances', singular: 'virtualmachineinstance', kind: 'VirtualMachineInstance' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

/**
 * The YusurService controller against a real kube-apiserver (with the garbage collector) and a real OVN NB: what a
 * user sees is the service's status, its NetworkProbe, and the load balancer rows (read with ovn-nbctl).
 */
describe('YusurService controller (real apiserver + real OVN NB)', () => {
  let env: ControllerTestEnv;
  let kube: KubeClient;
  let core: CoreV1Api;

  const getSvc = (name: string, ns = 'default') => kube.get<Svc>(YUSUR_RESOURCES.YusurService, ns, name);
  const cond = (s: Svc, type: string) => s.status?.conditions?.find((c) => c.type === type);
  /** Waits until the service's condition has status/reason for its current generation. */
  const condition = (name: string, type: string, status: string, reason: string, ns = 'default') =>
    eventually(
      () => getSvc(name, ns),
      (s) =>
        cond(s, type)?.status === status &&
        cond(s, type)?.reason === reason &&
        cond(s, type)?.observedGeneration === s.metadata.generation,
      `${name} ${type}=${status} ${reason}`,
    );
  /** Reads the service until its resourceVersion holds still for a second (no write in flight). */
  const settledService = async (name: string) => {
    let last = await getSvc(name);
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await getSvc(name);
      if (now.metadata.resourceVersion === last.metadata.resourceVersion) return now;
      last = now;
    }
    throw new Error(`${name} kept changing: resourceVersion ${last.metadata.resourceVersion}`);
  };
  const createSvc = (name: string, spec: unknown, ns = 'default') =>
    kube.create(YUSUR_RESOURCES.YusurService, ns, {
      apiVersion: API_VERSION,
      kind: 'YusurService',
      metadata: { name, namespace: ns },
      spec,
    } as never);
  const createCustom = (
    rt: (typeof YUSUR_RESOURCES)[keyof typeof YUSUR_RESOURCES],
    ns: string | undefined,
    obj: object,
  ) => kube.create(rt, ns, obj as never);

  /** Every Load_Balancer with its VIPs and the service that owns it. */
  async function lbs(): Promise<Lb[]> {
    const out = JSON.parse(
      await env.nbctl('--format=json', '--columns=name,vips,external_ids', 'list', 'Load_Balancer'),
    ) as { data: Array<[string, ['map', Array<[string, string]>], ['map', Array<[string, string]>]]> };
    return out.data.map(([name, vips, ids]) => ({
      name,
      vips: Object.fromEntries(vips[1]),
      service: Object.fromEntries(ids[1])['ycloud.io/service'] ?? '',
    }));
  }
  /** The backends ("ip:port" sorted) of a service's VIP. */
  const backendsOf = async (service: string, vip: string): Promise<string[] | undefined> => {
    const lb = (await lbs()).find((l) => l.service === service && vip in l.vips);
    return lb ? lb.vips[vip].split(',').filter(Boolean).sort() : undefined;
  };
  const same = (want: string[]) => (got: string[] | undefined) =>
    JSON.stringify(got) === JSON.stringify([...want].sort());

  const pod = (name: string, labels: Record<string, string>): V1Pod => ({
    metadata: { name, namespace: 'default', labels },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'c', image: 'none', ports: [{ name: 'http', containerPort: 8080 }] }],
    },
  });
  const podIp = async (name: string): Promise<string> => {
    const p = await eventually(
      () => core.readNamespacedPod({ namespace: 'default', name }),
      (x) => !!parseIpAllocationAnnotation(x.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION]),
      `${name} allocation`,
    );
    return parseIpAllocationAnnotation(p.metadata!.annotations![IP_ALLOCATION_ANNOTATION])!.ip.split('/')[0];
  };

  const startManager = () => env.startManager({ vmDiscoveryIntervalMs: 1000 });

  beforeAll(async () => {
    env = await ControllerTestEnv.start({ config: { eip: { transitCIDR: '100.65.0.0/16' } }, manager: false });
    kube = env.kube;
    core = env.k8s.kubeConfig.makeApiClient(CoreV1Api);
    await createNode(env.k8s.kubeConfig, 'node-1', '192.168.100.1');
    await startManager();
  }, 180_000);
  afterAll(async () => {
    await env?.stop();
  }, 60_000);

  let webIp = '';
  let p1 = '';
  let p2 = '';

  it('resolves Pod backends (named targetPort), allocates a ClusterIP from the service CIDR and programs the LB', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('p1', { app: 'web' }) });
    await core.createNamespacedPod({ namespace: 'default', body: pod('p2', { app: 'web' }) });
    await core.createNamespacedPod({ namespace: 'default', body: pod('other', { app: 'db' }) });
    [p1, p2] = await Promise.all([podIp('p1'), podIp('p2')]);
    // Pod backends follow readiness, as a Service's endpoints do: report them Ready as a kubelet would.
    await setPodStatus(env.k8s.kubeConfig, 'default', 'p1', { podIP: p1, ready: true });
    await setPodStatus(env.k8s.kubeConfig, 'default', 'p2', { podIP: p2, ready: true });
    await createSvc('web', {
      backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
      ports: [{ port: 80, targetPort: 'http' }],
      scenarios: { clusterIP: {} },
      probe: { type: 'tcp', port: 8080, intervalSeconds: 5 },
    });
    const s = await condition('web', 'Ready', 'True', 'Ready');
    expect(s.status?.clusterIPs).toHaveLength(1);
    webIp = s.status!.clusterIPs![0];
    expect(webIp).toMatch(/^10\.(9[6-9]|1[01]\d)\./); // config serviceCIDRs 10.96.0.0/12
    expect(s.status).toMatchObject({
      backends: { pod: { found: 2, healthy: 2 } },
      totalBackends: 2,
      healthyBackends: 2,
    });
    for (const t of ['BackendsResolved', 'AddressesAllocated', 'ProbesHealthy'])
      expect(cond(s, t)?.status).toBe('True');
    await eventually(() => backendsOf('default/web', `${webIp}:80`), same([`${p1}:8080`, `${p2}:8080`]), 'web LB');
    // The LB is in the default VPC's load balancer group.
    const group = await env.nbctl('--bare', '--columns=load_balancer', 'list', 'Load_Balancer_Group');
    const lbUuid = await env.nbctl(
      '--bare',
      '--columns=_uuid',
      'find',
      'Load_Balancer',
      `name=${(await lbs()).find((l) => l.service === 'default/web')!.name}`,
    );
    expect(group).toContain(lbUuid.trim());
    // The writes carry the YusurService controller's own reasons (the events that queued the key).
    const reasons = new Set(env.records.filter((r) => r.owner.kind === 'YusurService').map((r) => r.reason));
    expect(reasons.size).toBeGreaterThan(0);
    for (const r of reasons)
      expect(r).toMatch(/^(YusurService|NetworkProbe|Pod|Namespace|Vpc|Subnet|EipPool|Eip) changed$/);
  });

  it('reports BackendDatapathReady=False (and Ready=False when every backend is affected) while the node agent says its datapath is down', async () => {
    // What node-1's agent writes when ovs-vswitchd dies (libs/cni/test/datapath-health.test.ts runs the real agent).
    const datapath = (status: string, reason: string, message: string) =>
      core.patchNodeStatus(
        {
          name: 'node-1',
          body: { status: { conditions: [{ type: DATAPATH_READY_CONDITION, status, reason, message }] } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
    await datapath('False', 'OvsVswitchdDown', 'ovs-vswitchd (pid 7) does not answer');
    try {
      const s = await condition('web', 'BackendDatapathReady', 'False', 'BackendDatapathDown');
      expect(cond(s, 'BackendDatapathReady')?.message).toBe(
        '2 of 2 backend(s) on a node whose datapath is down: ' +
          'Pod/default/p1 on node-1 (OvsVswitchdDown), Pod/default/p2 on node-1 (OvsVswitchdDown)',
      );
      await condition('web', 'Ready', 'False', 'BackendDatapathDown');
    } finally {
      await datapath('True', 'DatapathReady', 'ovs-vswitchd (pid 8) answers');
    }
    await condition('web', 'BackendDatapathReady', 'True', 'DatapathReady');
    await condition('web', 'Ready', 'True', 'Ready');
  });

  it('creates the <service>-backends NetworkProbe with an owner reference and follows its health results', async () => {
    const probe = await eventually(
      () => kube.get<NetworkProbe & KubeObject>(YUSUR_RESOURCES.NetworkProbe, 'default', 'web-backends'),
      (p) => (p as NetworkProbe).spec?.targets?.length === 2,
      'web-backends probe',
    );
    expect(probe.spec).toMatchObject({ type: 'tcp', port: 8080, intervalSeconds: 5 });
    expect(probe.spec.targets.map((t) => t.backendRef).sort((a, b) => (a!.name < b!.name ? -1 : 1))).toEqual([
      { kind: 'Pod', name: 'p1', namespace: 'default' },
      { kind: 'Pod', name: 'p2', namespace: 'default' },
    ]);
    const owners = (probe.metadata as { ownerReferences?: Array<{ kind: string; name: string }> }).ownerReferences;
    expect(owners).toEqual([expect.objectContaining({ kind: 'YusurService', name: 'web' })]);
    const setHealth = (healthy: boolean) =>
      kube.mergePatch(
        YUSUR_RESOURCES.NetworkProbe,
        'default',
        'web-backends',
        { status: { targets: [{ target: 'Pod/default/p1', address: p1, healthy }] } },
        'status',
      );
    await setHealth(false);
    await eventually(() => backendsOf('default/web', `${webIp}:80`), same([`${p2}:8080`]), 'p1 out of the LB');
    const down = await condition('web', 'ProbesHealthy', 'False', 'BackendsUnhealthy');
    expect(down.status).toMatchObject({ backends: { pod: { found: 2, healthy: 1 } }, healthyBackends: 1 });
    expect(cond(down, 'ProbesHealthy')?.message).toContain('Pod/default/p1');
    await setHealth(true);
    await eventually(() => backendsOf('default/web', `${webIp}:80`), same([`${p1}:8080`, `${p2}:8080`]), 'p1 back');
    await condition('web', 'ProbesHealthy', 'True', 'Healthy');
  });

  it('resolves BareMetalServer and VNic backends', async () => {
    await createCustom(YUSUR_RESOURCES.BareMetalServer, undefined, {
      apiVersion: API_VERSION,
      kind: 'BareMetalServer',
      metadata: { name: 'bm-1', labels: { role: 'db' } },
      spec: { vpc: 'default', subnet: 'default', ip: '10.16.200.10' },
    });
    await createCustom(YUSUR_RESOURCES.VNic, 'default', {
      apiVersion: API_VERSION,
      kind: 'VNic',
      metadata: { name: 'nic-1', namespace: 'default', labels: { role: 'db' } },
      spec: { subnet: 'default', ip: '10.16.200.20' },
    });
    await createSvc('db', {
      backends: [
        { kind: 'BareMetal', selector: { matchLabels: { role: 'db' } } },
        { kind: 'VNicIP', selector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['db'] }] } },
      ],
      ports: [{ port: 5432 }],
      scenarios: { clusterIP: { address: '10.96.100.100' } },
    });
    const s = await condition('db', 'Ready', 'True', 'Ready');
    expect(s.status).toMatchObject({
      clusterIPs: ['10.96.100.100'],
      backends: { bareMetal: { found: 1, healthy: 1 }, vnicIP: { found: 1, healthy: 1 } },
      totalBackends: 2,
    });
    expect(cond(s, 'ProbesHealthy')).toMatchObject({ status: 'True', reason: 'NoProbe' });
    await eventually(
      () => backendsOf('default/db', '10.96.100.100:5432'),
      same(['10.16.200.10:5432', '10.16.200.20:5432']),
      'db LB',
    );
    // A second VNic with the label joins.
    await createCustom(YUSUR_RESOURCES.VNic, 'default', {
      apiVersion: API_VERSION,
      kind: 'VNic',
      metadata: { name: 'nic-2', namespace: 'default', labels: { role: 'db' } },
      spec: { subnet: 'default', ip: '10.16.200.21' },
    });
    await eventually(
      () => backendsOf('default/db', '10.96.100.100:5432'),
      same(['10.16.200.10:5432', '10.16.200.20:5432', '10.16.200.21:5432']),
      'nic-2 in the db LB',
    );
  });

  it('leaves status untouched (same resourceVersion) when a resync changes nothing', async () => {
    // The previous test waited for the LB only; let the status catch up with nic-2 and settle first.
    await eventually(
      () => getSvc('db'),
      (s) => s.status?.backends?.vnicIP?.found === 2,
      'db status counts nic-2',
    );
    const before = await settledService('db');
    // A Namespace change queues every YusurService; nothing about db changes.
    const reconciled = await env.reconciles('yusur-service');
    await kube.mergePatch(Resources.namespaces, undefined, 'default', { metadata: { labels: { touched: 'yes' } } });
    // Reconciled again (however slow the machine) and nothing left queued: only then does "unchanged" count.
    await eventually(
      () => env.reconciles('yusur-service'),
      (n) => n > reconciled,
      'YusurServices reconciled after the Namespace change',
      30_000,
      50,
    );
    await env.settled();
    expect((await getSvc('db')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('gives a service of another Vpc a ClusterIP from Vpc.spec.serviceCIDRs and an EIP from a pool on the VPC router', async () => {
    const topo = (plural: string, kind: string, name: string, spec: unknown) =>
      kube.request('POST', `/apis/sdn.ycloud.io/v1alpha1/${plural}`, {
        body: { apiVersion: API_VERSION, kind, metadata: { name }, spec },
      });
    await core.createNamespace({ body: { metadata: { name: 'blue' } } });
    await topo('eippools', 'EipPool', 'ext', {
      networkName: 'external',
      cidr: '172.16.0.0/24',
      gateway: '172.16.0.254',
      ranges: ['172.16.0.50-172.16.0.52'],
      gatewayNodes: ['node-1'],
    });
    await topo('vpcs', 'Vpc', 'blue', {
      namespaces: ['blue'],
      serviceCIDRs: ['10.200.0.0/24'],
      externalGateway: { eipPool: 'ext' },
    });
    await topo('subnets', 'Subnet', 'blue', { vpc: 'blue', cidrBlocks: ['10.1.0.0/24'] });
    await createCustom(YUSUR_RESOURCES.BareMetalServer, undefined, {
      apiVersion: API_VERSION,
      kind: 'BareMetalServer',
      metadata: { name: 'bm-blue', labels: { role: 'blue-db' } },
      spec: { vpc: 'blue', subnet: 'blue', ip: '10.1.0.50' },
    });
    await createSvc(
      'pub',
      {
        backends: [{ kind: 'BareMetal', selector: { matchLabels: { role: 'blue-db' } } }],
        ports: [{ port: 443, targetPort: 8443 }],
        scenarios: { clusterIP: {}, eip: { pool: 'ext' } },
      },
      'blue',
    );
    const s = await condition('pub', 'Ready', 'True', 'Ready', 'blue');
    expect(s.status?.clusterIPs?.[0]).toMatch(/^10\.200\.0\./);
    expect(s.status?.eips).toEqual(['172.16.0.50']);
    expect(cond(s, 'AddressesAllocated')?.status).toBe('True');
    await eventually(() => backendsOf('blue/pub', '172.16.0.50:443'), same(['10.1.0.50:8443']), 'EIP LB');
    await eventually(
      () => backendsOf('blue/pub', `${s.status!.clusterIPs![0]}:443`),
      same(['10.1.0.50:8443']),
      'ClusterIP LB',
    );
    const eipLb = (await lbs()).find((l) => l.service === 'blue/pub' && '172.16.0.50:443' in l.vips)!;
    const uuid = (await env.nbctl('--bare', '--columns=_uuid', 'find', 'Load_Balancer', `name=${eipLb.name}`)).trim();
    expect(await env.nbctl('--bare', '--columns=load_balancer', 'list', 'Logical_Router', 'vpc-blue')).toContain(uuid);
    // Deleting the service deletes the Eip created for it (the address goes back to the pool).
    await kube.delete(YUSUR_RESOURCES.YusurService, 'blue', 'pub');
    await eventually(
      () => kube.request('GET', '/apis/sdn.ycloud.io/v1alpha1/eips/ysvc-blue-pub').then(() => 'present'),
      (v) => v !== 'present',
      'Eip ysvc-blue-pub deleted',
    );
    await eventually(
      () => lbs().then((l) => l.filter((x) => x.service === 'blue/pub').length),
      (n) => n === 0,
      'pub rows gone',
    );
  });

  it('builds a service-gateway for backends in two Vpcs, keeps its links across a restart, removes it for one Vpc', async () => {
    const topo = (plural: string, kind: string, name: string, spec: unknown) =>
      kube.request('POST', `/apis/sdn.ycloud.io/v1alpha1/${plural}`, {
        body: { apiVersion: API_VERSION, kind, metadata: { name }, spec },
      });
    await topo('vpcs', 'Vpc', 'green', { namespaces: ['green'] });
    await topo('subnets', 'Subnet', 'green', { vpc: 'green', cidrBlocks: ['10.2.0.0/24'] });
    await createCustom(YUSUR_RESOURCES.BareMetalServer, undefined, {
      apiVersion: API_VERSION,
      kind: 'BareMetalServer',
      metadata: { name: 'bm-green', labels: { role: 'green-db' } },
      spec: { vpc: 'green', subnet: 'green', ip: '10.2.0.50' },
    });
    const spec = (roles: string[]) => ({
      backends: roles.map((role) => ({ kind: 'BareMetal', selector: { matchLabels: { role } } })),
      ports: [{ port: 443, targetPort: 8443 }],
      scenarios: { eip: { pool: 'ext' } },
    });
    /** Link switches in NB: `service link` → network (from their external_ids). */
    const links = async (): Promise<Record<string, string>> => {
      const out = JSON.parse(await env.nbctl('--format=json', '--columns=external_ids', 'list', 'Logical_Switch')) as {
        data: Array<[['map', Array<[string, string]>]]>;
      };
      const ids = out.data.map(([m]) => Object.fromEntries(m[1]));
      return Object.fromEntries(
        ids
          .filter((i) => i['ycloud.io/link-cidr'])
          .map((i) => [`${i['ycloud.io/service']} ${i['ycloud.io/link']}`, i['ycloud.io/link-cidr']]),
      );
    };
    const routers = async () => (await env.nbctl('--bare', '--columns=name', 'list', 'Logical_Router')).split(/\s+/);
    /** NAT rows (type, options) for an external address. */
    const natOf = async (ip: string) =>
      (await env.nbctl('--bare', '--columns=external_ip,type,options', 'list', 'NAT'))
        .split('\n\n')
        .filter((r) => r.startsWith(`${ip}\n`))
        .join('\n');
    /** Who owns the identity NAT rows of `ip` (owner kinds): the pool for a service-gateway EIP, else the Eip. */
    const natOwnersOf = async (ip: string) => {
      const out = JSON.parse(
        await env.nbctl('--format=json', '--columns=external_ip,external_ids', 'find', 'NAT', `external_ip="${ip}"`),
      ) as { data: Array<[string, ['map', Array<[string, string]>]]> };
      return out.data.map(([, ids]) => Object.fromEntries(ids[1])['ycloud.io/owner-kind']).sort();
    };

    await createSvc('multi', spec(['blue-db', 'green-db']), 'blue');
    const s = await condition('multi', 'Ready', 'True', 'Ready', 'blue');
    const ip = s.status!.eips![0];
    expect(s.status?.totalBackends).toBe(2);
    await eventually(() => backendsOf('blue/multi', `${ip}:443`), same(['10.1.0.50:8443', '10.2.0.50:8443']), 'EIP LB');
    expect(await routers()).toContain('svcgw-blue.multi');
    const before = await links();
    expect(before).toEqual({
      'blue/multi eip': expect.stringMatching(/^100\.66\.\d+\.\d+\/30$/),
      'blue/multi vpc/blue': expect.stringMatching(/^100\.66\./),
      'blue/multi vpc/green': expect.stringMatching(/^100\.66\./),
    });
    expect(new Set(Object.values(before)).size).toBe(3);
    // The pool answers ARP for the EIP statelessly; the Eip object has no route of its own beside the service's.
    await eventually(
      () => natOf(ip),
      (t) => t.includes('dnat_and_snat') && t.includes('stateless'),
      'pool ARP row',
    );
    const routes = await env.nbctl('lr-route-list', 'eip-ext-gw');
    expect(routes.split('\n').filter((l) => l.includes(`${ip} `))).toHaveLength(1);

    // Restart: links are rebuilt from NB, so they do not move and a new service-gateway gets other networks.
    await startManager(); // stops the running one first
    await createSvc('multi2', spec(['blue-db', 'green-db']), 'blue');
    await condition('multi2', 'Ready', 'True', 'Ready', 'blue');
    const after = await links();
    for (const [k, v] of Object.entries(before)) expect(after[k]).toBe(v);
    expect(Object.keys(after)).toHaveLength(6);
    expect(new Set(Object.values(after)).size).toBe(6);

    // Back to one Vpc: the service-gateway rows, its links and the pool's ARP row go; the EIP LB is on vpc-blue.
    await kube.mergePatch(YUSUR_RESOURCES.YusurService, 'blue', 'multi', { spec: spec(['blue-db']) } as never);
    await eventually(routers, (r) => !r.includes('svcgw-blue.multi'), 'multi service-gateway gone');
    await eventually(() => backendsOf('blue/multi', `${ip}:443`), same(['10.1.0.50:8443']), 'EIP LB, one Vpc');
    expect(Object.keys(await links()).filter((k) => k.startsWith('blue/multi '))).toEqual([]);
    // Both are stateless identity rows; what changes is the owner.
    await eventually(
      () => natOwnersOf(ip),
      (o) => JSON.stringify(o) === '["Eip"]',
      "pool ARP row for multi gone, the Eip's own row in its place",
    );
    const eipLb = (await lbs()).find((l) => l.service === 'blue/multi' && `${ip}:443` in l.vips)!;
    const uuid = (await env.nbctl('--bare', '--columns=_uuid', 'find', 'Load_Balancer', `name=${eipLb.name}`)).trim();
    expect(await env.nbctl('--bare', '--columns=load_balancer', 'list', 'Logical_Router', 'vpc-blue')).toContain(uuid);
    for (const n of ['multi', 'multi2']) await kube.delete(YUSUR_RESOURCES.YusurService, 'blue', n);
    await eventually(routers, (r) => !r.some((x) => x.startsWith('svcgw-')), 'service-gateways gone');
    await eventually(links, (l) => Object.keys(l).length === 0, 'link switches gone');
  });

  it('picks up VMs once KubeVirt is installed after the controller started', async () => {
    await createSvc('vms', {
      backends: [{ kind: 'VM', selector: { matchLabels: { app: 'vm' } } }],
      ports: [{ port: 22 }],
      scenarios: { clusterIP: {} },
    });
    const before = await condition('vms', 'BackendsResolved', 'False', 'NoBackends');
    expect(before.status?.backends).toEqual({ vm: { found: 0, healthy: 0 } });
    const vmIp = before.status!.clusterIPs![0];
    await kube.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: VMI_CRD });
    await eventually(
      () => kube.list(YUSUR_RESOURCES.VirtualMachineInstance).then(() => true),
      (v) => v === true,
      'VMI API served',
    );
    await createCustom(YUSUR_RESOURCES.VirtualMachineInstance, 'default', {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'vm-1', namespace: 'default', labels: { app: 'vm' } },
      spec: {},
      status: { phase: 'Running', interfaces: [{ name: 'default', ipAddress: '10.16.201.5' }] },
    });
    const s = await condition('vms', 'Ready', 'True', 'Ready');
    expect(s.status?.backends).toEqual({ vm: { found: 1, healthy: 1 } });
    await eventually(() => backendsOf('default/vms', `${vmIp}:22`), same(['10.16.201.5:22']), 'vm LB');
  });

  it('reports invalid services in conditions and programs nothing for an unallocatable address', async () => {
    await createSvc('badport', {
      backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
      ports: [{ port: 80, targetPort: 'nope' }],
      scenarios: { clusterIP: {} },
    });
    const bp = await condition('badport', 'BackendsResolved', 'False', 'NamedPortNotFound');
    expect(cond(bp, 'Ready')).toMatchObject({ status: 'False', reason: 'NamedPortNotFound' });
    expect(cond(bp, 'BackendsResolved')?.message).toContain('nope');

    await createSvc('badaddr', {
      backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
      ports: [{ port: 80, targetPort: 8080 }],
      scenarios: { clusterIP: { address: '192.168.50.1' } },
    });
    const ba = await condition('badaddr', 'AddressesAllocated', 'False', 'InvalidAddress');
    expect(cond(ba, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidAddress' });
    expect(ba.status?.clusterIPs).toBeUndefined();
    // The address of another service is refused too.
    await createSvc('taken', {
      backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
      ports: [{ port: 80, targetPort: 8080 }],
      scenarios: { clusterIP: { address: '10.96.100.100' } },
    });
    await condition('taken', 'AddressesAllocated', 'False', 'AddressInUse');
    expect((await lbs()).filter((l) => ['default/badaddr', 'default/taken'].includes(l.service))).toEqual([]);
  });

  it('shares the default VPC service range with Kubernetes Services through the apiserver IPAddress objects', async () => {
    const ipAddress = (ip: string) =>
      kube.get<KubeObject & { spec: { parentRef: Record<string, string> } }>(IP_ADDRESSES, undefined, ip);
    // The auto-allocated ClusterIP of web is reserved in the YusurService's name, and never a Service's address
    // (the allocator starts at the bottom of the range, where `kubernetes` holds 10.96.0.1).
    expect((await ipAddress(webIp)).spec.parentRef).toMatchObject({
      group: 'sdn.ycloud.io',
      resource: 'yusurservices',
      namespace: 'default',
      name: 'web',
    });
    const serviceIps = (await core.listServiceForAllNamespaces()).items.flatMap((x) => x.spec?.clusterIPs ?? []);
    expect(serviceIps).not.toContain(webIp);
    // So the apiserver refuses a Service that asks for a YusurService's address...
    await expect(
      core.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'thief' }, spec: { clusterIP: '10.96.100.100', ports: [{ port: 80 }] } },
      }),
    ).rejects.toThrow(/already allocated/);
    // ...and a YusurService that asks for a Service's address is told who has it, with nothing programmed.
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'holder' }, spec: { clusterIP: '10.96.100.200', ports: [{ port: 80 }] } },
    });
    await createSvc('wants-held', {
      backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
      ports: [{ port: 80, targetPort: 8080 }],
      scenarios: { clusterIP: { address: '10.96.100.200' } },
    });
    const w = await condition('wants-held', 'AddressesAllocated', 'False', 'AddressInUse');
    expect(cond(w, 'AddressesAllocated')?.message).toContain('Service default/holder');
    expect((await lbs()).filter((l) => l.service === 'default/wants-held')).toEqual([]);
    expect((await ipAddress('10.96.100.200')).spec.parentRef).toMatchObject({ resource: 'services', name: 'holder' });
    // Deleting the YusurService gives its address back to the cluster.
    await kube.delete(YUSUR_RESOURCES.YusurService, 'default', 'wants-held');
    await core.deleteNamespacedService({ namespace: 'default', name: 'holder' });
  });

  it('keeps ClusterIPs across a controller restart (rebuilt from status) and never hands one out twice', async () => {
    await startManager(); // stops the running one first
    await createSvc('after', {
      backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
      ports: [{ port: 80, targetPort: 8080 }],
      scenarios: { clusterIP: {} },
    });
    const after = await condition('after', 'Ready', 'True', 'Ready');
    const all = await Promise.all(['web', 'db', 'vms', 'after'].map((n) => getSvc(n)));
    const ips = all.map((s) => s.status?.clusterIPs?.[0]);
    expect(ips[0]).toBe(webIp);
    expect(new Set(ips).size).toBe(4);
    expect(after.status?.clusterIPs?.[0]).toBeDefined();
  });

  it('deleting a YusurService removes every NB row it owned and its NetworkProbe', async () => {
    const rowsOf = async () =>
      (await env.nbctl('--bare', '--columns=external_ids', 'list', 'Load_Balancer')).includes('default/web');
    expect(await rowsOf()).toBe(true);
    await kube.delete(YUSUR_RESOURCES.YusurService, 'default', 'web');
    await eventually(rowsOf, (v) => v === false, 'web LB rows gone');
    await eventually(
      () =>
        kube
          .get(YUSUR_RESOURCES.NetworkProbe, 'default', 'web-backends')
          .then(() => 'present')
          .catch((e: unknown) => (isNotFound(e) ? 'gone' : 'error')),
      (v) => v === 'gone',
      'web-backends garbage-collected',
    );
    // Its ClusterIP is free for Kubernetes Services again.
    await eventually(
      () =>
        kube
          .get(IP_ADDRESSES, undefined, webIp)
          .then((o) => JSON.stringify((o as { spec?: unknown }).spec))
          .catch((e: unknown) => (isNotFound(e) ? 'gone' : 'error')),
      (v) => v === 'gone',
      'web IPAddress deleted',
    );
    // The default VPC's LB group no longer references a deleted LB (membership owned by the service).
    const group = (await env.nbctl('--bare', '--columns=load_balancer', 'list', 'Load_Balancer_Group'))
      .split(/\s+/)
      .filter(Boolean);
    const uuids = (await env.nbctl('--bare', '--columns=_uuid', 'list', 'Load_Balancer')).split(/\s+/).filter(Boolean);
    for (const g of group) expect(uuids).toContain(g);
  });
});
