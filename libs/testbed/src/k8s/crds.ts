import { API_VERSION } from '@ycloud/api';
import { isAlreadyExists, type KubeClient, type KubeObject, type ResourceType } from '@ycloud/k8s';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { eventually } from '../eventually';
import { crdEstablished } from './kustomize-lite';

/** The repository's CRD manifests. */
export const YCLOUD_CRDS_DIR = resolve(__dirname, '../../../../crds');

/**
 * Creates every CRD in `dir` (ycloud's `crds/` by default) and waits until each is Established, so its kinds can
 * be listed and created right away. Sent as the raw YAML's JSON on purpose: client-node's typed serializer silently
 * drops `enum`, `default` and the CEL rules.
 */
export async function installCrds(
  kube: KubeClient,
  dir = YCLOUD_CRDS_DIR,
  timeoutMs = 60_000,
  opts: { admissionPolicy?: boolean } = {},
): Promise<void> {
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
  if (opts.admissionPolicy ?? true) await installAdmissionPolicy(kube, YCLOUD_ADMISSION_POLICY, timeoutMs);
}

/** deploy/base's ValidatingAdmissionPolicy with its binding and parameters (ConfigMap ycloud-system/ycloud-admission). */
export const YCLOUD_ADMISSION_POLICY = resolve(__dirname, '../../../../deploy/base/validating-admission-policy.yaml');

/**
 * Creates the objects of the admission policy file (and the ycloud-system namespace its parameters live in), then
 * waits until the apiserver enforces it: a dry-run create of a Vpc with the reserved default name is refused.
 */
export async function installAdmissionPolicy(
  kube: KubeClient,
  file = YCLOUD_ADMISSION_POLICY,
  timeoutMs = 60_000,
): Promise<void> {
  const create = async (p: string, body: unknown) => {
    try {
      await kube.request('POST', p, { body });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  };
  await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ycloud-system' } });
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON() as KubeObject);
  let defaultVpc = 'default';
  for (const o of docs) {
    if (o.kind === 'ConfigMap') {
      defaultVpc = (o as { data?: Record<string, string> }).data?.defaultVpc ?? defaultVpc;
      await create(`/api/v1/namespaces/${o.metadata!.namespace}/configmaps`, o);
    } else if (o.kind === 'ValidatingAdmissionPolicy') {
      await create('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', o);
    } else if (o.kind === 'ValidatingAdmissionPolicyBinding') {
      await create('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', o);
    } else throw new Error(`${file}: unexpected ${o.kind}`);
  }
  await eventually(
    () =>
      kube
        .request('POST', '/apis/sdn.ycloud.io/v1alpha1/vpcs', {
          query: { dryRun: 'All' },
          body: { apiVersion: API_VERSION, kind: 'Vpc', metadata: { name: defaultVpc }, spec: {} },
        })
        .then(
          () => 'admitted',
          (err: Error) => err.message,
        ),
    (r) => r.includes('reserved'),
    'the admission policy to be enforced',
    timeoutMs,
    200,
  );
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
