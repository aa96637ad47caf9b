import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  V1Lease,
  setHeaderOptions,
} from '@kubernetes/client-node';

/** Labels and annotations of an object, as the agent needs them. */
export interface ObjectMeta {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface LeaseState {
  holder: string;
  renewTime?: Date;
  durationSeconds: number;
  resourceVersion?: string;
}

/** The small slice of the Kubernetes API the CNI agent uses (a fake in unit tests). */
export interface KubeApi {
  getPod(namespace: string, name: string): Promise<ObjectMeta | undefined>;
  /** Merge-patches annotations (null removes a key). */
  patchPodAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<void>;
  /** Pods scheduled on `nodeName` (the DPU side watches its host's pods). */
  listPodsOnNode(nodeName: string): Promise<(ObjectMeta & { namespace: string; name: string })[]>;
  getNode(name: string): Promise<ObjectMeta | undefined>;
  patchNode(
    name: string,
    patch: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
  ): Promise<void>;
  getLease(namespace: string, name: string): Promise<LeaseState | undefined>;
  /** Creates or renews a lease held by `holder`. */
  renewLease(namespace: string, name: string, holder: string, durationSeconds: number): Promise<void>;
}

/**
 * A Lease's MicroTime as the apiserver parses it (six fractional digits). client-node 1.4 sends a Date with
 * millisecond precision, which the apiserver rejects; a preformatted string passes through its serializer.
 */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function status(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number; response?: { statusCode?: number } };
  return e?.code ?? e?.statusCode ?? e?.response?.statusCode;
}

const mergePatch = (): ReturnType<typeof setHeaderOptions> =>
  setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** KubeApi over @kubernetes/client-node. */
