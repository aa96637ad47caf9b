import { CoreV1Api } from '@kubernetes/client-node';
import {
  API_VERSION,
  IP_ALLOCATION_ANNOTATION,
  parseIpAllocationAnnotation,
  type NetworkProbe,
  type YusurService,
} from '@ycloud/api';
import { ExecCommandRunner } from '@ycloud/cni';
import { TOPOLOGY_RESOURCES, YUSUR_RESOURCES } from '@ycloud/controllers';
import type { KubeClient, KubeObject } from '@ycloud/k8s';
import { unplugProbePort, type ProbePortHost } from '@ycloud/probe';
import {
  ControllerTestEnv,
  KubeControlPlane,
  setPodStatus,
  OvnTestbed,
  TcpClientLoop,
  TcpServer,
  attachEipClient,
  eventually,
  runText,
  testEipPoolSpec,
  waitForCondition,
  listLeaks,
  netnsList,
  type ClientAttempt,
} from '@ycloud/testbed';

type Svc = YusurService & KubeObject;

// spec.probe of the service. timeoutSeconds is whole seconds (CRD minimum 1); a stopped server refuses at once, so
// the timeout does not delay detection here, it only enters the bound.
const INTERVAL_MS = 1_000;
const TIMEOUT_MS = 1_000;
const FAILURE_THRESHOLD = 2;
const SUCCESS_THRESHOLD = 1;
/** Apply margin over the probe bound: status write → informer → reconcile → NB (results/probe-withdrawal.md). */
const MARGIN_MS = 2_000;
/** After NB withdrew a backend: northd + ovn-controller programming the datapath, before clients must not fail. */
const SETTLE_MS = 1_000;
/** How long the clients must see no failure after the settle. */
const CLEAN_WINDOW_MS = 5_000;
const CYCLES = 3;

/** One way into the service: a VIP and a client loop connecting to it. */
interface Path {
  name: 'ClusterIP' | 'EIP';
  vip: string;
  loop?: TcpClientLoop;
}

interface Cycle {
  statusDown: number;
  /** Per path: web-2 gone from that VIP in NB. */
  nbDown: Record<string, number>;
  /** Per path: end of the last failed connection after the stop. */
  lastFailure: Record<string, number>;
  failures: Record<string, number>;
  statusUp: number;
  nbUp: Record<string, number>;
  answersAgain: Record<string, number>;
}

/**
 * Issue 6 end to end with real traffic: a YusurService (ClusterIP and an EIP on the VPC router; three Pod backends
 * on two nodes; spec.probe tcp every 1 s, failureThreshold 2) with steady clients connecting every 100 ms: a pod of
 * the same Vpc on the ClusterIP throughout, and a host on the EIP pool's network on the EIP while every backend is up
 * (see withClient). Stopping a backend's server makes the prober (ControllerManager with `probe`, on node-1) mark
 * it unhealthy in the service's NetworkProbe, the YusurService controller drops it from both load balancers and the
 * client fails no more; a restarted server comes back into both and answers again. With every backend down both VIPs
 * reject (RST), so clients fail fast instead of timing out.
 */
