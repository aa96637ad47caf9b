import { KubeControlPlane } from '@ycloud/testbed/k8s';
import {
  Backoff,
  Controller,
  Informer,
  KubeClient,
  KubeObject,
  Resources,
  SERVICE_NAME_LABEL,
  indexByLabel,
  serviceKeyOfEndpointSlice,
} from '@ycloud/k8s';
import { ensureNamespace, eventually, startControlPlane, testLogger, versions } from './helpers';
import { TcpProxy } from './tcp-proxy';

const NS = 'informer-test';

function configMap(name: string, value: string): KubeObject & { data: Record<string, string> } {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data: { value } };
}

describe('Informer against a real apiserver', () => {
  let cp: KubeControlPlane;
  let client: KubeClient;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    ({ cp, client } = await startControlPlane());
    await ensureNamespace(client, NS);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    client?.close();
    await cp?.stop();
  });

  async function freshList(): Promise<Array<[string, string]>> {
    return versions(
      (await client.list(Resources.configMaps, NS)).items.filter((o) => o.metadata?.name?.startsWith('cm-')),
    );
  }

  function cached(inf: Informer<KubeObject>): Array<[string, string]> {
    return versions(inf.store.list().filter((o) => o.metadata?.name?.startsWith('cm-')));
  }

  it('sees adds, updates and deletes', async () => {
    const inf = new Informer<KubeObject>(client, Resources.configMaps, { namespace: NS, logger: testLogger() });
    const events: string[] = [];
    inf.addHandler({
      onAdd: (o) => events.push(`add ${o.metadata?.name}`),
      onUpdate: (_o, n) => events.push(`update ${n.metadata?.name}`),
      onDelete: (o) => events.push(`delete ${o.metadata?.name}`),
    });
    inf.start();
    cleanups.push(() => inf.stop());
    await inf.waitForSync();
    await client.create(Resources.configMaps, NS, configMap('cm-a', '1'));
    await eventually(() => expect(inf.store.get(`${NS}/cm-a`)).toBeDefined());
    await client.mergePatch(Resources.configMaps, NS, 'cm-a', { data: { value: '2' } });
    await eventually(() => expect((inf.store.get(`${NS}/cm-a`) as { data: { value: string } }).data.value).toBe('2'));
    await client.delete(Resources.configMaps, NS, 'cm-a');
    await eventually(() => expect(inf.store.get(`${NS}/cm-a`)).toBeUndefined());
    expect(events.filter((e) => e.endsWith('cm-a'))).toEqual(['add cm-a', 'update cm-a', 'delete cm-a']);
  });

  it('heals after its connections are reset and refused while objects change', async () => {
    const proxy = await TcpProxy.start(new URL(cp.server));
    const viaProxy = new KubeClient({ ...client.config, server: proxy.url });
    cleanups.push(
      () => proxy.close(),
      () => viaProxy.close(),
    );
    for (let i = 0; i < 5; i++) await client.create(Resources.configMaps, NS, configMap(`cm-r${i}`, '0'));
    const inf = new Informer<KubeObject>(viaProxy, Resources.configMaps, {
      namespace: NS,
      logger: testLogger(),
      backoff: new Backoff(100, 1000),
      relistPeriodMs: 0, // only the watch restart may heal here
    });
    inf.start();
    cleanups.push(() => inf.stop());
    await inf.waitForSync();
    expect(cached(inf)).toEqual(await freshList());

    // The network fails: open connections reset, new ones refused, while the cluster changes.
    proxy.refuse = true;
    proxy.resetAll();
    await client.delete(Resources.configMaps, NS, 'cm-r0');
    await client.mergePatch(Resources.configMaps, NS, 'cm-r1', { data: { value: 'changed' } });
    await client.create(Resources.configMaps, NS, configMap('cm-r5', 'new'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(inf.stats.errors).toBeGreaterThan(0);
    proxy.refuse = false;

    await eventually(async () => expect(cached(inf)).toEqual(await freshList()));
    expect(inf.store.get(`${NS}/cm-r0`)).toBeUndefined();
  });

  it('heals a watch that went silent with the periodic relist', async () => {
    const proxy = await TcpProxy.start(new URL(cp.server));
    const viaProxy = new KubeClient({ ...client.config, server: proxy.url });
    cleanups.push(
      () => proxy.close(),
      () => viaProxy.close(),
    );
    const inf = new Informer<KubeObject>(viaProxy, Resources.configMaps, {
      namespace: NS,
      logger: testLogger(),
      relistPeriodMs: 2000,
    });
    const deleted: string[] = [];
    inf.addHandler({ onDelete: (o) => deleted.push(o.metadata!.name!) });
    inf.start();
    cleanups.push(() => inf.stop());
    await inf.waitForSync();
    const listsBefore = inf.stats.lists;
    proxy.freezeExisting(); // the watch connection stays open but nothing arrives any more
    await client.create(Resources.configMaps, NS, configMap('cm-s1', 'x'));
    const victim = (await freshList())[0][0].split('/')[1];
    await client.delete(Resources.configMaps, NS, victim);
    await eventually(async () => expect(cached(inf)).toEqual(await freshList()), 15_000);
    expect(inf.stats.lists).toBeGreaterThan(listsBefore);
    expect(deleted).toContain(victim);
  });

  it('indexes EndpointSlices by Service and drives a controller keyed by Service', async () => {
    const services = new Informer<KubeObject>(client, Resources.services, { namespace: NS, logger: testLogger() });
    const slices = new Informer<KubeObject>(client, Resources.endpointSlices, {
      namespace: NS,
      logger: testLogger(),
      indexers: { byService: indexByLabel(SERVICE_NAME_LABEL) },
    });
    const reconciled: string[] = [];
    const controller = new Controller({
      name: 'test-services',
      workers: 2,
      logger: testLogger(),
      reconcile: async (key) => {
        reconciled.push(`${key}:${slices.store.byIndex('byService', key).length}`);
        return {};
      },
    })
      .watch(services)
      .watch(slices, serviceKeyOfEndpointSlice);
    services.start();
    slices.start();
    cleanups.push(
      () => services.stop(),
      () => slices.stop(),
    );
    await controller.start();
    cleanups.push(() => controller.stop());
    await client.create(Resources.services, NS, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: NS },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP' }] },
    } as KubeObject);
    // kube-controller-manager's endpointslice controller makes an (empty) slice labelled with the Service.
    await eventually(() => expect(reconciled).toContain(`${NS}/web:1`), 30_000);
  });
});
