import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { Sandbox, sandboxLeaks } from '@ycloud/sandbox';
import { createNamespace, isClean, netnsExec, netnsList, waitUntil } from '@ycloud/testbed';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Issue 7, NodePort from outside: a client in the sandbox's external namespace (172.16.0.0/24, not part of the
 * cluster) reaches a NodePort Service on the gateway node's ExternalIP. The node agent DNATs the node's port to
 * the ClusterIP in the node's host namespace and masquerades it into OVN through ycloud0 (docs/adr/0005).
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
