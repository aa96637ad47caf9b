/** The metadata fields this library reads. client-node's V1ObjectMeta and friends are compatible. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: Date | string;
  [field: string]: unknown;
}

/** Any Kubernetes object (client-node models such as V1Service satisfy this). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** A list response. */
export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** Which REST collection: group ('' = core), version, plural, kind, and whether it lives in namespaces. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** A custom (or any) resource by group/version/plural. */
export function resourceType(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced = true,
): ResourceType {
  return { group, version, plural, kind, namespaced };
}

/** Resource types the controllers use. */
export const Resources = {
  services: resourceType('', 'v1', 'services', 'Service'),
  pods: resourceType('', 'v1', 'pods', 'Pod'),
  nodes: resourceType('', 'v1', 'nodes', 'Node', false),
  namespaces: resourceType('', 'v1', 'namespaces', 'Namespace', false),
  configMaps: resourceType('', 'v1', 'configmaps', 'ConfigMap'),
  coreEvents: resourceType('', 'v1', 'events', 'Event'),
  endpointSlices: resourceType('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  leases: resourceType('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  events: resourceType('events.k8s.io', 'v1', 'events', 'Event'),
} as const;

/** `v1` or `group/version`. */
export function apiVersionOf(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/**
 * The REST path of a collection or object: `/api/v1/namespaces/ns/services/name/status`. Without a namespace a
 * namespaced type gives the all-namespaces collection.
 */
export function resourcePath(rt: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  let p = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${rt.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/** The cache/queue key of an object: `namespace/name`, or `name` when cluster-scoped (client-go's rule). */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key made by objectKey. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
