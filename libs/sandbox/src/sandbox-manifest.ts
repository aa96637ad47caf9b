import { KubeConfig, KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { createNamespace } from '@ycloud/testbed';
import { parseAllDocuments } from 'yaml';
import type { CreatePodOptions } from './simulated-kubelet';

/** apiVersion of the sandbox-only kinds (never sent to the apiserver; the SimulatedKubelet runs them). */
export const SANDBOX_API_VERSION = 'sandbox.ycloud.io/v1alpha1';

/**
 * A sandbox manifest: ordinary Kubernetes objects, plus two kinds the sandbox itself understands because there is
 * no kubelet to run real workloads:
 *
 * - `SimulatedPod` (`metadata.name/namespace`, `spec.labels`, `spec.node`, `spec.serve: [http:8080, udp:5353]`)
 * - `SimulatedDeployment` (same, plus `spec.replicas`): pods `<name>-0` … `<name>-<N-1>`, spread over the nodes.
 */
export interface SandboxManifest {
  namespaces: string[];
  objects: KubernetesObject[];
  pods: CreatePodOptions[];
}

interface SimulatedSpec {
  replicas?: number;
  labels?: Record<string, string>;
  node?: string;
  serve?: string[];
}

/** Splits a multi-document YAML into namespaces, other objects and simulated pods; throws on a bad document. */
export function parseSandboxManifest(text: string, nodes: string[]): SandboxManifest {
  const out: SandboxManifest = { namespaces: [], objects: [], pods: [] };
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length) throw new Error(`document ${i + 1}: ${doc.errors[0].message}`);
    const obj = doc.toJS() as (KubernetesObject & { spec?: SimulatedSpec }) | null;
    if (!obj) continue;
    const where = `document ${i + 1} (${obj.kind ?? '?'} ${obj.metadata?.name ?? '?'})`;
    if (!obj.kind || !obj.apiVersion || !obj.metadata?.name)
      throw new Error(`${where}: needs apiVersion, kind, metadata.name`);
    if (obj.apiVersion === 'v1' && obj.kind === 'Namespace') {
      out.namespaces.push(obj.metadata.name);
    } else if (obj.apiVersion === SANDBOX_API_VERSION) {
      out.pods.push(...simulatedPods(obj, nodes, where));
    } else {
      out.objects.push(obj);
    }
  }
  return out;
}

/** The pods of one SimulatedPod / SimulatedDeployment document. */
function simulatedPods(
  obj: KubernetesObject & { spec?: SimulatedSpec },
  nodes: string[],
  where: string,
): CreatePodOptions[] {
  const spec = obj.spec ?? {};
  const name = obj.metadata!.name!;
  const base = { namespace: obj.metadata?.namespace ?? 'default', labels: spec.labels ?? {}, serve: spec.serve ?? [] };
  if (obj.kind === 'SimulatedPod') return [{ ...base, name, node: spec.node }];
  if (obj.kind !== 'SimulatedDeployment') throw new Error(`${where}: unknown kind (SimulatedPod, SimulatedDeployment)`);
  const n = spec.replicas ?? 1;
  if (!Number.isInteger(n) || n < 0 || n > 50) throw new Error(`${where}: spec.replicas must be 0..50`);
  return Array.from({ length: n }, (_, r) => ({
    ...base,
    name: `${name}-${r}`,
    node: spec.node ?? nodes[r % nodes.length],
  }));
}

/** Creates the manifest's namespaces (waiting for their ServiceAccount) and Kubernetes objects. */
export async function applyKubeObjects(kc: KubeConfig, manifest: SandboxManifest): Promise<string[]> {
  const done: string[] = [];
  for (const ns of manifest.namespaces) {
    await createNamespace(kc, ns);
    done.push(`namespace/${ns}`);
  }
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of manifest.objects) {
    await api.create(obj);
    const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
    done.push(`${(obj.kind ?? '').toLowerCase()}/${ns}${obj.metadata?.name}`);
  }
  return done;
}
