import { CoreV1Api } from '@kubernetes/client-node';
import {
  API_VERSION,
  IP_ALLOCATION_ANNOTATION,
  crdResources,
  parseIpAllocationAnnotation,
  type NetworkProbe,
} from '@ycloud/api';
import { ExecCommandRunner } from '@ycloud/cni';
import type { KubeClient, KubeObject } from '@ycloud/k8s';
import type { ApplyRecord } from '@ycloud/ovn';
import { plugProbePort, probeNetnsName, unplugProbePort, type ProbePortHost } from '@ycloud/probe';
import { ControllerTestEnv, TcpServer, createNode, eventually, netnsList } from '@ycloud/testbed';

/**
 * NetworkProbe through the real apiserver and OVN: ControllerManager (with `probe` set) gives the default VPC a
 * probe port (LSP probe.default + namespace <prefix>default on node-1), resolves a Pod backendRef from the
 * pod's ip-allocation annotation, probes it over the VPC and writes NetworkProbe status; stopping and restarting
 * the backend's server flips `status.targets[0].healthy` — the contract the YusurService controller reads.
 */
describe('NetworkProbe controller (apiserver + OVN, real traffic)', () => {
  let env: ControllerTestEnv;
  let kube: KubeClient;
  let host: ProbePortHost;
  const servers: TcpServer[] = [];
  // Probe namespaces are host-global: a prefix unique to this run keeps parallel suites apart.
  const netnsPrefix = `ycp${process.pid.toString(36)}-`;

  const writes: ApplyRecord[] = [];
  const startManager = () =>
    env.startManager({ probe: { nodeName: 'node-1', host, netnsPrefix }, onApply: (r) => writes.push(r) });
  /** The OVS ports of this run's prefix on node-1, by name. */
  const ovsPorts = async () =>
    (
      await host.vsctl([
        '--bare',
        '--columns=name',
        'find',
        'Interface',
        `external_ids:ycloud-probe-prefix="${netnsPrefix}"`,
      ])
    )
      .split(/\s+/)
      .filter(Boolean);
  const probeLsp = () =>
    env.nbctl('--bare', '--columns=addresses,options', 'find', 'Logical_Switch_Port', 'name=probe.default');

  const status = () =>
    kube.get<NetworkProbe & KubeObject>(crdResources.NetworkProbe, 'web', 'web-backends').then((p) => p.status);

  beforeAll(async () => {
    env = await ControllerTestEnv.start({ nodes: ['node-1'], manager: false, logLevel: 'warn' });
    kube = env.kube;
    await createNode(env.k8s.kubeConfig, 'node-1', '192.168.100.1');
    const core = env.k8s.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'web' } } });
    const node = env.bed!.node('node-1');
    host = { vsctl: (a) => node.ovsVsctl(...a), runner: new ExecCommandRunner(), datapathNetns: node.netns };
    // What an earlier leader on this node left behind for a VPC that no longer has targets.
    await plugProbePort(host, {
      vpc: 'stale',
      mac: '0a:58:0a:fa:00:02',
      ipCidr: '10.250.0.2/24',
      gateway: '10.250.0.1',
      prefix: netnsPrefix,
    });
    await startManager();
  }, 240_000);
  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    await env?.stopManager();
    for (const vpc of ['default', 'stale'])
      if (host) await unplugProbePort(host, vpc, netnsPrefix).catch(() => undefined);
    await env?.stop();
  }, 120_000);

  it('writes healthy/unhealthy transitions of a Pod backend into NetworkProbe status', async () => {
    const core = env.k8s.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'web',
      body: {
        metadata: { name: 'web-a', namespace: 'web' },
        spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'none' }] },
      },
    });
    const pod = await eventually(
      () => core.readNamespacedPod({ namespace: 'web', name: 'web-a' }),
      (p) => !!p.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION],
      'pod address',
    );
    const ann = parseIpAllocationAnnotation(pod.metadata!.annotations![IP_ALLOCATION_ANNOTATION])!;
    const ep = await env.bed!.node('node-1').plugPod({
      netns: 'web-a',
      ifaceId: ann.logicalSwitchPort,
      mac: ann.mac,
      ips: ann.ips,
      gateway: ann.gateway,
    });
    let server = await TcpServer.start(ep.netns, 8080, 'web-a');
    servers.push(server);

    await kube.create(crdResources.NetworkProbe, 'web', {
      apiVersion: API_VERSION,
      kind: 'NetworkProbe',
      metadata: { name: 'web-backends', namespace: 'web' },
      spec: {
        type: 'tcp',
        port: 8080,
        intervalSeconds: 1,
        timeoutSeconds: 1,
        failureThreshold: 2,
        successThreshold: 1,
        targets: [{ backendRef: { kind: 'Pod', name: 'web-a' } }],
      },
    } as never);
    const first = await eventually(status, (s) => s?.targets?.[0]?.message === 'connected', 'first probe in status');
    expect(first!.targets![0]).toMatchObject({
      target: 'Pod/web/web-a',
      address: ann.ip.split('/')[0],
      healthy: true,
    });
    expect(first!.healthyTargets).toBe(1);
    await eventually(
      status,
      (s) =>
        s?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === 1) === true,
      'Ready: the target has a result from the plugged probe port',
    );

    const stopped = Date.now();
    await server.stop();
    const down = await eventually(status, (s) => s?.targets?.[0]?.healthy === false, 'unhealthy in status', 20_000, 50);
    const detect = Date.now() - stopped;
    expect(down!.targets![0]).toMatchObject({ consecutiveFailures: 2, message: 'ECONNREFUSED' });
    expect(down!.healthyTargets).toBe(0);
    // From when it listens: starting node in the namespace is not the prober's time (and is slow under load).
    server = await TcpServer.start(ep.netns, 8080, 'web-a');
    servers.push(server);
    const started = Date.now();
    await eventually(status, (s) => s?.targets?.[0]?.healthy === true, 'healthy again in status', 20_000, 50);
    const recover = Date.now() - started;
    console.log(
      `status: stop → healthy=false after ${detect} ms (interval 1 s × failureThreshold 2); start → healthy after ${recover} ms`,
    );
    // interval × failureThreshold + coalescing (200 ms) + the status write; 50 ms polling.
    expect(detect).toBeLessThan(2_000 + 700);
    expect(recover).toBeLessThan(1_000 + 700);
  }, 90_000);

  it('removed the probe port an earlier leader left for a VPC without targets', async () => {
    expect(await netnsList(netnsPrefix)).not.toContain(probeNetnsName('stale', netnsPrefix));
    expect(await ovsPorts()).toHaveLength(1); // the default VPC's
  });

  it('unplugs on stop, keeps the probe port address across a restart and plugs it again', async () => {
    const netns = probeNetnsName('default', netnsPrefix);
    // An address target keeps the default VPC probed once the pod is gone.
    await kube.mergePatch(crdResources.NetworkProbe, 'web', 'web-backends', {
      spec: { targets: [{ backendRef: { kind: 'Pod', name: 'web-a' } }, { address: '10.250.9.9' }] },
    });
    const before = await probeLsp();
    expect(before).toMatch(/requested-chassis="?node-1/);
    expect(await netnsList(netnsPrefix)).toContain(netns);

    await env.stopManager();
    expect(await netnsList(netnsPrefix)).not.toContain(netns);
    expect(await ovsPorts()).toEqual([]);
    // While no controller runs, the pod allocated before the probe port goes: its address is free for the taking.
    const core = env.k8s.kubeConfig.makeApiClient(CoreV1Api);
    await core.deleteNamespacedPod({ namespace: 'web', name: 'web-a', gracePeriodSeconds: 0 });

    writes.length = 0;
    const restarted = Date.now() - 1_000; // lastProbeTime has whole seconds
    await startManager();
    await eventually(
      () => netnsList(netnsPrefix),
      (l) => l.includes(netns),
      'probe namespace plugged again',
      60_000,
    );
    await eventually(
      status,
      (s) => Date.parse(s?.targets?.find((t) => t.target === '10.250.9.9')?.lastProbeTime ?? '') >= restarted,
      'the address target probed from the re-plugged port',
      60_000,
    );
    expect(await probeLsp()).toBe(before);
    expect(writes.filter((r) => r.owner.kind === 'ProbePort')).toEqual([]);
  }, 120_000);
});
