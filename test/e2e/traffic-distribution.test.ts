import { CoreV1Api, DiscoveryV1Api, PatchStrategy, setHeaderOptions, type V1Endpoint } from '@kubernetes/client-node';
import { Sandbox } from '@ycloud/sandbox';
import { createNamespace, eventually } from '@ycloud/testbed';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Distribution = 'PreferClose' | 'PreferSameZone' | 'PreferSameNode';

/** Where a case puts its servers, and which of them (indices) each client must reach, and only those. */
interface Layout {
  servers: string[];
  clients: Array<{ node: string; reaches: number[] }>;
}

/**
 * kubernetes/kubernetes test/e2e/network/traffic_distribution.go with real traffic, each case named after the
 * upstream test it mirrors. Five nodes in three zones: zone-a holds node-1 and node-2, zone-b node-3 and node-4,
 * zone-c node-5 (upstream's multi-node cases want two nodes in each of three zones but put pods on only one node
 * of the third). The real kube-controller-manager writes the EndpointSlice hints; ycloud's per-chassis LBs choose
 * from them. As upstream's checkTrafficDistribution, a client must reach every endpoint it should and no other.
 */
describe('Traffic Distribution (traffic_distribution.go)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-e2e-td-'));
  const NS = 'traffic-dist';
  const ZONE_OF: Record<string, string> = {
    'node-1': 'zone-a',
    'node-2': 'zone-a',
    'node-3': 'zone-b',
    'node-4': 'zone-b',
    'node-5': 'zone-c',
  };
  const CONNECTIONS = 20;
  let sb: Sandbox;
  let core: CoreV1Api;
  let discovery: DiscoveryV1Api;
  let caseNo = 0;

  beforeAll(async () => {
    sb = await Sandbox.up({ dir, example: null, nodes: Object.keys(ZONE_OF) });
    core = sb.kubelet.kubeConfig.makeApiClient(CoreV1Api);
    discovery = sb.kubelet.kubeConfig.makeApiClient(DiscoveryV1Api);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    for (const [name, zone] of Object.entries(ZONE_OF)) {
      await core.patchNode({ name, body: { metadata: { labels: { 'topology.kubernetes.io/zone': zone } } } }, merge);
    }
    await createNamespace(sb.kubelet.kubeConfig, NS);
  });

  afterAll(async () => {
    await sb?.down().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const endpointsOf = async (service: string): Promise<V1Endpoint[]> =>
    (
      await discovery.listNamespacedEndpointSlice({
        namespace: NS,
        labelSelector: `kubernetes.io/service-name=${service}`,
      })
    ).items.flatMap((s) => s.endpoints ?? []);

  /** The hints the EndpointSlice controller writes for the distribution, on every endpoint. */
  const hinted = (distribution: Distribution) => (e: V1Endpoint) =>
    distribution === 'PreferSameNode' ? (e.hints?.forNodes ?? []).length > 0 : (e.hints?.forZones ?? []).length > 0;

  /** The backends `CONNECTIONS` new connections from `client` reached (sorted), or `errors`. */
  const reachedFrom = async (client: string, ip: string): Promise<string[]> => {
    const r = await sb.kubelet.traffic({ namespace: NS, name: client }, 'tcp', ip, 80, CONNECTIONS, 2_000);
    return r.errors.length ? ['errors'] : Object.keys(r.replies).sort();
  };

  /** Every client reaches exactly the servers it should: first once the LBs caught up, then again. */
  async function checkTrafficDistribution(ip: string, clients: Array<{ name: string; reaches: string[] }>) {
    for (const c of clients) {
      const wanted = [...c.reaches].sort();
      await eventually(
        () => reachedFrom(c.name, ip),
        (got) => JSON.stringify(got) === JSON.stringify(wanted),
        `${c.name} to reach only ${wanted.join(', ')}`,
        60_000,
        500,
      );
      expect(await reachedFrom(c.name, ip)).toEqual(wanted);
    }
  }

  /** Creates the servers, the Service (once its slices carry the hints) and the clients of one case. */
  async function setUp(distribution: Distribution, layout: Layout) {
    const app = `td${++caseNo}`;
    const serverNames = layout.servers.map((node, i) => `${app}-server-${i}-${node}`);
    await Promise.all(
      layout.servers.map((node, i) =>
        sb.kubelet.createPod({ name: serverNames[i], namespace: NS, node, labels: { app }, serve: ['tcp:9376'] }),
      ),
    );
    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: app, namespace: NS },
        spec: {
          selector: { app },
          trafficDistribution: distribution,
          ports: [{ name: 'tcp', protocol: 'TCP', port: 80, targetPort: 9376 as never }],
        },
      },
    });
    await eventually(
      () => endpointsOf(app),
      (eps) => eps.length === layout.servers.length && eps.every(hinted(distribution)),
      `${layout.servers.length} hinted endpoints of ${app}`,
      60_000,
      500,
    );
    const clients = layout.clients.map((c, i) => ({
      name: `${app}-client-${i}-${c.node}`,
      node: c.node,
      reaches: c.reaches.map((s) => serverNames[s]),
    }));
    await Promise.all(clients.map((c) => sb.kubelet.createPod({ name: c.name, namespace: NS, node: c.node })));
    const ip = (await core.readNamespacedService({ namespace: NS, name: app })).spec!.clusterIP!;
    return { app, ip, clients, serverNames };
  }

  async function tearDown(app: string, pods: string[]) {
    await core.deleteNamespacedService({ namespace: NS, name: app });
    for (const p of pods) await sb.kubelet.deletePod(NS, p).catch(() => undefined);
  }

  /** One server in zone-a and one in zone-b, a client in each of the three zones (upstream allocateClientsAndServers). */
  const sameZoneLayout: Layout = {
    servers: ['node-1', 'node-3'],
    clients: [
      { node: 'node-1', reaches: [0] },
      { node: 'node-3', reaches: [1] },
      { node: 'node-5', reaches: [0, 1] }, // no endpoint in its zone: all of them
    ],
  };
  /** Upstream allocateMultiNodeClientsAndServers. */
  const multiNodeLayout: Layout = {
    servers: ['node-1', 'node-2', 'node-4'],
    clients: [
      { node: 'node-1', reaches: [0, 1] }, // both zone-a endpoints, whichever node
      { node: 'node-2', reaches: [0, 1] },
      { node: 'node-3', reaches: [2] }, // zone-b's endpoint is on the other zone-b node
      { node: 'node-5', reaches: [0, 1, 2] },
    ],
  };

  for (const distribution of ['PreferClose', 'PreferSameZone'] as const) {
    it(`should route traffic to an endpoint in the same zone when using ${distribution}`, async () => {
      const c = await setUp(distribution, sameZoneLayout);
      await checkTrafficDistribution(c.ip, c.clients);
      await tearDown(c.app, [...c.serverNames, ...c.clients.map((x) => x.name)]);
    });

    it(`should route traffic correctly between pods on multiple nodes when using ${distribution}`, async () => {
      const c = await setUp(distribution, multiNodeLayout);
      await checkTrafficDistribution(c.ip, c.clients);
      await tearDown(c.app, [...c.serverNames, ...c.clients.map((x) => x.name)]);
    });
  }

  it('should route traffic to an endpoint on the same node or fall back to same zone when using PreferSameNode', async () => {
    const c = await setUp('PreferSameNode', {
      servers: ['node-1', 'node-2', 'node-4'],
      clients: [
        { node: 'node-1', reaches: [0] }, // its own node's endpoint only
        { node: 'node-2', reaches: [1] },
        { node: 'node-3', reaches: [2] }, // none on its node: its zone's
        { node: 'node-5', reaches: [0, 1, 2] }, // none in its zone: all
      ],
    });
    await checkTrafficDistribution(c.ip, c.clients);
    await tearDown(c.app, [...c.serverNames, ...c.clients.map((x) => x.name)]);
  });

  it('should route traffic to an endpoint on the same node when using PreferSameNode and fall back when the endpoint becomes unavailable', async () => {
    const c = await setUp('PreferSameNode', {
      servers: ['node-1', 'node-2'],
      clients: [
        { node: 'node-1', reaches: [0] },
        { node: 'node-2', reaches: [1] },
      ],
    });
    await checkTrafficDistribution(c.ip, c.clients);
    // The server on node-1 goes: both clients fall back to the one left.
    await sb.kubelet.deletePod(NS, c.serverNames[0]);
    await eventually(
      () => endpointsOf(c.app),
      (eps) => eps.length === 1,
      'one endpoint left',
      60_000,
      500,
    );
    const [first, second] = c.clients;
    await checkTrafficDistribution(c.ip, [
      { ...first, reaches: [c.serverNames[1]] },
      { ...second, reaches: [c.serverNames[1]] },
    ]);
    // A new server on node-1: its client goes back to it alone.
    const renewed = `${c.app}-server-0-new`;
    await sb.kubelet.createPod({
      name: renewed,
      namespace: NS,
      node: 'node-1',
      labels: { app: c.app },
      serve: ['tcp:9376'],
    });
    await eventually(
      () => endpointsOf(c.app),
      (eps) => eps.length === 2 && eps.every(hinted('PreferSameNode')),
      'two hinted endpoints again',
      60_000,
      500,
    );
    await checkTrafficDistribution(c.ip, [
      { ...first, reaches: [renewed] },
      { ...second, reaches: [c.serverNames[1]] },
    ]);
    await tearDown(c.app, [renewed, c.serverNames[1], ...c.clients.map((x) => x.name)]);
  });
});
