import { KubeObject, objectKey } from './resource';

/** Maps an object to the index values it is filed under (none = not indexed). */
export type IndexFunc<T> = (obj: T) => string[];

/**
 * An in-memory cache of objects by key (`namespace/name`) with caller-defined secondary indexes.
 * Objects are shared, not copied: treat them as read-only.
 */
export class Store<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly indexers: Record<string, IndexFunc<T>> = {}) {
    for (const name of Object.keys(indexers)) this.indices.set(name, new Map());
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Objects filed under `value` in index `indexName`. */
  byIndex(indexName: string, value: string): T[] {
    return this.indexKeys(indexName, value).map((k) => this.items.get(k)!);
  }

  /** Keys filed under `value` in index `indexName`. */
  indexKeys(indexName: string, value: string): string[] {
    const index = this.indices.get(indexName);
    if (!index) throw new Error(`store: no index named ${indexName}`);
    return [...(index.get(value) ?? [])];
  }

  /** Inserts or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old;
  }

  /** Removes by key; returns the removed object. */
  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  private index(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indices.get(name)!;
      for (const value of safeIndex(fn, obj)) {
        let set = index.get(value);
        if (!set) index.set(value, (set = new Set()));
        set.add(key);
      }
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indices.get(name)!;
      for (const value of safeIndex(fn, obj)) {
        const set = index.get(value);
        if (!set) continue;
        set.delete(key);
        if (set.size === 0) index.delete(value);
      }
    }
  }
}

function safeIndex<T>(fn: IndexFunc<T>, obj: T): string[] {
  try {
    return fn(obj) ?? [];
  } catch {
    return [];
  }
}

/** Index by a label's value within the object's namespace: `namespace/value` (e.g. EndpointSlices by Service). */
export function indexByLabel<T extends KubeObject>(label: string): IndexFunc<T> {
  return (obj) => {
    const v = obj.metadata?.labels?.[label];
    if (v === undefined) return [];
    const ns = obj.metadata?.namespace;
    return [ns ? `${ns}/${v}` : v];
  };
}

/** Index by namespace. */
export function indexByNamespace<T extends KubeObject>(): IndexFunc<T> {
  return (obj) => (obj.metadata?.namespace ? [obj.metadata.namespace] : []);
}

/** Index Pods by `spec.nodeName` (unscheduled Pods are not indexed). */
export function indexPodsByNode<T extends KubeObject & { spec?: { nodeName?: string } }>(): IndexFunc<T> {
  return (obj) => (obj.spec?.nodeName ? [obj.spec.nodeName] : []);
}

/** The label EndpointSlices carry with their Service's name. */
export { SERVICE_NAME_LABEL } from '@ycloud/api';
