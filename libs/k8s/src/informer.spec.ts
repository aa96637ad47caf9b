import { Informer } from './informer';
import { KubeApiError, KubeClient, Query, WatchEvent } from './kube-client';
import { Logger } from './logger';
import { Backoff } from './rate-limiter';
import { KubeObject, Resources } from './resource';
import { indexByLabel, SERVICE_NAME_LABEL } from './store';

interface Obj extends KubeObject {
  data?: string;
}

function obj(name: string, rv: string, labels?: Record<string, string>): Obj {
  return { metadata: { namespace: 'ns', name, resourceVersion: rv, labels } };
}

/** A scripted apiserver: the current list, and the open watch that the test feeds or breaks. */
class FakeApi {
  items: Obj[] = [];
  listRv = '1';
  lists = 0;
  listError?: Error;
  watchQueries: Query[] = [];
  private current?: { onEvent: (e: WatchEvent<Obj>) => void; resolve: () => void; reject: (e: unknown) => void };

  asClient(): KubeClient {
    return {
      request: async (_m: string, _p: string, opts: { query?: Query }) => {
        if (this.listError) throw this.listError;
        this.lists++;
        expect(opts.query?.limit).toBeDefined();
        return { metadata: { resourceVersion: this.listRv }, items: [...this.items] };
      },
      watch: (_p: string, query: Query, onEvent: (e: WatchEvent<Obj>) => void, signal?: AbortSignal) => {
        this.watchQueries.push(query);
        return new Promise<void>((resolve, reject) => {
          this.current = {
            onEvent: (e) => {
              try {
                onEvent(e);
              } catch (err) {
                reject(err);
              }
            },
            resolve,
            reject,
          };
          signal?.addEventListener('abort', () => resolve());
        });
      },
    } as unknown as KubeClient;
  }

  send(type: WatchEvent['type'], object: Obj | object): void {
    this.current!.onEvent({ type, object } as WatchEvent<Obj>);
  }
  breakWatch(err: unknown): void {
    const c = this.current!;
    this.current = undefined;
    c.reject(err);
  }
  hasWatch(): boolean {
    return this.current !== undefined;
  }
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
}

function recorder(): { events: string[]; handler: object } {
  const events: string[] = [];
  return {
    events,
    handler: {
      onAdd: (o: Obj) => events.push(`add ${o.metadata!.name}`),
      onUpdate: (_o: Obj, n: Obj) => events.push(`update ${n.metadata!.name}`),
      onDelete: (o: Obj) => events.push(`delete ${o.metadata!.name}`),
    },
  };
}

