import { KubeObject, objectKey } from './resource';
import { SERVICE_NAME_LABEL } from './store';
import type { SyncSource } from './controller';
import type { QueuePriority } from './work-queue';

/** Callbacks for cache changes. Handlers should only enqueue keys; exceptions are logged and swallowed. */
export interface EventHandler<T> {
  /** `isInInitialList`: the object was already there when the informer first listed (or a late handler's replay). */
  onAdd?(obj: T, isInInitialList?: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/** Anything keys can be added to (a Controller, a WorkQueue). */
export interface Enqueuer {
  enqueue(key: string, priority?: QueuePriority): void;
}

/** Maps an object to the keys of the objects to reconcile (none: undefined or []). */
export type KeyMapper<T> = (obj: T) => string | string[] | undefined;

function keysOf<T>(map: KeyMapper<T>, obj: T): string[] {
  const k = map(obj);
  return k === undefined ? [] : Array.isArray(k) ? k : [k];
}

/**
 * Level-based wiring: every add/update/delete enqueues the keys `map` gives (default: the object's own key);
 * the event type is dropped. On update both the old and the new object are mapped, so an object that moves
 * (an EndpointSlice relabelled to another Service, a Pod whose labels change) also reconciles its old owner.
 * Objects of the informer's initial list are queued at the `resync` level (as controller-runtime's priority queue
 * does): they are not changes, so after a restart a real change is reconciled before the thousands of keys the
 * initial list queues.
 */
export function enqueueHandler<T extends KubeObject>(target: Enqueuer, map: KeyMapper<T> = objectKey): EventHandler<T> {
  const enqueue = (obj: T): void => {
    for (const key of keysOf(map, obj)) target.enqueue(key);
  };
  return {
    onAdd: (obj, isInInitialList) => {
      if (!isInInitialList) return enqueue(obj);
      for (const key of keysOf(map, obj)) target.enqueue(key, 'resync');
    },
    onUpdate: (oldObj, newObj) => {
      const keys = new Set([...keysOf(map, oldObj), ...keysOf(map, newObj)]);
      for (const key of keys) target.enqueue(key);
    },
    onDelete: enqueue,
  };
}

/**
 * A view of an informer that passes an update on only when `relevant` says the change matters to the watcher
 * (adds and deletes always pass). E.g. Services read a few fields of a Node: a kubelet's status update must not
 * reconcile every Service.
 */
export function updatesWhen<T>(
  source: SyncSource & { addHandler(h: EventHandler<T>): () => void },
  relevant: (oldObj: T, newObj: T) => boolean,
): SyncSource & { addHandler(h: EventHandler<T>): () => void } {
  return {
    hasSynced: () => source.hasSynced(),
    waitForSync: (signal) => source.waitForSync(signal),
    addHandler: (h) =>
      source.addHandler({
        ...h,
        onUpdate: (oldObj, newObj) => {
          if (relevant(oldObj, newObj)) h.onUpdate?.(oldObj, newObj);
        },
      }),
  };
}

/** EndpointSlice -> the key of its Service (`namespace/<kubernetes.io/service-name>`), if labelled. */
export function serviceKeyOfEndpointSlice(slice: KubeObject): string | undefined {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  const ns = slice.metadata?.namespace;
  return svc && ns ? `${ns}/${svc}` : undefined;
}

/** The owner references of an object of `kind`, as keys in the object's namespace. */
export function ownerKeys(kind: string): KeyMapper<KubeObject> {
  return (obj) => {
    const refs = (obj.metadata?.ownerReferences ?? []) as Array<{ kind?: string; name?: string }>;
    const ns = obj.metadata?.namespace;
    return refs.filter((r) => r.kind === kind && r.name).map((r) => (ns ? `${ns}/${r.name}` : r.name!));
  };
}

/** True when a label selector (`matchLabels` style map) selects the labels. Empty/undefined selects nothing. */
export function selectorMatches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}
