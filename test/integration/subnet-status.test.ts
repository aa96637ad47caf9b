import { CoreV1Api } from '@kubernetes/client-node';
import type { Subnet } from '@ycloud/api';
import { TOPOLOGY_RESOURCES } from '@ycloud/controllers';
import type { KubeClient, KubeObject } from '@ycloud/k8s';
import { ControllerTestEnv, createNode, eventually } from '@ycloud/testbed';

/**
 * Subnet status address counts (v4/v6 used/available) from the pod IPAM, against a real kube-apiserver and a real
 * OVN Northbound: pods created in a Subnet resource move its counts, deleted pods move them back, and an idle Subnet
 * is not rewritten.
 */
describe('Subnet status counts (real apiserver + real OVN NB)', () => {
  let env: ControllerTestEnv;
  let kube: KubeClient;
  let core: CoreV1Api;

  const subnet = () => kube.get<Subnet & KubeObject>(TOPOLOGY_RESOURCES.Subnet, undefined, 'green');
  const counts = async () => {
    const s = (await subnet()).status;
    return { v4: s?.v4, v6: s?.v6 };
  };
  const pod = (name: string) =>
    core.createNamespacedPod({
      namespace: 'green',
      body: { metadata: { name }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'none' }] } },
    });

  beforeAll(async () => {
    env = await ControllerTestEnv.start({ manager: false });
    kube = env.kube;
    core = env.k8s.kubeConfig.makeApiClient(CoreV1Api);
    await createNode(env.k8s.kubeConfig, 'node-1', '192.168.100.11');
    await core.createNamespace({ body: { metadata: { name: 'green' } } });
    await env.startManager();
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('counts used and available addresses per family as pods come and go', async () => {
    const create = (kind: 'Vpc' | 'Subnet', name: string, spec: unknown) => env.createTopology(kind, name, spec);
    await create('Vpc', 'green', { namespaces: ['green'] });
    await create('Subnet', 'green', {
      vpc: 'green',
      cidrBlocks: ['10.3.0.0/24', 'fd00:3::/120'],
      excludeIps: ['10.3.0.200..10.3.0.209'],
      namespaces: ['green'],
    });
    // Before any pod: /24 less network, gateway, broadcast and 10 excluded.
    const empty = await eventually(counts, (c) => c.v4?.used === 0 && c.v6?.used === 0, 'initial counts');
    expect(empty.v4).toEqual({ used: 0, available: 243 });
    const v6Free = empty.v6!.available;
    expect(v6Free).toBeGreaterThan(250);
    await eventually(
      () => subnet().then((s) => s.status?.conditions?.find((c) => c.type === 'Ready')?.status),
      (r) => r === 'True',
      'Subnet Ready',
    );

    await Promise.all(['p1', 'p2', 'p3'].map(pod));
    expect(await eventually(counts, (c) => c.v4?.used === 3 && c.v6?.used === 3, 'three pods counted')).toEqual({
      v4: { used: 3, available: 240 },
      v6: { used: 3, available: v6Free - 3 },
    });

    // Idle: nothing changes, so nothing is written (the object keeps its resourceVersion). Measured from when the
    // controllers have caught up, over 2.5 s with nothing queued.
    await env.settled();
    const rv = (await subnet()).metadata.resourceVersion;
    await env.settled(2_500);
    expect((await subnet()).metadata.resourceVersion).toBe(rv);

    for (const name of ['p1', 'p2'])
      await core.deleteNamespacedPod({ namespace: 'green', name, gracePeriodSeconds: 0 });
    expect(await eventually(counts, (c) => c.v4?.used === 1, 'two pods released')).toEqual({
      v4: { used: 1, available: 242 },
      v6: { used: 1, available: v6Free - 1 },
    });
  });

  it('recounts from the pods after a restart', async () => {
    await env.stopManager();
    await kube.mergePatch(
      TOPOLOGY_RESOURCES.Subnet,
      undefined,
      'green',
      { status: { v4: { used: 0, available: 0 } } },
      'status',
    );
    await env.startManager();
    const c = await eventually(counts, (x) => x.v4?.used === 1, 'counts rewritten after restart');
    expect(c.v4).toEqual({ used: 1, available: 242 });
  });
});
