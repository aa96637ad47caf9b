import { CoreV1Api } from '@kubernetes/client-node';
import {
  API_VERSION,
  IP_ALLOCATION_ANNOTATION,
  parseControllerConfig,
  parseIpAllocationAnnotation,
  type NetworkProbe,
  type YusurService,
} from '@ycloud/api';
import { ExecCommandRunner } from '@ycloud/cni';
import { ControllerManager, TOPOLOGY_RESOURCES, YUSUR_RESOURCES } from '@ycloud/controllers';
import { KubeClient, Logger, type KubeObject } from '@ycloud/k8s';
import { unplugProbePort, type ProbePortHost } from '@ycloud/probe';
import {
  KubeControlPlane,
  OvnTestbed,
  TcpClientLoop,
  TcpServer,
  createNode,
  eventually,
  installCrds,
  type ClientAttempt,
} from '@ycloud/testbed';

type Svc = YusurService & KubeObject;

// spec.probe of the service. timeoutSeconds is whole seconds (CRD minimum 1); a stopped server refuses at once, so
// the timeout does not delay detection here, it only enters the bound.
const INTERVAL_MS = 1_000;
const TIMEOUT_MS = 1_000;
const FAILURE_THRESHOLD = 2;
const SUCCESS_THRESHOLD = 1;
/** Apply margin over the probe bound: status write → informer → reconcile → NB (measured; see results/). */
const MARGIN_MS = 2_000;
/** After NB withdrew a backend: northd + ovn-controller programming the datapath, before clients must not fail. */
const SETTLE_MS = 1_000;
/** How long the client must see no failure after the settle. */
const CLEAN_WINDOW_MS = 5_000;
const CYCLES = 3;

interface Cycle {
  statusDown: number;
  nbDown: number;
  lastFailure: number;
  failures: number;
  statusUp: number;
  nbUp: number;
  answersAgain: number;
}

/**
 * Issue 6 end to end with real traffic: a YusurService (ClusterIP, three Pod backends on two nodes, spec.probe tcp
 * at 1 s, failureThreshold 2) and a client pod in the same Vpc connecting to the ClusterIP every 100 ms. Stopping a
 * backend's server makes the prober (ControllerManager with `probe`, on node-1) mark it unhealthy in the service's
 * NetworkProbe, the YusurService controller drops it from the Load_Balancer, and the client stops failing; a
 * restarted server comes back into the LB and answers again. With every backend down the VIP rejects (RST), so
 * clients fail fast instead of timing out.
 */
