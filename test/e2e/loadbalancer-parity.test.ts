import { CoreV1Api, DiscoveryV1Api, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { API_VERSION, EIP_GATEWAY_LABEL, SERVICE_PROXY_NAME_LABEL, parseControllerConfig, type Eip } from '@ycloud/api';
import { ControllerManager, TOPOLOGY_RESOURCES } from '@ycloud/controllers';
import { CniAgent, ClientNodeKubeApi, loadAgentConfig } from '@ycloud/cni';
import { KubeClient, Logger, type KubeObject } from '@ycloud/k8s';
import {
  KubeControlPlane,
  NetnsEndpoint,
  OvnTestbed,
  TcpServer,
  createNode,
  eventually,
  installCrds,
  netnsExec,
  tcpRequest,
  testEipPoolSpec,
} from '@ycloud/testbed';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * kube-proxy parity for LoadBalancer Services on ycloud's EIPs (issue 12), mirroring upstream
 * test/e2e/network/loadbalancer.go with real traffic: two clients on the EIP pool's external network (one inside
 * the Service's source ranges, one outside), two backends on the default subnet (ports made by hand, no kubelet),
 * the controller in-process with `eip.defaultPool`, and the node agent of node-1 (the gateway node: it clears
 * stale UDP conntrack there). The pool has five addresses so that exhaustion is reachable.
 */
describe('LoadBalancer Services on EIPs: kube-proxy parity (real traffic)', () => {
  let bed: OvnTestbed;
  let k8s: KubeControlPlane;
  let kube: KubeClient;
  let core: CoreV1Api;
  let manager: ControllerManager | undefined;
  let agent: CniAgent | undefined;
  const agentLog: string[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'ycloud-e2e-lb-'));
  const servers: TcpServer[] = [];
  const udpServers: ChildProcess[] = [];
  let inside: NetnsEndpoint;
  let outside: NetnsEndpoint;
  const NS = 'lb';

  const config = parseControllerConfig({ eip: { transitCIDR: '100.65.0.0/16', defaultPool: 'ext' } });
  const nb = (...a: string[]) => bed.central.nbctl(...a);
  const attempt = (netns: string, host: string, port: number) =>
    tcpRequest(netns, host, port, 2000).catch((e: Error) => `error: ${e.message.split('\n').pop() ?? ''}`);

  async function loadBalancer(name: string, spec: Partial<V1Service['spec']> = {}): Promise<void> {
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name, namespace: NS },
        spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 8080 as never }], ...spec },
      },
    });
    await kubeDiscovery().createNamespacedEndpointSlice({
      namespace: NS,
      body: {
        metadata: { name: `${name}-manual`, namespace: NS, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: ['10.16.0.21', '10.16.0.22'].map((ip, i) => ({
          addresses: [ip],
          nodeName: 'node-1',
          conditions: { ready: true },
          targetRef: { kind: 'Pod', name: `web-${'ab'[i]}`, namespace: NS },
        })),
      },
    });
  }
  const kubeDiscovery = () => k8s.kubeConfig.makeApiClient(DiscoveryV1Api);
  const ingressOf = (name: string) =>
    eventually(
      () => core.readNamespacedServiceStatus({ namespace: NS, name }),
      (s) => !!s.status?.loadBalancer?.ingress?.[0]?.ip,
      `${name} ingress`,
      60_000,
    );
  const eventFor = (name: string, reason: string) =>
    eventually(
      () => core.listNamespacedEvent({ namespace: NS }),
      (e) => e.items.some((x) => x.involvedObject.name === name && x.reason === reason),
      `${reason} event on ${name}`,
    ).then((e) => e.items.find((x) => x.involvedObject.name === name && x.reason === reason)!);

  beforeAll(async () => {
    [bed, k8s] = await Promise.all([
      OvnTestbed.start({ nodes: ['node-1'], gatewayNodes: ['node-1'] }),
      KubeControlPlane.start(),
    ]);
    kube = KubeClient.fromKubeconfigFile(k8s.kubeconfigPath);
    core = k8s.kubeConfig.makeApiClient(CoreV1Api);
    await installCrds(kube);
    // An EIP gateway node: its agent keeps the external network's bridge mapping.
    await createNode(k8s.kubeConfig, 'node-1', '192.168.100.1', { [EIP_GATEWAY_LABEL]: 'true' });
    await core.createNamespace({ body: { metadata: { name: NS } } });
    manager = new ControllerManager({
      config,
      kube,
      northbound: { remotes: bed.central.nbRemote },
      logger: new Logger({ level: 'warn' }),
    });
    await manager.start();
    await kube.create(TOPOLOGY_RESOURCES.EipPool, undefined, {
      apiVersion: API_VERSION,
      kind: 'EipPool',
      metadata: { name: 'ext' },
      spec: { ...testEipPoolSpec(['node-1']), ranges: ['172.16.0.50-172.16.0.54'] },
    } as never);
    const node = bed.node('node-1');
    const pod = async (id: string, mac: string, ip: string) => {
      await nb('lsp-add', 'subnet-default', id, '--', 'lsp-set-addresses', id, `${mac} ${ip}`);
      return node.plugPod({ netns: id, ifaceId: id, mac, ips: [`${ip}/16`], gateway: '10.16.0.1' });
    };
    const a = await pod('web-a', '0a:58:0a:10:00:15', '10.16.0.21');
    const b = await pod('web-b', '0a:58:0a:10:00:16', '10.16.0.22');
    servers.push(await TcpServer.start(a.netns, 8080, 'web-a'), await TcpServer.start(b.netns, 8080, 'web-b'));
    agent = new CniAgent(
      loadAgentConfig(undefined, {
        nodeName: 'node-1',
        kubeconfig: k8s.kubeconfigPath,
        socketPath: path.join(dir, 'cni.sock'),
        ovsDb: node.ovsRemote,
        nodeNetns: node.netns,
        ovn: {
          systemId: 'node-1',
          remote: bed.central.sbRemote,
          encapIp: node.encapIp,
          bridgeMappings: 'external:br-ex',
        },
        nodePort: { enabled: true, serviceCidrs: ['10.96.0.0/16'], podCidrs: ['10.16.0.0/16'] },
        datapath: {
          vswitchd: { pidfile: path.join(node.dir, 'vswitchd.pid'), unixctl: path.join(node.dir, 'vswitchd.ctl') },
          controller: { pidfile: path.join(node.dir, 'controller.pid'), unixctl: '' },
        },
      }),
      { kube: new ClientNodeKubeApi(k8s.kubeConfig), log: (l) => agentLog.push(l) },
    );
    await agent.start();
    const ext = { network: 'external', gateway: '172.16.0.1' };
    inside = await node.attachExternalNetwork({ ...ext, netns: 'inside', ip: '172.16.0.100/24' });
    outside = await node.attachExternalNetwork({ ...ext, netns: 'outside', ip: '172.16.0.101/24' });
  }, 300_000);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    for (const u of udpServers) u.kill('SIGKILL');
    await agent?.stop();
    await manager?.stop();
    kube?.close();
    await Promise.all([bed?.stop(), k8s?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('should only allow access from service loadbalancer source ranges', async () => {
    await loadBalancer('ranged', { loadBalancerSourceRanges: ['172.16.0.100/32'] });
    const eip = (await ingressOf('ranged')).status!.loadBalancer!.ingress![0];
    // status.loadBalancer.ingress[].ports: what the address serves.
    expect(eip.ports).toEqual([{ port: 80, protocol: 'TCP' }]);
    // The client inside the range reaches both backends, which see its own address.
    const seen = new Set<string>();
    await eventually(
      async () => seen.add(await attempt(inside.netns, eip.ip!, 80)),
      (s) => s.has('web-a 172.16.0.100') && s.has('web-b 172.16.0.100'),
      'both backends from the allowed client',
    );
    // The one outside is dropped (no answer, not even a reset), every time.
    for (let i = 0; i < 5; i++) expect(await attempt(outside.netns, eip.ip!, 80)).toMatch(/^error/);
    expect(await nb('--bare', '--columns=match', 'list', 'ACL')).toContain('ip4.src != {172.16.0.100/32}');

    // The ranges follow the Service: swap them, then lift them.
    await core.patchNamespacedService(
      { namespace: NS, name: 'ranged', body: { spec: { loadBalancerSourceRanges: ['172.16.0.101/32'] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(
      () => attempt(outside.netns, eip.ip!, 80),
      (r) => /^web-[ab] 172\.16\.0\.101$/.test(r),
      'the other client allowed',
    );
    await eventually(
      () => attempt(inside.netns, eip.ip!, 80),
      (r) => r.startsWith('error'),
      'the first client dropped',
    );
    await core.patchNamespacedService(
      { namespace: NS, name: 'ranged', body: { spec: { loadBalancerSourceRanges: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(
      () => attempt(inside.netns, eip.ip!, 80),
      (r) => r.startsWith('web-'),
      'everyone allowed again',
    );
    expect(await attempt(outside.netns, eip.ip!, 80)).toMatch(/^web-[ab] 172\.16\.0\.101$/);
    expect(await nb('--bare', '--columns=match', 'list', 'ACL')).toBe('');
  });

  it('should support externalTrafficPolicy=Local for type=LoadBalancer: the EIP answers and keeps the client address', async () => {
    await loadBalancer('local', { externalTrafficPolicy: 'Local' });
    const eip = (await ingressOf('local')).status!.loadBalancer!.ingress![0].ip!;
    const r = await eventually(
      () => attempt(inside.netns, eip, 80),
      (x) => x.startsWith('web-'),
      'the Local Service on its EIP',
    );
    expect(r).toMatch(/^web-[ab] 172\.16\.0\.100$/);
  });

  it("takes only its own loadBalancerClass: another provider's Service gets no EIP and an Event saying why", async () => {
    await loadBalancer('theirs', { loadBalancerClass: 'example.com/other-lb' });
    const ev = await eventFor('theirs', 'LoadBalancerClassNotOurs');
    expect(ev.message).toContain('example.com/other-lb');
    await loadBalancer('ours', { loadBalancerClass: 'ycloud.io/eip' });
    await ingressOf('ours');
    const theirs = await core.readNamespacedServiceStatus({ namespace: NS, name: 'theirs' });
    expect(theirs.status?.loadBalancer?.ingress ?? []).toEqual([]);
    const eips = await kube.list<Eip & KubeObject>(TOPOLOGY_RESOURCES.Eip);
    expect(eips.items.map((e) => e.spec.binding?.name).sort()).toEqual(['local', 'ours', 'ranged']);
  });

  it('should be able to preserve UDP traffic when server pod cycles for a LoadBalancer service', async () => {
    // UDP responders in both backend namespaces, answering with their name.
    const udpJs =
      "require('dgram').createSocket('udp4').on('message', function (m, r) { this.send(process.argv[1] + '\\n', r.port, r.address); }).bind(5353)";
    for (const [ns, name] of [
      ['web-a', 'udp-a'],
      ['web-b', 'udp-b'],
    ]) {
      udpServers.push(
        spawn('ip', ['netns', 'exec', bed.node('node-1').netnsName(ns), process.execPath, '-e', udpJs, name]),
      );
    }
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'udp-lb', namespace: NS },
        spec: { type: 'LoadBalancer', ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 as never }] },
      },
    });
    const slice = (ip: string) => ({
      metadata: { name: 'udp-lb-manual', namespace: NS, labels: { 'kubernetes.io/service-name': 'udp-lb' } },
      addressType: 'IPv4',
      ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }],
      endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    });
    await kubeDiscovery().createNamespacedEndpointSlice({ namespace: NS, body: slice('10.16.0.21') });
    const eip = (await ingressOf('udp-lb')).status!.loadBalancer!.ingress![0].ip!;
    // One client flow (fixed source port) throughout.
    const udp = async () =>
      (
        await netnsExec(inside.netns, ['sh', '-c', `echo hi | nc -u -p 40100 -w1 ${eip} 53`], { allowFailure: true })
      ).stdout.trim();
    await eventually(udp, (r) => r === 'udp-a', 'udp-a on the EIP');
    await kubeDiscovery().replaceNamespacedEndpointSlice({
      namespace: NS,
      name: 'udp-lb-manual',
      body: slice('10.16.0.22'),
    });
    const t0 = Date.now();
    await eventually(udp, (r) => r === 'udp-b', 'udp-b answering the same flow', 20_000).catch(async (e: Error) => {
      // What a stuck flow looks like: a conntrack entry in the router's zone still DNATing to the old backend.
      const ct = await bed.node('node-1').appctl('vswitchd', 'dpctl/dump-conntrack');
      const stale = ct.split('\n').filter((l) => l.includes('sport=40100') || l.includes('dport=40100'));
      throw new Error(`${e.message}\nconntrack of the flow:\n${stale.join('\n')}\nagent:\n${agentLog.join('\n')}`);
    });
    console.log(
      `LoadBalancer UDP, fixed source port: new backend answered ${Date.now() - t0} ms after the slice changed; ` +
        `agent: ${agentLog.filter((l) => l.startsWith('conntrack')).join('; ')}`,
    );
  });

  it('should route traffic to an endpoint in the same zone when using PreferClose (on an EIP: the zone of its gateway node)', async () => {
    // traffic_distribution.go, for LoadBalancer traffic: kube-proxy filters cluster endpoints by the hints of the
    // node that receives the traffic, external traffic included. An EIP is load-balanced on its gateway node
    // (node-1), so node-1's zone chooses; the endpoints' hints are written by hand (no EndpointSlice controller
    // manages a selector-less Service's slices).
    const zoneLabel = 'topology.kubernetes.io/zone';
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const zoneNode1 = (zone: string | null) =>
      core.patchNode({ name: 'node-1', body: { metadata: { labels: { [zoneLabel]: zone } } } }, merge);
    await zoneNode1('zone-b');
    try {
      await core.createNamespacedService({
        namespace: NS,
        body: {
          metadata: { name: 'zoned', namespace: NS },
          spec: {
            type: 'LoadBalancer',
            trafficDistribution: 'PreferClose',
            ports: [{ name: 'http', port: 80, targetPort: 8080 as never }],
          },
        },
      });
      await kubeDiscovery().createNamespacedEndpointSlice({
        namespace: NS,
        body: {
          metadata: { name: 'zoned-manual', namespace: NS, labels: { 'kubernetes.io/service-name': 'zoned' } },
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
          endpoints: (['zone-a', 'zone-b'] as const).map((zone, i) => ({
            addresses: [['10.16.0.21', '10.16.0.22'][i]],
            nodeName: 'node-1',
            zone,
            hints: { forZones: [{ name: zone }] },
            conditions: { ready: true },
            targetRef: { kind: 'Pod', name: `web-${'ab'[i]}`, namespace: NS },
          })),
        },
      });
      const eip = (await ingressOf('zoned')).status!.loadBalancer!.ingress![0].ip!;
      const answers = async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 10; i++) seen.add((await attempt(inside.netns, eip, 80)).split(' ')[0]);
        return [...seen].sort();
      };
      expect(await eventually(answers, (a) => a.length === 1 && a[0] === 'web-b', 'only zone-b on the EIP')).toEqual([
        'web-b',
      ]);
      // The gateway node moves to zone-a (as after a failover to a node there): the EIP follows its hints.
      await zoneNode1('zone-a');
      expect(await eventually(answers, (a) => a.length === 1 && a[0] === 'web-a', 'only zone-a on the EIP')).toEqual([
        'web-a',
      ]);
    } finally {
      await zoneNode1(null);
      // Its address goes back to the pool, which later tests count on.
      await core.deleteNamespacedService({ namespace: NS, name: 'zoned' }).catch(() => undefined);
      await eventually(
        () => kube.list<Eip & KubeObject>(TOPOLOGY_RESOURCES.Eip),
        (l) => !l.items.some((e) => e.spec.binding?.name === 'zoned'),
        'the Eip of zoned released',
      );
    }
  });

  it('should implement service.kubernetes.io/service-proxy-name for a LoadBalancer: the EIP goes back and leaves the status', async () => {
    await loadBalancer('moving');
    const ip = (await ingressOf('moving')).status!.loadBalancer!.ingress![0].ip!;
    await eventually(
      () => attempt(inside.netns, ip, 80),
      (r) => /^web-[ab] /.test(r),
      'moving on its EIP',
    );
    await core.patchNamespacedService(
      { namespace: NS, name: 'moving', body: { metadata: { labels: { [SERVICE_PROXY_NAME_LABEL]: 'other-proxy' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(
      () => core.readNamespacedServiceStatus({ namespace: NS, name: 'moving' }),
      (s) => !s.status?.loadBalancer?.ingress?.length,
      'the ingress withdrawn',
    );
    const eips = await kube.list<Eip & KubeObject>(TOPOLOGY_RESOURCES.Eip);
    expect(eips.items.filter((e) => e.spec.binding?.name === 'moving')).toEqual([]);
    await eventually(
      () => attempt(inside.netns, ip, 80),
      (r) => r.startsWith('error'),
      'nothing answering on the old EIP',
    );
  });

  it('a malformed source range withholds the EIP (fail closed) with an Event naming the field', async () => {
    // The apiserver parses the annotation leniently (leading zeros); ycloud does not guess what `010.` means.
    const annotation = 'service.beta.kubernetes.io/load-balancer-source-ranges';
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'bad-ranges', namespace: NS, annotations: { [annotation]: '010.0.0.0/8' } },
        spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 8080 as never }] },
      },
    });
    const ev = await eventFor('bad-ranges', 'InvalidLoadBalancerSourceRanges');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain(`metadata.annotations[${annotation}]`);
    const svc = await core.readNamespacedServiceStatus({ namespace: NS, name: 'bad-ranges' });
    expect(svc.status?.loadBalancer?.ingress ?? []).toEqual([]);
  });

  it('an EIP that cannot be given (pool exhausted) is explained in an Event on the Service', async () => {
    await loadBalancer('one-too-many');
    const ev = await eventFor('one-too-many', 'PoolExhausted');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toMatch(/has no address/);
  });
});
