import { enqueueHandler, ownerKeys, selectorMatches, serviceKeyOfEndpointSlice, updatesWhen } from './event-handlers';
import type { EventHandler } from './event-handlers';
import { KubeObject } from './resource';
import { Store, indexByLabel, indexPodsByNode } from './store';

describe('event handlers', () => {
  it('maps EndpointSlices to their Service and enqueues old and new owner on update', () => {
    const keys: string[] = [];
    const h = enqueueHandler({ enqueue: (k) => keys.push(k) }, serviceKeyOfEndpointSlice);
    const slice = (svc?: string): KubeObject => ({
      metadata: { namespace: 'ns', name: 's-1', labels: svc ? { 'kubernetes.io/service-name': svc } : {} },
    });
    h.onAdd!(slice('web'));
    h.onUpdate!(slice('web'), slice('api'));
    h.onDelete!(slice(undefined));
    expect(keys).toEqual(['ns/web', 'ns/web', 'ns/api']);
  });

  it('updatesWhen passes on only the updates that matter to the watcher; adds and deletes always', async () => {
    const handlers: Array<EventHandler<KubeObject>> = [];
    let synced = false;
    const informer = {
      hasSynced: () => synced,
      waitForSync: async () => undefined,
      addHandler: (h: EventHandler<KubeObject>) => (handlers.push(h), () => undefined),
    };
    const zoneOf = (o: KubeObject) => o.metadata?.labels?.zone;
    const view = updatesWhen(informer, (a: KubeObject, b: KubeObject) => zoneOf(a) !== zoneOf(b));
    const keys: string[] = [];
    view.addHandler(enqueueHandler({ enqueue: (k) => keys.push(k) }, () => 'all'));
    const node = (zone: string, heartbeat: string): KubeObject => ({
      metadata: { name: 'n1', labels: { zone }, annotations: { heartbeat } },
    });
    const h = handlers[0];
    h.onAdd!(node('a', '1'));
    h.onUpdate!(node('a', '1'), node('a', '2')); // a heartbeat: nothing
    h.onUpdate!(node('a', '2'), node('b', '2')); // the zone: every key
    h.onDelete!(node('b', '2'));
    expect(keys).toEqual(['all', 'all', 'all']);
    synced = true;
    expect(view.hasSynced()).toBe(true);
    await expect(view.waitForSync()).resolves.toBeUndefined();
  });

  it('defaults to the object key', () => {
    const keys: string[] = [];
    const h = enqueueHandler({ enqueue: (k) => keys.push(k) });
    h.onAdd!({ metadata: { namespace: 'a', name: 'b' } });
    h.onAdd!({ metadata: { name: 'node-1' } });
    expect(keys).toEqual(['a/b', 'node-1']);
  });

  it('queues the objects of the initial list at the resync level, and every change at the event level', () => {
    const got: Array<[string, string | undefined]> = [];
    const h = enqueueHandler({ enqueue: (k, priority) => got.push([k, priority]) }, serviceKeyOfEndpointSlice);
    const slice = (svc: string): KubeObject => ({
      metadata: { namespace: 'ns', name: `s-${svc}`, labels: { 'kubernetes.io/service-name': svc } },
    });
    h.onAdd!(slice('listed'), true);
    h.onAdd!(slice('added'), false);
    h.onAdd!(slice('added-too'));
    h.onUpdate!(slice('listed'), slice('listed'));
    h.onDelete!(slice('gone'));
    expect(got).toEqual([
      ['ns/listed', 'resync'],
      ['ns/added', undefined],
      ['ns/added-too', undefined],
      ['ns/listed', undefined],
      ['ns/gone', undefined],
    ]);
  });

  it('maps owner references and matches selectors', () => {
    expect(
      ownerKeys('Service')({
        metadata: {
          namespace: 'n',
          ownerReferences: [
            { kind: 'Service', name: 'x' },
            { kind: 'Pod', name: 'p' },
          ],
        },
      }),
    ).toEqual(['n/x']);
    expect(selectorMatches({ app: 'a' }, { app: 'a', tier: 'b' })).toBe(true);
    expect(selectorMatches({ app: 'a' }, { app: 'b' })).toBe(false);
    expect(selectorMatches({}, { app: 'a' })).toBe(false);
  });
});

describe('Store', () => {
  it('keeps indexes in step with upserts and removes', () => {
    type Pod = {
      metadata: { namespace: string; name: string; labels?: Record<string, string> };
      spec?: { nodeName?: string };
    };
    const s = new Store<Pod>({ byNode: indexPodsByNode(), byApp: indexByLabel('app') });
    s.upsert({ metadata: { namespace: 'n', name: 'p1', labels: { app: 'x' } }, spec: { nodeName: 'node-a' } });
    s.upsert({ metadata: { namespace: 'n', name: 'p2' }, spec: { nodeName: 'node-a' } });
    s.upsert({ metadata: { namespace: 'n', name: 'p1', labels: { app: 'y' } }, spec: { nodeName: 'node-b' } });
    expect(s.indexKeys('byNode', 'node-a')).toEqual(['n/p2']);
    expect(s.indexKeys('byNode', 'node-b')).toEqual(['n/p1']);
    expect(s.byIndex('byApp', 'n/x')).toEqual([]);
    expect(s.byIndex('byApp', 'n/y')).toHaveLength(1);
    s.remove('n/p1');
    expect(s.indexKeys('byNode', 'node-b')).toEqual([]);
    expect(s.getByName('n', 'p2')).toBeDefined();
    expect(() => s.byIndex('nope', 'x')).toThrow();
  });
});
