import { CoreV1Api } from '@kubernetes/client-node';
import { renderClusterBench, CLUSTER_BENCH_NAMESPACE, BENCH_NODE_PORTS } from '@ycloud/bench';
import { KubeControlPlane, createNode, eventually, serverSideApply, type ManifestObject } from '@ycloud/testbed';

/**
 * Issue 14: the manifests `ycloud bench datapath --kubeconfig` applies on a real cluster pass the real
 * apiserver's server-side dry run with strict field validation (unknown or misspelt fields are errors), and
 * a dry run leaves nothing behind.
 */
describe('ycloud bench datapath: cluster-mode manifests against a real kube-apiserver', () => {
  let cp: KubeControlPlane | undefined;
  const render = () =>
    renderClusterBench({ image: 'ycloud-bench-tools:1', serverNode: 'bench-a', otherNode: 'bench-b' });
  const asManifests = (objs: ReturnType<typeof render>): ManifestObject[] =>
    objs.map((object) => ({ file: 'rendered', object: object as ManifestObject['object'] }));

  beforeAll(async () => {
    // The serviceaccount controller gives each namespace its `default` ServiceAccount, as on a real cluster.
    cp = await KubeControlPlane.start({ controllers: ['serviceaccount'] });
    await createNode(cp.kubeConfig, 'bench-a', '10.200.0.1');
    await createNode(cp.kubeConfig, 'bench-b', '10.200.0.2');
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('renders a Namespace, the NodePort Service and pods pinned to the chosen nodes', () => {
    const objs = render();
    expect(objs.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual([
      `Namespace/${CLUSTER_BENCH_NAMESPACE}`,
      'Service/dp',
      'Pod/bench-server',
      'Pod/bench-client-same',
      'Pod/bench-client-other',
      'Pod/bench-client-host',
    ]);
    const pods = objs.filter((o) => o.kind === 'Pod') as Array<{ spec: { nodeName: string; hostNetwork?: boolean } }>;
    expect(pods.map((p) => p.spec.nodeName)).toEqual(['bench-a', 'bench-a', 'bench-b', 'bench-b']);
    expect(pods[3].spec.hostNetwork).toBe(true);
  });

  it('passes a server-side dry run (strict field validation) and persists nothing', async () => {
    const kc = cp!.kubeConfig;
    const [ns, ...rest] = asManifests(render());
    expect(await serverSideApply(kc, [ns], { dryRun: true })).toEqual([{ ref: expect.any(String), file: 'rendered' }]);
    // Namespaced objects can only be dry-run inside an existing namespace: create it for real, dry-run the rest.
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: CLUSTER_BENCH_NAMESPACE } } });
    await eventually(
      () =>
        core
          .readNamespacedServiceAccount({ name: 'default', namespace: CLUSTER_BENCH_NAMESPACE })
          .catch(() => undefined),
      (sa) => sa !== undefined,
      'the default ServiceAccount',
      60_000,
    );
    const results = await serverSideApply(kc, rest, { dryRun: true });
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results).toHaveLength(5);
    const pods = await core.listNamespacedPod({ namespace: CLUSTER_BENCH_NAMESPACE });
    expect(pods.items).toEqual([]);
    await expect(core.readNamespacedService({ name: 'dp', namespace: CLUSTER_BENCH_NAMESPACE })).rejects.toThrow();
  });

  it('is rejected by the same dry run when a field is wrong (the check can fail)', async () => {
    const objs = render();
    const svc = objs[1] as { spec: { ports: Array<{ name?: string }> } };
    svc.spec.ports[0].name = 'Iperf_TCP'; // not a DNS label
    (objs[2] as { spec: Record<string, unknown> }).spec.nodeNmae = 'typo';
    const results = await serverSideApply(cp!.kubeConfig, asManifests(objs.slice(1, 3)), { dryRun: true });
    expect(results[0].error).toMatch(/Iperf_TCP/);
    expect(results[1].error).toMatch(/nodeNmae/);
    expect(BENCH_NODE_PORTS.iperf).toBeGreaterThanOrEqual(30000);
  });
});
