import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  PatchStrategy,
  V1Node,
  V1Pod,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL } from '@ycloud/api';
import { sleep } from '../process';
import { eventually } from '../eventually';

/**
 * Stand-ins for what kubelets would write, so the real controllers (EndpointSlice above all) see a cluster:
 * Nodes that are Ready, Pods with an IP and a readiness. Nothing here runs a container.
 */

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Creates a Node and marks it Ready with the given InternalIP through the status subresource; a dual-stack node
 * gives one per family (primary first), as a kubelet with `--node-ip=<v4>,<v6>` reports them.
 */
export async function createNode(
  kc: KubeConfig,
  name: string,
  internalIP: string | string[],
  labels: Record<string, string> = {},
): Promise<V1Node> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNode({
    body: { metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels } } },
  });
  const now = new Date();
  return core.patchNodeStatus(
    {
      name,
      body: {
        status: {
          addresses: [
            ...[internalIP].flat().map((address) => ({ type: 'InternalIP', address })),
            { type: 'Hostname', address: name },
          ],
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'ycloud test bed',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      },
    },
    mergePatch,
  );
}

export interface PodStatusInput {
  /** Primary Pod IP; omit to clear. */
  podIP?: string;
  /** Every Pod IP, primary first (dual stack: one per family); default `[podIP]`. */
  podIPs?: string[];
  ready: boolean;
  /** Default Running. */
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
}

/**
 * Sets a Pod's phase, IP and Ready/ContainersReady conditions through pods/status, as the kubelet would.
 * The EndpointSlice controller only lists a Pod whose `spec.nodeName` names an existing Node (see createNode).
 */
export async function setPodStatus(kc: KubeConfig, namespace: string, name: string, s: PodStatusInput): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  const now = new Date();
  const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: now });
  return core.patchNamespacedPodStatus(
    {
      name,
      namespace,
      body: {
        status: {
          phase: s.phase ?? 'Running',
          podIP: s.podIP ?? null,
          podIPs: s.podIP ? (s.podIPs ?? [s.podIP]).map((ip) => ({ ip })) : null,
          startTime: now,
          // A merge patch replaces the whole list, which is what a kubelet status update does too.
          conditions: [
            cond('PodScheduled', true),
            cond('Initialized', true),
            cond('ContainersReady', s.ready),
            cond('Ready', s.ready),
          ],
        },
      },
    },
    mergePatch,
  );
}

/**
 * Creates a namespace and waits (bounded) for its `default` ServiceAccount, without which Pods are rejected.
 * Needs the controller manager's `serviceaccount` controller (on by default in KubeControlPlane).
 */
export async function createNamespace(
  kc: KubeConfig,
  name: string,
  timeoutMs = 30_000,
  labels?: Record<string, string>,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespace({ body: { metadata: { name, labels } } });
  } catch (err) {
    // Created already (installCrds creates ycloud-system for the admission policy's parameters).
    if ((err as { code?: number }).code !== 409) throw err;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ServiceAccount ${name}/default: ${String(err)}`);
      }
    }
    await sleep(100);
  }
}

export interface LoadBalancerServiceInput {
  namespace: string;
  name: string;
  /** Service port (TCP, named `http`) and the endpoints' port. */
  port: number;
  targetPort: number;
  /** Ready endpoint addresses (IPv4), in a hand-made EndpointSlice `<name>-manual`: no Pods needed. */
  endpoints: string[];
  timeoutMs?: number;
}

/**
 * A selector-less `type: LoadBalancer` Service with a hand-made EndpointSlice, as a user would write for backends
 * outside Kubernetes; resolves with the first `status.loadBalancer.ingress` IP once the controller has set it.
 */
export async function createLoadBalancerService(kc: KubeConfig, s: LoadBalancerServiceInput): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace, name } = s;
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name, namespace },
      spec: {
        type: 'LoadBalancer',
        ports: [{ name: 'http', port: s.port, targetPort: s.targetPort as never, protocol: 'TCP' }],
      },
    },
  });
  await kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace,
    body: {
      metadata: { name: `${name}-manual`, namespace, labels: { [SERVICE_NAME_LABEL]: name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: s.targetPort, protocol: 'TCP' }],
      endpoints: s.endpoints.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    },
  });
  const svc = await eventually(
    () => core.readNamespacedServiceStatus({ namespace, name }),
    (x) => !!x.status?.loadBalancer?.ingress?.[0]?.ip,
    `${namespace}/${name} status.loadBalancer.ingress`,
    s.timeoutMs ?? 60_000,
  );
  return svc.status!.loadBalancer!.ingress![0].ip!;
}
