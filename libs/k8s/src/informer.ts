import { SyncSource } from './controller';
import { EventHandler } from './event-handlers';
import { isGone, KubeApiError, KubeClient, WatchEvent } from './kube-client';
import { Logger } from './logger';
import { Backoff } from './rate-limiter';
import { KubeList, KubeObject, objectKey, ResourceType, resourcePath } from './resource';
import { IndexFunc, Store } from './store';

export interface InformerOptions<T> {
  /** Only this namespace (default: all). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc<T>>;
  /** Full relist + diff period (heals a watch that silently stopped). Default 5 min; jittered +0..20 %. */
  relistPeriodMs?: number;
  /** Server-side watch timeout; randomized between this and twice this. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** Page size for lists. Default 500. */
  pageSize?: number;
  /** Restart backoff after errors. Default 200 ms doubling to 30 s. */
  backoff?: Backoff;
  logger?: Logger;
}

class GoneError extends Error {}

/**
 * A list+watch cache of one resource type with add/update/delete handlers.
 *
 * Built on list and watch calls directly (see KubeClient) rather than client-node's ListWatch, which stops
 * for good on any error other than 410, never asks for bookmarks or pages, and can open duplicate watches on
 * stop/start. Here one loop owns the lifecycle, so there is never more than one list or watch (or restart) at
 * a time:
 *   list (paged, quorum read) -> diff against the cache, emitting add/update/delete -> watch from the list's
 *   resourceVersion (with bookmarks) -> on a normal close, watch again from the last seen resourceVersion;
 *   on 410 Gone, relist at once; on any other error, wait with exponential backoff and retry the watch (a
 *   stale resourceVersion then gets 410 and a relist).
 * A periodic jittered relist diffs the server's state against the cache and emits what was missed, and a
 * watch that outlives its server-side timeout is treated as dead: both heal a watch that stopped silently.
 */
