import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { Sandbox, sandboxLeaks } from '@ycloud/sandbox';
import { createNamespace, isAlive, isClean, netnsExecText, netnsList, waitUntil } from '@ycloud/testbed';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What a sandbox user sees: real traffic from simulated pods (plugged by the real CNI plugin and node agent) to
 * ClusterIPs programmed by the real controller from real EndpointSlices. One sandbox for the file; the last test
 * tears it down and checks that nothing is left behind.
 */
describe('sandbox: ClusterIP traffic end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-e2e-sandbox-'));
  const lines: string[] = [];
  let sb: Sandbox;
  let core: CoreV1Api;
  const NS = 'e2e';
  const backends = ['web-0', 'web-1', 'web-2'];
  const clients = ['client-0', 'client-1', 'client-2'];
  let webIP = '';
  let stickyIP = '';

  const traffic = (client: string, proto: 'tcp' | 'http' | 'udp', ip: string, port: number, count: number) =>
    sb.kubelet.traffic({ namespace: NS, name: client }, proto, ip, port, count);

  function service(name: string, affinity: boolean): V1Service {
    return {
      metadata: { name, namespace: NS },
      spec: {
        selector: { app: 'web' },
        sessionAffinity: affinity ? 'ClientIP' : 'None',
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 as never },
          { name: 'raw', protocol: 'TCP', port: 9000, targetPort: 9000 as never },
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 as never },
        ],
      },
    };
  }

  beforeAll(async () => {
    const t0 = Date.now();
    sb = await Sandbox.up({ dir, log: (l) => lines.push(l) });
    core = sb.kubelet.kubeConfig.makeApiClient(CoreV1Api);
    await createNamespace(sb.kubelet.kubeConfig, NS);
    webIP = (await core.createNamespacedService({ namespace: NS, body: service('web', false) })).spec!.clusterIP!;
    stickyIP = (await core.createNamespacedService({ namespace: NS, body: service('sticky', true) })).spec!.clusterIP!;
    await Promise.all([
      ...backends.map((name) =>
        sb.kubelet.createPod({
          name,
          namespace: NS,
          labels: { app: 'web' },
          serve: ['http:8080', 'tcp:9000', 'udp:5353'],
        }),
      ),
      ...clients.map((name) => sb.kubelet.createPod({ name, namespace: NS, labels: { app: 'client' } })),
    ]);
    lines.push(`set up in ${Date.now() - t0} ms`);
  });

  afterAll(async () => {
    await sb?.down().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings up the documented example: curl from a pod and from the node reaches every hello backend', async () => {
    expect(existsSync(join(dir, 'kubeconfig'))).toBe(true);
    expect(sb.state.nodes.map((n) => n.name)).toEqual(['node-1']);
    const seen = new Set<string>();
    const deadline = Date.now() + 30_000;
    while (seen.size < 3 && Date.now() < deadline) {
      const r = await sb.kubelet.exec(NS, 'client-0', ['curl', '-s', '-m', '2', 'http://10.96.100.10/']);
      if (r.code === 0) seen.add(r.stdout.trim());
    }
    expect([...seen].sort()).toEqual(['hello-0', 'hello-1', 'hello-2']);
    // From the node's host network namespace (the agent's node port), as `sandbox exec --host` does.
    const fromHost = await netnsExecText(sb.state.nodes[0].netns, ['curl', '-s', '-m', '3', 'http://10.96.100.10/']);
    expect(fromHost).toMatch(/^hello-[012]$/);
  });

  it('spreads new connections over all three ready backends', async () => {
    const s = await waitUntil(
      'all three backends',
      () => traffic('client-0', 'http', webIP, 80, 30),
      (x) => Object.keys(x.replies).length === 3,
    );
    expect(Object.keys(s.replies).sort()).toEqual(backends);
    expect(s.errors).toEqual([]);
  });

  it('serves the second TCP port and the UDP port through the same ClusterIP', async () => {
    const raw = await traffic('client-1', 'tcp', webIP, 9000, 20);
    expect(raw.errors).toEqual([]);
    expect(Object.keys(raw.replies).every((b) => backends.includes(b))).toBe(true);
    expect(Object.keys(raw.replies).length).toBeGreaterThan(1);
    const udp = await traffic('client-1', 'udp', webIP, 53, 20);
    expect(udp.errors).toEqual([]);
    expect(Object.keys(udp.replies).every((b) => backends.includes(b))).toBe(true);
    expect(Object.keys(udp.replies).length).toBeGreaterThan(1);
  });

  it('with ClientIP affinity, each client talks to one backend only', async () => {
    const perClient: Record<string, string[]> = {};
    for (const c of clients) {
      const s = await traffic(c, 'http', stickyIP, 80, 10);
      expect(s.errors).toEqual([]);
      perClient[c] = Object.keys(s.replies);
    }
    for (const c of clients) expect(perClient[c]).toHaveLength(1);
  });

  // With OVN 23.03.1 and 25.03.0 alike the first TCP connection of a client to a VIP with `affinity_timeout` never
  // completes; the default timeout (3 h) is therefore served by a client-address hash (lb-options.ts), whose
  // first connection works.
  it('the first connection of a new client to a ClientIP-affinity VIP (default timeout) completes', async () => {
    await sb.kubelet.createPod({ name: 'client-new', namespace: NS });
    const first = await sb.kubelet.traffic({ namespace: NS, name: 'client-new' }, 'http', stickyIP, 80, 1, 4_000);
    expect(first.errors).toEqual([]);
  });

  it('scaled to one ready backend, only that one answers', async () => {
    await sb.kubelet.setReady(NS, 'web-1', false);
    await sb.kubelet.setReady(NS, 'web-2', false);
    await waitUntil(
      'only web-0',
      () => traffic('client-0', 'http', webIP, 80, 10),
      (x) => Object.keys(x.replies).join() === 'web-0',
    );
    const s = await traffic('client-2', 'http', webIP, 80, 20);
    expect(s).toEqual({ replies: { 'web-0': 20 }, errors: [] });
  });

  it('with no ready backend, a connection is refused at once (RST), not left to time out', async () => {
    await sb.kubelet.setReady(NS, 'web-0', false);
    const s = await waitUntil(
      'connection refused',
      () => traffic('client-0', 'tcp', webIP, 9000, 1),
      (x) => x.errors.some((e) => e.code === 'ECONNREFUSED'),
    );
    expect(s.replies).toEqual({});
    const again = await traffic('client-1', 'tcp', webIP, 9000, 5);
    expect(again.replies).toEqual({});
    expect(again.errors.map((e) => e.code)).toEqual(Array(5).fill('ECONNREFUSED'));
    for (const e of again.errors) expect(e.ms).toBeLessThan(1000);
    // Readiness back: traffic flows again.
    for (const b of backends) await sb.kubelet.setReady(NS, b, true);
    await waitUntil(
      'backends back',
      () => traffic('client-0', 'http', webIP, 80, 15),
      (x) => Object.keys(x.replies).length === 3,
    );
  });

  it('a deleted pod stops answering and leaves no namespace behind', async () => {
    const web2 = await sb.kubelet.pod(NS, 'web-2');
    await sb.kubelet.deletePod(NS, 'web-2');
    expect(await netnsList(web2.netns)).toEqual([]);
    expect(isAlive(web2.servers!.pid)).toBe(false);
    const s = await waitUntil(
      'web-2 gone',
      () => traffic('client-0', 'http', webIP, 80, 20),
      (x) => Object.keys(x.replies).sort().join() === 'web-0,web-1',
    );
    expect(s.errors).toEqual([]);
  });

  it('down() leaves no process, network namespace, OVS bridge or run directory behind', async () => {
    const state = sb.state;
    const pods = await sb.kubelet.listPods();
    const pids = [
      state.controller.pid,
      ...state.nodes.map((n) => n.agentPid),
      ...pods.map((p) => p.servers?.pid ?? -1),
    ];
    expect(pids.filter((p) => p > 0 && isAlive(p))).toHaveLength(pids.filter((p) => p > 0).length);
    await sb.down();
    const leaks = await sandboxLeaks(state);
    expect(leaks).toEqual({ processes: [], netns: [], devices: [], dirs: [] });
    expect(isClean(leaks)).toBe(true);
    expect(pids.filter((p) => p > 0 && isAlive(p))).toEqual([]);
    expect(await netnsList(state.netnsPrefix)).toEqual([]);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    expect(existsSync(join(dir, 'kubeconfig'))).toBe(false);
  });
});