describe('Informer', () => {
  let informer: Informer<Obj> | undefined;
  afterEach(async () => {
    await informer?.stop();
  });

  function make(api: FakeApi): Informer<Obj> {
    informer = new Informer<Obj>(api.asClient(), Resources.endpointSlices, {
      logger: Logger.silent(),
      backoff: new Backoff(1, 5, 0),
      relistPeriodMs: 0,
      indexers: { byService: indexByLabel(SERVICE_NAME_LABEL) },
    });
    return informer;
  }

  it('lists, syncs, then watches from the list resourceVersion with bookmarks', async () => {
    const api = new FakeApi();
    api.items = [obj('a', '5'), obj('b', '6')];
    api.listRv = '10';
    const inf = make(api);
    const rec = recorder();
    inf.addHandler(rec.handler);
    expect(inf.hasSynced()).toBe(false);
    inf.start();
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    expect(rec.events).toEqual(['add a', 'add b']);
    await until(() => api.hasWatch());
    expect(api.watchQueries[0]).toMatchObject({ resourceVersion: '10', allowWatchBookmarks: true });
  });

  it('applies watch events to the store and indexes, and tracks resourceVersion incl. bookmarks', async () => {
    const api = new FakeApi();
    const inf = make(api);
    const rec = recorder();
    inf.addHandler(rec.handler);
    inf.start();
    await until(() => api.hasWatch());
    api.send('ADDED', obj('s1', '11', { [SERVICE_NAME_LABEL]: 'web' }));
    api.send('MODIFIED', obj('s1', '12', { [SERVICE_NAME_LABEL]: 'web' }));
    api.send('ADDED', obj('s2', '13', { [SERVICE_NAME_LABEL]: 'db' }));
    expect(inf.store.byIndex('byService', 'ns/web').map((o) => o.metadata!.name)).toEqual(['s1']);
    api.send('DELETED', obj('s1', '14'));
    api.send('BOOKMARK', { metadata: { resourceVersion: '20' } });
    expect(rec.events).toEqual(['add s1', 'update s1', 'add s2', 'delete s1']);
    expect(inf.store.get('ns/s1')).toBeUndefined();
    expect(inf.store.byIndex('byService', 'ns/web')).toEqual([]);
    expect(inf.store.get('ns/s2')?.metadata?.resourceVersion).toBe('13');
    expect(inf.lastSyncResourceVersion()).toBe('20');
  });

  it('relists on 410 Gone in the stream and emits what the dead watch missed', async () => {
    const api = new FakeApi();
    api.items = [obj('a', '5'), obj('b', '6')];
    const inf = make(api);
    const rec = recorder();
    inf.addHandler(rec.handler);
    inf.start();
    await until(() => api.hasWatch());
    // Meanwhile on the server: a deleted, b changed, c created.
    api.items = [obj('b', '8'), obj('c', '9')];
    api.listRv = '30';
    api.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    await until(() => api.lists === 2 && api.hasWatch());
    expect(rec.events.slice(2).sort()).toEqual(['add c', 'delete a', 'update b']);
    expect(inf.store.keys().sort()).toEqual(['ns/b', 'ns/c']);
    expect(api.watchQueries.at(-1)).toMatchObject({ resourceVersion: '30' });
    expect(inf.stats.gone).toBe(1);
  });

  it('restarts the watch from the last resourceVersion after a connection error', async () => {
    const api = new FakeApi();
    const inf = make(api);
    inf.start();
    await until(() => api.hasWatch());
    api.send('ADDED', obj('x', '15'));
    api.breakWatch(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await until(() => api.hasWatch());
    expect(api.lists).toBe(1);
    expect(api.watchQueries.at(-1)).toMatchObject({ resourceVersion: '15' });
    expect(inf.stats.errors).toBe(1);
  });

  it('relists on a 410 answer to the watch request itself', async () => {
    const api = new FakeApi();
    const inf = make(api);
    inf.start();
    await until(() => api.hasWatch());
    api.breakWatch(new KubeApiError(410, 'gone', 'Expired'));
    await until(() => api.lists === 2 && api.hasWatch());
  });

  it('keeps retrying a failing list with backoff and syncs once it works', async () => {
    const api = new FakeApi();
    api.listError = new KubeApiError(503, 'unavailable');
    const inf = make(api);
    inf.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(inf.hasSynced()).toBe(false);
    expect(inf.stats.errors).toBeGreaterThan(1);
    api.listError = undefined;
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
  });

  it('heals a silently dead watch with a relist that diffs against the cache', async () => {
    const api = new FakeApi();
    api.items = [obj('a', '1')];
    const inf = make(api);
    const rec = recorder();
    inf.addHandler(rec.handler);
    inf.start();
    await until(() => api.hasWatch());
    api.items = [obj('a', '1'), obj('new', '2')]; // the watch never told us
    inf.relistNow();
    await until(() => api.lists === 2);
    expect(rec.events).toEqual(['add a', 'add new']); // unchanged 'a' emits nothing
  });

  it('replays the cache to a handler added after sync', async () => {
    const api = new FakeApi();
    api.items = [obj('a', '1')];
    const inf = make(api);
    inf.start();
    await inf.waitForSync();
    const rec = recorder();
    inf.addHandler(rec.handler);
    expect(rec.events).toEqual(['add a']);
  });

  it('marks adds of the initial list and of a late handler replay, not those of watch events or later relists', async () => {
    const api = new FakeApi();
    api.items = [obj('a', '1')];
    const inf = make(api);
    const seen: string[] = [];
    const handler = { onAdd: (o: Obj, initial?: boolean) => seen.push(`${o.metadata!.name}:${initial}`) };
    inf.addHandler(handler);
    inf.start();
    await until(() => api.hasWatch());
    api.send('ADDED', obj('b', '2'));
    api.items = [obj('a', '1'), obj('b', '2'), obj('missed', '3')];
    inf.relistNow();
    await until(() => api.lists === 2);
    const late: string[] = [];
    inf.addHandler({ onAdd: (o: Obj, initial?: boolean) => late.push(`${o.metadata!.name}:${initial}`) });
    expect(seen).toEqual(['a:true', 'b:false', 'missed:false']);
    expect(late.sort()).toEqual(['a:true', 'b:true', 'missed:true']);
  });

  it('a throwing handler does not break the informer', async () => {
    const api = new FakeApi();
    const inf = make(api);
    inf.addHandler({
      onAdd: () => {
        throw new Error('boom');
      },
    });
    inf.start();
    await until(() => api.hasWatch());
    api.send('ADDED', obj('a', '2'));
    expect(inf.store.has('ns/a')).toBe(true);
    expect(api.hasWatch()).toBe(true);
  });
});
