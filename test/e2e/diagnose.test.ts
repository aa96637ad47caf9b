import { CoreV1Api, DiscoveryV1Api, type V1Service } from '@kubernetes/client-node';
import { API_VERSION, IP_ALLOCATION_ANNOTATION, crdResources, parseIpAllocationAnnotation } from '@ycloud/api';
import type { Diagnosis, Hop } from '@ycloud/diagnose';
import { KubeClient, type KubeObject } from '@ycloud/k8s';
import { Sandbox, repoRoot } from '@ycloud/sandbox';
import { createNamespace, eventually, isClean, netnsExec, runText, testEipPoolSpec } from '@ycloud/testbed';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxLeaks } from '@ycloud/sandbox';

/**
 * `ycloud diagnose` against a live two-node sandbox: the real controller, node agents, OVN and kube-apiserver.
 * One sandbox for the file (about 1.5 min to bring up); each test injects one fault and checks, from the CLI's
 * `-o json` output and exit code, that the first broken hop is the one the fault breaks and every hop before it
 * is ok. Destructive faults (a node's datapath, an ovn-controller) come last.
 */
describe('ycloud diagnose: names the broken hop of a Service path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-e2e-diagnose-'));
  const NS = 'diag';
  /** The default VPC's Load_Balancer_Group (ycloud's identity is its name: the table has no external_ids). */
  const GROUP = 'ycloud|Vpc|default|vpc/default/lb-group';
  let sb: Sandbox;
  let core: CoreV1Api;
  let kube: KubeClient;
  const nbctl = (...a: string[]) => runText('ovn-nbctl', [`--db=${sb.state.testbed.nbRemote}`, '--timeout=20', ...a]);

  /** Runs the CLI as a user would: its JSON and its exit code. */
  function diagnoseCli(...args: string[]): Promise<{ code: number; d: Diagnosis; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile(
        join(repoRoot(), 'bin/ycloud'),
        ['diagnose', ...args, '-o', 'json', '--sandbox', dir],
        { timeout: 120_000 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? -1) : 0;
          try {
            resolve({ code: typeof code === 'number' ? code : -1, d: JSON.parse(stdout) as Diagnosis, stderr });
          } catch {
            reject(new Error(`diagnose ${args.join(' ')}: exit ${String(code)}, stdout ${stdout}, stderr ${stderr}`));
          }
        },
      );
    });
  }

  /** The first broken hop is `id`, every hop before it is ok, the exit code is 1; returns that hop. */
  function expectBrokenAt(r: { code: number; d: Diagnosis }, id: string): Hop {
    const i = r.d.hops.findIndex((h) => h.status !== 'ok');
    expect({ first: r.d.hops[i]?.id, status: r.d.hops[i]?.status }).toEqual({ first: id, status: 'broken' });
    expect(r.d.hops.slice(0, i).every((h) => h.status === 'ok')).toBe(true);
    expect(r.d.verdict).toEqual({ status: 'broken', firstBroken: id, unknown: 0 });
    expect(r.code).toBe(1);
    expect(r.d.hops[i].fix).toBeTruthy();
    return r.d.hops[i];
  }

  const svc = (name: string, selector?: Record<string, string>): V1Service => ({
    metadata: { name, namespace: NS },
    spec: { selector, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 as never }] },
  });

  let webIP = '';
  /** The EIP path: pool `ext` on the sandbox's external network, gateway node node-1 (the one with br-ex). */
  const EIP_POOL = 'ext';
  let eipAddress = '';
  let eipName = '';
  let nodePort = 0;
  /** Wall-clock time of each CLI diagnosis of the external paths, for results/diagnose.md. */
  const timings: Array<[string, number]> = [];
  async function timed(what: string, ...args: string[]): Promise<{ code: number; d: Diagnosis; stderr: string }> {
    const t0 = Date.now();
    const r = await diagnoseCli(...args);
    timings.push([what, Date.now() - t0]);
    return r;
  }
  /** curl from the sandbox's external namespace (a client outside the cluster). */
  const curlExternal = async (url: string): Promise<string> =>
    (await netnsExec(sb.state.external.netns, ['curl', '-s', '-m', '2', url], { allowFailure: true })).stdout.trim();

  beforeAll(async () => {
    // The NB faults below (an LB group detached, a VIP edited by hand) must stay for diagnose to see them: with
    // drift repair on, ycloud puts them back within about 0.1 s (test/integration/drift-repair.test.ts). Here the
    // controller only counts and logs drift, as for an operator debugging OVN by hand, and runs no periodic resync.
    sb = await Sandbox.up({
      dir,
      nodes: ['node-1', 'node-2'],
      example: null,
      // eip.defaultPool: LoadBalancer Services in the default VPC get an Eip from pool `ext` (the EIP path).
      controllerConfig: {
        drift: { repairOnChange: false },
        resync: { intervalSeconds: 0 },
        eip: { defaultPool: EIP_POOL },
      },
    });
    core = sb.kubelet.kubeConfig.makeApiClient(CoreV1Api);
    kube = KubeClient.fromKubeconfigFile(sb.state.kubeconfig);
    await createNamespace(sb.kubelet.kubeConfig, NS);
    webIP = (await core.createNamespacedService({ namespace: NS, body: svc('web', { app: 'web' }) })).spec!.clusterIP!;
    for (const [name, selector] of [
      ['nosel', { app: 'nothing' }],
      ['noep', undefined],
      ['unready', { app: 'unready' }],
      ['probed', { app: 'probed' }],
      ['local', { app: 'local' }],
    ] as const) {
      await core.createNamespacedService({ namespace: NS, body: svc(name, selector) });
    }
    const pod = (name: string, node: string, labels: Record<string, string>, serve: string[] = [], ready = true) =>
      sb.kubelet.createPod({ name, namespace: NS, node, labels, serve, ready });
    await Promise.all([
      pod('client', 'node-1', { app: 'client' }),
      pod('web-0', 'node-2', { app: 'web' }, ['http:8080']),
      pod('web-1', 'node-2', { app: 'web' }, ['http:8080']),
      pod('unready-0', 'node-1', { app: 'unready' }, ['http:8080'], false),
      pod('probed-0', 'node-1', { app: 'probed' }, ['http:8080']),
      // Ready, but nothing listens on the probed port.
      pod('probed-1', 'node-1', { app: 'probed' }),
      pod('local-0', 'node-1', { app: 'local' }, ['http:8080']),
    ]);
    await kube.create(crdResources.NetworkProbe, NS, {
      apiVersion: API_VERSION,
      kind: 'NetworkProbe',
      metadata: { name: 'probed-backends', namespace: NS },
      spec: {
        type: 'tcp',
        port: 8080,
        intervalSeconds: 1,
        timeoutSeconds: 1,
        failureThreshold: 2,
        targets: [{ backendRef: { kind: 'Pod', name: 'probed-0' } }, { backendRef: { kind: 'Pod', name: 'probed-1' } }],
      },
    } as never);
    await kube.create(crdResources.EipPool, undefined, {
      apiVersion: API_VERSION,
      kind: 'EipPool',
      metadata: { name: EIP_POOL },
      spec: testEipPoolSpec(['node-1']),
    } as never);
    await core.createNamespacedService({
      namespace: NS,
      body: { ...svc('lb', { app: 'web' }), spec: { ...svc('lb', { app: 'web' }).spec, type: 'LoadBalancer' } },
    });
    nodePort = (
      await core.createNamespacedService({
        namespace: NS,
        body: { ...svc('np', { app: 'web' }), spec: { ...svc('np', { app: 'web' }).spec, type: 'NodePort' } },
      })
    ).spec!.ports![0].nodePort!;
    // The client reaches web through OVN: the controller, northd and both nodes have caught up.
    await eventually(
      () => sb.kubelet.traffic({ namespace: NS, name: 'client' }, 'http', webIP, 80, 10),
      (s) => s.errors.length === 0 && Object.keys(s.replies).length === 2,
      'web to answer from both backends',
    );
  });

  afterAll(async () => {
    if (timings.length) console.log(`diagnose CLI wall-clock (ms): ${JSON.stringify(timings)}`);
    kube?.close();
    let leaks = 'not checked';
    try {
      await sb?.down();
      leaks = isClean(await sandboxLeaks(sb.state)) ? 'none' : 'some';
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(leaks).toBe('none');
  });

  it('reports a healthy pod -> ClusterIP path ok on every hop, with traffic counted per backend', async () => {
    const counted = (d: Diagnosis) =>
      [...(d.hops.find((h) => h.id === 'node/node-1/vip-groups')?.evidence ?? '').matchAll(/(\d+) pkt/g)].map((m) =>
        Number(m[1]),
      );
    // Traffic from the client right before: both backends answer, so both buckets count. (ovn-controller may
    // reinstall a group on a full recompute, which restarts its counters: then send again.)
    const r = await eventually(
      async () => {
        const t = await sb.kubelet.traffic({ namespace: NS, name: 'client' }, 'http', webIP, 80, 10);
        if (Object.keys(t.replies).length !== 2) throw new Error(`replies ${JSON.stringify(t.replies)}`);
        return diagnoseCli('service', `${NS}/web`, '--from', 'pod', `${NS}/client`);
      },
      (x) => counted(x.d).length === 2 && counted(x.d).every((c) => c > 0),
      'both backends counted in the VIP group',
      90_000,
      1000,
    );
    expect(r.code).toBe(0);
    expect(r.d.verdict).toEqual({ status: 'ok', unknown: 0 });
    expect(r.d.target).toBe(`Service ${NS}/web`);
    expect(r.d.source).toBe(`pod ${NS}/client`);
    expect(r.d.vips).toEqual([`${webIP}:80/tcp`]);
    expect(r.d.hops.map((h) => [h.id, h.status])).toEqual([
      ['kubernetes/object', 'ok'],
      ['kubernetes/proxy-labels', 'ok'],
      ['kubernetes/port', 'ok'],
      ['kubernetes/selector', 'ok'],
      ['kubernetes/endpoints', 'ok'],
      ['kubernetes/events', 'ok'],
      ['kubernetes/network-probes', 'ok'],
      ['northbound/load-balancer', 'ok'],
      ['northbound/vips', 'ok'],
      ['northbound/backends', 'ok'],
      ['northbound/options', 'ok'],
      ['northbound/lb-group', 'ok'],
      ['northbound/journal', 'ok'],
      ['southbound/logical-flows', 'ok'],
      ['southbound/port-bindings', 'ok'],
      ['southbound/chassis', 'ok'],
      ['node/node-1/ovn-controller', 'ok'],
      ['node/node-1/datapath', 'ok'],
      ['node/node-1/vip-groups', 'ok'],
      ['node/node-2/backend-node', 'ok'],
    ]);
    const hop = (id: string) => r.d.hops.find((h) => h.id === id)!.evidence;
    expect(hop('kubernetes/endpoints')).toBe('1 EndpointSlice(s), 2 endpoint(s): 2 ready, 2 serving, 0 terminating');
    expect(hop('northbound/load-balancer')).toBe(`Service_${NS}/web_TCP (tcp)`);
    expect(hop('northbound/lb-group')).toBe(`Service_${NS}/web_TCP via ${GROUP} on 2 switch(es)`);
    expect(hop('northbound/journal')).toMatch(/^last change /);
    expect(hop('southbound/port-bindings')).toBe('2 backend port(s) bound and up');
    expect(hop('node/node-1/ovn-controller')).toBe('ovn-controller on node-1: SB connected');
    // The same counters as metrics of node-1's agent.
    const metrics = await fetchText(`${sb.state.nodes[0].opsUrl!}/metrics`);
    const backendIps = (await podIps(['web-0', 'web-1'])).map((ip) => `${ip}:8080`);
    for (const b of backendIps) {
      expect(metrics).toMatch(
        new RegExp(`ycloud_service_backend_packets_total\\{group="\\d+",backend="${b}"\\} [1-9]`),
      );
    }
    const controllerMetrics = await fetchText(`${sb.state.controller.health}/metrics`);
    expect(controllerMetrics).toContain(`ycloud_service_backends{namespace="${NS}",service="web",state="ready"} 2`);
  });

  it('reports a healthy node -> ClusterIP path ok, and a real connection from the node succeeds', async () => {
    const r = await diagnoseCli('service', `${NS}/web`, '--from', 'node', 'node-1', '--connect');
    expect(r.code).toBe(0);
    expect(r.d.verdict).toEqual({ status: 'ok', unknown: 0 });
    expect(r.d.source).toBe('node node-1');
    expect(r.d.hops.every((h) => h.status === 'ok')).toBe(true);
    expect(r.d.hops.map((h) => h.id).slice(-5)).toEqual([
      'node/node-1/ovn-controller',
      'node/node-1/datapath',
      'node/node-1/vip-groups',
      'node/node-2/backend-node',
      `connect/${webIP}:80`,
    ]);
    expect(r.d.hops[r.d.hops.length - 1].evidence).toMatch(/^TCP connection from the source node in \d+ ms$/);
  });

  it('--trace and --connect from a pod: the first packet reaches a ready backend through OVN, and the pod connects', async () => {
    const r = await diagnoseCli('service', `${NS}/web`, '--from', 'pod', `${NS}/client`, '--trace', '--connect');
    expect(r.code).toBe(0);
    expect(r.d.verdict).toEqual({ status: 'ok', unknown: 0 });
    expect(r.d.hops.map((h) => h.id).slice(-2)).toEqual([`trace/${webIP}:80`, `connect/${webIP}:80`]);
    const ports = await backendPorts(['web-0', 'web-1']);
    const ready = Object.keys(ports).sort();
    const trace = r.d.hops[r.d.hops.length - 2];
    expect(trace.status).toBe('ok');
    // ovn-trace's load-balancing action holds exactly the ready endpoints, and it DNATs to one of them: the packet
    // leaves OVN on that backend pod's port.
    expect(trace.detail!.lbBackends).toEqual(ready);
    const backend = trace.detail!.backend as string;
    expect(ready).toContain(backend);
    expect(trace.detail!.deliveredTo).toBe(ports[backend]);
    expect(trace.detail!.outputs).toContain(ports[backend]);
    expect(trace.evidence).toBe(`ovn-trace: load-balanced to 2 backend(s), reached ${backend} at ${ports[backend]}`);
    const connect = r.d.hops[r.d.hops.length - 1];
    expect(connect.status).toBe('ok');
    expect(connect.evidence).toMatch(/^TCP connection from the source pod in \d+ ms$/);
  });

  it('reports a healthy YusurService pod -> ClusterIP path ok', async () => {
    await kube.create(crdResources.YusurService, NS, {
      apiVersion: API_VERSION,
      kind: 'YusurService',
      metadata: { name: 'yweb', namespace: NS },
      spec: {
        backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
        scenarios: { clusterIP: {} },
        probe: { type: 'tcp', intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 },
      },
    } as never);
    const ys = await eventually(
      () =>
        kube.get<KubeObject & { status?: { clusterIPs?: string[]; healthyBackends?: number } }>(
          crdResources.YusurService,
          NS,
          'yweb',
        ),
      (y) => (y.status?.clusterIPs?.length ?? 0) > 0 && y.status?.healthyBackends === 2,
      'yweb to get a ClusterIP and two healthy backends',
    );
    const r = await eventually(
      () => diagnoseCli('yusurservice', `${NS}/yweb`, '--from', 'pod', `${NS}/client`),
      (x) => x.code === 0,
      'yweb diagnosed ok',
      60_000,
      1000,
    );
    expect(r.d.verdict).toEqual({ status: 'ok', unknown: 0 });
    expect(r.d.target).toBe(`YusurService ${NS}/yweb`);
    expect(r.d.vips).toEqual([`${ys.status!.clusterIPs![0]}:80/tcp`]);
    expect(r.d.hops.every((h) => h.status === 'ok')).toBe(true);
    expect(r.d.hops.find((h) => h.id === 'kubernetes/network-probes')!.evidence).toBe('2 probed backend(s) healthy');
    expect(r.d.hops.find((h) => h.id === 'northbound/backends')!.evidence).toMatch(/-> 2 backend\(s\)$/);
    // Its NetworkProbe watches web's pods: gone with it, so that later faults on web see no probe.
    await kube.delete(crdResources.YusurService, NS, 'yweb');
    await kube.delete(crdResources.NetworkProbe, NS, 'yweb-backends').catch(() => undefined);
    await eventually(
      () => kube.list(crdResources.NetworkProbe, NS),
      (l) => l.items.every((p) => p.metadata?.name === 'probed-backends'),
      "yweb's NetworkProbe gone",
    );
  });

  it('with only a kubeconfig, goes through the apiserver proxy and says why a hop is unknown', async () => {
    // The sandbox runs the controller and agents as host processes, not as the Deployment and DaemonSet of
    // deploy/base: the apiserver has no Service or agent pod to proxy to, and diagnose says so per hop.
    const r = await new Promise<{ code: number; d: Diagnosis }>((resolve, reject) =>
      execFile(
        join(repoRoot(), 'bin/ycloud'),
        [
          'diagnose',
          'service',
          `${NS}/web`,
          '--from',
          'pod',
          `${NS}/client`,
          '-o',
          'json',
          '--kubeconfig',
          sb.state.kubeconfig,
        ],
        { timeout: 120_000 },
        (err, stdout) => {
          try {
            resolve({ code: err ? Number((err as { code?: number }).code) : 0, d: JSON.parse(stdout) as Diagnosis });
          } catch (e) {
            reject(e as Error);
          }
        },
      ),
    );
    expect(r.code).toBe(0);
    expect(r.d.verdict).toEqual({ status: 'ok', unknown: 4 });
    expect(r.d.hops.filter((h) => h.status === 'unknown').map((h) => [h.id, h.evidence])).toEqual([
      ['northbound', expect.stringMatching(/^controller not reachable: .*ycloud-controller-metrics.*not found/)],
      ['southbound', 'node agent not reachable for Southbound: no ycloud agent pod on node node-1 in ycloud-system'],
      ['node/node-1', 'node agent of node-1 not reachable: no ycloud agent pod on node node-1 in ycloud-system'],
      [
        'node/node-2/backend-node',
        'node agent of node-2 not reachable: no ycloud agent pod on node node-2 in ycloud-system',
      ],
    ]);
    expect(r.d.hops.filter((h) => h.layer === 'kubernetes').every((h) => h.status === 'ok')).toBe(true);
  });

  it('fault: a selector matching no pod', async () => {
    const r = await diagnoseCli('service', `${NS}/nosel`, '--from', 'pod', `${NS}/client`);
    const hop = expectBrokenAt(r, 'kubernetes/selector');
    expect(hop.evidence).toBe(`selector app=nothing matches no pod in ${NS}`);
  });

  it('fault: no endpoints (a Service without selector and without EndpointSlices)', async () => {
    const r = await diagnoseCli('service', `${NS}/noep`, '--from', 'pod', `${NS}/client`);
    const hop = expectBrokenAt(r, 'kubernetes/endpoints');
    expect(hop.evidence).toMatch(/^no endpoints \(0 EndpointSlice\(s\)/);
    expect(r.d.hops.find((h) => h.id === 'kubernetes/selector')!.evidence).toBe(
      'no selector: EndpointSlices are managed by hand',
    );
  });

  it('fault: every backend not ready', async () => {
    await eventually(
      () => sliceEndpoints('unready'),
      (n) => n === 1,
      'the EndpointSlice to list the unready pod',
    );
    const r = await diagnoseCli('service', `${NS}/unready`, '--from', 'pod', `${NS}/client`);
    const hop = expectBrokenAt(r, 'kubernetes/endpoints');
    expect(hop.evidence).toMatch(
      /^no usable endpoint for .*:80\/tcp \(1 EndpointSlice\(s\), 1 endpoint\(s\): 0 ready, .*not ready: unready-0\)$/,
    );
    // From the node, a real connection is refused too (the VIP rejects: no backend).
    const fromNode = await diagnoseCli('service', `${NS}/unready`, '--from', 'node', 'node-1', '--connect');
    expectBrokenAt(fromNode, 'kubernetes/endpoints');
    const connect = fromNode.d.hops[fromNode.d.hops.length - 1];
    expect([connect.layer, connect.status]).toEqual(['connect', 'broken']);
    expect(connect.evidence).toMatch(/^TCP connection from the source node failed after \d+ ms: /);
  });

  it('fault: a backend failing its NetworkProbe', async () => {
    await eventually(
      () =>
        kube.get<KubeObject & { status?: { targets?: Array<{ healthy: boolean }> } }>(
          crdResources.NetworkProbe,
          NS,
          'probed-backends',
        ),
      (p) => p.status?.targets?.length === 2 && p.status.targets.filter((t) => !t.healthy).length === 1,
      'probed-1 unhealthy in the NetworkProbe status',
    );
    const r = await diagnoseCli('service', `${NS}/probed`, '--from', 'pod', `${NS}/client`);
    const hop = expectBrokenAt(r, 'kubernetes/network-probes');
    const [ip1] = await podIps(['probed-1']);
    expect(hop.evidence).toMatch(
      new RegExp(`^1 of 2 probed backend\\(s\\) unhealthy: ${ip1.replace(/\./g, '\\.')} \\(probed-backends: `),
    );
    expect(hop.fix).toMatch(/backend probed-1 does not answer its probe/);
  });

  it('fault: a Service labelled for another proxy', async () => {
    await kube.mergePatch(
      { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
      NS,
      'web',
      {
        metadata: { labels: { 'service.kubernetes.io/service-proxy-name': 'other-proxy' } },
      },
    );
    try {
      const r = await diagnoseCli('service', `${NS}/web`, '--from', 'pod', `${NS}/client`);
      const hop = expectBrokenAt(r, 'kubernetes/proxy-labels');
      expect(hop.evidence).toBe(
        'labelled service.kubernetes.io/service-proxy-name=other-proxy: Service proxies (ycloud, kube-proxy) leave it alone',
      );
    } finally {
      await kube.mergePatch(
        { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
        NS,
        'web',
        {
          metadata: { labels: { 'service.kubernetes.io/service-proxy-name': null } },
        },
      );
    }
    await eventually(
      () => diagnoseCli('service', `${NS}/web`, '--from', 'pod', `${NS}/client`),
      (r) => r.code === 0,
      'web healthy again once the label is gone',
      60_000,
      1000,
    );
  });

  it('fault: the LB group detached from one switch by hand', async () => {
    const group = await nbctl('--bare', '--columns=_uuid', 'find', 'Load_Balancer_Group', `name="${GROUP}"`);
    await nbctl('remove', 'Logical_Switch', 'subnet-join', 'load_balancer_group', group);
    try {
      const r = await diagnoseCli('service', `${NS}/web`, '--from', 'pod', `${NS}/client`);
      const hop = expectBrokenAt(r, 'northbound/lb-group');
      expect(hop.evidence).toBe(
        `Service_${NS}/web_TCP (group ${GROUP}) does not reach switch(es) subnet-join of VPC default`,
      );
    } finally {
      await nbctl('add', 'Logical_Switch', 'subnet-join', 'load_balancer_group', group);
    }
  });

  it("fault: the LB group detached from the client's switch: ovn-trace shows the packet not load-balanced there", async () => {
    const group = await nbctl('--bare', '--columns=_uuid', 'find', 'Load_Balancer_Group', `name="${GROUP}"`);
    const client = (await core.readNamespacedPod({ namespace: NS, name: 'client' })).metadata!.annotations!;
    const clientSwitch = parseIpAllocationAnnotation(client[IP_ALLOCATION_ANNOTATION])!.logicalSwitch;
    expect(clientSwitch).toBe('subnet-default');
    await nbctl('--wait=sb', 'remove', 'Logical_Switch', clientSwitch, 'load_balancer_group', group);
    try {
      const r = await diagnoseCli('service', `${NS}/web`, '--from', 'pod', `${NS}/client`, '--trace');
      const hop = expectBrokenAt(r, 'northbound/lb-group');
      expect(hop.evidence).toBe(
        `Service_${NS}/web_TCP (group ${GROUP}) does not reach switch(es) ${clientSwitch} of VPC default`,
      );
      // Not load-balanced on the client's switch, the packet is routed with the ClusterIP as destination: by the
      // VPC router's default route to the EIP pool's gateway router, which asks for it on the external network.
      const trace = r.d.hops.find((h) => h.id === `trace/${webIP}:80`)!;
      expect(trace).toMatchObject({
        status: 'broken',
        evidence: `ovn-trace: the packet is not load-balanced on ${clientSwitch}: replaced by arp in eip-${EIP_POOL}-gw (lr_in_arp_request)`,
      });
      expect(trace.detail).toEqual({
        replacedBy: `arp in eip-${EIP_POOL}-gw (lr_in_arp_request)`,
        outputs: expect.arrayContaining([`${clientSwitch}-to-router`]),
      });
    } finally {
      await nbctl('--wait=sb', 'add', 'Logical_Switch', clientSwitch, 'load_balancer_group', group);
    }
  });

  it("fault: a VIP's backends edited by hand in NB", async () => {
    const lb = await nbctl('--bare', '--columns=_uuid', 'find', 'Load_Balancer', `name="Service_${NS}/web_TCP"`);
    const before = await nbctl('get', 'Load_Balancer', lb, `vips:"${webIP}:80"`);
    await nbctl('--wait=sb', 'set', 'Load_Balancer', lb, `vips:"${webIP}:80"="10.16.250.250:8080"`);
    try {
      const r = await diagnoseCli('service', `${NS}/web`, '--from', 'pod', `${NS}/client`, '--trace', '--connect');
      const hop = expectBrokenAt(r, 'northbound/backends');
      const want = (await podIps(['web-0', 'web-1'])).map((ip) => `${ip}:8080`).sort();
      expect(hop.evidence).toBe(`${webIP}:80: NB has [10.16.250.250:8080], ready endpoints are [${want.join(' ')}]`);
      // ovn-trace: DNAT to the address NB holds, then the router has no MAC for it and sends an ARP request instead.
      const trace = r.d.hops.find((h) => h.id === `trace/${webIP}:80`)!;
      expect(trace).toMatchObject({
        status: 'broken',
        evidence: `ovn-trace: load-balanced to [10.16.250.250:8080], expected [${want.join(' ')}]: replaced by arp in vpc-default (lr_in_arp_request)`,
      });
      expect(trace.detail).toMatchObject({
        lbBackends: ['10.16.250.250:8080'],
        replacedBy: 'arp in vpc-default (lr_in_arp_request)',
      });
      expect(trace.detail!.deliveredTo).toBeUndefined();
      // And a real connection from the client pod gets nowhere.
      const connect = r.d.hops[r.d.hops.length - 1];
      expect([connect.id, connect.status]).toEqual([`connect/${webIP}:80`, 'broken']);
      expect(connect.evidence).toMatch(/^TCP connection from the source pod failed after \d+ ms: /);
    } finally {
      await nbctl('--wait=sb', 'set', 'Load_Balancer', lb, `vips:"${webIP}:80"=${before}`);
    }
  });

  it('reports a healthy external -> EIP path ok on every hop (Service and Eip), and the EIP answers from outside', async () => {
    const lb = await eventually(
      () => core.readNamespacedService({ namespace: NS, name: 'lb' }),
      (s) => !!s.status?.loadBalancer?.ingress?.[0]?.ip,
      'lb to get its EIP',
    );
    eipAddress = lb.status!.loadBalancer!.ingress![0].ip!;
    expect(eipAddress).toBe('172.16.0.50');
    // What a user sees first: a client outside the cluster gets answers from both backends on the EIP.
    const seen = new Set<string>();
    await eventually(
      async () => seen.add(await curlExternal(`http://${eipAddress}/`)),
      (s) => s.has('web-0') && s.has('web-1'),
      'both backends on the EIP from outside',
    );
    const r = await eventually(
      () => timed('service --from external (EIP)', 'service', `${NS}/lb`, '--from', 'external'),
      (x) => x.code === 0,
      'the EIP path diagnosed ok',
      60_000,
      1000,
    );
    expect(r.d.verdict).toEqual({ status: 'ok', unknown: 0 });
    expect(r.d.source).toBe('external');
    expect(r.d.vips).toEqual([`${eipAddress}:80/tcp`]);
    expect(r.d.hops.map((h) => [h.id, h.status])).toEqual([
      ['kubernetes/object', 'ok'],
      ['kubernetes/proxy-labels', 'ok'],
      ['kubernetes/port', 'ok'],
      ['kubernetes/selector', 'ok'],
      ['kubernetes/endpoints', 'ok'],
      ['kubernetes/events', 'ok'],
      ['kubernetes/network-probes', 'ok'],
      ['kubernetes/eip', 'ok'],
      ['kubernetes/eip-pool', 'ok'],
      ['northbound/eip-gateway-router', 'ok'],
      ['northbound/eip-nat', 'ok'],
      ['northbound/eip-route', 'ok'],
      ['northbound/vpc-gateway-port', 'ok'],
      ['northbound/router-lb', 'ok'],
      ['southbound/eip-gateway', 'ok'],
      ['southbound/router-lb-flows', 'ok'],
      ['southbound/port-bindings', 'ok'],
      ['southbound/chassis', 'ok'],
      ['node/node-1/ovn-controller', 'ok'],
      ['node/node-1/datapath', 'ok'],
      ['node/node-1/vip-groups', 'ok'],
      ['node/node-2/backend-node', 'ok'],
    ]);
    const hop = (id: string) => r.d.hops.find((h) => h.id === id)!.evidence;
    eipName = /^Eip (\S+) /.exec(hop('kubernetes/eip'))![1];
    expect(hop('kubernetes/eip')).toBe(
      `Eip ${eipName} ${eipAddress} from pool ${EIP_POOL}, bound to Service ${NS}/lb, VPC default`,
    );
    expect(hop('kubernetes/eip-pool')).toBe(
      `EipPool ${EIP_POOL}: network external, active gateway node node-1 (Ready) of [node-1]`,
    );
    expect(hop('northbound/eip-gateway-router')).toBe(
      `eip-${EIP_POOL}-gw on chassis node-1, external network external`,
    );
    expect(hop('northbound/eip-nat')).toBe(`dnat_and_snat ${eipAddress} stateless (answers ARP)`);
    expect(hop('northbound/eip-route')).toBe(`${eipAddress}/32 via 100.65.255.254 (eip-${EIP_POOL}-gw-to-transit)`);
    expect(hop('northbound/router-lb')).toBe(`Service_${NS}/lb_TCP_router ${eipAddress}:80 -> 2 backend(s)`);
    expect(hop('southbound/eip-gateway')).toBe(
      `chassis node-1 holds eip-${EIP_POOL}-gw-to-external, eip-${EIP_POOL}-gw-to-transit, cr-vpc-default-to-eip-${EIP_POOL}`,
    );
    expect(hop('southbound/router-lb-flows')).toBe(`${eipAddress}:80 on vpc-default`);
    // The same path asked by the Eip's name (from outside by default).
    const byName = await timed('eip NAME', 'eip', eipName);
    expect(byName.code).toBe(0);
    expect(byName.d.target).toBe(`Eip ${eipName} (Service ${NS}/lb)`);
    expect(byName.d.hops.map((h) => h.id)).toEqual(r.d.hops.map((h) => h.id));
    const missing = await diagnoseCli('eip', 'no-such-eip');
    expect(missing.code).toBe(1);
    expect(missing.d.hops).toEqual([
      expect.objectContaining({ id: 'kubernetes/eip', status: 'broken', evidence: 'Eip no-such-eip not found' }),
    ]);
  });

  it('reports a healthy external -> NodePort path ok, and the NodePort answers from outside', async () => {
    const seen = new Set<string>();
    await eventually(
      async () => seen.add(await curlExternal(`http://172.16.0.11:${nodePort}/`)),
      (s) => s.has('web-0') && s.has('web-1'),
      'both backends on the NodePort from outside',
    );
    const r = await timed('service --from external (NodePort)', 'service', `${NS}/np`, '--from', 'external');
    expect(r.code).toBe(0);
    expect(r.d.verdict).toEqual({ status: 'ok', unknown: 0 });
    const ids = r.d.hops.map((h) => h.id);
    expect(ids.slice(6, 9)).toEqual(['kubernetes/network-probes', 'kubernetes/nodeport', 'node/node-1/nodeport-rules']);
    expect(ids.slice(-3)).toEqual(['node/node-1/datapath', 'node/node-1/vip-groups', 'node/node-2/backend-node']);
    const npIP = (await core.readNamespacedService({ namespace: NS, name: 'np' })).spec!.clusterIP!;
    expect(r.d.vips).toEqual([`${npIP}:80/tcp`]);
    expect(r.d.hops[7].evidence).toBe(`${nodePort}/TCP->80 on node node-1 (ExternalIP 172.16.0.11)`);
    expect(r.d.hops[8].evidence).toBe(`node-1: tcp/${nodePort} -> ${npIP}:80, forwarding on`);
    // A ClusterIP Service is not published outside: diagnose says so instead of walking a path.
    const web = await diagnoseCli('service', `${NS}/web`, '--from', 'external');
    expectBrokenAt(web, 'kubernetes/scenario');
  });

  it('fault: the EIP VIP removed from the VPC router load balancer by hand', async () => {
    const lb = await nbctl('--bare', '--columns=_uuid', 'find', 'Load_Balancer', `name="Service_${NS}/lb_TCP_router"`);
    const key = `"${eipAddress}:80"`;
    const before = await nbctl('get', 'Load_Balancer', lb, `vips:${key}`);
    await nbctl('remove', 'Load_Balancer', lb, 'vips', key);
    try {
      const r = await timed('eip NAME (router LB fault)', 'eip', eipName);
      const hop = expectBrokenAt(r, 'northbound/router-lb');
      expect(hop.evidence).toBe(`no load balancer on vpc-default has VIP ${eipAddress}:80/tcp`);
    } finally {
      await nbctl('set', 'Load_Balancer', lb, `vips:${key}=${before}`);
    }
    const again = await diagnoseCli('eip', eipName);
    expect(again.code).toBe(0);
  });

  it("fault: the NodePort's DNAT rule flushed from the node's table by hand", async () => {
    const node1 = sb.state.nodes[0].netns;
    await netnsExec(node1, ['nft', 'flush', 'chain', 'ip', 'ycloud', 'nodeports']);
    const r = await timed('service --from external (NodePort fault)', 'service', `${NS}/np`, '--from', 'external');
    const hop = expectBrokenAt(r, 'node/node-1/nodeport-rules');
    expect(hop.evidence).toBe(`node-1: no rule for tcp dport ${nodePort}`);
    expect(await curlExternal(`http://172.16.0.11:${nodePort}/`)).toBe('');
    // The fix diagnose suggests: without its table the agent writes it again.
    await netnsExec(node1, ['nft', 'delete', 'table', 'ip', 'ycloud']);
    await eventually(
      () => diagnoseCli('service', `${NS}/np`, '--from', 'external'),
      (x) => x.code === 0,
      'the NodePort rules rebuilt by the agent',
      90_000,
      1000,
    );
  });

  it("fault: a backend's node datapath killed", async () => {
    const nodeDir = join(sb.state.testbed.dir, 'node-2');
    for (const daemon of ['controller', 'vswitchd']) {
      process.kill(Number(readFileSync(join(nodeDir, `${daemon}.pid`), 'utf8').trim()), 'SIGKILL');
    }
    const r = await diagnoseCli('service', `${NS}/web`, '--from', 'pod', `${NS}/client`);
    const hop = expectBrokenAt(r, 'node/node-2/backend-node');
    expect(hop.evidence).toMatch(/^backends on node-2 unreachable: br-int does not answer/);
  });

  it("fault: ovn-controller of the client's node stopped", async () => {
    const r0 = await diagnoseCli('service', `${NS}/local`, '--from', 'pod', `${NS}/client`);
    expect(r0.d.verdict).toEqual({ status: 'ok', unknown: 0 });
    const pidfile = join(sb.state.testbed.dir, 'node-1', 'controller.pid');
    process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGKILL');
    const r = await diagnoseCli('service', `${NS}/local`, '--from', 'pod', `${NS}/client`);
    const hop = expectBrokenAt(r, 'node/node-1/ovn-controller');
    expect(hop.evidence).toMatch(/^ovn-controller is not running on node-1: pid \d+ does not answer/);
  });

  it('fault: the EIP gateway node down (its ovn-controller and ovs-vswitchd dead, then its chassis gone from SB)', async () => {
    // node-1 is the pool's gateway node. Its ovn-controller may already be dead (the test before); its vswitchd dies now.
    // First the last NetworkProbe goes, so that the controller unplugs its probe port from node-1 while vswitchd still
    // answers (its `ovs-vsctl del-port` at shutdown would otherwise wait for a dead vswitchd past the leak check).
    await kube.delete(crdResources.NetworkProbe, NS, 'probed-backends');
    await eventually(
      () => runText('ovs-vsctl', [`--db=${sb.state.nodes[0].ovsRemote}`, '--timeout=20', 'list-ports', 'br-int']),
      (ports) => !/ycpr/.test(ports),
      "the controller's probe port unplugged from node-1",
      60_000,
      500,
    );
    const nodeDir = join(sb.state.testbed.dir, 'node-1');
    for (const daemon of ['controller', 'vswitchd']) {
      try {
        process.kill(Number(readFileSync(join(nodeDir, `${daemon}.pid`), 'utf8').trim()), 'SIGKILL');
      } catch {
        /* already dead */
      }
    }
    // The EIP no longer answers from outside.
    expect(await curlExternal(`http://${eipAddress}/`)).toBe('');
    // Any NB change since (here an explicit one) finds the gateway chassis not catching up: the first sign in SB.
    await nbctl('--wait=sb', 'sync');
    const r = await timed('eip NAME (gateway node down)', 'eip', eipName);
    const hop = expectBrokenAt(r, 'southbound/eip-gateway');
    expect(hop.evidence).toMatch(
      /^gateway chassis node-1 applied nb_cfg \d+ < \d+ \(its ovn-controller is down or behind\)$/,
    );
    // And the node layer says what is down.
    const node = (id: string) => r.d.hops.find((h) => h.id === id);
    expect(node('node/node-1/ovn-controller')).toMatchObject({ status: 'broken' });
    expect(node('node/node-1/ovn-controller')!.evidence).toMatch(/^ovn-controller is not running on node-1: /);
    expect(node('node/node-1/datapath')).toMatchObject({ status: 'broken' });
    // A chassis that never comes back is removed from Southbound (ovn-sbctl chassis-del): its ports lose it.
    await runText('ovn-sbctl', [`--db=${sb.state.testbed.sbRemote}`, '--timeout=20', 'chassis-del', 'node-1']);
    const gone = await timed('eip NAME (gateway chassis gone)', 'eip', eipName);
    const sbHop = expectBrokenAt(gone, 'southbound/eip-gateway');
    expect(sbHop.evidence).toMatch(
      new RegExp(
        `^gateway node node-1 has no Chassis in Southbound \\(ovn-controller gone\\?\\); eip-${EIP_POOL}-gw-to-external is bound to no chassis`,
      ),
    );
  });

  async function podIps(names: string[]): Promise<string[]> {
    return Promise.all(
      names.map(async (n) => (await core.readNamespacedPod({ namespace: NS, name: n })).status!.podIP!),
    );
  }

  /** `ip:8080` of each pod -> its logical switch port (ycloud's ip-allocation annotation). */
  async function backendPorts(names: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const n of names) {
      const pod = await core.readNamespacedPod({ namespace: NS, name: n });
      const alloc = parseIpAllocationAnnotation(pod.metadata!.annotations![IP_ALLOCATION_ANNOTATION])!;
      out[`${pod.status!.podIP!}:8080`] = alloc.logicalSwitchPort;
    }
    return out;
  }

  async function sliceEndpoints(service: string): Promise<number> {
    const discovery = sb.kubelet.kubeConfig.makeApiClient(DiscoveryV1Api);
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace: NS,
      labelSelector: `kubernetes.io/service-name=${service}`,
    });
    return slices.items.reduce((n, s) => n + (s.endpoints?.length ?? 0), 0);
  }
});

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}
