import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { serviceSummaries } from '@ycloud/sandbox';
import { API_VERSION } from '@ycloud/api';
import { TOPOLOGY_RESOURCES, type TopologyKind } from '@ycloud/controllers';
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
    [k8s, ovn] = await Promise.all([KubeControlPlane.start(), OvnCentral.start()]);
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

  it('a Subnet whose excludeIps range is reversed: Ready=False InvalidExcludeIps naming it; its pods get an Event', async () => {
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

    // A pod of the namespace cannot get an address there: it is told why, and the controller stays up.
    await core.createNamespacedPod({
      namespace: 'tenant',
      body: {
        metadata: { name: 'p1', annotations: { 'ycloud.io/subnet': 'tenant' } },
        spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'none' }] },
      },
    });
    const podEvents = await eventually(
      () => events('Pod', 'p1'),
      (l) => l.some((e) => e.reason === 'AddressAllocationFailed'),
      'the pod told why it has no address',
    );
    expect(podEvents.find((e) => e.reason === 'AddressAllocationFailed')?.note).toContain(
      'excludeIps[0]: "10.230.0.20..10.230.0.2" is reversed',
    );

    // Fixed by the tenant: the Subnet becomes Ready and the pod gets its address.
    await kube.mergePatch(TOPOLOGY_RESOURCES.Subnet, undefined, 'tenant', {
      spec: { excludeIps: ['10.230.0.2..10.230.0.20'] },
    });
    await eventually(
      () => ready('Subnet', 'tenant'),
      (c) => c?.status === 'True',
      'Subnet Ready after the fix',
    );
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
});
