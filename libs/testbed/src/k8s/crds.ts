import type { KubeClient, KubeObject, ResourceType } from '@ycloud/k8s';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { eventually } from '../eventually';

/** The repository's CRD manifests. */
export const YCLOUD_CRDS_DIR = resolve(__dirname, '../../../../crds');

/**
 * Creates every CRD in `dir` (ycloud's `crds/` by default). Sent as the raw YAML's JSON on purpose: client-node's
 * typed serializer silently drops `enum`, `default` and the CEL rules. Callers wait for the resources they use.
 */
export async function installCrds(kube: KubeClient, dir = YCLOUD_CRDS_DIR): Promise<void> {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    await kube.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      body: parse(readFileSync(join(dir, file), 'utf8')),
    });
  }
}

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
