import { CoreV1Api } from '@kubernetes/client-node';
import {
  API_VERSION,
  IP_ALLOCATION_ANNOTATION,
  parseIpAllocationAnnotation,
  type BareMetalServer,
  type Subnet,
  type VNic,
} from '@ycloud/api';
import { TOPOLOGY_RESOURCES, YUSUR_RESOURCES } from '@ycloud/controllers';
import type { KubeClient, KubeObject } from '@ycloud/k8s';
import { ControllerTestEnv, createNode, eventually } from '@ycloud/testbed';

type Bms = BareMetalServer & KubeObject;
type Nic = VNic & KubeObject;
interface Lsp {
  name: string;
  addresses: string[];
  portSecurity: string[];
  options: Record<string, string>;
  ids: Record<string, string>;
}

/**
 * Network attachments of BareMetalServers and VNics against a real kube-apiserver and a real OVN Northbound: what a
 * user sees is the Logical_Switch_Port (read with ovn-nbctl), the objects' Ready condition and status, and the
 * addresses pods get.
 */
describe('BareMetalServer and VNic attachments (real apiserver + real OVN NB)', () => {
  let env: ControllerTestEnv;
  let kube: KubeClient;
  let core: CoreV1Api;

  const createBms = (name: string, spec: BareMetalServer['spec']) =>
    kube.create(YUSUR_RESOURCES.BareMetalServer, undefined, {
      apiVersion: API_VERSION,
      kind: 'BareMetalServer',
      metadata: { name },
      spec,
    } as never);
  const createNic = (name: string, spec: VNic['spec']) =>
    kube.create(YUSUR_RESOURCES.VNic, 'att', {
      apiVersion: API_VERSION,
      kind: 'VNic',
      metadata: { name, namespace: 'att' },
      spec,
    } as never);
  const getBms = (name: string) => kube.get<Bms>(YUSUR_RESOURCES.BareMetalServer, undefined, name);
  const getNic = (name: string) => kube.get<Nic>(YUSUR_RESOURCES.VNic, 'att', name);
  const ready = (o: Bms | Nic) => o.status?.conditions?.find((c) => c.type === 'Ready');
  /** Waits until the object's Ready condition has this status and reason for its current generation. */
  const readyIs = <T extends Bms | Nic>(get: () => Promise<T>, status: string, reason: string, what: string) =>
    eventually(
      get,
      (o) =>
        ready(o)?.status === status &&
        ready(o)?.reason === reason &&
        ready(o)?.observedGeneration === o.metadata.generation,
      `${what} Ready=${status} ${reason}`,
    );

  async function lsps(): Promise<Lsp[]> {
    type Cell = string | ['set', string[]] | ['map', Array<[string, string]>];
    const out = JSON.parse(
      await env.nbctl(
        '--format=json',
        '--columns=name,addresses,port_security,options,external_ids',
        'list',
        'Logical_Switch_Port',
      ),
    ) as { data: Cell[][] };
    const set = (c: Cell): string[] => (typeof c === 'string' ? [c] : (c[1] as string[]));
    const map = (c: Cell): Record<string, string> => Object.fromEntries(c[1] as Array<[string, string]>);
    return out.data.map(([name, a, ps, o, ids]) => ({
      name: name as string,
      addresses: set(a),
      portSecurity: set(ps),
      options: map(o),
      ids: map(ids),
    }));
  }
  const lsp = async (name: string) => (await lsps()).find((l) => l.name === name);
  const switchOf = (port: string) => env.nbctl('lsp-get-ls', port);
  const podIp = async (name: string) => {
    const p = await eventually(
      () => core.readNamespacedPod({ namespace: 'att', name }),
      (x) => !!parseIpAllocationAnnotation(x.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION]),
      `${name} address`,
    );
    return parseIpAllocationAnnotation(p.metadata!.annotations![IP_ALLOCATION_ANNOTATION])!.ip.split('/')[0];
  };

  beforeAll(async () => {
    env = await ControllerTestEnv.start({ manager: false });
    kube = env.kube;
    core = env.k8s.kubeConfig.makeApiClient(CoreV1Api);
    await createNode(env.k8s.kubeConfig, 'node-1', '192.168.100.1');
    await core.createNamespace({ body: { metadata: { name: 'att' } } });
    await env.startManager();
    const create = (kind: 'Vpc' | 'Subnet', name: string, spec: unknown) => env.createTopology(kind, name, spec);
    await create('Vpc', 'att', { namespaces: ['att'] });
    // A /29: five addresses (.2-.6) besides network, gateway and broadcast, so a pod would take .2 first.
    await create('Subnet', 'att', { vpc: 'att', cidrBlocks: ['10.5.0.0/29'], namespaces: ['att'] });
    await eventually(
      () => kube.get<Subnet & KubeObject>(TOPOLOGY_RESOURCES.Subnet, undefined, 'att'),
      (s) => s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
      'Subnet att Ready',
    );
  }, 180_000);
  afterAll(async () => {
    await env?.stop();
  }, 60_000);

  let nicIp = '';

  it('gives a BareMetalServer and a VNic a port on the subnet switch, with port security, chassis and status', async () => {
    await createBms('db-1', { vpc: 'att', subnet: 'att', ip: '10.5.0.2', mac: '0A:00:00:05:00:02', node: 'node-1' });
    await createNic('nic-1', { subnet: 'att' });

    const bms = await readyIs(() => getBms('db-1'), 'True', 'Attached', 'db-1');
    expect(ready(bms)?.message).toContain('bms.db-1');
    const port = await eventually(
      () => lsp('bms.db-1'),
      (l) => !!l,
      'LSP bms.db-1',
    );
    expect(port).toMatchObject({
      addresses: ['0a:00:00:05:00:02 10.5.0.2'],
      portSecurity: ['0a:00:00:05:00:02 10.5.0.2'],
      options: { 'requested-chassis': 'node-1' },
    });
    expect(port!.ids).toMatchObject({ 'ycloud.io/owner-kind': 'BareMetalServer', 'ycloud.io/owner': 'db-1' });
    expect(await switchOf('bms.db-1')).toContain('subnet-att');

    const nic = await readyIs(() => getNic('nic-1'), 'True', 'Attached', 'nic-1');
    nicIp = nic.status!.ip!;
    expect(nicIp).toMatch(/^10\.5\.0\.[3-6]$/);
    expect(nic.status).toMatchObject({ logicalSwitchPort: 'vnic.att.nic-1' });
    expect(nic.status!.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const nicPort = await eventually(
      () => lsp('vnic.att.nic-1'),
      (l) => !!l,
      'LSP vnic.att.nic-1',
    );
    expect(nicPort).toMatchObject({
      addresses: [`${nic.status!.mac} ${nicIp}`],
      portSecurity: [`${nic.status!.mac} ${nicIp}`],
      options: {},
    });
    expect(nicPort!.ids).toMatchObject({ 'ycloud.io/owner-kind': 'VNic', 'ycloud.io/owner': 'att/nic-1' });
    expect(await switchOf('vnic.att.nic-1')).toContain('subnet-att');
  });

  it('never hands an attached address to a pod', async () => {
    for (const name of ['p1', 'p2', 'p3'])
      await core.createNamespacedPod({
        namespace: 'att',
        body: { metadata: { name }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'none' }] } },
      });
    const ips = await Promise.all(['p1', 'p2', 'p3'].map(podIp));
    expect(new Set(ips).size).toBe(3);
    expect(ips).not.toContain('10.5.0.2');
    expect(ips).not.toContain(nicIp);
  });

  it('reports bad input in Ready=False with a reason, and writes no port for it', async () => {
    await createBms('no-subnet', { vpc: 'att', subnet: 'nope', ip: '10.5.0.5' });
    await createBms('outside', { vpc: 'att', subnet: 'att', ip: '10.9.9.9' });
    await createBms('wrong-vpc', { vpc: 'other', subnet: 'att', ip: '10.5.0.6' });
    await createNic('taken', { subnet: 'att', ip: '10.5.0.2' });
    const missing = await readyIs(() => getBms('no-subnet'), 'False', 'SubnetNotFound', 'no-subnet');
    expect(ready(missing)?.message).toContain('nope');
    const outside = await readyIs(() => getBms('outside'), 'False', 'AddressOutOfRange', 'outside');
    expect(ready(outside)?.message).toContain('10.9.9.9');
    await readyIs(() => getBms('wrong-vpc'), 'False', 'VpcMismatch', 'wrong-vpc');
    const taken = await readyIs(() => getNic('taken'), 'False', 'AddressConflict', 'taken');
    expect(ready(taken)?.message).toContain('10.5.0.2');
    expect(taken.status?.logicalSwitchPort).toBeUndefined();
    const names = (await lsps()).map((l) => l.name);
    for (const n of ['bms.no-subnet', 'bms.outside', 'bms.wrong-vpc', 'vnic.att.taken']) expect(names).not.toContain(n);
    // The holder keeps its port and address.
    expect((await lsp('bms.db-1'))?.addresses).toEqual(['0a:00:00:05:00:02 10.5.0.2']);
  });

  it('leaves status untouched (same resourceVersion) when a reconcile changes nothing', async () => {
    /** Reconciles the attachment controller has finished (its Prometheus counter). */
    const reconciles = async () => {
      const metrics = await env.running.registry.getMetricsAsJSON();
      const total = metrics.find((m) => m.name === 'ycloud_controller_reconcile_total') as
        { values: Array<{ value: number; labels: Record<string, string> }> } | undefined;
      return (total?.values ?? [])
        .filter((v) => v.labels.controller === 'network-attachment')
        .reduce((sum, v) => sum + v.value, 0);
    };
    const before = await getNic('nic-1');
    const done = await reconciles();
    // A Subnet change queues every attachment (six objects now); nothing about nic-1 changes.
    await kube.mergePatch(TOPOLOGY_RESOURCES.Subnet, undefined, 'att', { metadata: { labels: { touched: 'yes' } } });
    await eventually(reconciles, (n) => n >= done + 6, 'every attachment reconciled after the Subnet change');
    expect((await getNic('nic-1')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('deleting a server removes its port and frees its address (a VNic waiting for it attaches)', async () => {
    await kube.delete(YUSUR_RESOURCES.BareMetalServer, undefined, 'db-1');
    await eventually(
      () => lsp('bms.db-1'),
      (l) => l === undefined,
      'LSP bms.db-1 removed',
    );
    const taken = await readyIs(() => getNic('taken'), 'True', 'Attached', 'taken');
    expect(taken.status).toMatchObject({ ip: '10.5.0.2', logicalSwitchPort: 'vnic.att.taken' });
    await eventually(
      () => lsp('vnic.att.taken'),
      (l) => l?.addresses[0]?.endsWith(' 10.5.0.2') === true,
      'LSP vnic.att.taken',
    );
  });

  it('after a restart keeps allocated addresses and removes ports of objects deleted while it was down', async () => {
    await env.stopManager();
    await kube.delete(YUSUR_RESOURCES.VNic, 'att', 'taken');
    await kube.delete(YUSUR_RESOURCES.BareMetalServer, undefined, 'outside');
    // Two pods wait for addresses while the controller is down. The allocated address comes back from status.ip
    // before any pod allocates: one pod gets the only free address (taken's), the other none (the subnet is full).
    for (const name of ['p4', 'p5'])
      await core.createNamespacedPod({
        namespace: 'att',
        body: { metadata: { name }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'none' }] } },
      });
    await env.startManager();
    await eventually(
      () => lsp('vnic.att.taken'),
      (l) => l === undefined,
      'LSP vnic.att.taken removed by repair',
    );
    await eventually(
      () => core.listNamespacedEvent({ namespace: 'att' }),
      (l) =>
        l.items.some((e) => e.reason === 'AddressAllocationFailed' && ['p4', 'p5'].includes(e.involvedObject.name!)),
      'a pod refused an address (subnet full)',
    );
    const annotated = await eventually(
      () =>
        Promise.all(
          ['p4', 'p5'].map((name) =>
            core
              .readNamespacedPod({ namespace: 'att', name })
              .then((p) => parseIpAllocationAnnotation(p.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION])?.ip),
          ),
        ),
      (a) => a.filter(Boolean).length === 1,
      'one of p4, p5 addressed',
    );
    expect(annotated.filter(Boolean).map((ip) => ip!.split('/')[0])).toEqual(['10.5.0.2']);
    const nic = await readyIs(() => getNic('nic-1'), 'True', 'Attached', 'nic-1');
    expect(nic.status?.ip).toBe(nicIp);
    expect((await lsp('vnic.att.nic-1'))?.addresses).toEqual([`${nic.status!.mac} ${nicIp}`]);
  });
});
