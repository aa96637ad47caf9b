import {
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { promises as fs } from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One object read from a manifest file. */
export interface ManifestObject {
  file: string;
  object: KubernetesObject & Record<string, unknown>;
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_KEYS = new Set(['apiVersion', 'kind', 'resources']);

/**
 * Reads a kustomization the way `kustomize build` would for the subset ycloud uses: `resources` only, each a YAML
 * file or a directory with its own kustomization. Any other field (patches, generators, namespace, labels) is an
 * error, so a manifest change this reader would silently drop cannot pass the tests.
 */
export async function loadKustomization(dir: string): Promise<ManifestObject[]> {
  const kfile = await findKustomizationFile(dir);
  if (!kfile) throw new Error(`no kustomization file in ${dir}`);
  const parsed = parseAllDocuments(await fs.readFile(kfile, 'utf8'));
  const k = parsed[0]?.toJS() as Record<string, unknown> | undefined;
  if (!k || typeof k !== 'object') throw new Error(`${kfile}: empty`);
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED_KEYS.has(key));
  if (unsupported.length > 0)
    throw new Error(`${kfile}: unsupported fields ${unsupported.join(', ')} (resources only)`);
  const out: ManifestObject[] = [];
  for (const entry of (k.resources as string[] | undefined) ?? []) {
    const target = path.resolve(dir, entry);
    const stat = await fs.stat(target).catch(() => undefined);
    if (!stat) throw new Error(`${kfile}: resource ${entry} does not exist`);
    out.push(...(stat.isDirectory() ? await loadKustomization(target) : await loadManifestFile(target)));
  }
  return out;
}

/** Every object in a multi-document YAML file (empty documents skipped); YAML errors name the file. */
export async function loadManifestFile(file: string): Promise<ManifestObject[]> {
  const docs = parseAllDocuments(await fs.readFile(file, 'utf8'));
  const out: ManifestObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const object = doc.toJS() as ManifestObject['object'] | null;
    if (object === null || object === undefined) continue;
    if (!object.apiVersion || !object.kind || !object.metadata?.name) {
      throw new Error(`${file}: a document lacks apiVersion, kind or metadata.name`);
    }
    out.push({ file, object });
  }
  return out;
}

async function findKustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const p = path.join(dir, name);
    if (
      await fs.stat(p).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return undefined;
}

/** `kind/namespace/name` for messages. */
export function objectRef(o: KubernetesObject): string {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind}/${ns}${o.metadata?.name ?? '?'}`;
}

export interface ApplyResult {
  ref: string;
  file: string;
  error?: string;
}

/**
 * Server-side applies each object in order (`kubectl apply --server-side --force-conflicts`, field validation
 * Strict so unknown or misspelt fields are errors), optionally as a dry run. The body is sent exactly as read:
 * client-node's typed serializer would silently drop unknown fields. Returns one result per object, with the
 * apiserver's message on failure, instead of stopping at the first.
 */
export async function serverSideApply(
  kc: KubeConfig,
  objects: readonly ManifestObject[],
  opts: { dryRun?: boolean; fieldManager?: string } = {},
): Promise<ApplyResult[]> {
  const discovery = new Map<string, Promise<ApiResourceList>>();
  const results: ApplyResult[] = [];
  for (const { file, object } of objects) {
    const ref = objectRef(object);
    try {
      const url = await resourceUrl(kc, discovery, object);
      const q = new URLSearchParams({ fieldManager: opts.fieldManager ?? 'ycloud-testbed', force: 'true' });
      q.set('fieldValidation', 'Strict');
      if (opts.dryRun) q.set('dryRun', 'All');
      const r = await apiRequest(kc, 'PATCH', `${url}?${q}`, JSON.stringify(object), PatchStrategy.ServerSideApply);
      results.push(r.status >= 200 && r.status < 300 ? { ref, file } : { ref, file, error: describeStatus(r) });
    } catch (err) {
      results.push({ ref, file, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return results;
}

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

/** Path of a named object, from API discovery (cached per group/version; refreshed once for a new CRD kind). */
async function resourceUrl(
  kc: KubeConfig,
  cache: Map<string, Promise<ApiResourceList>>,
  o: KubernetesObject,
): Promise<string> {
  const gv = o.apiVersion!;
  const base = gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`;
  const find = async (fresh: boolean) => {
    if (fresh || !cache.has(gv)) {
      cache.set(
        gv,
        apiRequest(kc, 'GET', base).then((r) =>
          r.status === 200 ? (JSON.parse(r.body) as ApiResourceList) : { resources: [] },
        ),
      );
    }
    return (await cache.get(gv)!).resources.find((r) => r.kind === o.kind && !r.name.includes('/'));
  };
  const res = (await find(false)) ?? (await find(true));
  if (!res) throw new Error(`the apiserver serves no ${o.kind} in ${gv}`);
  const ns = res.namespaced ? `/namespaces/${o.metadata?.namespace ?? 'default'}` : '';
  return `${base}${ns}/${res.name}/${encodeURIComponent(o.metadata!.name!)}`;
}

/** One request with the kubeconfig's server, CA and credentials; 30 s timeout. */
export async function apiRequest(
  kc: KubeConfig,
  method: string,
  urlPath: string,
  body?: string,
  contentType = 'application/json',
): Promise<{ status: number; body: string }> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const opts: https.RequestOptions = { method, timeout: 30_000, headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  if (body !== undefined) opts.headers = { ...opts.headers, 'Content-Type': contentType };
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(urlPath, server), opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out after 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Whether a CRD reports Established: the apiserver serves its kinds. */
export function crdEstablished(crd: { status?: { conditions?: Array<{ type: string; status: string }> } } | undefined) {
  return !!crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
}

/** Polls (bounded) until every CRD reports Established, so objects of its kinds can be created. */
export async function waitForCrdsEstablished(
  kc: KubeConfig,
  names: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const deadline = Date.now() + timeoutMs;
  let pending = [...names];
  while (pending.length > 0) {
    const still: string[] = [];
    for (const name of pending) {
      const crd = (await api
        .read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } })
        .catch(() => undefined)) as V1CustomResourceDefinition | undefined;
      if (!crdEstablished(crd)) still.push(name);
    }
    pending = still;
    if (pending.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for CRDs Established: ${pending.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function describeStatus(r: { status: number; body: string }): string {
  try {
    return `${r.status} ${(JSON.parse(r.body) as { message?: string }).message ?? r.body}`;
  } catch {
    return `${r.status} ${r.body.slice(0, 500)}`;
  }
}
