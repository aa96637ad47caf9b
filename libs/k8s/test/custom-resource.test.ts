import { KubeControlPlane } from '@ycloud/testbed/k8s';
import { Condition, Informer, KubeClient, KubeObject, patchStatusCondition, resourceType } from '@ycloud/k8s';
import { ensureNamespace, eventually, startControlPlane, testLogger } from './helpers';

const NS = 'cr-test';
const widgets = resourceType('test.ycloud.io', 'v1', 'widgets', 'Widget');
const crds = resourceType('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false);

type Widget = KubeObject & { spec?: { size?: number }; status?: { conditions?: Condition[] } };

describe('custom resources: informer by group/version/plural and status conditions', () => {
  let cp: KubeControlPlane;
  let client: KubeClient;

  beforeAll(async () => {
    ({ cp, client } = await startControlPlane());
    await ensureNamespace(client, NS);
    await client.create(crds, undefined, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.test.ycloud.io' },
      spec: {
        group: 'test.ycloud.io',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    } as KubeObject);
    await eventually(() => client.list(widgets, NS), 30_000, 250);
  });
  afterAll(async () => {
    client?.close();
    await cp?.stop();
  });

  it('caches custom resources and sets a condition through the status subresource, once', async () => {
    const inf = new Informer<Widget>(client, widgets, { namespace: NS, logger: testLogger() });
    let updates = 0;
    inf.addHandler({ onUpdate: () => updates++ });
    inf.start();
    try {
      await inf.waitForSync();
      await client.create<Widget>(widgets, NS, {
        apiVersion: 'test.ycloud.io/v1',
        kind: 'Widget',
        metadata: { name: 'w', namespace: NS },
        spec: { size: 1 },
      });
      await eventually(() => expect(inf.store.get(`${NS}/w`)).toBeDefined());

      const ready = {
        type: 'Ready',
        status: 'True' as const,
        reason: 'Programmed',
        message: 'load balancer programmed',
      };
      expect(await patchStatusCondition(client, widgets, NS, 'w', ready)).toBe(true);
      await eventually(() =>
        expect(inf.store.get(`${NS}/w`)?.status?.conditions?.[0]).toMatchObject({ ...ready, observedGeneration: 1 }),
      );
      const rv = inf.store.get(`${NS}/w`)!.metadata!.resourceVersion;
      const seenUpdates = updates;

      // Same condition again: no write, no new resourceVersion.
      expect(await patchStatusCondition(client, widgets, NS, 'w', ready)).toBe(false);
      expect((await client.get<Widget>(widgets, NS, 'w')).metadata?.resourceVersion).toBe(rv);
      expect(updates).toBe(seenUpdates);

      // The status subresource does not touch spec.
      expect((await client.get<Widget>(widgets, NS, 'w')).spec).toEqual({ size: 1 });
    } finally {
      await inf.stop();
    }
  });
});
