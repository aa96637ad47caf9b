import { CoreV1Api, DiscoveryV1Api, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { API_VERSION, SERVICE_HEADLESS_LABEL, SERVICE_PROXY_NAME_LABEL, type YusurService } from '@ycloud/api';
import { TOPOLOGY_RESOURCES, YUSUR_RESOURCES } from '@ycloud/controllers';
import { KubeClient, type KubeObject } from '@ycloud/k8s';
import { Sandbox, sandboxLeaks } from '@ycloud/sandbox';
import {
  TcpServer,
  createNamespace,
  isClean,
  netnsExec,
  tcpRequest,
  testEipPoolSpec,
  waitUntil,
} from '@ycloud/testbed';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * kube-proxy parity for Services (issue 12), each test named after the upstream e2e test it mirrors
 * (kubernetes/kubernetes test/e2e/network/service.go and conntrack.go). Real traffic from simulated pods and the
 * sandbox's external namespace, through the real controller, node agents and OVN, on two nodes (health checks
 * differ per node). One sandbox for the file.
 */
describe('Services: kube-proxy parity (service.go, conntrack.go)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-e2e-parity-'));
  const NS = 'parity';
  const nodes = ['node-1', 'node-2'];
  const NODE_IP = '172.16.0.11'; // node-1's ExternalIP in the sandbox
  let sb: Sandbox;
  let core: CoreV1Api;
  const figures: string[] = [];

  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const patchService = (name: string, body: object) =>
    core.patchNamespacedService({ namespace: NS, name, body }, merge);

  /** One TCP connection from a pod: the backend's name, or `error <code>`. */
  const tcp = async (client: string, ip: string, port: number): Promise<string> => {
    const s = await sb.kubelet.traffic({ namespace: NS, name: client }, 'tcp', ip, port, 1, 2_000);
    return Object.keys(s.replies)[0] ?? `error ${s.errors[0]?.code ?? '?'}`;
  };
  /** One UDP datagram from `netns` with a fixed source port: the answering backend, or '' (no answer in 1 s). */
  const udpFrom = async (netns: string, ip: string, port: number, sourcePort: number): Promise<string> =>
    (
      await netnsExec(netns, ['sh', '-c', `echo hi | nc -u -p ${sourcePort} -w1 ${ip} ${port}`], {
        allowFailure: true,
      })
    ).stdout.trim();
  const podNetns = async (name: string) => (await sb.kubelet.pod(NS, name)).netns;
  /** HTTP GET from a network namespace: status code and body ('000' when nothing answered). */
  const http = async (netns: string, url: string): Promise<{ code: string; body: string }> => {
    const r = await netnsExec(netns, ['curl', '-s', '-m', '3', '-w', '\\n%{http_code}', url], { allowFailure: true });
    const lines = r.stdout.trimEnd().split('\n');
    return { code: lines.pop() ?? '000', body: lines.join('\n') };
  };
  const nodeNetns = (i: number) => sb.state.nodes[i].netns;
  const nftTable = async () =>
    (await netnsExec(nodeNetns(0), ['nft', 'list', 'table', 'ip', 'ycloud'], { allowFailure: true })).stdout;

  function service(name: string, app: string, extra: Partial<V1Service['spec']> = {}, labels = {}): V1Service {
    return {
      metadata: { name, namespace: NS, labels },
      spec: {
        selector: { app },
        ports: [{ name: 'raw', protocol: 'TCP', port: 9000, targetPort: 9000 as never }],
        ...extra,
      },
    };
  }
  const clusterIP = async (name: string) =>
    (await core.readNamespacedService({ namespace: NS, name })).spec!.clusterIP!;

  beforeAll(async () => {
    // The default VPC's EIP gateway (its default route) exists only while a test creates the pool `ext`.
    sb = await Sandbox.up({
      dir,
      example: null,
      nodes,
      controllerConfig: { eip: { defaultPool: 'ext', transitCIDR: '100.65.0.0/16' } },
    });
    core = sb.kubelet.kubeConfig.makeApiClient(CoreV1Api);
    await createNamespace(sb.kubelet.kubeConfig, NS);
    await Promise.all([
      sb.kubelet.createPod({ name: 'client', namespace: NS, labels: { app: 'client' } }),
      sb.kubelet.createPod({ name: 'web-0', namespace: NS, labels: { app: 'web' }, serve: ['tcp:9000'] }),
    ]);
  });

  afterAll(async () => {
    // Figures for the report (docs/kube-proxy-parity.md); kept in the test log.
    if (figures.length) console.log(`service-parity figures:\n  ${figures.join('\n  ')}`);
    await sb?.down().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Upstream: a labelled Service is not served (ClusterIP and NodePort); removing the label brings it back. */
  async function labelledServiceTest(label: string, name: string, nodePort: number): Promise<void> {
    await core.createNamespacedService({
      namespace: NS,
      body: service(
        name,
        'web',
        {
          type: 'NodePort',
          ports: [{ name: 'raw', protocol: 'TCP', port: 9000, targetPort: 9000 as never, nodePort }],
        },
        { [label]: 'another-proxy' },
      ),
    });
    const ip = await clusterIP(name);
    // A control Service on the same pods is served, so the labelled one had every chance to be.
    await core.createNamespacedService({ namespace: NS, body: service(`${name}-control`, 'web') });
    const control = await clusterIP(`${name}-control`);
    await waitUntil(
      'the control Service',
      () => tcp('client', control, 9000),
      (r) => r === 'web-0',
    );
    for (let i = 0; i < 3; i++) expect(await tcp('client', ip, 9000)).toMatch(/^error/);
    expect(await nftTable()).not.toContain(`dport ${nodePort}`);
    await patchService(name, { metadata: { labels: { [label]: null } } });
    await waitUntil(
      'the unlabelled Service',
      () => tcp('client', ip, 9000),
      (r) => r === 'web-0',
    );
    await waitUntil('its NodePort rule', nftTable, (t) => t.includes(`dport ${nodePort}`));
    // And labelling it again takes it away again.
    await patchService(name, { metadata: { labels: { [label]: 'another-proxy' } } });
    await waitUntil(
      'the relabelled Service gone',
      () => tcp('client', ip, 9000),
      (r) => r.startsWith('error'),
    );
  }

  it('should implement service.kubernetes.io/service-proxy-name', async () => {
    await labelledServiceTest(SERVICE_PROXY_NAME_LABEL, 'proxied-elsewhere', 30901);
  });

  it('should implement service.kubernetes.io/headless', async () => {
    await labelledServiceTest(SERVICE_HEADLESS_LABEL, 'headless-label', 30902);
  });

  it('should be able to connect to terminating and unready endpoints if PublishNotReadyAddresses is true', async () => {
    await sb.kubelet.createPod({ name: 'pnr-0', namespace: NS, labels: { app: 'pnr' }, serve: ['tcp:9000'] });
    await core.createNamespacedService({
      namespace: NS,
      body: service('pnr', 'pnr', { publishNotReadyAddresses: true }),
    });
    await core.createNamespacedService({ namespace: NS, body: service('pnr-control', 'pnr') });
    const [ip, control] = [await clusterIP('pnr'), await clusterIP('pnr-control')];
    await waitUntil(
      'pnr',
      () => tcp('client', ip, 9000),
      (r) => r === 'pnr-0',
    );
    // Unready: still an endpoint of the publishing Service; the control Service rejects.
    await sb.kubelet.setReady(NS, 'pnr-0', false);
    await waitUntil(
      'the control Service to reject',
      () => tcp('client', control, 9000),
      (r) => r.startsWith('error'),
    );
    for (let i = 0; i < 3; i++) expect(await tcp('client', ip, 9000)).toBe('pnr-0');
    // Terminating and unready (no kubelet finishes the graceful delete): the EndpointSlice keeps it ready=true,
    // terminating=true for the publishing Service, and ycloud uses it as kube-proxy does.
    await core.deleteNamespacedPod({ namespace: NS, name: 'pnr-0', gracePeriodSeconds: 300 });
    await waitUntil(
      'the terminating endpoint in the slice',
      async () =>
        (
          await sb.kubelet.kubeConfig
            .makeApiClient(DiscoveryV1Api)
            .listNamespacedEndpointSlice({ namespace: NS, labelSelector: 'kubernetes.io/service-name=pnr' })
        ).items,
      (items) => items.some((s) => (s.endpoints ?? []).some((e) => e.conditions?.terminating === true)),
    );
    for (let i = 0; i < 3; i++) expect(await tcp('client', ip, 9000)).toBe('pnr-0');
    await sb.kubelet.deletePod(NS, 'pnr-0');
  });

  describe('health check node ports (externalTrafficPolicy: Local)', () => {
    let hcPort = 0;

    it('should implement NodePort and HealthCheckNodePort correctly when ExternalTrafficPolicy changes', async () => {
      await sb.kubelet.createPod({
        name: 'hc-0',
        namespace: NS,
        node: 'node-1',
        labels: { app: 'hc' },
        serve: ['tcp:9000'],
      });
      const svc = await core.createNamespacedService({
        namespace: NS,
        body: service('hc', 'hc', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }),
      });
      hcPort = svc.spec!.healthCheckNodePort!;
      expect(hcPort).toBeGreaterThan(0);
      // node-1 has the endpoint: 200 with kube-proxy's body, also for a prober outside the cluster.
      const ok = await waitUntil(
        '200 on node-1',
        () => http(sb.state.external.netns, `http://${NODE_IP}:${hcPort}/`),
        (r) => r.code === '200',
      );
      expect(JSON.parse(ok.body)).toEqual({
        service: { namespace: NS, name: 'hc' },
        localEndpoints: 1,
        serviceProxyHealthy: true,
      });
      // node-2 has none: 503, count 0.
      const none = await waitUntil(
        '503 on node-2',
        () => http(nodeNetns(1), `http://127.0.0.1:${hcPort}/`),
        (r) => r.code === '503',
      );
      expect(JSON.parse(none.body)).toMatchObject({ localEndpoints: 0 });
      // Cluster policy: no health check node port any more; back to Local: a (new) one is served again.
      await patchService('hc', { spec: { externalTrafficPolicy: 'Cluster', healthCheckNodePort: null } });
      await waitUntil(
        'the port closed',
        () => http(nodeNetns(0), `http://127.0.0.1:${hcPort}/`),
        (r) => r.code === '000',
      );
      const back = await patchService('hc', { spec: { externalTrafficPolicy: 'Local' } });
      hcPort = back.spec!.healthCheckNodePort!;
      await waitUntil(
        '200 again',
        () => http(nodeNetns(0), `http://127.0.0.1:${hcPort}/`),
        (r) => r.code === '200',
      );
    });

    it('should fail health check node port if there are only terminating endpoints', async () => {
      await core.deleteNamespacedPod({ namespace: NS, name: 'hc-0', gracePeriodSeconds: 300 });
      const r = await waitUntil(
        '503 with only a terminating endpoint',
        () => http(nodeNetns(0), `http://127.0.0.1:${hcPort}/`),
        (x) => x.code === '503',
      );
      expect(JSON.parse(r.body)).toMatchObject({ localEndpoints: 0 });
      await sb.kubelet.deletePod(NS, 'hc-0');
    });

    it("serves the proxy's own /healthz and /livez on :10256 on every node", async () => {
      for (const i of [0, 1]) {
        const h = await waitUntil(
          'healthz',
          () => http(nodeNetns(i), 'http://127.0.0.1:10256/healthz'),
          (r) => r.code === '200',
        );
        expect(JSON.parse(h.body)).toMatchObject({ nodeEligible: true });
        expect((await http(nodeNetns(i), 'http://127.0.0.1:10256/livez')).code).toBe('200');
      }
    });
  });

  describe('conntrack: a UDP client with one fixed source port', () => {
    const cycle = async (service: string, probe: () => Promise<string>, node: string) => {
      await sb.kubelet.createPod({
        name: `${service}-a`,
        namespace: NS,
        node,
        labels: { app: service },
        serve: ['udp:5353'],
      });
      await waitUntil(`${service}-a answering`, probe, (r) => r === `${service}-a`);
      // The client keeps sending with the same source port while the server pod is replaced.
      await sb.kubelet.deletePod(NS, `${service}-a`);
      await sb.kubelet.createPod({
        name: `${service}-b`,
        namespace: NS,
        node,
        labels: { app: service },
        serve: ['udp:5353'],
      });
      const ready = Date.now();
      await waitUntil(`${service}-b answering the same client flow`, probe, (r) => r === `${service}-b`, 20_000);
      return Date.now() - ready;
    };

    it('should be able to preserve UDP traffic when server pod cycles for a ClusterIP service', async () => {
      const spec = { ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 as never }] };
      await core.createNamespacedService({ namespace: NS, body: service('udp-cip', 'udp-cip', spec) });
      const ip = await clusterIP('udp-cip');
      const netns = await podNetns('client');
      const ms = await cycle('udp-cip', () => udpFrom(netns, ip, 53, 40053), 'node-2');
      figures.push(`ClusterIP UDP, fixed source port: new backend answered ${ms} ms after it was Ready`);
    });

    it('should be able to preserve UDP traffic when initial unready endpoints get ready', async () => {
      const spec = { ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 as never }] };
      await core.createNamespacedService({ namespace: NS, body: service('udp-unready', 'udp-unready', spec) });
      const ip = await clusterIP('udp-unready');
      const netns = await podNetns('client');
      const probe = () => udpFrom(netns, ip, 53, 40055);
      // The client sends before any endpoint exists and while the only one is not ready yet.
      expect(await probe()).toBe('');
      const labels = { app: 'udp-unready' };
      await sb.kubelet.createPod({ name: 'udp-unready-0', namespace: NS, labels, serve: ['udp:5353'], ready: false });
      for (let i = 0; i < 3; i++) expect(await probe()).toBe('');
      await sb.kubelet.setReady(NS, 'udp-unready-0', true);
      const ready = Date.now();
      await waitUntil('the now-ready endpoint answering the same flow', probe, (r) => r === 'udp-unready-0', 20_000);
      figures.push(`UDP flow from before the endpoint was ready: answered ${Date.now() - ready} ms after Ready`);
    });

    it('should be able to preserve UDP traffic when server pod cycles for a NodePort service', async () => {
      const spec = {
        type: 'NodePort',
        ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 as never, nodePort: 30953 }],
      };
      await core.createNamespacedService({ namespace: NS, body: service('udp-np', 'udp-np', spec) });
      const ms = await cycle('udp-np', () => udpFrom(sb.state.external.netns, NODE_IP, 30953, 40054), 'node-1');
      figures.push(`NodePort UDP from outside, fixed source port: new backend answered ${ms} ms after it was Ready`);
    });
  });

  describe('from outside the cluster: NodePort and externalIPs', () => {
    const kube = () => KubeClient.fromKubeconfigFile(sb.state.kubeconfig);
    const servers: TcpServer[] = [];
    /** One TCP exchange from the external namespace: `<backend> <address the backend saw>`, or `error …`. */
    const fromOutside = (ip: string, port: number) =>
      tcpRequest(sb.state.external.netns, ip, port, 2_000)
        .then((r) => r.trim())
        .catch((e: Error) => `error ${e.message.split('\n').pop() ?? ''}`);

    beforeAll(async () => {
      // The pool gives the default VPC its default route (via the EIP gateway), as a cluster whose pods reach
      // the outside has; replies to outside clients follow it unless a reply route sends them to a node.
      const k = kube();
      try {
        await k.create(TOPOLOGY_RESOURCES.EipPool, undefined, {
          apiVersion: API_VERSION,
          kind: 'EipPool',
          metadata: { name: 'ext' },
          spec: testEipPoolSpec(['node-1']),
        } as never);
      } finally {
        k.close();
      }
      await sb.kubelet.createPod({
        name: 'esipp-0',
        namespace: NS,
        node: 'node-1',
        labels: { app: 'esipp' },
        serve: ['tcp:9000'],
      });
      // Answers `<name> <client address as the backend sees it>`.
      servers.push(await TcpServer.start(await podNetns('esipp-0'), 9100, 'esipp-0', dir));
    });

    afterAll(async () => {
      for (const s of servers) await s.stop();
      const k = kube();
      try {
        await k.delete(TOPOLOGY_RESOURCES.EipPool, undefined, 'ext').catch(() => undefined);
      } finally {
        k.close();
      }
    });

    it('should support externalTrafficPolicy=Local for type=NodePort', async () => {
      const ports = [{ name: 'echo', protocol: 'TCP', port: 9100, targetPort: 9100 as never, nodePort: 30911 }];
      await core.createNamespacedService({
        namespace: NS,
        body: service('esipp', 'esipp', { type: 'NodePort', externalTrafficPolicy: 'Local', ports }),
      });
      const client = sb.state.external.ip.split('/')[0];
      // The backend sees the external client's own address, on every connection.
      await waitUntil(
        'the Local NodePort from outside',
        () => fromOutside(NODE_IP, 30911),
        (r) => r === `esipp-0 ${client}`,
      );
      for (let i = 0; i < 5; i++) expect(await fromOutside(NODE_IP, 30911)).toBe(`esipp-0 ${client}`);
      // Cluster policy: masqueraded to the node's join address (kube-proxy SNATs to the node too).
      await patchService('esipp', { spec: { externalTrafficPolicy: 'Cluster' } });
      const masqueraded = await waitUntil(
        'the Cluster NodePort masqueraded',
        () => fromOutside(NODE_IP, 30911),
        (r) => r.startsWith('esipp-0 ') && r !== `esipp-0 ${client}`,
      );
      expect(masqueraded).toMatch(/^esipp-0 100\.64\./);
      // And back to Local: the client address again.
      await patchService('esipp', { spec: { externalTrafficPolicy: 'Local' } });
      await waitUntil(
        'Local again',
        () => fromOutside(NODE_IP, 30911),
        (r) => r === `esipp-0 ${client}`,
      );
    });

    it('should be possible to connect to a service via ExternalIP when the external IP is not assigned to a node', async () => {
      const externalIP = '192.0.2.10'; // on no node: the network routes it to node-1, as a user's router would
      await core.createNamespacedService({
        namespace: NS,
        body: service('xip', 'esipp', {
          externalIPs: [externalIP],
          ports: [{ name: 'echo', protocol: 'TCP', port: 9100, targetPort: 9100 as never }],
        }),
      });
      // From a pod (upstream's check): through OVN, with the pod's own address.
      const clientNetns = await podNetns('client');
      const fromPod = () =>
        tcpRequest(clientNetns, externalIP, 9100, 2_000)
          .then((r) => r.trim())
          .catch((e: Error) => `error ${e.message}`);
      await waitUntil('the externalIP from a pod', fromPod, (r) => r.startsWith('esipp-0 10.16.'));
      // From outside, routed to node-1: node-1 captures it (Cluster policy: masqueraded to its join address).
      const ext = sb.state.external.netns;
      await netnsExec(ext, ['ip', 'route', 'replace', `${externalIP}/32`, 'via', NODE_IP]);
      try {
        const cluster = await waitUntil(
          'the externalIP from outside',
          () => fromOutside(externalIP, 9100),
          (r) => r.startsWith('esipp-0 '),
        );
        expect(cluster).toMatch(/^esipp-0 100\.64\./);
        // externalTrafficPolicy: Local: node-1's own endpoint, and the backend sees the client.
        await patchService('xip', { spec: { externalTrafficPolicy: 'Local' } });
        const client = sb.state.external.ip.split('/')[0];
        await waitUntil(
          'the Local externalIP keeping the client address',
          () => fromOutside(externalIP, 9100),
          (r) => r === `esipp-0 ${client}`,
        );
        for (let i = 0; i < 3; i++) expect(await fromOutside(externalIP, 9100)).toBe(`esipp-0 ${client}`);
        expect(await fromPod()).toMatch(/^esipp-0 10\.16\./);
      } finally {
        await netnsExec(ext, ['ip', 'route', 'del', `${externalIP}/32`], { allowFailure: true });
      }
    });
  });

  it('proxy implementation should not be vulnerable to the invalid conntrack state bug', async () => {
    // Upstream (conntrack.go): a backend's out-of-window packet on a live connection through the Service is
    // INVALID to the kernel's conntrack, so it is not reverse-translated; kube-proxy drops it, since reaching the
    // client with the backend's own address it draws a RST that kills the real connection. Here OVN's conntrack is
    // the proxy's (measured: OVS's userspace conntrack reverse-translates such packets, so the client sees the
    // ClusterIP and answers with a duplicate ACK, not a RST).
    await sb.kubelet.createPod({ name: 'boom-0', namespace: NS, labels: { app: 'boom' }, serve: ['tcp:9000'] });
    await core.createNamespacedService({
      namespace: NS,
      body: service('boom', 'boom', {
        ports: [{ name: 'raw', protocol: 'TCP', port: 9300, targetPort: 9300 as never }],
      }),
    });
    const ip = await clusterIP('boom');
    const [clientNetns, boomNetns] = [await podNetns('client'), await podNetns('boom-0')];
    // Both ends hold one connection and after 10 s say how it is ('open', or how it was reset); the server
    // writes the client's port (no SNAT on the ClusterIP path) so the test can aim at the connection.
    const portFile = join(dir, 'boom-client-port');
    const holdJs = `
      const net = require('net');
      let ended = 'open';
      const watch = (s) => {
        s.on('error', (e) => (ended = 'error ' + e.code));
        s.on('close', () => { if (ended === 'open') ended = 'closed'; });
        // Report at 10 s but keep the socket 3 s longer, so neither end reports the other's exit.
        setTimeout(() => console.log(ended), 10000);
        setTimeout(() => process.exit(0), 13000);
      };
      if (process.argv[1] === 'server') {
        const srv = net.createServer((s) => { srv.close(); require('fs').writeFileSync(process.argv[2], String(s.remotePort)); watch(s); });
        srv.listen(9300);
      } else {
        const attempt = () => {
          const s = net.connect({ host: process.argv[2], port: 9300 });
          s.once('error', () => setTimeout(attempt, 300));
          s.once('connect', () => { s.removeAllListeners('error'); watch(s); });
        };
        attempt();
      }`;
    const server = netnsExec(boomNetns, [process.execPath, '-e', holdJs, 'server', portFile]);
    const client = netnsExec(clientNetns, [process.execPath, '-e', holdJs, 'client', ip]);
    const clientPort = await waitUntil(
      'the connection through the Service',
      async () => (existsSync(portFile) ? readFileSync(portFile, 'utf8') : ''),
      (p) => /^\d+$/.test(p),
    );
    const clientIp = (await sb.kubelet.pod(NS, 'client')).ip;
    const backendIp = (await sb.kubelet.pod(NS, 'boom-0')).ip;
    // Out-of-window segments from the backend to the client on that connection, as a confused stack would send.
    const boomPy = [
      'import random, socket, struct, sys',
      'src, dst, sport, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])',
      'def csum(b):',
      '    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xFFFF); return ~(s + (s >> 16)) & 0xFFFF',
      'for _ in range(5):',
      '    h = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), random.getrandbits(32), 0x50, 0x18, 65535, 0, 0) + b"boom"',
      '    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h))',
      '    h = h[:16] + struct.pack("!H", csum(ph + h)) + h[18:]',
      '    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP).sendto(h, (dst, 0))',
    ].join('\n');
    await netnsExec(boomNetns, ['python3', '-c', boomPy, backendIp, clientIp, '9300', clientPort]);
    expect({ server: (await server).stdout.trim(), client: (await client).stdout.trim() }).toEqual({
      server: 'open',
      client: 'open',
    });
  });

  it('should route traffic to an endpoint in the same zone when using PreferClose', async () => {
    // traffic_distribution.go: nodes in two zones, a server and a client in each; the EndpointSlice controller
    // hints each endpoint for its zone and every client reaches only its own zone's server.
    const zoneOf = { 'node-1': 'zone-a', 'node-2': 'zone-b' };
    const zoneLabel = 'topology.kubernetes.io/zone';
    const labelNodes = (on: boolean) =>
      Promise.all(
        Object.entries(zoneOf).map(([name, zone]) =>
          core.patchNode({ name, body: { metadata: { labels: { [zoneLabel]: on ? zone : null } } } }, merge),
        ),
      );
    await labelNodes(true);
    try {
      await Promise.all(
        Object.keys(zoneOf).flatMap((node, i) => [
          sb.kubelet.createPod({
            name: `td-server-${i}`,
            namespace: NS,
            node,
            labels: { app: 'td' },
            serve: ['tcp:9000'],
          }),
          sb.kubelet.createPod({ name: `td-client-${i}`, namespace: NS, node, labels: { app: 'td-client' } }),
        ]),
      );
      await core.createNamespacedService({
        namespace: NS,
        body: service('td', 'td', {
          trafficDistribution: 'PreferClose',
          type: 'NodePort',
          ports: [{ name: 'raw', protocol: 'TCP', port: 9000, targetPort: 9000 as never, nodePort: 30912 }],
        }),
      });
      await waitUntil(
        'zone hints on both endpoints',
        async () =>
          (
            await sb.kubelet.kubeConfig
              .makeApiClient(DiscoveryV1Api)
              .listNamespacedEndpointSlice({ namespace: NS, labelSelector: 'kubernetes.io/service-name=td' })
          ).items.flatMap((sl) => sl.endpoints ?? []),
        (eps) => eps.length === 2 && eps.every((e) => (e.hints?.forZones ?? []).length > 0),
      );
      const ip = await clusterIP('td');
      const backendsFrom = async (client: string) => {
        const r = await sb.kubelet.traffic({ namespace: NS, name: client }, 'tcp', ip, 9000, 10, 2_000);
        return r.errors.length ? ['errors'] : Object.keys(r.replies).sort();
      };
      for (const i of [0, 1]) {
        await waitUntil(
          `td-client-${i} served in its zone`,
          () => backendsFrom(`td-client-${i}`),
          (b) => b.length === 1 && b[0] === `td-server-${i}`,
        );
        for (let n = 0; n < 2; n++) expect(await backendsFrom(`td-client-${i}`)).toEqual([`td-server-${i}`]);
      }
      // From outside, node-1's NodePort takes node-1's choice (its zone's server), as kube-proxy's cluster
      // endpoints do for external traffic.
      const viaNodePort = () =>
        tcpRequest(sb.state.external.netns, NODE_IP, 30912, 2_000).then(
          (r) => r.trim(),
          (e: Error) => `error ${e.message}`,
        );
      await waitUntil('the NodePort from outside', viaNodePort, (r) => r.startsWith('td-server-'));
      for (let n = 0; n < 6; n++) expect(await viaNodePort()).toMatch(/^td-server-0\b/);
      // So does a pod of the other zone that connects to node-1's NodePort: OVN load-balances it on the pod's own
      // switch, with the choice node-1 would make (as kube-proxy on node-1 would).
      const node1 = (await core.readNode({ name: 'node-1' })).status!.addresses!.find((a) => a.type === 'InternalIP')!;
      const podToNode1 = async () => {
        const r = await sb.kubelet.traffic({ namespace: NS, name: 'td-client-1' }, 'tcp', node1.address, 30912, 10);
        return r.errors.length ? ['errors'] : Object.keys(r.replies).sort();
      };
      await waitUntil(
        'td-client-1 through node-1 NodePort',
        podToNode1,
        (b) => b.length === 1 && b[0] === 'td-server-0',
      );
      expect(await podToNode1()).toEqual(['td-server-0']);
    } finally {
      await labelNodes(false);
    }
  });

  it('should allow pods to hairpin back to themselves through services', async () => {
    await core.createNamespacedService({ namespace: NS, body: service('hairpin', 'web') });
    const ip = await clusterIP('hairpin');
    // web-0 is the Service's only backend: it reaches itself through its own ClusterIP.
    await waitUntil(
      'web-0 through its own Service',
      () => tcp('web-0', ip, 9000),
      (r) => r === 'web-0',
    );
    for (let i = 0; i < 3; i++) expect(await tcp('web-0', ip, 9000)).toBe('web-0');
  });

  it('should work after the service has been recreated', async () => {
    await core.createNamespacedService({ namespace: NS, body: service('recreated', 'web') });
    const first = await clusterIP('recreated');
    await waitUntil(
      'the Service',
      () => tcp('client', first, 9000),
      (r) => r === 'web-0',
    );
    await core.deleteNamespacedService({ namespace: NS, name: 'recreated' });
    await waitUntil(
      'the Service gone',
      () => tcp('client', first, 9000),
      (r) => r.startsWith('error'),
    );
    await core.createNamespacedService({ namespace: NS, body: service('recreated', 'web') });
    const second = await clusterIP('recreated');
    await waitUntil(
      'the recreated Service',
      () => tcp('client', second, 9000),
      (r) => r === 'web-0',
    );
  });

  it('should serve endpoints on same port and different protocols', async () => {
    await sb.kubelet.createPod({
      name: 'dual-0',
      namespace: NS,
      labels: { app: 'dual' },
      serve: ['tcp:5353', 'udp:5353'],
    });
    const ports = [
      { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 5353 as never },
      { name: 'dns-udp', protocol: 'UDP', port: 53, targetPort: 5353 as never },
    ];
    await core.createNamespacedService({ namespace: NS, body: service('dual', 'dual', { ports }) });
    const ip = await clusterIP('dual');
    const netns = await podNetns('client');
    await waitUntil(
      'TCP 53',
      () => tcp('client', ip, 53),
      (r) => r === 'dual-0',
    );
    await waitUntil(
      'UDP 53',
      () => udpFrom(netns, ip, 53, 40153),
      (r) => r === 'dual-0',
    );
  });

  it('should be able to switch session affinity for service with type clusterIP', async () => {
    await Promise.all(
      ['aff-0', 'aff-1', 'aff-2'].map((name) =>
        sb.kubelet.createPod({ name, namespace: NS, labels: { app: 'aff' }, serve: ['tcp:9000'] }),
      ),
    );
    await core.createNamespacedService({ namespace: NS, body: service('aff', 'aff') });
    const ip = await clusterIP('aff');
    const backendsOf10 = async () => {
      const s = await sb.kubelet.traffic({ namespace: NS, name: 'client' }, 'tcp', ip, 9000, 10, 2_000);
      return s.errors.length ? ['errors'] : Object.keys(s.replies).sort();
    };
    await waitUntil('spread over backends', backendsOf10, (b) => b.length > 1 && !b.includes('errors'));
    await patchService('aff', { spec: { sessionAffinity: 'ClientIP' } });
    const sticky = await waitUntil('one backend', backendsOf10, (b) => b.length === 1 && b[0] !== 'errors');
    for (let i = 0; i < 2; i++) expect(await backendsOf10()).toEqual(sticky);
    await patchService('aff', { spec: { sessionAffinity: 'None', sessionAffinityConfig: null } });
    await waitUntil('spread again', backendsOf10, (b) => b.length > 1 && !b.includes('errors'));
  });

  it('YusurService Pod backends follow Pod readiness as a Service does; Ready means serving, Programmed means in OVN', async () => {
    const kube = KubeClient.fromKubeconfigFile(sb.state.kubeconfig);
    type Svc = YusurService & KubeObject;
    const cond = (s: Svc, type: string) => s.status?.conditions?.find((c) => c.type === type);
    const get = () => kube.get<Svc>(YUSUR_RESOURCES.YusurService, NS, 'ys');
    try {
      await Promise.all(
        ['ys-0', 'ys-1'].map((name) =>
          sb.kubelet.createPod({ name, namespace: NS, labels: { app: 'ys' }, serve: ['tcp:9000'] }),
        ),
      );
      await kube.create(YUSUR_RESOURCES.YusurService, NS, {
        apiVersion: API_VERSION,
        kind: 'YusurService',
        metadata: { name: 'ys', namespace: NS },
        spec: {
          backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'ys' } } }],
          ports: [{ name: 'raw', protocol: 'TCP', port: 9000, targetPort: 9000 }],
          scenarios: { clusterIP: {} },
        },
      } as never);
      const svc = await waitUntil(
        'Ready',
        get,
        (x) => cond(x, 'Ready')?.status === 'True' && x.status?.healthyBackends === 2,
      );
      const vip = svc.status!.clusterIPs![0];
      const seen = new Set<string>();
      await waitUntil(
        'both backends',
        async () => seen.add(await tcp('client', vip, 9000)),
        (x) => x.has('ys-0') && x.has('ys-1'),
      );
      // One Pod not Ready: no new connection reaches it (the issue: 6 of 12 still did).
      await sb.kubelet.setReady(NS, 'ys-1', false);
      await waitUntil('ys-1 out', get, (x) => x.status?.healthyBackends === 1);
      const answers: string[] = [];
      await waitUntil(
        'only ys-0',
        () => tcp('client', vip, 9000),
        (r) => r === 'ys-0',
      );
      for (let i = 0; i < 12; i++) answers.push(await tcp('client', vip, 9000));
      expect(answers).toEqual(Array(12).fill('ys-0'));
      // No Pod Ready: still programmed (VIP rejects), but not Ready, and the reason says why.
      await sb.kubelet.setReady(NS, 'ys-0', false);
      const down = await waitUntil('not Ready', get, (x) => cond(x, 'Ready')?.status === 'False');
      expect(cond(down, 'Ready')).toMatchObject({ reason: 'NoHealthyBackends' });
      expect(cond(down, 'Programmed')).toMatchObject({ status: 'True' });
      expect(down.status).toMatchObject({ totalBackends: 2, healthyBackends: 0 });
      await waitUntil(
        'rejected',
        () => tcp('client', vip, 9000),
        (r) => r.startsWith('error'),
      );
    } finally {
      kube.close();
    }
  });

  it('down() leaves nothing behind', async () => {
    const state = sb.state;
    await sb.down();
    const leaks = await sandboxLeaks(state);
    expect(leaks).toEqual({ processes: [], netns: [], devices: [], dirs: [] });
    expect(isClean(leaks)).toBe(true);
  });
});
