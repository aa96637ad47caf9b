import type { KubeClient, KubeObject, ResourceType } from '@ycloud/k8s';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { eventually } from '../eventually';
import { crdEstablished } from './kustomize-lite';

/** The repository's CRD manifests. */
export const YCLOUD_CRDS_DIR = resolve(__dirname, '../../../../crds');

/**
 * Creates every CRD in `dir` (ycloud's `crds/` by default) and waits until each is Established, so its kinds can
 * be listed and created right away. Sent as the raw YAML's JSON on purpose: client-node's typed serializer silently
 * drops `enum`, `default` and the CEL rules.
 */
export async function installCrds(kube: KubeClient, dir = YCLOUD_CRDS_DIR, timeoutMs = 60_000): Promise<void> {
  const names: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const crd = parse(readFileSync(join(dir, file), 'utf8')) as KubeObject;
    await kube.request('POST', CRDS_PATH, { body: crd });
    names.push(crd.metadata!.name!);
  }
  for (const name of names) {
    await eventually(
      () => kube.request<Parameters<typeof crdEstablished>[0]>('GET', `${CRDS_PATH}/${name}`),
      crdEstablished,
      `CRD ${name} Established`,
      timeoutMs,
      100,
    );
  }
}

const CRDS_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

interface Conditioned {
  metadata: { generation?: number };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; observedGeneration?: number }> };
}

/**
 * Waits until the object's condition `type` is `status` for its current generation, e.g. a Subnet Ready before
 * creating its pods: the controllers pick a pod's subnet from their caches, and a pod created before its Subnet
 * reached them lands in the default one.
 */
export async function waitForCondition(
  kube: KubeClient,
  resource: ResourceType,
  namespace: string | undefined,
  name: string,
  type = 'Ready',
  status = 'True',
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(
    () => kube.get<Conditioned & KubeObject>(resource, namespace, name),
    (o) => {
      const c = o.status?.conditions?.find((x) => x.type === type);
      return c?.status === status && (c.observedGeneration ?? o.metadata.generation) === o.metadata.generation;
    },
    `${resource.kind} ${namespace ? `${namespace}/` : ''}${name} ${type}=${status}`,
    timeoutMs,
  );
}
