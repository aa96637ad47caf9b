import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { CLIENT_ADDRESS_KEPT_CONDITION, OWNER_KINDS } from '@ycloud/api';
import { SANDBOX_IPV6, Sandbox, sandboxLeaks } from '@ycloud/sandbox';
import {
  TcpServer,
  createNamespace,
  isClean,
  netnsExec,
  nbctlAt,
  ownedNbRows,
  udpDatagramsArrive,
  setPodStatus,
  tcpRequest,
  waitUntil,
} from '@ycloud/testbed';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Issue 12 item 9, IPv6 / dual stack from outside: a dual-stack sandbox (`dualStack: true`: Service CIDR pair on
 * the apiserver, pod and join subnets with an IPv6 range) on two nodes, with dual-stack Services reached over IPv6
 * from the node's host network and from a client outside the cluster (NodePort on the gateway node's IPv6
 * address, an IPv6 externalIP routed to it). Tests are named after the upstream ones they mirror
 * (kubernetes/kubernetes test/e2e/network/dual_stack.go and service.go), run on the IPv6 (secondary) family.
 */
describe('[Feature:IPv6DualStack] Services over IPv6 from outside the cluster (dual_stack.go, service.go)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-e2e-dualstack-'));
  const NS = 'dual';
  const nodes = ['node-1', 'node-2'];
  /** node-1's IPv6 address on the external network (its secondary ExternalIP). */
  const NODE_IP6 = SANDBOX_IPV6.gatewayNodeExternalIp.split('/')[0];
  const CLIENT_IP6 = SANDBOX_IPV6.externalIp.split('/')[0];
  /** One backend per node: answers from both prove the IPv6 path crosses nodes through OVN. */
  const backends = ['web-0', 'web-1'];
  let sb: Sandbox;
  let core: CoreV1Api;
  const servers: TcpServer[] = [];

  /** One HTTP GET from a namespace: the body (the backend's name), or `error <curl exit code>`. */
  const http = async (netns: string, ip: string, port: number): Promise<string> => {
    const url = `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}/`;
    const r = await netnsExec(netns, ['curl', '-g', '-s', '-m', '2', url], { allowFailure: true });
    return r.code === 0 ? r.stdout.trim() : `error ${r.code}`;
  };
  /** One UDP datagram from a namespace: the answering backend, or '' (nothing in 1 s). */
  const udp = async (netns: string, ip: string, port: number): Promise<string> =>
    (await netnsExec(netns, ['sh', '-c', `echo hi | nc -u -w1 ${ip} ${port}`], { allowFailure: true })).stdout.trim();
  /** Backends seen in `n` tries (each a new connection / source port). */
  const seen = async (n: number, once: () => Promise<string>): Promise<string[]> => {
    const out = new Set<string>();
    for (let i = 0; i < n; i++) out.add(await once());
    return [...out].sort();
  };
  const both = (s: string[]) => s.length === 2 && s[0] === backends[0] && s[1] === backends[1];
  const external = () => sb.state.external.netns;
  /** One TCP exchange with an echo server from outside: `<backend> <address it saw>`, or `error …`. */
  const echoFromOutside = (ip: string, port: number) =>
    tcpRequest(external(), ip, port, 2_000)
      .then((r) => r.trim())
      .catch((e: Error) => `error ${e.message.split('\n').pop() ?? ''}`);
  const node1 = () => sb.state.nodes[0].netns;
  const ip6Table = async (): Promise<string> =>
    (await netnsExec(node1(), ['nft', 'list', 'table', 'ip6', 'ycloud'], { allowFailure: true })).stdout;

  /** A dual-stack Service (IPv4 primary, as the cluster) on the web pods: http 80, udp 53, and `extra`. */
  const service = (name: string, extra: Partial<V1Service['spec']> = {}): V1Service => ({
    metadata: { name, namespace: NS },
    spec: {
      ipFamilyPolicy: 'RequireDualStack',
      selector: { app: 'web' },
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 as never },
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 as never },
      ],
      ...extra,
    },
  });
  /** A dual-stack NodePort Service `name` (created once; tests that share it call this first). */
  const nodePortService = async (name: string, httpNodePort: number, udpNodePort: number): Promise<void> => {
    const exists = await core.readNamespacedService({ namespace: NS, name }).then(
      () => true,
      () => false,
    );
    if (exists) return;
    await core.createNamespacedService({
      namespace: NS,
      body: service(name, {
        type: 'NodePort',
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 as never, nodePort: httpNodePort },
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 as never, nodePort: udpNodePort },
        ],
      }),
    });
  };
  const ipv6ClusterIP = async (name: string): Promise<string> => {
    const svc = await core.readNamespacedService({ namespace: NS, name });
    const ip = (svc.spec?.clusterIPs ?? []).find((x) => x.includes(':'));
    if (!ip) throw new Error(`Service ${name} has no IPv6 ClusterIP: ${JSON.stringify(svc.spec?.clusterIPs)}`);
    return ip;
  };

  beforeAll(async () => {
    // eip.defaultPool: the default VPC routes Local NodePort replies back to their node (docs/adr/0005, 0011); the
    // IPv6 path needs no EipPool object (its route is the reply gateway's, not the IPv4-only EIP gateway's).
    sb = await Sandbox.up({
      dir,
      example: null,
      nodes,
      dualStack: true,
      controllerConfig: { eip: { defaultPool: 'ext', transitCIDR: '100.65.0.0/16' } },
    });
    core = sb.kubelet.kubeConfig.makeApiClient(CoreV1Api);
    await createNamespace(sb.kubelet.kubeConfig, NS);
    await Promise.all(
      backends.map((name, i) =>
        sb.kubelet.createPod({
          name,
          namespace: NS,
          node: nodes[i],
          labels: { app: 'web' },
          serve: ['http:8080', 'udp:5353'],
        }),
      ),
    );
    // Echo servers answering `<pod> <client address it saw>` on 9100, both families.
    for (const name of backends) {
      servers.push(await TcpServer.start((await sb.kubelet.pod(NS, name)).netns, 9100, name, dir, '::'));
    }
  });

  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    await sb?.down().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('should create pod, add ipv6 and ipv4 ip to pod ips', async () => {
    const pod = await core.readNamespacedPod({ namespace: NS, name: 'web-0' });
    const ips = (pod.status?.podIPs ?? []).map((p) => p.ip);
    expect(ips).toHaveLength(2);
    expect(ips[0]).toMatch(/^10\.16\./);
    expect(ips[1]).toMatch(/^fd00:10:16:/);
  });

  it('should function for node-Service: http', async () => {
    // Upstream (dual_stack.go, secondary family): from the node's host network to the IPv6 ClusterIP, then to the
    // node's IPv6 address and the nodePort.
    await nodePortService('node-svc', 31080, 31053);
    const ip6 = await ipv6ClusterIP('node-svc');
    expect(ip6.startsWith('fd00:10:96:')).toBe(true);
    await waitUntil(
      'both backends through the IPv6 ClusterIP from node-1',
      () => seen(12, () => http(node1(), ip6, 80)),
      both,
    );
    await waitUntil(
      'both backends through [node IPv6]:nodePort from node-1',
      () => seen(12, () => http(node1(), NODE_IP6, 31080)),
      both,
    );
  });

  it('should function for node-Service: udp', async () => {
    await nodePortService('node-svc', 31080, 31053);
    const ip6 = await ipv6ClusterIP('node-svc');
    await waitUntil(
      'both backends over UDP through the IPv6 ClusterIP',
      () => seen(8, () => udp(node1(), ip6, 53)),
      both,
    );
    await waitUntil(
      'both backends over UDP through [node IPv6]:nodePort',
      () => seen(8, () => udp(node1(), NODE_IP6, 31053)),
      both,
    );
  });

  it('should be able to create a functioning NodePort service (IPv6, from outside the cluster)', async () => {
    // Upstream (service.go) on the IPv6 family, the client outside the cluster: the gateway node's IPv6 address
    // and the nodePort reach every backend (one per node), over TCP and UDP, with the IPv6 table on the node.
    await nodePortService('outside-svc', 31180, 31153);
    await waitUntil('the IPv6 NodePort rules', ip6Table, (t) => t.includes('tcp dport 31180 dnat to [fd00:10:96:'));
    await waitUntil(
      'both backends via [node IPv6]:nodePort from outside',
      () => seen(12, () => http(external(), NODE_IP6, 31180)),
      both,
    );
    await waitUntil(
      'both backends over UDP via [node IPv6]:nodePort from outside',
      () => seen(8, () => udp(external(), NODE_IP6, 31153)),
      both,
    );
    // The IPv4 NodePort of the same Service still works beside it.
    const nodeIp4 = '172.16.0.11';
    await waitUntil(
      'the IPv4 NodePort of the dual-stack Service',
      () => seen(12, () => http(external(), nodeIp4, 31180)),
      both,
    );
    // Deleting the Service takes its IPv6 rules away, and the port then refuses.
    await core.deleteNamespacedService({ namespace: NS, name: 'outside-svc' });
    await waitUntil('the IPv6 rules gone', ip6Table, (t) => !t.includes('dport 31180'));
    expect(await http(external(), NODE_IP6, 31180)).toMatch(/^error/);
  });

  /** The Service's `ycloud.io/ClientAddressKept` condition status, or '' without one. */
  const clientAddressKept = async (name: string): Promise<string> => {
    const svc = await core.readNamespacedService({ namespace: NS, name });
    return (svc.status?.conditions ?? []).find((c) => c.type === CLIENT_ADDRESS_KEPT_CONDITION)?.status ?? '';
  };

  const nbctl = (...a: string[]) => nbctlAt(sb.state.testbed.nbRemote, ...a);
  /** `columns` of the rows of `table` the IPv6 reply gateway owns. */
  const gatewayRows = (table: string, columns: string, ...where: string[]) =>
    ownedNbRows(sb.state.testbed.nbRemote, OWNER_KINDS.NodeReplyGateway, table, columns, ...where);
  /** Whether UDP datagrams sent from `netns` to the outside client's IPv6 address reach it (a listener there). */
  const udpArrivesOutside = (netns: string) => udpDatagramsArrive(netns, { netns: external(), address: CLIENT_IP6 });

  it('should support externalTrafficPolicy=Local for type=NodePort (IPv6, from outside the cluster)', async () => {
    // Upstream (service.go) on the IPv6 family: node-1 DNATs its Local NodePort to its own endpoint (web-0) only,
    // and the backend sees the outside client's own IPv6 address, on every connection (docs/adr/0011).
    await core.createNamespacedService({
      namespace: NS,
      body: service('local-svc', {
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        ports: [{ name: 'echo', protocol: 'TCP', port: 9100, targetPort: 9100 as never, nodePort: 31280 }],
      }),
    });
    await waitUntil(
      'ycloud.io/ClientAddressKept True',
      () => clientAddressKept('local-svc'),
      (s) => s === 'True',
    );
    const expected = `${backends[0]} ${CLIENT_IP6}`;
    await waitUntil(
      'the Local IPv6 NodePort from outside, keeping the client address',
      () => echoFromOutside(NODE_IP6, 31280),
      (r) => r === expected,
    );
    const replies: string[] = [];
    for (let i = 0; i < 10; i++) replies.push(await echoFromOutside(NODE_IP6, 31280));
    const kept = replies.filter((r) => r === expected).length;
    console.log(`dual-stack: Local IPv6 NodePort, client address seen ${kept} of ${replies.length}`);
    expect(replies).toEqual(Array(10).fill(expected));
    const table = await ip6Table();
    expect(table).toMatch(/tcp dport 31280 dnat to \[fd00:10:16:[0-9a-f:]+\]:9100/);
    expect(table).toMatch(/ct status dnat meta l4proto \. ip6 daddr \. th dport != \{ tcp \. fd00:10:16:/);
    // The reply gateway's rows on the default VPC's router, owned by ycloud: repaired when removed behind its back.
    expect(await gatewayRows('Logical_Router_Static_Route', 'ip_prefix')).toBe('::/0');
    // The drop takes what the ::/0 route took (its sink hop in xxreg0), the allow lets the VPC's own IPv6 through.
    expect(await gatewayRows('Logical_Router_Policy', 'match', 'action=allow')).toMatch(
      /^ip6\.dst == \{[0-9a-f:/, ]+\}$/m,
    );
    const drop = await gatewayRows('Logical_Router_Policy', '_uuid', 'action=drop');
    expect(drop).toMatch(/^[0-9a-f-]{36}$/);
    await nbctl('remove', 'Logical_Router', 'vpc-default', 'policies', drop);
    await waitUntil(
      'the drop policy repaired',
      () => gatewayRows('Logical_Router_Policy', 'match', 'action=drop'),
      (r) => /^ip6 && xxreg0 == [0-9a-f:]+$/m.test(r),
    );
    // The VPC router's IPv6 route outwards serves the reply routes only: a pod's own IPv6 to the outside is still
    // dropped (the reply gateway's drop policy), where the route alone would hand it to node-1, which forwards.
    expect(await udpArrivesOutside(node1())).toBe(true); // the listener hears a sender that is routed
    expect(await udpArrivesOutside((await sb.kubelet.pod(NS, backends[0])).netns)).toBe(false);
    await core.deleteNamespacedService({ namespace: NS, name: 'local-svc' });
  });

  it('should be possible to connect to a service via ExternalIP when the external IP is not assigned to a node (IPv6)', async () => {
    // An IPv6 externalIP on no node; the external network routes it to node-1 (as a user's router would). The
    // backends answer with the address they saw: node-1's IPv6 join address (Cluster policy masquerades).
    const externalIP = 'fd00:192:0:2::10';
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'xip', namespace: NS },
        spec: {
          ipFamilyPolicy: 'RequireDualStack',
          selector: { app: 'web' },
          externalIPs: [externalIP],
          ports: [{ name: 'echo', protocol: 'TCP', port: 9100, targetPort: 9100 as never }],
        },
      },
    });
    await netnsExec(external(), ['ip', '-6', 'route', 'replace', `${externalIP}/128`, 'via', NODE_IP6]);
    const fromOutside = () => echoFromOutside(externalIP, 9100);
    try {
      const reply = await waitUntil('the IPv6 externalIP from outside', fromOutside, (r) => r.startsWith('web-'));
      expect(reply).toMatch(/^web-[01] fd00:100:64:/);
      expect(reply).not.toContain(CLIENT_IP6);
      expect(await ip6Table()).toContain(`ip6 daddr ${externalIP} tcp dport 9100 dnat to [fd00:10:96:`);
    } finally {
      await netnsExec(external(), ['ip', '-6', 'route', 'del', `${externalIP}/128`], { allowFailure: true });
    }
  });

  // dual_stack.go (secondary family) from pods: a client pod on node-2, and a backend pod itself.
  const podNetns = async (name: string): Promise<string> => (await sb.kubelet.pod(NS, name)).netns;

  it('should function for pod-Service: http', async () => {
    // The ClusterIP half; the nodePort half (the Nodes' IPv6 InternalIPs) is "…(nodePort on the node's IPv6
    // InternalIP)" below.
    await sb.kubelet.createPod({ name: 'client', namespace: NS, node: 'node-2' });
    await nodePortService('node-svc', 31080, 31053);
    const ip6 = await ipv6ClusterIP('node-svc');
    const client = await podNetns('client');
    await waitUntil(
      'both backends through the IPv6 ClusterIP from a pod',
      () => seen(12, () => http(client, ip6, 80)),
      both,
    );
  });

  it('should function for pod-Service: udp', async () => {
    const ip6 = await ipv6ClusterIP('node-svc');
    const client = await podNetns('client');
    await waitUntil(
      'both backends over UDP through the IPv6 ClusterIP from a pod',
      () => seen(8, () => udp(client, ip6, 53)),
      both,
    );
  });

  it('should function for endpoint-Service: http', async () => {
    // From a backend pod itself (it may reach itself: hairpin) to the IPv6 ClusterIP.
    const ip6 = await ipv6ClusterIP('node-svc');
    const web0 = await podNetns('web-0');
    await waitUntil(
      'both backends through the IPv6 ClusterIP from a backend',
      () => seen(12, () => http(web0, ip6, 80)),
      both,
    );
  });

  it('should update endpoints: http', async () => {
    // A backend that is no longer ready leaves the IPv6 VIP; back ready, it answers again.
    const ip6 = await ipv6ClusterIP('node-svc');
    const client = await podNetns('client');
    await sb.kubelet.setReady(NS, 'web-1', false);
    try {
      await waitUntil(
        'only web-0 through the IPv6 ClusterIP',
        () => seen(12, () => http(client, ip6, 80)),
        (b) => b.length === 1 && b[0] === 'web-0',
      );
    } finally {
      await sb.kubelet.setReady(NS, 'web-1', true);
    }
    await waitUntil('both backends again', () => seen(12, () => http(client, ip6, 80)), both);
  });

  // The nodes' IPv6 InternalIPs (dual_stack.go's SecondaryNodeIP): node i has one on the underlay beside its IPv4
  // InternalIP, so the nodePort halves of the upstream tests run as upstream writes them.
  const internalIPs = async (node: string): Promise<{ v4: string; v6: string }> => {
    const addrs = (await core.readNode({ name: node })).status?.addresses ?? [];
    const of = (v6: boolean) => addrs.find((a) => a.type === 'InternalIP' && a.address.includes(':') === v6)?.address;
    const v4 = of(false);
    const v6 = of(true);
    if (!v4 || !v6) throw new Error(`Node ${node} lacks an InternalIP of each family: ${JSON.stringify(addrs)}`);
    return { v4, v6 };
  };
  /** A client pod on node-2 for the nodePort halves (created once). */
  const nodePortClient = async (): Promise<string> => {
    const name = 'np-client';
    const exists = await core.readNamespacedPod({ namespace: NS, name }).then(
      () => true,
      () => false,
    );
    if (!exists) await sb.kubelet.createPod({ name, namespace: NS, node: 'node-2' });
    return podNetns(name);
  };
  const node2 = () => sb.state.nodes[1].netns;
  /** A dual-stack NodePort Service with one port (`http`: TCP 80->8080, `dns`: UDP 53->5353) on `nodePort`. */
  const onePortNodePort = (name: string, port: 'http' | 'dns', nodePort: number): V1Service =>
    service(name, {
      type: 'NodePort',
      ports: [
        port === 'http'
          ? { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 as never, nodePort }
          : { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 as never, nodePort },
      ],
    });
  /** The real answers (not errors, not silence) in `n` tries: none is upstream's "getting ZERO host endpoints". */
  const silent = async (n: number, once: () => Promise<string>): Promise<string[]> =>
    (await seen(n, once)).filter((r) => r !== '' && !r.startsWith('error'));
  /** Up to `n` tries, stopping once both backends answered: what answered (`both` holds only if nothing else did). */
  const bothWithin = async (n: number, once: () => Promise<string>): Promise<string[]> => {
    const out = new Set<string>();
    for (let i = 0; i < n && !backends.every((b) => out.has(b)); i++) out.add(await once());
    return [...out].sort();
  };
  type Path = [what: string, once: () => Promise<string>];
  /** Every path reaches both backends (paths probed side by side). */
  const allReachBoth = (paths: Path[], n: number) =>
    Promise.all(paths.map(([what, once]) => waitUntil(`both backends: ${what}`, () => bothWithin(n, once), both)));
  /** No path answers any more, then each stays silent for 3 more tries (paths probed side by side). */
  const allSilent = async (paths: Path[]) => {
    await Promise.all(
      paths.map(([what, once]) =>
        waitUntil(
          `nothing answers: ${what}`,
          () => silent(1, once),
          (r) => r.length === 0,
        ),
      ),
    );
    expect(await Promise.all(paths.map(([, once]) => silent(3, once)))).toEqual(paths.map(() => []));
  };

  it("should function for pod-Service: http (nodePort on the node's IPv6 InternalIP)", async () => {
    // dual_stack.go's nodeIP half: a pod to <SecondaryNodeIP>:<nodePort>. OVN's switch LB has each node's IPv6
    // InternalIP as a VIP with the IPv6 backends; both nodes' addresses reach both backends.
    await nodePortService('node-svc', 31080, 31053);
    const client = await nodePortClient();
    const paths: Path[] = [];
    for (const node of nodes) {
      const { v6 } = await internalIPs(node);
      expect(v6.startsWith(SANDBOX_IPV6.nodeInternalIpPrefix)).toBe(true);
      paths.push([`pod -> [${node} ${v6}]:31080`, () => http(client, v6, 31080)]);
    }
    await allReachBoth(paths, 12);
  });

  it("should function for pod-Service: udp (nodePort on the node's IPv6 InternalIP)", async () => {
    await nodePortService('node-svc', 31080, 31053);
    const client = await nodePortClient();
    const paths: Path[] = [];
    for (const node of nodes) {
      const { v6 } = await internalIPs(node);
      paths.push([`UDP pod -> [${node} ${v6}]:31053`, () => udp(client, v6, 31053)]);
    }
    await allReachBoth(paths, 8);
  });

  it("should function for endpoint-Service: http (nodePort on the node's IPv6 InternalIP)", async () => {
    // The nodeIP half from a backend pod itself (it may reach itself: hairpin through the node VIP).
    await nodePortService('node-svc', 31080, 31053);
    const web0 = await podNetns('web-0');
    const { v6 } = await internalIPs('node-2');
    await allReachBoth([[`web-0 -> [${v6}]:31080`, () => http(web0, v6, 31080)]], 12);
  });

  it('should function for endpoint-Service: udp', async () => {
    await nodePortService('node-svc', 31080, 31053);
    const ip6 = await ipv6ClusterIP('node-svc');
    const web0 = await podNetns('web-0');
    const { v6 } = await internalIPs('node-1');
    await allReachBoth(
      [
        [`UDP web-0 -> [${ip6}]:53`, () => udp(web0, ip6, 53)],
        [`UDP web-0 -> [${v6}]:31053`, () => udp(web0, v6, 31053)],
      ],
      8,
    );
  });

  it('should function for service endpoints using hostNetwork', async () => {
    // dual_stack.go's test on the secondary family, pod-Service(hostNetwork): one hostNetwork endpoint per node
    // (its address the node's IPv6 InternalIP, its server in the node's own network namespace answering
    // `<node> <client address>`), reached by a pod on node-2 through the IPv6 ClusterIP and [node IPv6]:nodePort.
    // OVN DNATs to the node address; the VPC router's /128 host route takes it to the node's join port (nodeHostRoutes),
    // a longer route than the reply gateway's ::/0, so its drop (what that route took) leaves it alone (docs/adr/0011).
    const port = 10190;
    for (const [i, node] of nodes.entries()) {
      servers.push(await TcpServer.start(sb.state.nodes[i].netns, port, node, dir, '::'));
      const { v4, v6 } = await internalIPs(node);
      await core.createNamespacedPod({
        namespace: NS,
        body: {
          metadata: { name: `hostnet-${i}`, namespace: NS, labels: { app: 'hostnet' } },
          spec: {
            nodeName: node,
            hostNetwork: true,
            terminationGracePeriodSeconds: 0,
            containers: [{ name: 'app', image: 'ycloud.io/sandbox-pod', ports: [{ containerPort: port }] }],
          },
        },
      });
      await setPodStatus(sb.kubelet.kubeConfig, NS, `hostnet-${i}`, { podIP: v4, podIPs: [v4, v6], ready: true });
    }
    await core.createNamespacedService({
      namespace: NS,
      body: service('hostnet-svc', {
        type: 'NodePort',
        selector: { app: 'hostnet' },
        ports: [{ name: 'echo', protocol: 'TCP', port: 80, targetPort: port as never, nodePort: 31580 }],
      }),
    });
    const ip6 = await ipv6ClusterIP('hostnet-svc');
    const n1 = await internalIPs('node-1');
    const client = await nodePortClient();
    const clientPod = await core.readNamespacedPod({ namespace: NS, name: 'np-client' });
    const clientIP6 = (clientPod.status?.podIPs ?? []).map((p) => p.ip).find((ip) => ip.includes(':'));
    const echo = (netns: string, ip: string, p: number) =>
      tcpRequest(netns, ip, p, 2_000)
        .then((r) => r.trim())
        .catch((e: Error) => `error ${e.message.split('\n').pop() ?? ''}`);
    const endpointsSeen = (netns: string, ip: string, p: number) =>
      seen(12, async () => (await echo(netns, ip, p)).split(' ')[0]);
    const bothNodes = (s: string[]) => s.join() === nodes.join();
    await waitUntil(
      `both hostNetwork endpoints through [${ip6}]:80 from a pod`,
      () => endpointsSeen(client, ip6, 80),
      bothNodes,
    );
    await waitUntil(
      `both hostNetwork endpoints through [${n1.v6}]:31580 from a pod`,
      () => endpointsSeen(client, n1.v6, 31580),
      bothNodes,
    );
    // No masquerade on the way: the endpoint saw the pod's own IPv6 address.
    expect(await echo(client, ip6, 80)).toMatch(new RegExp(`^node-[12] ${clientIP6}$`));
    // node-Service(hostNetwork) from node-2's host network: node-1's endpoint through the IPv6 host route, and
    // node-2's own at its join address on node-2's chassis (OVN's hairpin; ADR 0002).
    await waitUntil(
      `both hostNetwork endpoints through [${ip6}]:80 from node-2's host network`,
      () => endpointsSeen(node2(), ip6, 80),
      bothNodes,
    );
    await core.deleteNamespacedService({ namespace: NS, name: 'hostnet-svc' });
    for (const i of nodes.keys())
      await core.deleteNamespacedPod({ namespace: NS, name: `hostnet-${i}`, gracePeriodSeconds: 0 });
  });

  it('should update nodePort: http', async () => {
    // networking.go's test on both families: node-2's host network dials node-1's InternalIPs (IPv6, IPv4) and
    // its own IPv6 one, and a pod dials node-1's IPv6 one; every endpoint answers. The nodePort is then changed
    // (the new port answers, the old one no longer) and the Service deleted: nothing answers on any of them.
    const name = 'update-np-http';
    const n1 = await internalIPs('node-1');
    const n2 = await internalIPs('node-2');
    const client = await nodePortClient();
    await core.createNamespacedService({ namespace: NS, body: onePortNodePort(name, 'http', 31380) });
    const paths = (port: number): Path[] => [
      [`node-2 -> [${n1.v6}]:${port}`, () => http(node2(), n1.v6, port)],
      [`node-2 -> ${n1.v4}:${port}`, () => http(node2(), n1.v4, port)],
      [`node-2 -> [${n2.v6}]:${port}`, () => http(node2(), n2.v6, port)],
      [`pod -> [${n1.v6}]:${port}`, () => http(client, n1.v6, port)],
    ];
    await allReachBoth(paths(31380), 12);

    const svc = await core.readNamespacedService({ namespace: NS, name });
    svc.spec!.ports![0].nodePort = 31381;
    await core.replaceNamespacedService({ namespace: NS, name, body: svc });
    await allReachBoth(paths(31381), 12);
    await allSilent(paths(31380));

    await core.deleteNamespacedService({ namespace: NS, name });
    await allSilent(paths(31381));
    expect(await ip6Table()).not.toMatch(/dport 3138[01] /);
  });

  it('should update nodePort: udp', async () => {
    const name = 'update-np-udp';
    const n1 = await internalIPs('node-1');
    const n2 = await internalIPs('node-2');
    const client = await nodePortClient();
    await core.createNamespacedService({ namespace: NS, body: onePortNodePort(name, 'dns', 31353) });
    const paths: Path[] = [
      [`UDP node-2 -> [${n1.v6}]:31353`, () => udp(node2(), n1.v6, 31353)],
      [`UDP node-2 -> ${n1.v4}:31353`, () => udp(node2(), n1.v4, 31353)],
      [`UDP node-2 -> [${n2.v6}]:31353`, () => udp(node2(), n2.v6, 31353)],
      [`UDP pod -> [${n1.v6}]:31353`, () => udp(client, n1.v6, 31353)],
    ];
    await allReachBoth(paths, 8);

    await core.deleteNamespacedService({ namespace: NS, name });
    await allSilent(paths);
    expect(await ip6Table()).not.toContain('dport 31353 ');
  });

  /** One GET from a namespace: the status code ('000': no answer) and body. */
  const get = async (netns: string, ip: string, port: number, path = '/'): Promise<{ code: string; body: string }> => {
    const url = `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}${path}`;
    const r = await netnsExec(netns, ['curl', '-g', '-s', '-m', '2', '-w', '\n%{http_code}', url], {
      allowFailure: true,
    });
    const lines = r.stdout.trimEnd().split('\n');
    return { code: lines.pop() ?? '000', body: lines.join('\n') };
  };

  it('should implement NodePort and HealthCheckNodePort correctly when ExternalTrafficPolicy changes (IPv6 node addresses)', async () => {
    // service.go's test on the nodes' IPv6 addresses: an external load balancer of a dual-stack cluster probes
    // [node IPv6]:healthCheckNodePort (kube-proxy's listener takes both families). One endpoint per node: 200 with
    // kube-proxy's body on both nodes' IPv6 InternalIPs and on node-1's IPv6 address outside; a node whose
    // endpoint is not ready answers 503; Cluster policy closes the port. The proxy's /healthz answers there too.
    const n1 = await internalIPs('node-1');
    const n2 = await internalIPs('node-2');
    const svc = await core.createNamespacedService({
      namespace: NS,
      body: service('hc6', {
        // Kubernetes allocates a healthCheckNodePort to Local LoadBalancers only (no address is needed for it).
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 as never, nodePort: 31480 }],
      }),
    });
    const hcPort = svc.spec!.healthCheckNodePort!;
    expect(hcPort).toBeGreaterThan(0);
    const probes: Array<[string, () => Promise<{ code: string; body: string }>]> = [
      [`node-2 -> [${n1.v6}]`, () => get(node2(), n1.v6, hcPort)],
      [`node-2 -> [${n2.v6}] (its own)`, () => get(node2(), n2.v6, hcPort)],
      [`outside -> [${NODE_IP6}]`, () => get(external(), NODE_IP6, hcPort)],
      [`node-2 -> ${n1.v4}`, () => get(node2(), n1.v4, hcPort)],
    ];
    for (const [what, probe] of probes) {
      const ok = await waitUntil(`200 from ${what}`, probe, (r) => r.code === '200');
      expect(JSON.parse(ok.body)).toEqual({
        service: { namespace: NS, name: 'hc6' },
        localEndpoints: 1,
        serviceProxyHealthy: true,
      });
    }
    expect((await get(node2(), n1.v6, 10256, '/healthz')).code).toBe('200');

    await sb.kubelet.setReady(NS, 'web-1', false);
    try {
      const none = await waitUntil('503 on node-2 over IPv6', probes[1][1], (r) => r.code === '503');
      expect(JSON.parse(none.body)).toMatchObject({ localEndpoints: 0 });
      expect((await probes[0][1]()).code).toBe('200');
    } finally {
      await sb.kubelet.setReady(NS, 'web-1', true);
    }

    const current = await core.readNamespacedService({ namespace: NS, name: 'hc6' });
    current.spec!.externalTrafficPolicy = 'Cluster';
    delete current.spec!.healthCheckNodePort;
    await core.replaceNamespacedService({ namespace: NS, name: 'hc6', body: current });
    await waitUntil(`the health check port closed on [${n1.v6}]`, probes[0][1], (r) => r.code === '000');
    await core.deleteNamespacedService({ namespace: NS, name: 'hc6' });
  });

  it('leaves nothing behind', async () => {
    for (const s of servers.splice(0)) await s.stop();
    const state = sb.state;
    await sb.down();
    expect(isClean(await sandboxLeaks(state))).toBe(true);
  });
});
