import type { Logger } from '@ycloud/k8s';

/** Read access to an informer's cache. */
export interface ObjectCache<T> {
  get(key: string): T | undefined;
  list(): T[];
}

/** Where controllers report problems with user input (Kubernetes Events, de-duplicated by the recorder). */
export interface EventSink {
  warning(object: ObjectReference, reason: string, message: string): void;
  normal(object: ObjectReference, reason: string, message: string): void;
}

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

/** The reason a key was queued, kept beside the queue for the change journal (reconcile never branches on it). */
export class ReasonBook {
  private readonly reasons = new Map<string, string>();
  note(key: string, reason: string): void {
    if (!this.reasons.has(key)) this.reasons.set(key, reason);
  }
  take(key: string, fallback = 'resync'): string {
    const r = this.reasons.get(key) ?? fallback;
    this.reasons.delete(key);
    return r;
  }
}

export interface ControllerDeps {
  log: Logger;
  events: EventSink;
}
