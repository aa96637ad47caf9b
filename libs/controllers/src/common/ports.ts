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