export class ClientNodeKubeApi implements KubeApi {
  private readonly core: CoreV1Api;
  private readonly coord: CoordinationV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.coord = kc.makeApiClient(CoordinationV1Api);
  }

  /** From a kubeconfig file, or the in-cluster service account when `path` is empty. */
  static fromKubeconfig(path: string): ClientNodeKubeApi {
    const kc = new KubeConfig();
    if (path) kc.loadFromFile(path);
    else kc.loadFromCluster();
    return new ClientNodeKubeApi(kc);
  }

  async getPod(namespace: string, name: string): Promise<ObjectMeta | undefined> {
    try {
      const pod = await this.core.readNamespacedPod({ namespace, name });
      return { labels: pod.metadata?.labels ?? {}, annotations: pod.metadata?.annotations ?? {} };
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async patchPodAnnotations(
    namespace: string,
    name: string,
    annotations: Record<string, string | null>,
  ): Promise<void> {
    await this.core.patchNamespacedPod({ namespace, name, body: { metadata: { annotations } } }, mergePatch());
  }

  async listPodsOnNode(nodeName: string): Promise<(ObjectMeta & { namespace: string; name: string })[]> {
    const list = await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
    return (list.items ?? []).map((p) => ({
      namespace: p.metadata?.namespace ?? '',
      name: p.metadata?.name ?? '',
      labels: p.metadata?.labels ?? {},
      annotations: p.metadata?.annotations ?? {},
    }));
  }

  async getNode(name: string): Promise<ObjectMeta | undefined> {
    try {
      const node = await this.core.readNode({ name });
      return { labels: node.metadata?.labels ?? {}, annotations: node.metadata?.annotations ?? {} };
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async patchNode(
    name: string,
    patch: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
  ): Promise<void> {
    await this.core.patchNode({ name, body: { metadata: patch } }, mergePatch());
  }

  async getLease(namespace: string, name: string): Promise<LeaseState | undefined> {
    try {
      const l = await this.coord.readNamespacedLease({ namespace, name });
      return {
        holder: l.spec?.holderIdentity ?? '',
        renewTime: l.spec?.renewTime ? new Date(l.spec.renewTime) : undefined,
        durationSeconds: l.spec?.leaseDurationSeconds ?? 0,
        resourceVersion: l.metadata?.resourceVersion,
      };
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async renewLease(namespace: string, name: string, holder: string, durationSeconds: number): Promise<void> {
    const now = microTime(new Date());
    const body: V1Lease = {
      metadata: { name, namespace },
      spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, renewTime: now as never },
    };
    let existing: V1Lease | undefined;
    try {
      existing = await this.coord.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
    if (!existing) {
      await this.coord.createNamespacedLease({
        namespace,
        body: { ...body, spec: { ...body.spec, acquireTime: now as never } },
      });
      return;
    }
    body.metadata!.resourceVersion = existing.metadata?.resourceVersion;
    body.spec = { ...existing.spec, ...body.spec };
    await this.coord.replaceNamespacedLease({ namespace, name, body });
  }
}

/** In-memory KubeApi for unit tests and for running the agent without an apiserver. */
export class MemoryKubeApi implements KubeApi {
  readonly pods = new Map<string, ObjectMeta>();
  readonly nodes = new Map<string, ObjectMeta>();
  readonly leases = new Map<string, LeaseState>();
  /** pod key -> node name, for listPodsOnNode. */
  readonly podNodes = new Map<string, string>();

  getPod(namespace: string, name: string): Promise<ObjectMeta | undefined> {
    const p = this.pods.get(`${namespace}/${name}`);
    return Promise.resolve(p && { labels: { ...p.labels }, annotations: { ...p.annotations } });
  }
  patchPodAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<void> {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) return Promise.reject(Object.assign(new Error('pod not found'), { code: 404 }));
    applyMap(p.annotations, annotations);
    return Promise.resolve();
  }
  listPodsOnNode(nodeName: string): Promise<(ObjectMeta & { namespace: string; name: string })[]> {
    const out = [...this.pods.entries()]
      .filter(([k]) => this.podNodes.get(k) === nodeName)
      .map(([k, p]) => ({
        namespace: k.split('/')[0],
        name: k.split('/')[1],
        labels: { ...p.labels },
        annotations: { ...p.annotations },
      }));
    return Promise.resolve(out);
  }
  getNode(name: string): Promise<ObjectMeta | undefined> {
    const n = this.nodes.get(name);
    return Promise.resolve(n && { labels: { ...n.labels }, annotations: { ...n.annotations } });
  }
  patchNode(
    name: string,
    patch: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
  ): Promise<void> {
    const n = this.nodes.get(name);
    if (!n) return Promise.reject(Object.assign(new Error('node not found'), { code: 404 }));
    applyMap(n.labels, patch.labels ?? {});
    applyMap(n.annotations, patch.annotations ?? {});
    return Promise.resolve();
  }
  getLease(namespace: string, name: string): Promise<LeaseState | undefined> {
    return Promise.resolve(this.leases.get(`${namespace}/${name}`));
  }
  renewLease(namespace: string, name: string, holder: string, durationSeconds: number): Promise<void> {
    this.leases.set(`${namespace}/${name}`, { holder, durationSeconds, renewTime: new Date() });
    return Promise.resolve();
  }
}

function applyMap(target: Record<string, string>, changes: Record<string, string | null>): void {
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete target[k];
    else target[k] = v;
  }
}

/**
 * Polls `get` until it returns something defined or the deadline passes (50 ms doubling to 500 ms). Errors count
 * as "not yet", except errors carrying `fatal: true`, which end the wait.
 */
export async function pollUntil<T>(get: () => Promise<T | undefined>, deadline: number): Promise<T | undefined> {
  let delay = 50;
  for (;;) {
    const v = await get().catch((err: { fatal?: boolean }) => {
      if (err?.fatal) throw err;
      return undefined;
    });
    if (v !== undefined) return v;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await new Promise((r) => setTimeout(r, Math.min(delay, left)));
    delay = Math.min(delay * 2, 500);
  }
}
