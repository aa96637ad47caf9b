import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { CLIENT_ADDRESS_KEPT_CONDITION, OWNER_KINDS } from '@ycloud/api';
import { Sandbox, sandboxLeaks } from '@ycloud/sandbox';
import {
  TcpServer,
  createNamespace,
  isClean,
  netnsExec,
  netnsList,
  nbctlAt,
  ownedNbRows,
  udpDatagramsArrive,
  tcpRequest,
  waitUntil,
} from '@ycloud/testbed';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Issue 7, NodePort from outside: a client in the sandbox's external namespace (172.16.0.0/24, not part of the
 * cluster) reaches a NodePort Service on the gateway node's ExternalIP. The node agent DNATs the node's port to
 * the ClusterIP in the node's host namespace and masquerades it into OVN through ycloud0 (docs/adr/0005). The
 * controller config has no `eip.defaultPool` (the default VPC has no route outwards): `externalTrafficPolicy: Local`
 * keeps the client address through the reply gateway's IPv4 half (docs/adr/0012).
 */
describe('NodePort from outside the cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-e2e-nodeport-'));
  const NS = 'np';
  const NODE_PORT = 30080;
  const UDP_NODE_PORT = 30053;
  const LOCAL_NODE_PORT = 30090;
  /** One backend per node: answers from both prove the path crosses nodes through OVN. */
  const backends = ['np-web-0', 'np-web-1'];
  const nodes = ['node-1', 'node-2'];
  let sb: Sandbox;
  let core: CoreV1Api;
  let nodeIP = '';

  const curl = async (url: string): Promise<{ code: number; body: string }> => {
    const r = await netnsExec(sb.state.external.netns, ['curl', '-s', '-m', '2', url], { allowFailure: true });
    return { code: r.code, body: r.stdout.trim() };
  };
  const table = async (): Promise<string> =>
    (await netnsExec(sb.state.nodes[0].netns, ['nft', 'list', 'table', 'ip', 'ycloud'], { allowFailure: true })).stdout;

  const service: V1Service = {
    metadata: { name: 'web', namespace: NS },
    spec: {
      type: 'NodePort',
      selector: { app: 'np-web' },
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 as never, nodePort: NODE_PORT },
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 as never, nodePort: UDP_NODE_PORT },
      ],
    },
  };

  const localService: V1Service = {
    metadata: { name: 'local', namespace: NS },
    spec: {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      selector: { app: 'np-web' },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 as never, nodePort: LOCAL_NODE_PORT }],
    },
  };

  beforeAll(async () => {
    sb = await Sandbox.up({ dir, example: null, nodes });
    core = sb.kubelet.kubeConfig.makeApiClient(CoreV1Api);
    await createNamespace(sb.kubelet.kubeConfig, NS);
    await core.createNamespacedService({ namespace: NS, body: service });
    await core.createNamespacedService({ namespace: NS, body: localService });
    await Promise.all(
      backends.map((name, i) =>
        sb.kubelet.createPod({
          name,
          namespace: NS,
          node: nodes[i],
          labels: { app: 'np-web' },
          serve: ['http:8080', 'udp:5353'],
        }),
      ),
    );
  });

  afterAll(async () => {
    await sb?.down().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the gateway node reports its external address as ExternalIP', async () => {
    const node = await core.readNode({ name: sb.state.nodes[0].name });
    nodeIP = node.status?.addresses?.find((a) => a.type === 'ExternalIP')?.address ?? '';
    expect(nodeIP).toBe('172.16.0.11');
  });

  it('an external client reaches both backends on <node ExternalIP>:<nodePort>', async () => {
    const seen = new Set<string>();
    await waitUntil(
      'both backends from the external namespace',
      async () => {
        const r = await curl(`http://${nodeIP}:${NODE_PORT}/`);
        if (r.code === 0) seen.add(r.body);
        return [...seen].sort();
      },
      (s) => s.length === backends.length,
    );
    expect([...seen].sort()).toEqual(backends);
    // Steady state: every one of a series of new connections is answered by a backend.
    for (let i = 0; i < 10; i++) {
      const r = await curl(`http://${nodeIP}:${NODE_PORT}/`);
      expect(r.code).toBe(0);
      expect(backends).toContain(r.body);
    }
    expect(await table()).toContain(`tcp dport ${NODE_PORT} dnat to`);
  });

  it('serves the UDP nodePort to the external client too', async () => {
    const udp = async (): Promise<string> =>
      (
        await netnsExec(sb.state.external.netns, ['sh', '-c', `echo hi | nc -u -w1 ${nodeIP} ${UDP_NODE_PORT}`], {
          allowFailure: true,
        })
      ).stdout.trim();
    expect(backends).toContain(await waitUntil('a UDP answer', udp, (r) => r !== '', 20_000));
  });

  it("a process on the node reaches the NodePort on the node's own external address", async () => {
    const r = await netnsExec(sb.state.nodes[0].netns, ['curl', '-s', '-m', '3', `http://${nodeIP}:${NODE_PORT}/`], {
      allowFailure: true,
    });
    expect(backends).toContain(r.stdout.trim());
  });

  it("externalTrafficPolicy: Local sends external traffic only to the node's own endpoint, else drops it", async () => {
    const url = `http://${nodeIP}:${LOCAL_NODE_PORT}/`;
    await waitUntil(
      'the local backend',
      () => curl(url),
      (r) => r.code === 0,
    );
    for (let i = 0; i < 10; i++) expect(await curl(url)).toEqual({ code: 0, body: 'np-web-0' }); // on node-1
    await sb.kubelet.setReady(NS, 'np-web-0', false);
    // No local endpoint: dropped (kube-proxy's behaviour), so curl times out; np-web-1 on node-2 is not used.
    const r = await waitUntil(
      'the drop',
      () => curl(url),
      (x) => x.code !== 0,
    );
    expect(r.code).toBe(28);
    await sb.kubelet.setReady(NS, 'np-web-0', true);
  });

  describe('externalTrafficPolicy: Local without eip.defaultPool (docs/adr/0012)', () => {
    const ECHO_NODE_PORT = 30911;
    const SINK_HOP = '100.64.255.255'; // the sandbox's join subnet is 100.64.0.0/16: its broadcast address
    let echo: TcpServer | undefined;
    const nbctl = (...a: string[]) => nbctlAt(sb.state.testbed.nbRemote, ...a);
    /** `columns` of the `table` rows the reply gateway owns, or '' when there are none. */
    const gatewayRows = (table: string, columns: string, ...where: string[]) =>
      ownedNbRows(sb.state.testbed.nbRemote, OWNER_KINDS.NodeReplyGateway, table, columns, ...where);
    /** One TCP exchange with the echo server from outside: `<backend> <address it saw>`, or `error …`. */
    const echoFromOutside = () =>
      tcpRequest(sb.state.external.netns, nodeIP, ECHO_NODE_PORT, 2_000)
        .then((r) => r.trim())
        .catch((e: Error) => `error ${e.message.split('\n').pop() ?? ''}`);
    const client = () => sb.state.external.ip.split('/')[0];
    /** Whether UDP datagrams sent from `netns` to the outside client's address reach it (a listener there). */
    const udpArrivesOutside = (netns: string) =>
      udpDatagramsArrive(netns, { netns: sb.state.external.netns, address: client() });

    afterAll(async () => {
      await echo?.stop().catch(() => undefined);
    });

    it('should support externalTrafficPolicy=Local for type=NodePort', async () => {
      // Upstream (service.go): the backend sees the client's own address. node-1 DNATs its Local NodePort to its own
      // endpoint (np-web-0), whose reply reaches its reroute policy through the reply gateway's 0.0.0.0/0 route.
      const pod = await sb.kubelet.pod(NS, backends[0]);
      echo = await TcpServer.start(pod.netns, 9100, backends[0], dir);
      await core.createNamespacedService({
        namespace: NS,
        body: {
          metadata: { name: 'esipp', namespace: NS },
          spec: {
            type: 'NodePort',
            externalTrafficPolicy: 'Local',
            selector: { app: 'np-web' },
            ports: [{ name: 'echo', protocol: 'TCP', port: 9100, targetPort: 9100 as never, nodePort: ECHO_NODE_PORT }],
          },
        },
      });
      const kept = async () => {
        const svc = await core.readNamespacedService({ namespace: NS, name: 'esipp' });
        return (svc.status?.conditions ?? []).find((c) => c.type === CLIENT_ADDRESS_KEPT_CONDITION)?.status ?? '';
      };
      await waitUntil('ycloud.io/ClientAddressKept True', kept, (s) => s === 'True');
      const expected = `${backends[0]} ${client()}`;
      await waitUntil('the Local NodePort keeping the client address', echoFromOutside, (r) => r === expected);
      const replies: string[] = [];
      for (let i = 0; i < 10; i++) replies.push(await echoFromOutside());
      console.log(
        `nodeport: Local NodePort without eip.defaultPool, client address seen ${replies.filter((r) => r === expected).length} of ${replies.length}`,
      );
      expect(replies).toEqual(Array(10).fill(expected));
      // The reply gateway's IPv4 rows on the default VPC's router (no IPv6 here: a single-stack sandbox).
      expect(await gatewayRows('Logical_Router_Static_Route', 'ip_prefix,nexthop')).toBe(`0.0.0.0/0\n${SINK_HOP}`);
      expect(await gatewayRows('Logical_Router_Policy', 'priority,match', 'action=drop')).toBe(
        `100\nip4 && reg0 == ${SINK_HOP}`,
      );
      // Above the reply routes, one positive match lets replies to the VPC itself through (docs/adr/0012).
      expect(await gatewayRows('Logical_Router_Policy', 'priority,match', 'action=allow')).toMatch(
        /^1001\nip4\.dst == \{[0-9./, ]+\}$/,
      );
    });

    it('repairs the reply gateway rows removed behind its back', async () => {
      const route = await gatewayRows('Logical_Router_Static_Route', '_uuid');
      const drop = await gatewayRows('Logical_Router_Policy', '_uuid', 'action=drop');
      expect(route).toMatch(/^[0-9a-f-]{36}$/);
      expect(drop).toMatch(/^[0-9a-f-]{36}$/);
      await nbctl(
        'remove',
        'Logical_Router',
        'vpc-default',
        'static_routes',
        route,
        '--',
        'remove',
        'Logical_Router',
        'vpc-default',
        'policies',
        drop,
      );
      // Put back as new rows (new uuids), with the same contents.
      await waitUntil(
        'the route and the drop policy back',
        async () => [
          await gatewayRows('Logical_Router_Static_Route', '_uuid,ip_prefix,nexthop'),
          await gatewayRows('Logical_Router_Policy', '_uuid,action,match', 'action=drop'),
        ],
        ([r, p]) =>
          r.endsWith(`\n0.0.0.0/0\n${SINK_HOP}`) &&
          !r.startsWith(route) &&
          p.endsWith(`\ndrop\nip4 && reg0 == ${SINK_HOP}`) &&
          !p.startsWith(drop),
      );
      await waitUntil('the client address kept again', echoFromOutside, (r) => r === `${backends[0]} ${client()}`);
    });

    it("still drops pods' own IPv4 to the outside, and pods still reach a node's InternalIP", async () => {
      // The 0.0.0.0/0 route serves the reply routes only; its drop policy takes what it routed, so a pod's own
      // datagram to an outside address goes nowhere, as it did without the route (node-1's host reaches the
      // listener: it is routed). Longer routes still win: a node's /32 host route (nodeHostRoutes).
      expect(await udpArrivesOutside(sb.state.nodes[0].netns)).toBe(true);
      // Dropped by the policy, not left to ARP for the sink hop: without the drop every such datagram made the VPC
      // router broadcast an ARP request for it to every node's ycloud0 (measured: 50 of 50, docs/adr/0012).
      const arps = sb.state.nodes.map((n) =>
        netnsExec(n.netns, ['timeout', '16', 'tcpdump', '-n', '-l', '-i', 'ycloud0', `arp and host ${SINK_HOP}`], {
          allowFailure: true,
        }),
      );
      await new Promise((r) => setTimeout(r, 2_000)); // tcpdump attached before the first datagram
      for (const name of backends) {
        expect(await udpArrivesOutside((await sb.kubelet.pod(NS, name)).netns)).toBe(false);
      }
      const captured = await Promise.all(arps);
      expect(captured.map((c) => c.stdout.split('\n').filter((l) => l.includes(SINK_HOP)))).toEqual([[], []]);
      expect(captured.every((c) => /listening on ycloud0/.test(c.stderr))).toBe(true); // tcpdump did run
      const pod2 = (await sb.kubelet.pod(NS, backends[1])).netns; // on node-2
      const ping = await netnsExec(pod2, ['ping', '-c', '1', '-W', '2', sb.state.nodes[0].ip], { allowFailure: true });
      expect(ping.code).toBe(0);
      await core.deleteNamespacedService({ namespace: NS, name: 'esipp' });
    });
  });

  it('deleting the Service removes the rule and the port refuses connections', async () => {
    await core.deleteNamespacedService({ namespace: NS, name: 'web' });
    await waitUntil('the rule to go', table, (t) => t.includes('chain nodeports') && !t.includes(`dport ${NODE_PORT}`));
    const r = await curl(`http://${nodeIP}:${NODE_PORT}/`);
    expect(r.code).toBe(7); // curl: failed to connect (RST from the node, nothing listens there)
  });

  it('down() leaves nothing behind', async () => {
    const state = sb.state;
    await sb.down();
    const leaks = await sandboxLeaks(state);
    expect(leaks).toEqual({ processes: [], netns: [], devices: [], dirs: [] });
    expect(isClean(leaks)).toBe(true);
    expect(await netnsList(state.netnsPrefix)).toEqual([]);
  });
});