export class Informer<T extends KubeObject> implements SyncSource {
  readonly store: Store<T>;
  private readonly handlers = new Set<EventHandler<T>>();
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private stopped = true;
  private loop?: Promise<void>;
  private watchAbort?: AbortController;
  private relistRequested = false;
  private relistTimer?: NodeJS.Timeout;
  private wake?: () => void;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, errors: 0, gone: 0 };

  constructor(
    private readonly client: KubeClient,
    readonly resource: ResourceType,
    private readonly options: InformerOptions<T> = {},
  ) {
    this.store = new Store<T>(options.indexers);
    this.backoff = options.backoff ?? new Backoff(200, 30_000);
    this.log = (options.logger ?? new Logger()).child({ informer: resource.plural, group: resource.group || 'core' });
  }

  /** Registers handlers; if the cache is already filled, replays its objects as adds. Returns an unsubscribe. */
  addHandler(handler: EventHandler<T>): () => void {
    this.handlers.add(handler);
    if (this.synced) for (const obj of this.store.list()) this.call(() => handler.onAdd?.(obj, true));
    return () => this.handlers.delete(handler);
  }

  /** Starts the list/watch loop (idempotent). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.scheduleRelist();
    this.loop = this.run();
  }

  /** Stops the loop and waits for it; the cache keeps its contents. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.relistTimer);
    this.watchAbort?.abort();
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves after the first full list has been applied (or when `signal` aborts). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** The resourceVersion the next watch starts from ('' = a list is due). */
  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  /** Ends the current watch and relists now (the periodic relist does this on a timer). */
  relistNow(): void {
    this.relistRequested = true;
    this.watchAbort?.abort();
  }

  private scheduleRelist(): void {
    const period = this.options.relistPeriodMs ?? 300_000;
    if (period <= 0 || this.stopped) return;
    const delay = period * (1 + 0.2 * Math.random());
    this.relistTimer = setTimeout(() => {
      this.log.debug('periodic relist');
      this.relistNow();
      this.scheduleRelist();
    }, delay);
    this.relistTimer.unref?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.resourceVersion || this.relistRequested) {
          this.relistRequested = false;
          await this.relist();
        }
        const started = Date.now();
        await this.watchOnce();
        // A watch that closes right away without error would spin; pace it like an error.
        if (!this.stopped && !this.relistRequested && Date.now() - started < 1000)
          await this.sleep(this.backoff.next());
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof GoneError || isGone(err)) {
          this.stats.gone++;
          this.log.info('resourceVersion too old (410 Gone); relisting', { resourceVersion: this.resourceVersion });
          this.resourceVersion = '';
          continue;
        }
        this.stats.errors++;
        const delay = this.backoff.next();
        this.log.warn('list/watch failed; retrying', { err, delayMs: delay, resourceVersion: this.resourceVersion });
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private query(): Record<string, string | undefined> {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  /** Lists every page, then reconciles the cache with the result and emits the differences. */
  private async relist(): Promise<void> {
    const p = resourcePath(this.resource, this.options.namespace);
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.request<KubeList<T>>('GET', p, {
        query: { ...this.query(), limit: this.options.pageSize ?? 500, continue: cont },
      });
      if (this.stopped) return;
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont);
    this.stats.lists++;
    this.replace(items);
    this.resourceVersion = rv;
    this.backoff.reset();
    this.log.debug('listed', { count: items.length, resourceVersion: rv });
    if (!this.synced) {
      this.synced = true;
      const waiters = this.syncWaiters;
      this.syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.store.get(key);
      if (!old) {
        this.store.upsert(obj);
        this.emitAdd(obj, !this.synced);
      } else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
        this.store.upsert(obj);
        this.emitUpdate(old, obj);
      }
    }
    for (const key of this.store.keys()) {
      if (seen.has(key)) continue;
      const old = this.store.remove(key);
      if (old) this.emitDelete(old);
    }
  }

  private async watchOnce(): Promise<void> {
    if (this.stopped) return;
    const base = this.options.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.round(base * (1 + Math.random()));
    const abort = new AbortController();
    this.watchAbort = abort;
    // The server closes the watch after timeoutSeconds; if it has not, the connection is dead.
    let overdue = false;
    const deadline = setTimeout(
      () => {
        overdue = true;
        abort.abort();
      },
      (timeoutSeconds + 30) * 1000,
    );
    deadline.unref?.();
    this.stats.watches++;
    try {
      await this.client.watch<T>(
        resourcePath(this.resource, this.options.namespace),
        { ...this.query(), resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        (event) => this.onWatchEvent(event),
        abort.signal,
      );
    } finally {
      clearTimeout(deadline);
      this.watchAbort = undefined;
    }
    if (overdue) this.log.warn('watch outlived its server timeout; restarting', { timeoutSeconds });
  }

  private onWatchEvent(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      const status = event.object as unknown as { code?: number; message?: string; reason?: string };
      if (status.code === 410) throw new GoneError(status.message ?? 'Gone');
      throw new KubeApiError(status.code ?? 500, `watch error: ${status.message ?? 'unknown'}`, status.reason, status);
    }
    const obj = event.object;
    const rv = obj?.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const key = objectKey(obj);
    if (event.type === 'DELETED') {
      const old = this.store.remove(key);
      this.emitDelete(old ?? obj);
    } else {
      const old = this.store.upsert(obj);
      if (old) this.emitUpdate(old, obj);
      else this.emitAdd(obj);
    }
    if (rv) this.resourceVersion = rv;
    this.backoff.reset();
  }

  private emitAdd(obj: T, isInInitialList = false): void {
    for (const h of this.handlers) this.call(() => h.onAdd?.(obj, isInInitialList));
  }
  private emitUpdate(oldObj: T, newObj: T): void {
    for (const h of this.handlers) this.call(() => h.onUpdate?.(oldObj, newObj));
  }
  private emitDelete(obj: T): void {
    for (const h of this.handlers) this.call(() => h.onDelete?.(obj));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error('event handler threw', { err });
    }
  }
}
