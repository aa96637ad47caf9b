import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { IP_ALLOCATION_ANNOTATION, NODE_ALLOCATION_ANNOTATION, parseIpAllocationAnnotation } from '@ycloud/api';
import { ControllerTestEnv, createNode, eventually } from '@ycloud/testbed';

/** Pod IPAM and node ports against a real apiserver and a real OVN NB: annotations and Logical_Switch_Ports. */
describe('pod and node network (real apiserver + real OVN NB)', () => {
  let env: ControllerTestEnv;
  let core: CoreV1Api;

  function pod(name: string): V1Pod {
    return {
      metadata: { name, namespace: 'default' },
      spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'none' }] },
    };
  }

  async function allocations(): Promise<Map<string, string>> {
    const list = await core.listNamespacedPod({ namespace: 'default' });
    const out = new Map<string, string>();
    for (const p of list.items) {
      const a = parseIpAllocationAnnotation(p.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION]);
      if (a) out.set(p.metadata!.name!, a.ip);
    }
    return out;
  }

  async function ports(): Promise<Record<string, { addresses: string; chassis: string }>> {
    const out = await env.nbctl('--format=json', '--columns=name,addresses,options', 'list', 'Logical_Switch_Port');
    const rows = (JSON.parse(out) as { data: unknown[][] }).data;
    return Object.fromEntries(
      rows.map(([name, addresses, options]) => [
        name as string,
        {
          addresses: String(addresses),
          chassis: Object.fromEntries((options as [string, [string, string][]])[1])['requested-chassis'] ?? '',
        },
      ]),
    );
  }

  beforeAll(async () => {
    env = await ControllerTestEnv.start({
      crds: false,
      manager: false,
      config: { defaultSubnet: { name: 'default', cidrBlocks: ['10.16.0.0/24'] } },
    });
    core = env.k8s.kubeConfig.makeApiClient(CoreV1Api);
    await createNode(env.k8s.kubeConfig, 'node-1', '192.168.100.11');
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('gives the node a join-subnet port and annotation, and pods unique addresses under concurrent creation', async () => {
    await env.startManager();
    const node = await eventually(
      () => core.readNode({ name: 'node-1' }),
      (n) => !!n.metadata?.annotations?.[NODE_ALLOCATION_ANNOTATION],
      'node allocation annotation',
    );
    const nodeAlloc = parseIpAllocationAnnotation(node.metadata!.annotations![NODE_ALLOCATION_ANNOTATION])!;
    expect(nodeAlloc).toMatchObject({ subnet: 'join', logicalSwitchPort: 'node.node-1', gateway: '100.64.0.1' });
    expect((await ports())['node.node-1']).toMatchObject({ chassis: 'node-1' });
    expect(await env.nbctl('--bare', '--columns=chassis', 'list', 'Chassis_Template_Var')).toBe('node-1');

    await Promise.all(
      Array.from({ length: 40 }, (_, i) => core.createNamespacedPod({ namespace: 'default', body: pod(`p${i}`) })),
    );
    const got = await eventually(allocations, (m) => m.size === 40, '40 pod allocations');
    expect(new Set(got.values()).size).toBe(40);
    for (const ip of got.values()) expect(ip).toMatch(/^10\.16\.0\.\d+\/24$/);
    expect([...got.values()]).not.toContain('10.16.0.1/24'); // the gateway
    const lsps = await eventually(
      ports,
      (p) => Object.keys(p).filter((n) => n.startsWith('pod.')).length === 40,
      '40 ports',
    );
    const p0 = parseIpAllocationAnnotation(
      (await core.readNamespacedPod({ namespace: 'default', name: 'p0' })).metadata!.annotations![
        IP_ALLOCATION_ANNOTATION
      ],
    )!;
    expect(lsps['pod.default.p0']).toEqual({ addresses: `${p0.mac} ${p0.ip.split('/')[0]}`, chassis: 'node-1' });
  });

  it('keeps every address across a restart and never hands one out twice afterwards', async () => {
    const before = await allocations();
    await env.stopManager();
    await core.deleteNamespacedPod({ namespace: 'default', name: 'p3', gracePeriodSeconds: 0 });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => core.createNamespacedPod({ namespace: 'default', body: pod(`q${i}`) })),
    );
    await env.startManager();
    const after = await eventually(allocations, (m) => m.size === 49, '49 allocations');
    for (const [name, ip] of before) if (name !== 'p3') expect(after.get(name)).toBe(ip);
    expect(new Set(after.values()).size).toBe(49);
    await eventually(ports, (p) => !('pod.default.p3' in p) && 'pod.default.q9' in p, 'p3 port removed, q9 added');
  });

  it('reports exhaustion as an Event and allocates once addresses are freed', async () => {
    // 10.16.0.0/24 has 253 usable addresses; 49 are taken.
    await Promise.all(
      Array.from({ length: 210 }, (_, i) => core.createNamespacedPod({ namespace: 'default', body: pod(`r${i}`) })),
    );
    await eventually(allocations, (m) => m.size === 253, 'subnet full');
    const events = await eventually(
      () => core.listNamespacedEvent({ namespace: 'default' }),
      (e) => e.items.some((x) => x.reason === 'AddressAllocationFailed'),
      'AddressAllocationFailed event',
    );
    expect(events.items.find((x) => x.reason === 'AddressAllocationFailed')!.message).toMatch(/no free IPv4 address/);
    await core.deleteNamespacedPod({ namespace: 'default', name: 'p0', gracePeriodSeconds: 0 });
    await eventually(allocations, (m) => m.size === 253 && !m.has('p0'), 'a waiting pod takes the freed address');
  });
});
