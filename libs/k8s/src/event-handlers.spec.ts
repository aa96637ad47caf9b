import { enqueueHandler, ownerKeys, selectorMatches, serviceKeyOfEndpointSlice } from './event-handlers';
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
