import { CoreV1Api, DiscoveryV1Api, type V1EndpointSlice, type V1Service } from '@kubernetes/client-node';
import { CHASSIS_ANNOTATION, SERVICE_NAME_LABEL } from '@ycloud/api';
import type { ApplyRecord } from '@ycloud/ovn';
import { ControllerTestEnv, eventually } from '@ycloud/testbed';
import { translateManifests, type KubeObject } from '@ycloud/translate';

/**
 * The Service controller against a real kube-apiserver (with the EndpointSlice controller) and a real OVN
 * Northbound database: what a user sees is the Load_Balancer rows, read back with ovn-nbctl.
 */
describe('Service controller (real apiserver + real OVN NB)', () => {
  let env: ControllerTestEnv;
  let core: CoreV1Api;
  let discovery: DiscoveryV1Api;
  /** What the current manager wrote (records since it started). */
  let since = 0;
  const records = (): ApplyRecord[] => env.records.slice(since);
  async function restart(): Promise<void> {
    await env.stopManager();
    since = env.records.length;
    await env.startManager();
  }

  async function lbs(): Promise<
    Array<{ name: string; vips: Record<string, string>; options: Record<string, string> }>
  > {
    const out = await env.nbctl('--format=json', '--columns=name,vips,options', 'list', 'Load_Balancer');
    const table = JSON.parse(out) as { data: unknown[][] };
    const map = (v: unknown): Record<string, string> => Object.fromEntries((v as [string, [string, string][]])[1]);
    return table.data
      .map(([name, vips, options]) => ({ name: name as string, vips: map(vips), options: map(options) }))
      .filter((lb) => lb.name !== 'Service_default/kubernetes_TCP'); // the apiserver's own Service
  }

  function service(name: string, ports: Array<{ name: string; port: number; protocol?: string }>): V1Service {
    return {
      metadata: { name, namespace: 'default' },
      spec: { ports: ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP', targetPort: 8080 as never })) },
    };
  }
  function slice(svc: string, ips: string[], ready = true): V1EndpointSlice {
    return {
      metadata: { name: `${svc}-manual`, namespace: 'default', labels: { [SERVICE_NAME_LABEL]: svc } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready } })),
    };
  }

  beforeAll(async () => {
    env = await ControllerTestEnv.start({
      kube: { serviceClusterIpRange: '10.96.0.0/16' },
      crds: false,
      manager: false,
      config: { serviceCIDRs: ['10.96.0.0/16'] },
    });
    core = env.k8s.kubeConfig.makeApiClient(CoreV1Api);
    discovery = env.k8s.kubeConfig.makeApiClient(DiscoveryV1Api);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('creates the default topology and one LB per Service protocol with its VIPs and backends', async () => {
    await env.startManager();
    const switches = await env.nbctl('--bare', '--columns=name', 'list', 'Logical_Switch');
    expect(switches.split(/\s+/).sort()).toEqual(['subnet-default', 'subnet-join']);

    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: service('web', [{ name: 'http', port: 80 }]),
    });
    const vip = `${svc.spec!.clusterIP}:80`;
    await discovery.createNamespacedEndpointSlice({
      namespace: 'default',
      body: slice('web', ['10.16.0.5', '10.16.0.6']),
    });
    const all = await eventually(lbs, (l) => l.some((x) => x.vips[vip] === '10.16.0.5:8080,10.16.0.6:8080'), 'web LB');
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ name: 'Service_default/web_TCP', options: { reject: 'true' } });
    // The LB reaches every switch of the VPC through the VPC's LB group.
    const groups = await env.nbctl('--bare', '--columns=load_balancer_group', 'list', 'Logical_Switch');
    expect(new Set(groups.split(/\s+/).filter(Boolean)).size).toBe(1);
    const members = (await env.nbctl('--bare', '--columns=load_balancer', 'list', 'Load_Balancer_Group')).split(/\s+/);
    expect(members).toContain(
      await env.nbctl('--bare', '--columns=_uuid', 'find', 'Load_Balancer', 'name="Service_default/web_TCP"'),
    );
    expect(members).toHaveLength(2); // web and the apiserver's own `kubernetes` Service
  });

  it('follows EndpointSlice changes, keeps the VIP with reject when nothing is ready, and deletes with the Service', async () => {
    const svc = await core.readNamespacedService({ namespace: 'default', name: 'web' });
    const vip = `${svc.spec!.clusterIP}:80`;
    await discovery.replaceNamespacedEndpointSlice({
      namespace: 'default',
      name: 'web-manual',
      body: slice('web', ['10.16.0.7']),
    });
    await eventually(lbs, (l) => l.some((x) => x.vips[vip] === '10.16.0.7:8080'), 'scale to one backend');
    await discovery.replaceNamespacedEndpointSlice({
      namespace: 'default',
      name: 'web-manual',
      body: slice('web', ['10.16.0.7'], false),
    });
    await eventually(lbs, (l) => l.some((x) => x.vips[vip] === ''), 'empty backends with reject');
    await core.deleteNamespacedService({ namespace: 'default', name: 'web' });
    await eventually(lbs, (l) => l.length === 0, 'LB deleted');
  });

  it('writes nothing when restarted with nothing changed, and cleans up after a Service deleted while down', async () => {
    const a = await core.createNamespacedService({
      namespace: 'default',
      body: service('a', [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'http', port: 80 },
      ]),
    });
    await core.createNamespacedService({ namespace: 'default', body: service('b', [{ name: 'http', port: 80 }]) });
    await eventually(lbs, (l) => l.length === 3, 'LBs of a (UDP+TCP) and b');
    expect((await lbs()).find((l) => l.name === 'Service_default/a_UDP')!.vips).toEqual({
      [`${a.spec!.clusterIP}:53`]: '',
    });

    await restart();
    await env.settled();
    expect(records().filter((r) => r.written)).toEqual([]);

    await env.stopManager();
    await core.deleteNamespacedService({ namespace: 'default', name: 'b' });
    since = env.records.length;
    await env.startManager();
    await eventually(
      lbs,
      (l) => l.length === 2 && l.every((x) => x.name.startsWith('Service_default/a_')),
      'b removed by start-up repair',
    );
    expect(
      records()
        .filter((r) => r.written)
        .map((r) => [r.owner.name, r.reason]),
    ).toEqual([['default/b', 'startup repair']]);
  });

  it('never touches Load_Balancer rows it does not own', async () => {
    await env.nbctl('lb-add', 'someone-elses', '192.0.2.1:80', '192.0.2.2:80');
    await restart();
    await core.deleteNamespacedService({ namespace: 'default', name: 'a' });
    await eventually(lbs, (l) => l.length === 1, 'only the foreign LB left');
    expect((await lbs())[0]).toMatchObject({ name: 'someone-elses', vips: { '192.0.2.1:80': '192.0.2.2:80' } });
  });

  it("keys a Node's per-chassis variables by its ycloud.io/chassis annotation, exactly as `ycloud translate` does", async () => {
    if (!env.manager) await env.startManager(); // also when run alone (-t chassis)
    const node = await core.createNode({
      body: { metadata: { name: 'node-a', annotations: { [CHASSIS_ANNOTATION]: 'chassis-of-node-a' } } },
    });
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'local', namespace: 'default' },
        spec: { internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 8080 as never }] },
      },
    });
    const endpoints = await discovery.createNamespacedEndpointSlice({
      namespace: 'default',
      body: { ...slice('local', ['10.16.0.9']), endpoints: [{ addresses: ['10.16.0.9'], nodeName: 'node-a' }] },
    });
    const chassisVars = async (): Promise<Array<{ chassis: string; variables: Record<string, string> }>> => {
      const out = await env.nbctl('--format=json', '--columns=chassis,variables', 'list', 'Chassis_Template_Var');
      const table = JSON.parse(out) as { data: unknown[][] };
      return table.data.map(([chassis, vars]) => ({
        chassis: chassis as string,
        variables: Object.fromEntries((vars as [string, [string, string][]])[1]),
      }));
    };
    const rows = await eventually(
      chassisVars,
      (r) => r.some((x) => Object.values(x.variables).includes('10.16.0.9:8080')),
      'node-local backends in the chassis variables',
    );
    // The controller wrote the row under the annotated chassis, not the node name (OVN matches it by chassis name).
    expect(rows.map((r) => r.chassis)).toEqual(['chassis-of-node-a']);
    expect(Object.values(rows[0].variables).sort()).toEqual(['10.16.0.9:8080', svc.spec!.clusterIP!].sort());

    // The preview over the same objects, read back from the apiserver, gives the same row and variables.
    const objects = [
      { ...node, apiVersion: 'v1', kind: 'Node' },
      {
        ...(await core.readNamespacedService({ namespace: 'default', name: 'local' })),
        apiVersion: 'v1',
        kind: 'Service',
      },
      { ...endpoints, apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
    ] as unknown as KubeObject[];
    const preview = translateManifests(objects).tables.Chassis_Template_Var;
    expect(preview.map((r) => [r.columns.chassis, r.contributions?.['Service:default/local']?.variables])).toEqual([
      ['chassis-of-node-a', rows[0].variables],
    ]);

    await core.deleteNamespacedService({ namespace: 'default', name: 'local' });
    await core.deleteNode({ name: 'node-a' });
    await eventually(chassisVars, (r) => r.length === 0, 'chassis row gone with its Node');
  });

  it('tells the user, in an Event on the Service, what OVN cannot do and what it does instead', async () => {
    if (!env.manager) await env.startManager(); // also when run alone
    // Kubernetes allows affinity up to 86400 s; OVN's timeout is 16-bit, so ycloud hashes on the client address.
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: {
        ...service('sticky', [{ name: 'http', port: 80 }]),
        spec: {
          ...service('sticky', [{ name: 'http', port: 80 }]).spec,
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 86400 } },
        },
      },
    });
    const events = await eventually(
      () => core.listNamespacedEvent({ namespace: 'default' }),
      (e) => e.items.some((x) => x.involvedObject.name === 'sticky' && x.reason === 'AffinityTimeoutTooLong'),
      'AffinityTimeoutTooLong event on the Service',
    );
    // Others may tell of it too (kube-controller-manager's ClusterIP repair): ycloud's Event by its reason.
    const event = events.items.find(
      (x) => x.involvedObject.name === 'sticky' && x.reason === 'AffinityTimeoutTooLong',
    )!;
    expect(event).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Service', uid: svc.metadata!.uid } });
    expect(event.message).toContain('hashing on the client address');
    const sticky = await eventually(lbs, (l) => l.some((x) => x.name === 'Service_default/sticky_TCP'), 'sticky LB');
    // Served anyway, without an affinity_timeout OVN would reject.
    expect(sticky.find((x) => x.name === 'Service_default/sticky_TCP')!.options).toEqual({ reject: 'true' });
    await core.deleteNamespacedService({ namespace: 'default', name: 'sticky' });
  });
});
