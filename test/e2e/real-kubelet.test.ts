import { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { eventually } from '@ycloud/testbed';
import { KubeControlPlane, KubeletNode, PAUSE_IMAGE } from '@ycloud/testbed/k8s';

/**
 * A real node: kubelet v1.35 (built from the control plane's module) with Debian's containerd and runc registers
 * its Node and runs a pod the API schedules on it, then stops it when the pod is deleted. Host network only: the
 * node has no CNI configuration (real-kubelet-install.test.ts installs ycloud's on such a node).
 */
describe('a real kubelet node (containerd + runc)', () => {
  let cp: KubeControlPlane | undefined;
  let node: KubeletNode | undefined;
  let core: CoreV1Api;
  const NODE = 'real-node-1';

  beforeAll(async () => {
    cp = await KubeControlPlane.start({ controllers: [] });
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    // No service-account controller: the admission plugin wants the namespace's default ServiceAccount.
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'default' } } });
    node = await KubeletNode.start({ name: NODE, controlPlane: cp });
  });
  afterAll(async () => {
    await node?.stop();
    await cp?.stop();
  });

  it('registers its Node with the machine address and the container runtime', async () => {
    const n = await eventually(
      () => core.readNode({ name: NODE }).catch(() => undefined),
      (x) => !!x?.status?.nodeInfo?.containerRuntimeVersion,
      `Node ${NODE}`,
      120_000,
    );
    expect(n!.status!.nodeInfo!.kubeletVersion).toMatch(/^v1\.35\./);
    expect(n!.status!.nodeInfo!.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(n!.status!.addresses!.find((a) => a.type === 'InternalIP')?.address).not.toMatch(/^127\./);
  });

  it('runs a host-network pod scheduled on it, and stops it when the pod is deleted', async () => {
    const body: V1Pod = {
      metadata: { name: 'pause' },
      spec: {
        nodeName: NODE,
        hostNetwork: true,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 5,
        containers: [{ name: 'pause', image: PAUSE_IMAGE, imagePullPolicy: 'Never' }],
      },
    };
    await core.createNamespacedPod({ namespace: 'default', body });
    const running = await eventually(
      () => core.readNamespacedPod({ namespace: 'default', name: 'pause' }),
      (p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready === true,
      'the pod to run on the real node',
      180_000,
    );
    expect(running.status!.hostIP).toBe(running.status!.podIP);
    expect(running.status!.containerStatuses![0].containerID).toMatch(/^containerd:\/\//);

    await core.deleteNamespacedPod({ namespace: 'default', name: 'pause' });
    await eventually(
      () =>
        core.readNamespacedPod({ namespace: 'default', name: 'pause' }).then(
          () => 'present',
          () => 'gone',
        ),
      (s) => s === 'gone',
      'the kubelet to stop the pod and confirm its deletion',
      120_000,
    );
  });
});
