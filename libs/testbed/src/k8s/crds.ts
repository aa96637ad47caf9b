import type { KubeClient } from '@ycloud/k8s';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

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
