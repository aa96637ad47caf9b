import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { serviceSummaries } from '@ycloud/sandbox';
import { API_VERSION, EIP_POOL_ANNOTATION, IP_ALLOCATION_ANNOTATION } from '@ycloud/api';
import { TOPOLOGY_RESOURCES, YUSUR_RESOURCES, type TopologyKind } from '@ycloud/controllers';
import { KubeClient, Resources, type KubeObject } from '@ycloud/k8s';
import {
  ControllerApp,
  KubeControlPlane,
  OvnCentral,
  createNamespace,
  createNode,
  eventually,
  installCrds,
} from '@ycloud/testbed';

interface Conditioned extends KubeObject {
  status?: { conditions?: Array<{ type: string; status: string; reason: string; message?: string }> };
}
interface EventObject extends KubeObject {
  reason?: string;
  note?: string;
  type?: string;
  regarding?: { kind?: string; name?: string; namespace?: string };
}

/**
 * Bad input a tenant can write that the CRD schemas cannot reject (a reversed address range is a valid string of
 * two IPs) against the real apiserver, a real OVN Northbound and the ycloud-controller process: the process keeps
 * running (same pid, nothing unhandled in its log), and the object says what is wrong in its Ready condition and a
 * Warning Event, naming the field and the value.
 */