describe('YusurService probes withdraw a failing backend from the LB (real traffic)', () => {
  let bed: OvnTestbed;
  let k8s: KubeControlPlane;
  let kube: KubeClient;
  let core: CoreV1Api;
  let host: ProbePortHost | undefined;
  let manager: ControllerManager | undefined;
  let client: TcpClientLoop | undefined;
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
  let cip = '';

  const nb = (...a: string[]) => bed.central.nbctl(...a);
  const getSvc = () => kube.get<Svc>(YUSUR_RESOURCES.YusurService, ns, 'web');
  const ready = (s: Svc) => s.status?.conditions?.find((c) => c.type === 'Ready');
  const probeStatus = () =>
    kube.get<NetworkProbe & KubeObject>(YUSUR_RESOURCES.NetworkProbe, ns, 'web-backends').then((p) => p.status);
  const healthyIn = (status: NetworkProbe['status'], pod: string) =>
    status?.targets?.find((t) => t.target === `Pod/${ns}/${pod}`)?.healthy;

  /** The ClusterIP VIP's row: backends ("ip:port" sorted) and whether the LB rejects without backends. */
  async function vip(): Promise<{ backends: string[]; reject: boolean } | undefined> {
    const out = JSON.parse(
      await nb('--format=json', '--columns=vips,options,external_ids', 'list', 'Load_Balancer'),
    ) as {
      data: Array<
        [['map', Array<[string, string]>], ['map', Array<[string, string]>], ['map', Array<[string, string]>]]
      >;
    };
    for (const [vips, options, ids] of out.data) {
      if (Object.fromEntries(ids[1])['ycloud.io/service'] !== `${ns}/web`) continue;
      const v = Object.fromEntries(vips[1])[`${cip}:80`];
      if (v === undefined) continue;
      return {
        backends: v.split(',').filter(Boolean).sort(),
        reject: Object.fromEntries(options[1]).reject === 'true',
      };
    }
    return undefined;
  }
  const member = (pod: string) => `${podIps[pod]}:8080`;
  const inLb = async (pod: string) => (await vip())?.backends.includes(member(pod));

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
  }
  const startServer = async (name: string) => servers.set(name, await TcpServer.start(netns[name], 8080, name));
  const stopServer = async (name: string) => {
    await servers.get(name)?.stop();
    servers.delete(name);
  };

  beforeAll(async () => {
    [bed, k8s] = await Promise.all([OvnTestbed.start({ nodes: ['node-1', 'node-2'] }), KubeControlPlane.start()]);
    kube = KubeClient.fromKubeconfigFile(k8s.kubeconfigPath);
    core = k8s.kubeConfig.makeApiClient(CoreV1Api);
    await installCrds(kube);
    await eventually(
      () =>
        Promise.all([kube.list(YUSUR_RESOURCES.YusurService), kube.list(YUSUR_RESOURCES.NetworkProbe)]).then(
          () => true,
        ),
      (v) => v === true,
      'CRDs served',
    );
    await createNode(k8s.kubeConfig, 'node-1', '192.168.100.1');
    await createNode(k8s.kubeConfig, 'node-2', '192.168.100.2');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const node1 = bed.node('node-1');
    host = { vsctl: (a) => node1.ovsVsctl(...a), runner: new ExecCommandRunner(), datapathNetns: node1.netns };
    manager = new ControllerManager({
      config: parseControllerConfig({}),
      kube,
      northbound: { remotes: bed.central.nbRemote },
      logger: new Logger({ level: 'warn' }),
      probe: { nodeName: 'node-1', host, netnsPrefix },
    });
    await manager.start();
    for (const [kind, spec] of [
      ['Vpc', { namespaces: [ns], serviceCIDRs: ['10.202.0.0/24'] }],
      ['Subnet', { vpc, cidrBlocks: ['10.3.0.0/24'], namespaces: [ns] }],
    ] as const) {
      await kube.create(TOPOLOGY_RESOURCES[kind], undefined, {
        apiVersion: API_VERSION,
        kind,
        metadata: { name: vpc },
        spec,
      } as never);
    }
    for (const b of backends) await plugPod(b, { app: 'web' });
    await plugPod('client', { app: 'client' });
    for (const b of backends) await startServer(b);
  }, 300_000);

  afterAll(async () => {
    await client?.stop();
    for (const s of servers.values()) await s.stop().catch(() => undefined);
    await manager?.stop();
    if (host) await unplugProbePort(host, vpc, netnsPrefix).catch(() => undefined);
    kube?.close();
    await Promise.all([bed?.stop(), k8s?.stop()]);
  }, 120_000);

  it('programs the ClusterIP with three backends and probes them (all healthy)', async () => {
    await kube.create(YUSUR_RESOURCES.YusurService, ns, {
      apiVersion: API_VERSION,
      kind: 'YusurService',
      metadata: { name: 'web', namespace: ns },
      spec: {
        backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
        scenarios: { clusterIP: {} },
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
    cip = svc.status!.clusterIPs![0];
    expect(cip).toMatch(/^10\.202\.0\./);
    await eventually(vip, (v) => v?.backends.length === 3, 'three backends in the LB');
    const status = await eventually(
      probeStatus,
      (s) => backends.every((b) => s?.targets?.find((t) => t.target === `Pod/${ns}/${b}`)?.message === 'connected'),
      'every backend probed',
    );
    expect(status?.healthyTargets).toBe(3);
    await nb('--wait=hv', 'sync');

    client = await TcpClientLoop.start(netns.client, cip, 80, { periodMs: 100, timeoutMs: 500 });
    // Steady state: three seconds in which every connection succeeds and every backend answers.
    await eventually(
      async () => {
        const t = Date.now() - 3_000;
        const window = client!.since(t);
        return { clean: window.length >= 20 && window.every((a) => a.ok), who: TcpClientLoop.answeredBy(window) };
      },
      (w) => w.clean && w.who.size === 3,
      'client loop answered by all three backends without failure',
      60_000,
      500,
    );
  });

  /** One stop/restart of web-2, measured from the moment its server is told to stop / start. */
  async function cycle(): Promise<Cycle> {
    const stopped = Date.now();
    await stopServer('web-2');
    const [statusDown, nbDown] = await Promise.all([
      eventually(probeStatus, (s) => healthyIn(s, 'web-2') === false, 'web-2 unhealthy in status', 30_000, 50).then(
        () => Date.now() - stopped,
      ),
      eventually(
        () => inLb('web-2'),
        (x) => x === false,
        'web-2 out of the LB',
        30_000,
        50,
      ).then(() => Date.now() - stopped),
    ]);
    // The clean window: from NB withdrawal + settle, at least CLEAN_WINDOW_MS of finished attempts.
    const from = stopped + nbDown + SETTLE_MS;
    const to = from + CLEAN_WINDOW_MS;
    await eventually(
      async () => client!.attempts.some((a) => a.start > to),
      (x) => x,
      'client attempts past the clean window',
      CLEAN_WINDOW_MS + SETTLE_MS + 30_000,
      200,
    );
    const window = client!.attempts.filter((a) => a.start >= from && a.start <= to);
    const afterStop = client!.since(stopped);
    const failed = afterStop.filter((a) => !a.ok && a.start <= to);
    const lastFailure = failed.length ? Math.max(...failed.map((a) => a.end)) - stopped : 0;
    expect(describeFailures(window.filter((a) => !a.ok))).toEqual([]);
    expect(window.length).toBeGreaterThanOrEqual((CLEAN_WINDOW_MS / 100) * 0.8);
    expect([...TcpClientLoop.answeredBy(window)].sort()).toEqual(['web-1', 'web-3']);

    const started = Date.now();
    await startServer('web-2');
    const [statusUp, nbUp, answersAgain] = await Promise.all([
      eventually(probeStatus, (s) => healthyIn(s, 'web-2') === true, 'web-2 healthy in status', 30_000, 50).then(
        () => Date.now() - started,
      ),
      eventually(
        () => inLb('web-2'),
        (x) => x === true,
        'web-2 back in the LB',
        30_000,
        50,
      ).then(() => Date.now() - started),
      eventually(
        async () => client!.since(started).find((a) => a.ok && a.reply!.startsWith('web-2 ')),
        (a) => !!a,
        'web-2 answers the client again',
        30_000,
        100,
      ).then((a) => a!.end - started),
    ]);
    return { statusDown, nbDown, lastFailure, failures: failed.length, statusUp, nbUp, answersAgain };
  }

  it(`withdraws a stopped backend from the LB and brings it back when restarted (${CYCLES} cycles)`, async () => {
    const cycles: Cycle[] = [];
    for (let i = 0; i < CYCLES; i++) {
      const c = await cycle();
      cycles.push(c);
      console.log(
        `cycle ${i + 1}: stop → status unhealthy ${c.statusDown} ms, NB withdrawn ${c.nbDown} ms, ` +
          `last client failure ${c.lastFailure} ms (${c.failures} failed); ` +
          `start → status healthy ${c.statusUp} ms, NB back ${c.nbUp} ms, answers again ${c.answersAgain} ms`,
      );
      // Between cycles: the loop is clean again with all three answering.
      await eventually(
        async () => {
          const w = client!.since(Date.now() - 2_000);
          return { clean: w.length >= 10 && w.every((a) => a.ok), who: TcpClientLoop.answeredBy(w) };
        },
        (w) => w.clean && w.who.size === 3,
        'all three answer again without failure',
        30_000,
        250,
      );
    }
    for (const c of cycles) {
      expect(c.nbDown).toBeLessThan(INTERVAL_MS * FAILURE_THRESHOLD + TIMEOUT_MS + MARGIN_MS);
      expect(c.statusDown).toBeLessThanOrEqual(c.nbDown + 200);
      expect(c.lastFailure).toBeLessThan(c.nbDown + SETTLE_MS);
      expect(c.nbUp).toBeLessThan(INTERVAL_MS * SUCCESS_THRESHOLD + MARGIN_MS);
    }
  }, 300_000);

  it('with every backend down the VIP rejects: empty backends, reject=true, clients refused fast', async () => {
    const stopped = Date.now();
    for (const b of backends) await stopServer(b);
    const v = await eventually(vip, (x) => x?.backends.length === 0, 'no backend left in the LB', 30_000, 50);
    const nbDown = Date.now() - stopped;
    expect(v!.reject).toBe(true);
    const s = await getSvc();
    expect(s.status).toMatchObject({ totalBackends: 3, healthyBackends: 0 });
    expect(s.status?.conditions?.find((c) => c.type === 'ProbesHealthy')).toMatchObject({
      status: 'False',
      reason: 'BackendsUnhealthy',
    });
    const from = Date.now() + SETTLE_MS;
    await eventually(
      async () => client!.attempts.some((a) => a.start > from + 2_000),
      (x) => x,
      'client attempts after the settle',
      30_000,
      200,
    );
    const window = client!.attempts.filter((a) => a.start >= from && a.start <= from + 2_000);
    const slow = window.filter((a) => a.ok || a.error !== 'ECONNREFUSED' || a.end - a.start > 250);
    console.log(
      `all down: NB empty+reject after ${nbDown} ms; ${window.length} attempts refused in ` +
        `${Math.max(...window.map((a) => a.end - a.start))} ms at most`,
    );
    expect(window.length).toBeGreaterThanOrEqual(15);
    expect(describeFailures(slow)).toEqual([]);

    for (const b of backends) await startServer(b);
    await eventually(vip, (x) => x?.backends.length === 3, 'all three back', 30_000, 100);
  }, 120_000);
});

function describeFailures(attempts: ClientAttempt[]): string[] {
  return attempts.map((a) => `#${a.seq} ${a.ok ? a.reply : a.error} in ${a.end - a.start} ms`);
}