describe('YusurService probes withdraw a failing backend from every LB (real traffic)', () => {
  let env: ControllerTestEnv | undefined;
  let bed: OvnTestbed;
  let k8s: KubeControlPlane;
  let kube: KubeClient;
  let core: CoreV1Api;
  let host: ProbePortHost | undefined;
  const servers = new Map<string, TcpServer>();
  const netns: Record<string, string> = {};
  const podIps: Record<string, string> = {};
  const vpc = 'shop';
  // Probe namespaces (`<prefix><vpc>`) are host-global: a prefix unique to this run keeps parallel suites apart.
  const netnsPrefix = `ycpy${process.pid.toString(36)}-`;
  const ns = 'shop';
  const backends = ['web-1', 'web-2', 'web-3'];
  const placement: Record<string, string> = {
    'web-1': 'node-1',
    'web-2': 'node-2',
    'web-3': 'node-1',
    client: 'node-2',
  };
  const paths: Path[] = [];
  let extNetns = '';

  const nb = (...a: string[]) => bed.central.nbctl(...a);
  const getSvc = () => kube.get<Svc>(YUSUR_RESOURCES.YusurService, ns, 'web');
  const ready = (s: Svc) => s.status?.conditions?.find((c) => c.type === 'Ready');
  const probeStatus = () =>
    kube.get<NetworkProbe & KubeObject>(YUSUR_RESOURCES.NetworkProbe, ns, 'web-backends').then((p) => p.status);
  const healthyIn = (status: NetworkProbe['status'], pod: string) =>
    status?.targets?.find((t) => t.target === `Pod/${ns}/${pod}`)?.healthy;
  const member = (pod: string) => `${podIps[pod]}:8080`;
  const since = (t: number) => Date.now() - t;

  /** Each of the service's VIPs (`address:80`): backends ("ip:port" sorted) and whether its LB rejects. */
  async function vips(): Promise<Record<string, { backends: string[]; reject: boolean }>> {
    type Map = ['map', Array<[string, string]>];
    const out = JSON.parse(
      await nb('--format=json', '--columns=vips,options,external_ids', 'list', 'Load_Balancer'),
    ) as { data: Array<[Map, Map, Map]> };
    const found: Record<string, { backends: string[]; reject: boolean }> = {};
    for (const [v, options, ids] of out.data) {
      if (Object.fromEntries(ids[1])['ycloud.io/service'] !== `${ns}/web`) continue;
      const reject = Object.fromEntries(options[1]).reject === 'true';
      for (const [key, list] of v[1]) found[key] = { backends: list.split(',').filter(Boolean).sort(), reject };
    }
    return found;
  }
  /** The paths whose VIP lists `pod` as a backend. */
  const pathsWith = async (pod: string) => {
    const v = await vips();
    return paths.filter((p) => v[`${p.vip}:80`]?.backends.includes(member(pod))).map((p) => p.name);
  };

  async function plugPod(name: string, labels: Record<string, string>): Promise<void> {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name, namespace: ns, labels },
        spec: {
          nodeName: placement[name],
          containers: [{ name: 'c', image: 'none', ports: [{ name: 'http', containerPort: 8080 }] }],
        },
      },
    });
    const pod = await eventually(
      () => core.readNamespacedPod({ namespace: ns, name }),
      (p) => !!p.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION],
      `${name} address`,
    );
    const ann = parseIpAllocationAnnotation(pod.metadata!.annotations![IP_ALLOCATION_ANNOTATION])!;
    const ep = await bed.node(placement[name]).plugPod({
      netns: name,
      ifaceId: ann.logicalSwitchPort,
      mac: ann.mac,
      ips: ann.ips,
      gateway: ann.gateway,
    });
    netns[name] = ep.netns;
    podIps[name] = ann.ip.split('/')[0];
    // Plugged: report it Ready as a kubelet would (Pod backends follow readiness, like a Service's endpoints).
    await setPodStatus(k8s.kubeConfig, ns, name, { podIP: podIps[name], ready: true });
  }
  const startServer = async (name: string) => servers.set(name, await TcpServer.start(netns[name], 8080, name));
  const stopServer = async (name: string) => {
    await servers.get(name)?.stop();
    servers.delete(name);
  };
  const create = (kind: keyof typeof TOPOLOGY_RESOURCES, name: string, spec: unknown) =>
    env!.createTopology(kind, name, spec);

  beforeAll(async () => {
    env = await ControllerTestEnv.start({
      nodes: ['node-1', 'node-2'],
      gatewayNodes: ['node-1'],
      kubeNodes: true,
      namespaces: [ns],
      config: { eip: { transitCIDR: '100.65.0.0/16' } },
      logLevel: 'warn',
      manager: false,
    });
    ({ testbed: bed, k8s, kube } = env);
    core = k8s.kubeConfig.makeApiClient(CoreV1Api);
    const node1 = bed.node('node-1');
    host = { vsctl: (a) => node1.ovsVsctl(...a), runner: new ExecCommandRunner(), datapathNetns: node1.netns };
    await env.startManager({ probe: { nodeName: 'node-1', host, netnsPrefix } });
    await create('EipPool', 'ext', testEipPoolSpec(['node-1']));
    await create('Vpc', vpc, {
      namespaces: [ns],
      serviceCIDRs: ['10.202.0.0/24'],
      externalGateway: { eipPool: 'ext' },
    });
    await create('Subnet', vpc, { vpc, cidrBlocks: ['10.3.0.0/24'], namespaces: [ns] });
    await waitForCondition(kube, TOPOLOGY_RESOURCES.Subnet, undefined, vpc);
    for (const b of backends) await plugPod(b, { app: 'web' });
    await plugPod('client', { app: 'client' });
    for (const b of backends) await startServer(b);
    extNetns = (await attachEipClient(node1)).netns;
  }, 300_000);

  afterAll(async () => {
    for (const p of paths) await p.loop?.stop();
    for (const s of servers.values()) await s.stop().catch(() => undefined);
    await env?.stopManager();
    if (host) await unplugProbePort(host, vpc, netnsPrefix).catch(() => undefined);
    await env?.stop();
    // Nothing of this run is left: daemons, namespaces (pods, nodes, the probe namespace), run directories.
    for (const dir of [bed?.dir, k8s?.dir].filter((d): d is string => !!d)) {
      const { processes, netns: left, dirs } = await listLeaks({ runDir: dir });
      expect({ dir, processes, netns: left, dirs }).toEqual({ dir, processes: [], netns: [], dirs: [] });
    }
    expect(await netnsList(netnsPrefix)).toEqual([]);
  }, 120_000);

  /** Logs what the chain holds (LB rows, the NetworkProbe, the service's status), then rethrows `err`. */
  const explain = async (err: unknown): Promise<never> => {
    const probe = await kube.get(YUSUR_RESOURCES.NetworkProbe, ns, 'web-backends').catch(String);
    const svc = await getSvc().then((x) => x.status, String);
    // Each client's last attempts (refused, timed out, or none at all) and whether node-1's OVS answers.
    const attempts = paths.map((p) => `${p.name}: ${describeFailures(p.loop?.attempts.slice(-10) ?? []).join('; ')}`);
    const vswitchd = await runText('ovs-appctl', [
      '-T',
      '5',
      '-t',
      `${bed.node('node-1').dir}/vswitchd.ctl`,
      'version',
    ]).then(
      () => 'answers',
      async (e: Error) => {
        // Dead: its last words (log and console) are the evidence a CI run keeps.
        const dir = bed.node('node-1').dir;
        const tail = (f: string) => runText('tail', ['-n', '40', `${dir}/${f}`]).catch(String);
        return `no answer: ${e.message}\nvswitchd.log:\n${await tail('vswitchd.log')}\nvswitchd.console:\n${await tail('vswitchd.console')}`;
      },
    );
    console.log(
      `LB VIPs ${JSON.stringify(await vips().catch(String))}\npods ${JSON.stringify(podIps)}\n` +
        `NetworkProbe ${JSON.stringify(probe)}\nYusurService status ${JSON.stringify(svc)}\n` +
        `last attempts\n${attempts.join('\n')}\nnode-1 ovs-vswitchd: ${vswitchd}`,
    );
    throw err;
  };

  /**
   * The paths whose client is running. The EIP client runs only while every backend is up: OVS 3.1's userspace
   * conntrack can abort ovs-vswitchd (assertion in conn_update_state) when connections through a router load
   * balancer are refused or reset, which is what a stopped backend and an LB's reject do (README, known
   * limitations). The EIP VIP's withdrawal is still checked in NB every cycle; the ClusterIP client measures it.
   */
  const withClient = () => paths.filter((p) => p.loop);

  /** Waits until, over the last `ms`, every running client succeeded on every attempt, answered by `who`. */
  const steady = (who: string[], what: string, ms = 2_000) =>
    eventually(
      async () =>
        withClient().map((p) => {
          const w = p.loop!.since(Date.now() - ms);
          const ok = w.length >= ms / 200 && w.every((a) => a.ok);
          return `${p.name}: ${ok ? 'clean' : 'failing'} ${[...TcpClientLoop.answeredBy(w)].sort().join(',')}`;
        }),
      (lines) => lines.every((l) => l.endsWith(`clean ${[...who].sort().join(',')}`)),
      what,
      60_000,
      250,
    );

  it('programs the ClusterIP and the EIP with three backends, probes them, and both clients reach all three', async () => {
    await kube.create(YUSUR_RESOURCES.YusurService, ns, {
      apiVersion: API_VERSION,
      kind: 'YusurService',
      metadata: { name: 'web', namespace: ns },
      spec: {
        backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
        scenarios: { clusterIP: {}, eip: { pool: 'ext' } },
        // No port: the CRD says the probe uses each backend's target port.
        probe: {
          type: 'tcp',
          intervalSeconds: INTERVAL_MS / 1000,
          timeoutSeconds: TIMEOUT_MS / 1000,
          failureThreshold: FAILURE_THRESHOLD,
          successThreshold: SUCCESS_THRESHOLD,
        },
      },
    } as never);
    const svc = await eventually(
      getSvc,
      (s) => ready(s)?.status === 'True' && ready(s)?.observedGeneration === s.metadata.generation,
      'YusurService Ready',
    );
    expect(svc.status!.clusterIPs![0]).toMatch(/^10\.202\.0\./);
    expect(svc.status!.eips).toEqual(['172.16.0.50']);
    paths.push({ name: 'ClusterIP', vip: svc.status!.clusterIPs![0] }, { name: 'EIP', vip: svc.status!.eips![0] });
    for (const b of backends)
      await eventually(
        () => pathsWith(b),
        (p) => p.length === 2,
        `${b} behind the ClusterIP and the EIP`,
      ).catch(explain);
    const status = await eventually(
      probeStatus,
      (s) => backends.every((b) => s?.targets?.find((t) => t.target === `Pod/${ns}/${b}`)?.message === 'connected'),
      'every backend probed',
    );
    expect(status?.healthyTargets).toBe(3);
    await nb('--wait=hv', 'sync');

    const opts = { periodMs: 100, timeoutMs: 500 };
    paths[0].loop = await TcpClientLoop.start(netns.client, paths[0].vip, 80, opts);
    paths[1].loop = await TcpClientLoop.start(extNetns, paths[1].vip, 80, opts);
    await steady(backends, 'both clients answered by all three backends without failure', 3_000);
    await paths[1].loop.stop();
    paths[1].loop = undefined;
  });

  /** Attempts of `loop` that started in [from, to]. */
  const between = (loop: TcpClientLoop, from: number, to: number) =>
    loop.attempts.filter((a) => a.start >= from && a.start <= to);

  /** One stop/restart of web-2, measured from the moment its server is told to stop / start. */
  async function cycle(): Promise<Cycle> {
    const c: Cycle = {
      statusDown: 0,
      nbDown: {},
      lastFailure: {},
      failures: {},
      statusUp: 0,
      nbUp: {},
      answersAgain: {},
    };
    const stopped = Date.now();
    await stopServer('web-2');
    const pending = new Set(paths.map((p) => p.name));
    await Promise.all([
      eventually(probeStatus, (s) => healthyIn(s, 'web-2') === false, 'web-2 unhealthy in status', 30_000, 50).then(
        () => (c.statusDown = since(stopped)),
      ),
      eventually(
        async () => {
          const still = await pathsWith('web-2');
          for (const p of [...pending]) {
            if (still.includes(p)) continue;
            c.nbDown[p] = since(stopped);
            pending.delete(p);
          }
          return pending.size;
        },
        (n) => n === 0,
        'web-2 out of both LBs',
        30_000,
        50,
      ).catch(explain),
    ]);
    // The clean window: from NB withdrawal (the later VIP) + settle, at least CLEAN_WINDOW_MS of attempts.
    const from = stopped + Math.max(...Object.values(c.nbDown)) + SETTLE_MS;
    const to = from + CLEAN_WINDOW_MS;
    await eventually(
      async () => withClient().every((p) => p.loop!.attempts.some((a) => a.start > to + 500)),
      (x) => x,
      'client attempts past the clean window',
      CLEAN_WINDOW_MS + SETTLE_MS + 30_000,
      200,
    );
    for (const p of withClient()) {
      const window = between(p.loop!, from, to);
      const failed = between(p.loop!, stopped, to).filter((a) => !a.ok);
      c.failures[p.name] = failed.length;
      c.lastFailure[p.name] = failed.length ? Math.max(...failed.map((a) => a.end)) - stopped : 0;
      expect({ path: p.name, failures: describeFailures(window.filter((a) => !a.ok)) }).toEqual({
        path: p.name,
        failures: [],
      });
      expect(window.length).toBeGreaterThanOrEqual((CLEAN_WINDOW_MS / 100) * 0.8);
      expect({ path: p.name, who: [...TcpClientLoop.answeredBy(window)].sort() }).toEqual({
        path: p.name,
        who: ['web-1', 'web-3'],
      });
    }

    const started = Date.now();
    await startServer('web-2');
    await Promise.all([
      eventually(probeStatus, (s) => healthyIn(s, 'web-2') === true, 'web-2 healthy in status', 30_000, 50).then(
        () => (c.statusUp = since(started)),
      ),
      eventually(
        async () => {
          const back = await pathsWith('web-2');
          for (const p of back) c.nbUp[p] ??= since(started);
          return back.length;
        },
        (n) => n === paths.length,
        'web-2 back in both LBs',
        30_000,
        50,
      ).catch(explain),
      ...withClient().map((p) =>
        eventually(
          async () => p.loop!.since(started).find((a) => a.ok && a.reply!.startsWith('web-2 ')),
          (a) => !!a,
          `web-2 answers the ${p.name} client again`,
          30_000,
          100,
        ).then((a) => (c.answersAgain[p.name] = a!.end - started)),
      ),
    ]);
    return c;
  }

  it(`withdraws a stopped backend from both LBs and brings it back when restarted (${CYCLES} cycles)`, async () => {
    const cycles: Cycle[] = [];
    for (let i = 0; i < CYCLES; i++) {
      const c = await cycle();
      cycles.push(c);
      const per = (r: Record<string, number>) =>
        paths
          .filter((p) => r[p.name] !== undefined)
          .map((p) => `${p.name} ${r[p.name]}`)
          .join(' / ');
      console.log(
        `cycle ${i + 1}: stop → status unhealthy ${c.statusDown} ms; NB withdrawn ${per(c.nbDown)} ms; ` +
          `last client failure ${per(c.lastFailure)} ms (failed: ${per(c.failures)}); ` +
          `start → status healthy ${c.statusUp} ms; NB back ${per(c.nbUp)} ms; answers again ${per(c.answersAgain)} ms`,
      );
      await steady(backends, 'all three answer the client again without failure');
    }
    for (const c of cycles) {
      for (const p of paths) {
        expect(c.nbDown[p.name]).toBeLessThan(INTERVAL_MS * FAILURE_THRESHOLD + TIMEOUT_MS + MARGIN_MS);
        expect(c.nbUp[p.name]).toBeLessThan(INTERVAL_MS * SUCCESS_THRESHOLD + MARGIN_MS);
      }
      for (const p of withClient()) expect(c.lastFailure[p.name]).toBeLessThan(c.nbDown[p.name] + SETTLE_MS);
    }
  }, 300_000);

  it('with every backend down the VIPs reject: empty backends, reject=true, clients refused fast', async () => {
    const stopped = Date.now();
    for (const b of backends) await stopServer(b);
    const v = await eventually(
      vips,
      (x) => paths.every((p) => x[`${p.vip}:80`]?.backends.length === 0),
      'no backend left behind either VIP',
      30_000,
      50,
    );
    const nbDown = since(stopped);
    for (const p of paths) expect(v[`${p.vip}:80`].reject).toBe(true);
    // The status is written after the NB transaction: wait for it rather than read it once.
    const s = await eventually(
      getSvc,
      (x) =>
        x.status?.healthyBackends === 0 &&
        x.status?.conditions?.some((c) => c.type === 'ProbesHealthy' && c.status === 'False') === true,
      'the YusurService status to count no healthy backend',
      30_000,
    );
    expect(s.status).toMatchObject({ totalBackends: 3, healthyBackends: 0 });
    expect(s.status?.conditions?.find((c) => c.type === 'ProbesHealthy')).toMatchObject({
      status: 'False',
      reason: 'BackendsUnhealthy',
    });
    const from = Date.now() + SETTLE_MS;
    await eventually(
      async () => withClient().every((p) => p.loop!.attempts.some((a) => a.start > from + 2_500)),
      (x) => x,
      'client attempts after the settle',
      30_000,
      200,
    );
    for (const p of withClient()) {
      const window = between(p.loop!, from, from + 2_000);
      const slow = window.filter((a) => a.ok || a.error !== 'ECONNREFUSED' || a.end - a.start > 250);
      console.log(
        `all down (${p.name}): NB empty + reject after ${nbDown} ms; ${window.length} attempts refused in ` +
          `${Math.max(...window.map((a) => a.end - a.start))} ms at most`,
      );
      expect(window.length).toBeGreaterThanOrEqual(15);
      if (slow.length) await explain(new Error(`${p.name}: not refused fast: ${describeFailures(slow).join('; ')}`));
    }

    for (const b of backends) await startServer(b);
    await steady(backends, 'all three back behind the ClusterIP').catch(explain);
    // Every backend up again: the EIP client once more, answered by all three.
    paths[1].loop = await TcpClientLoop.start(extNetns, paths[1].vip, 80, { periodMs: 100, timeoutMs: 500 });
    await steady(backends, 'all three back behind both VIPs').catch(explain);
  }, 120_000);
});

function describeFailures(attempts: ClientAttempt[]): string[] {
  return attempts.map((a) => `#${a.seq} ${a.ok ? a.reply : a.error} in ${a.end - a.start} ms`);
}