describe('hostile input: the controller survives and reports (real apiserver + OVN NB + controller process)', () => {
  let dir: string;
  let k8s: KubeControlPlane;
  let ovn: OvnCentral;
  let kube: KubeClient;
  let core: CoreV1Api;
  let app: ControllerApp;

  const create = (kind: TopologyKind, name: string, spec: unknown) =>
    kube.create(TOPOLOGY_RESOURCES[kind], undefined, {
      apiVersion: API_VERSION,
      kind,
      metadata: { name },
      spec,
    } as never);
  const ready = (kind: TopologyKind, name: string) =>
    kube
      .get<Conditioned>(TOPOLOGY_RESOURCES[kind], undefined, name)
      .then((o) => o.status?.conditions?.find((c) => c.type === 'Ready'));
  const events = (kind: string, name: string) =>
    kube
      .list<EventObject>(Resources.events)
      .then((l) => l.items.filter((e) => e.regarding?.kind === kind && e.regarding?.name === name));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ycloud-hostile-'));
    // Dual-stack Service CIDR: an IPv6 ClusterIP in the IPv4-only default VPC is one of the cases.
    [k8s, ovn] = await Promise.all([
      KubeControlPlane.start({ serviceClusterIpRange: '10.96.0.0/16,fd00:10:96::/112' }),
      OvnCentral.start(),
    ]);
    kube = KubeClient.fromKubeconfigFile(k8s.kubeconfigPath);
    core = k8s.kubeConfig.makeApiClient(CoreV1Api);
    await installCrds(kube);
    await createNamespace(k8s.kubeConfig, 'ycloud-system');
    await createNode(k8s.kubeConfig, 'node-1', '192.168.100.11');
    const configFile = path.join(dir, 'config.yaml');
    writeFileSync(configFile, `nbRemote: ${ovn.nbRemote}\n`);
    app = await ControllerApp.start({ configFile, kubeconfigPath: k8s.kubeconfigPath });
    await app.ready();
  }, 180_000);
  afterEach(() => {
    // Every case: still the same process, and nothing it did not handle.
    expect({ alive: app.alive, fatal: app.fatalLines() }).toEqual({ alive: true, fatal: [] });
  });
  afterAll(async () => {
    await app?.kill();
    kube?.close();
    await Promise.all([k8s?.stop(), ovn?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a Subnet whose excludeIps range is reversed: Ready=False InvalidExcludeIps naming it; a pod asking for it gets an Event', async () => {
    await createNamespace(k8s.kubeConfig, 'tenant');
    await create('Vpc', 'tenant', { namespaces: ['tenant'] });
    await create('Subnet', 'tenant', {
      vpc: 'tenant',
      cidrBlocks: ['10.230.0.0/24'],
      excludeIps: ['10.230.0.20..10.230.0.2'],
      namespaces: ['tenant'],
    });
    const cond = await eventually(
      () => ready('Subnet', 'tenant'),
      (c) => c?.status === 'False',
      'Subnet Ready=False',
    );
    expect(cond).toMatchObject({ reason: 'InvalidExcludeIps' });
    expect(cond?.message).toContain('spec.excludeIps[0]: "10.230.0.20..10.230.0.2" is reversed');
    const ev = await eventually(
      () => events('Subnet', 'tenant'),
      (l) => l.length > 0,
      'a Subnet Event',
    );
    expect(ev[0]).toMatchObject({ type: 'Warning', reason: 'InvalidExcludeIps' });
    expect(ev[0].note).toContain('10.230.0.20..10.230.0.2');

    // A pod asking for that subnet is told it cannot have an address there (only Ready subnets hand them out).
    await core.createNamespacedPod({
      namespace: 'tenant',
      body: {
        metadata: { name: 'p1', annotations: { 'ycloud.io/subnet': 'tenant' } },
        spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'none' }] },
      },
    });
    const podEvents = await eventually(
      () => events('Pod', 'p1'),
      (l) => l.some((e) => e.reason === 'SubnetNotReady'),
      'the pod told why it has no address',
    );
    expect(podEvents.find((e) => e.reason === 'SubnetNotReady')?.note).toContain('Subnet tenant');

    // Fixed by the tenant: the Subnet becomes Ready and the pod gets its address.
    await kube.mergePatch(TOPOLOGY_RESOURCES.Subnet, undefined, 'tenant', {
      spec: { excludeIps: ['10.230.0.2..10.230.0.20'] },
    });
    await eventually(
      () => ready('Subnet', 'tenant'),
      (c) => c?.status === 'True',
      'Subnet Ready after the fix',
    );
    const annotated = await eventually(
      () => core.readNamespacedPod({ namespace: 'tenant', name: 'p1' }),
      (p) => !!p.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION],
      'the pod to get its address once the Subnet is fixed',
    );
    expect(annotated.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION]).toContain('10.230.0.');
  });

  it('an EipPool whose range is reversed: Ready=False InvalidRange naming spec.ranges[i] and the value', async () => {
    await create('EipPool', 'reversed', {
      networkName: 'ext',
      cidr: '172.38.0.0/24',
      gateway: '172.38.0.1',
      ranges: ['172.38.0.100-172.38.0.120', '172.38.0.50-172.38.0.10'],
      gatewayNodes: ['node-1'],
    });
    const cond = await eventually(
      () => ready('EipPool', 'reversed'),
      (c) => c?.status === 'False',
      'EipPool Ready',
    );
    expect(cond).toMatchObject({ reason: 'InvalidRange' });
    expect(cond?.message).toBe(
      'spec.ranges[1]: "172.38.0.50-172.38.0.10" is reversed: 172.38.0.50 comes after 172.38.0.10',
    );
    const ev = await eventually(
      () => events('EipPool', 'reversed'),
      (l) => l.length > 0,
      'an EipPool Event',
    );
    expect(ev[0]).toMatchObject({ type: 'Warning', reason: 'InvalidRange' });

    // An Eip from it is refused with the pool's reason instead of an address.
    await create('Eip', 'from-reversed', { pool: 'reversed' });
    const eip = await eventually(
      () => ready('Eip', 'from-reversed'),
      (c) => c?.status === 'False',
      'Eip Ready',
    );
    expect(eip).toMatchObject({ reason: 'InvalidEipPool' });
    expect(eip?.message).toContain('EipPool reversed: spec.ranges[1]');
  });

  it('a Service whose EndpointSlice has endpoints: null is read as empty (sandbox status) and programmed', async () => {
    const discovery = k8s.kubeConfig.makeApiClient(DiscoveryV1Api);
    await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'no-backends' }, spec: { ports: [{ port: 80, protocol: 'TCP' }] } },
    });
    // Sent raw: the apiserver accepts `endpoints: null` (a slice with no endpoints), which typed clients hide.
    await kube.create(Resources.endpointSlices, 'default', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'no-backends-x', labels: { 'kubernetes.io/service-name': 'no-backends' } },
      addressType: 'IPv4',
      endpoints: null,
      ports: null,
    } as never);
    const slices = (await discovery.listEndpointSliceForAllNamespaces()).items;
    expect(slices.find((sl) => sl.metadata?.name === 'no-backends-x')?.endpoints ?? null).toBeNull();
    const services = (await core.listServiceForAllNamespaces()).items;
    expect(serviceSummaries(services, slices).find((v) => v.name === 'no-backends')).toMatchObject({
      ports: ['80/TCP'],
      readyEndpoints: 0,
    });
    // The controller programs it (a rejecting VIP: no ready endpoint) rather than failing on the slice.
    await eventually(
      () => ovn.nbctl('--bare', '--columns=name', 'find', 'Load_Balancer', 'name="Service_default/no-backends_TCP"'),
      (out) => out.trim() !== '',
      'the load balancer of default/no-backends',
    );
  });

  it('admission refuses reserved names and networks every VPC shares (deploy/base ValidatingAdmissionPolicy)', async () => {
    const refused = async (kind: TopologyKind, name: string, spec: unknown) => {
      const err = await create(kind, name, spec).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toBeDefined();
      return err!.message;
    };
    expect(await refused('Vpc', 'default', {})).toContain('Vpc name default is reserved');
    expect(await refused('Subnet', 'join', { vpc: 'tenant', cidrBlocks: ['10.231.0.0/24'] })).toContain(
      'Subnet name join is reserved',
    );
    expect(await refused('Subnet', 'svc-clash', { vpc: 'tenant', cidrBlocks: ['10.96.8.0/24'] })).toContain(
      'spec.cidrBlocks: 10.96.8.0/24 overlaps a network every VPC shares',
    );
    expect(await refused('Subnet', 'join-clash', { vpc: 'tenant', cidrBlocks: ['100.64.0.0/10'] })).toContain(
      'overlaps a network every VPC shares',
    );
    expect(await refused('Subnet', 'pod-clash', { vpc: 'default', cidrBlocks: ['10.16.5.0/24'] })).toContain(
      'overlaps the default subnet (pod CIDR) of the default VPC',
    );
    expect(
      await refused('EipPool', 'join-pool', {
        networkName: 'ext',
        cidr: '100.64.0.0/24',
        gateway: '100.64.0.1',
        gatewayNodes: ['node-1'],
      }),
    ).toContain('spec.cidr: 100.64.0.0/24 overlaps');
    // Another VPC may reuse the default VPC's pod range (VPCs are isolated).
    await create('Subnet', 'reuse', { vpc: 'tenant', cidrBlocks: ['10.16.0.0/24'] });
  });

  it('a Subnet overlapping a serving one, created in the same second, loses; the serving one keeps its switch', async () => {
    await create('Vpc', 'race', {});
    await create('Subnet', 'race-zz', { vpc: 'race', cidrBlocks: ['10.232.0.0/16'] });
    await eventually(
      () => ready('Subnet', 'race-zz'),
      (c) => c?.status === 'True',
      'race-zz Ready',
    );
    // Same second or not, and first by name: still the loser, because race-zz serves.
    await create('Subnet', 'race-aa', { vpc: 'race', cidrBlocks: ['10.232.1.0/24'] });
    const lost = await eventually(
      () => ready('Subnet', 'race-aa'),
      (c) => c?.status === 'False',
      'race-aa refused',
    );
    expect(lost).toMatchObject({ reason: 'CidrOverlap' });
    expect(lost?.message).toContain('overlaps 10.232.0.0/16 of Subnet race-zz in Vpc race, which keeps it (serving)');
    await new Promise((r) => setTimeout(r, 1500)); // both reconciled again on every topology change
    expect(await ready('Subnet', 'race-zz')).toMatchObject({ status: 'True' });
    expect(await ovn.nbctl('--bare', '--columns=name', 'find', 'Logical_Switch', 'name=subnet-race-zz')).toContain(
      'subnet-race-zz',
    );
  });

  it('two Vpcs claiming a namespace: the second by name is told; an EipPool naming a missing node is told', async () => {
    await create('Vpc', 'claim-a', { namespaces: ['shared'] });
    await create('Vpc', 'claim-b', { namespaces: ['shared', 'own'] });
    const b = await eventually(
      () => ready('Vpc', 'claim-b'),
      (c) => c?.reason === 'NamespaceClaimed',
      'claim-b',
    );
    expect(b?.message).toContain('spec.namespaces[0]: namespace shared belongs to Vpc claim-a');
    expect(await ready('Vpc', 'claim-a')).toMatchObject({ status: 'True' });
    expect((await events('Vpc', 'claim-b')).map((e) => e.reason)).toContain('NamespaceClaimed');

    await create('EipPool', 'ghost', {
      networkName: 'ext',
      cidr: '172.39.0.0/24',
      gateway: '172.39.0.1',
      gatewayNodes: ['node-1', 'no-such-node'],
    });
    const pool = await eventually(
      () => ready('EipPool', 'ghost'),
      (c) => c?.reason === 'NodeNotFound',
      'ghost',
    );
    expect(pool?.message).toBe('spec.gatewayNodes: no Node no-such-node');
  });

  it('Services asking for addresses others hold get an AddressConflict Event naming the holder', async () => {
    const first = await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'holder' }, spec: { ports: [{ port: 80, protocol: 'TCP' }] } },
    });
    const cip = first.spec!.clusterIP!;
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'grabber' },
        spec: { ports: [{ port: 81, protocol: 'TCP' }], externalIPs: [cip, '10.16.0.1'] },
      },
    });
    const notes = await eventually(
      () =>
        events('Service', 'grabber').then((l) => l.filter((e) => e.reason === 'AddressConflict').map((e) => e.note)),
      (l) => l.length >= 2,
      'AddressConflict Events for grabber',
    );
    expect(notes).toEqual(
      expect.arrayContaining([
        `spec.externalIPs[0]: ${cip} is the ClusterIP of Service default/holder`,
        'spec.externalIPs[1]: 10.16.0.1 is the address of the VPC router port of Subnet default',
      ]),
    );
    for (const name of ['lb-a', 'lb-b']) {
      await core.createNamespacedService({
        namespace: 'default',
        body: {
          metadata: { name },
          spec: { type: 'LoadBalancer', loadBalancerIP: '172.38.0.77', ports: [{ port: 80, protocol: 'TCP' }] },
        },
      });
    }
    const lbNotes = await eventually(
      () => events('Service', 'lb-b').then((l) => l.filter((e) => e.reason === 'AddressConflict').map((e) => e.note)),
      (l) => l.length > 0,
      'an AddressConflict Event for lb-b',
    );
    expect(lbNotes[0]).toContain('spec.loadBalancerIP: 172.38.0.77 is asked for by Service default/lb-a too');
    expect((await events('Service', 'lb-a')).filter((e) => e.reason === 'AddressConflict')).toEqual([]);
  });
  it('a BareMetalServer on a missing Node, a VNic on itself or a missing Pod, a loadBalancerIP outside the pool, an IPv6 ClusterIP in an IPv4-only VPC: each is told', async () => {
    // BareMetalServer whose spec.node is no Node: NodeNotFound, then attached once the Node exists.
    await kube.create(YUSUR_RESOURCES.BareMetalServer, undefined, {
      apiVersion: API_VERSION,
      kind: 'BareMetalServer',
      metadata: { name: 'bms-ghost' },
      spec: { vpc: 'default', subnet: 'default', ip: '10.16.0.240', node: 'node-9' },
    } as never);
    const bmsReady = () =>
      kube
        .get<Conditioned>(YUSUR_RESOURCES.BareMetalServer, undefined, 'bms-ghost')
        .then((o) => o.status?.conditions?.find((c) => c.type === 'Ready'));
    const missing = await eventually(bmsReady, (c) => c?.reason === 'NodeNotFound', 'bms-ghost NodeNotFound');
    expect(missing).toMatchObject({ status: 'False' });
    expect(missing?.message).toContain('spec.node: Node node-9 does not exist');
    await createNode(k8s.kubeConfig, 'node-9', '192.168.100.19');
    await eventually(bmsReady, (c) => c?.status === 'True', 'bms-ghost attached once node-9 exists');

    // A VNic attached to itself is refused at admission; attached to a Pod that is not there, it is told.
    const nic = (name: string, attachedTo: unknown) =>
      kube.create(YUSUR_RESOURCES.VNic, 'default', {
        apiVersion: API_VERSION,
        kind: 'VNic',
        metadata: { name },
        spec: { subnet: 'default', attachedTo },
      } as never);
    const self = await nic('nic-self', { kind: 'VNic', name: 'nic-self' }).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(self).toContain('spec.attachedTo.kind');
    await nic('nic-orphan', { kind: 'Pod', name: 'no-such-pod' });
    const orphan = await eventually(
      () =>
        kube
          .get<Conditioned>(YUSUR_RESOURCES.VNic, 'default', 'nic-orphan')
          .then((o) => o.status?.conditions?.find((c) => c.type === 'Ready')),
      (c) => c?.reason === 'PodNotFound',
      'nic-orphan PodNotFound',
    );
    expect(orphan?.message).toContain('spec.attachedTo: Pod default/no-such-pod does not exist');

    // loadBalancerIP outside the pool: a Warning naming field, value and ranges, and no Eip.
    await create('EipPool', 'narrow', {
      networkName: 'ext',
      cidr: '172.41.0.0/24',
      gateway: '172.41.0.1',
      ranges: ['172.41.0.10-172.41.0.20'],
      gatewayNodes: ['node-1'],
    });
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'lb-outside', annotations: { [EIP_POOL_ANNOTATION]: 'narrow' } },
        spec: { type: 'LoadBalancer', loadBalancerIP: '172.41.0.99', ports: [{ port: 80, protocol: 'TCP' }] },
      },
    });
    const outside = await eventually(
      () => events('Service', 'lb-outside').then((l) => l.filter((e) => e.reason === 'AddressOutsidePool')),
      (l) => l.length > 0,
      'an AddressOutsidePool Event for lb-outside',
    );
    expect(outside[0]).toMatchObject({ type: 'Warning' });
    expect(outside[0].note).toBe(
      'spec.loadBalancerIP: 172.41.0.99 is outside EipPool narrow (172.41.0.10-172.41.0.20): no EIP',
    );
    const eips = await kube.list<KubeObject>(TOPOLOGY_RESOURCES.Eip);
    expect(eips.items.map((e) => e.metadata?.name)).not.toContain('svc-default-lb-outside');

    // An IPv6 ClusterIP in the default VPC, whose Subnets are IPv4 only.
    const dual = await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'dual' },
        spec: { ipFamilyPolicy: 'RequireDualStack', ports: [{ port: 80, protocol: 'TCP' }] },
      },
    });
    const v6 = dual.spec!.clusterIPs![1];
    const family = await eventually(
      () => events('Service', 'dual').then((l) => l.filter((e) => e.reason === 'IPFamilyNotInVpc')),
      (l) => l.length > 0,
      'an IPFamilyNotInVpc Event for dual',
    );
    expect(family[0].note).toBe(`spec.clusterIPs[1]: ${v6} is IPv6, but the Subnets of Vpc default are IPv4 only`);
  });
});
