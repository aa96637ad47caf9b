import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as read from a manifest; typed further by the translator that consumes its kind. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [field: string]: unknown;
}

/** A manifest that cannot be used; `message` says which file, which document and why. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function checkObject(value: unknown, where: string): KubeObject[] {
  if (value === null || value === undefined) return []; // an empty document (`---` at the end, say)
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ManifestError(
      `${where}: expected a Kubernetes object, found ${Array.isArray(value) ? 'a list' : typeof value}`,
    );
  }
  const o = value as Record<string, unknown>;
  if (typeof o.kind !== 'string' || !o.kind) throw new ManifestError(`${where}: missing kind`);
  if (typeof o.apiVersion !== 'string' || !o.apiVersion)
    throw new ManifestError(`${where}: ${o.kind} has no apiVersion`);
  // kind: List (kubectl get -o yaml) holds the objects in items.
  if (o.kind === 'List' || (o.kind.endsWith('List') && Array.isArray(o.items))) {
    if (!Array.isArray(o.items)) throw new ManifestError(`${where}: ${o.kind} has no items`);
    return o.items.flatMap((item, i) => checkObject(item, `${where} items[${i}]`));
  }
  const metadata = o.metadata as Record<string, unknown> | undefined;
  if (typeof metadata !== 'object' || metadata === null || typeof metadata.name !== 'string' || !metadata.name) {
    throw new ManifestError(`${where}: ${o.kind} has no metadata.name`);
  }
  return [o as KubeObject];
}

/** Parses the text of one manifest file: multi-document YAML (JSON is YAML too). Throws ManifestError. */
export function parseManifests(text: string, source: string): KubeObject[] {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  if (!Array.isArray(docs)) return []; // an empty stream
  return docs.flatMap((doc, i) => {
    const where = `${source}: document ${i + 1}`;
    if (doc.errors.length > 0) throw new ManifestError(`${where}: ${doc.errors[0].message}`);
    return checkObject(doc.toJS(), where);
  });
}

async function manifestFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new ManifestError(`${path}: no such file or directory`);
  if (info.isFile()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = join(path, e.name);
    if (e.isDirectory()) files.push(...(await manifestFiles(full)));
    else if (e.isFile() && MANIFEST_EXTENSIONS.has(extname(e.name))) files.push(full);
  }
  return files;
}

function objectId(o: KubeObject): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${o.kind}.${group} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/**
 * Reads manifests from files and directories (recursively, *.yaml, *.yml, *.json, in name order). Namespaces
 * are left as written (translators default them). Throws ManifestError on unreadable or invalid manifests, on none
 * found, and on the same object defined twice.
 */
export async function loadManifests(paths: string[]): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const path of paths) {
    for (const file of await manifestFiles(path)) {
      objects.push(...parseManifests(await readFile(file, 'utf8'), file));
    }
  }
  if (objects.length === 0) throw new ManifestError(`no Kubernetes objects found in ${paths.join(', ')}`);
  const seen = new Set<string>();
  for (const o of objects) {
    const id = objectId(o);
    if (seen.has(id))
      throw new ManifestError(`${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} is defined twice`);
    seen.add(id);
  }
  return objects;
}
