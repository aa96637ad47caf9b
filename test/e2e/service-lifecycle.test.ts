import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Service,
  type V1ServicePort,
} from '@kubernetes/client-node';
import { POD_CLIENT, Sandbox, type TrafficSummary } from '@ycloud/sandbox';
import { TcpServer, createNamespace, netnsExec, tcpRequest, waitUntil } from '@ycloud/testbed';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A Service's life as kubernetes/kubernetes test/e2e/network/service.go drives it — ports added and removed,
 * Services brought up and down, the type changed (ClusterIP, NodePort, LoadBalancer, ExternalName), the apiserver
 * restarted — with real traffic from simulated pods and from a node's own network namespace, through the real
 * controller, node agents and OVN. Each test is named after the upstream test it mirrors. Two nodes, one sandbox.
 */
describe('Services: lifecycle (service.go)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-e2e-lifecycle-'));
  const NS = 'lifecycle';
  const nodes = ['node-1', 'node-2'];
  let sb: Sandbox;
  let core: CoreV1Api;
  /** Each node's InternalIP (what upstream's reachability checks dial NodePorts on). */
  let nodeIPs: string[] = [];
  const figures: string[] = [];

  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const patchService = (name: string, body: object) =>
    core.patchNamespacedService({ namespace: NS, name, body }, merge);
  const readService = (name: string) => core.readNamespacedService({ namespace: NS, name });

  type Proto = 'tcp' | 'udp';
  /** `count` new connections (datagrams) from a pod: replies per backend and errors. */
  const fromPod = (client: string, proto: Proto, ip: string, port: number, count = 1): Promise<TrafficSummary> =>
    sb.kubelet.traffic({ namespace: NS, name: client }, proto, ip, port, count, 2_000);
  /** The same from node-1's own network namespace (upstream's host-network exec pod). */
  const fromHost = async (proto: Proto, ip: string, port: number, count = 1): Promise<TrafficSummary> => {
    const args = [process.execPath, POD_CLIENT, proto, ip, String(port), String(count), '2000'];
    const r = await netnsExec(sb.state.nodes[0].netns, args, { timeoutMs: count * 2_000 + 30_000 });
    return JSON.parse(r.stdout) as TrafficSummary;
  };
  type From = (proto: Proto, ip: string, port: number, count?: number) => Promise<TrafficSummary>;
  const pod =
    (client: string): From =>
    (proto, ip, port, count) =>
      fromPod(client, proto, ip, port, count);

  /** Every one of `names` answers on ip:port (and nothing fails once they all have), as upstream's verify…Up. */
  async function reachesAll(from: From, proto: Proto, ip: string, port: number, names: string[]): Promise<void> {
    const seen = new Set<string>();
    await waitUntil(
      `${[...names].join(', ')} on ${proto} ${ip}:${port}`,
      async () => {
        for (const n of Object.keys((await from(proto, ip, port, names.length * 2)).replies)) seen.add(n);
        return [...seen].sort();
      },
      (got) => names.every((n) => got.includes(n)),
    );
    const after = await from(proto, ip, port, names.length * 2);
    expect(after.errors).toEqual([]);
    expect(Object.keys(after.replies).every((n) => names.includes(n))).toBe(true);
  }

  /** Nothing answers on ip:port any more (upstream's verify…Down): three attempts in a row fail. */
  async function answersNothing(from: From, proto: Proto, ip: string, port: number): Promise<void> {
    await waitUntil(
      `nothing on ${proto} ${ip}:${port}`,
      async () => Object.keys((await from(proto, ip, port, 3)).replies),
      (got) => got.length === 0,
    );
  }

  function service(name: string, app: string, ports: V1ServicePort[], extra: Partial<V1Service['spec']> = {}) {
    return core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name, namespace: NS }, spec: { selector: { app }, ports, ...extra } },
    });
  }
  const tcpPort = (port: number, targetPort: number | string, name = 'tcp'): V1ServicePort => ({
    name,
    protocol: 'TCP',
    port,
    targetPort: targetPort as never,
  });

  /** `n` pods labelled `app`, spread over both nodes, serving `serve`; their names. */
  async function servePods(app: string, n: number, serve: string[]): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${app}-${i}`);
    await Promise.all(
      names.map((name, i) => sb.kubelet.createPod({ name, namespace: NS, node: nodes[i % 2], labels: { app }, serve })),
    );
    return names;
  }
  const deletePods = (names: string[]) => Promise.all(names.map((n) => sb.kubelet.deletePod(NS, n)));

  beforeAll(async () => {
    sb = await Sandbox.up({ dir, example: null, nodes });
    core = sb.kubelet.kubeConfig.makeApiClient(CoreV1Api);
    await createNamespace(sb.kubelet.kubeConfig, NS);
    nodeIPs = await Promise.all(
      nodes.map(
        async (name) =>
          (await core.readNode({ name })).status!.addresses!.find((a) => a.type === 'InternalIP')!.address,
      ),
    );
    // Exec pods on both nodes (upstream's execpod and pause pods).
    await Promise.all(nodes.map((node) => sb.kubelet.createPod({ name: `exec-${node}`, namespace: NS, node })));
  });

  afterAll(async () => {
    if (figures.length) console.log(`service-lifecycle figures:\n  ${figures.join('\n  ')}`);
    await sb?.down().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('should be updated after adding or deleting ports', async () => {
    // Named target ports, as upstream: each pod is an endpoint of the one port its container names.
    await service('edit-port', 'edit-port', [tcpPort(80, 'svc1', 'portname1')]);
    const ip = (await readService('edit-port')).spec!.clusterIP!;
    await sb.kubelet.createPod({
      name: 'edit-port-1',
      namespace: NS,
      labels: { app: 'edit-port' },
      serve: ['tcp:100'],
      portNames: { 'tcp:100': 'svc1' },
    });
    await reachesAll(pod('exec-node-2'), 'tcp', ip, 80, ['edit-port-1']);
    // A second port, and a pod that names it.
    await patchService('edit-port', {
      spec: { ports: [tcpPort(80, 'svc1', 'portname1'), tcpPort(81, 'svc2', 'portname2')] },
    });
    await sb.kubelet.createPod({
      name: 'edit-port-2',
      namespace: NS,
      node: 'node-2',
      labels: { app: 'edit-port' },
      serve: ['tcp:101'],
      portNames: { 'tcp:101': 'svc2' },
    });
    await reachesAll(pod('exec-node-2'), 'tcp', ip, 81, ['edit-port-2']);
    await reachesAll(pod('exec-node-2'), 'tcp', ip, 80, ['edit-port-1']);
    // The port deleted again: 80 still reaches its pod only, 81 answers no more.
    await patchService('edit-port', { spec: { ports: [tcpPort(80, 'svc1', 'portname1')] } });
    await answersNothing(pod('exec-node-2'), 'tcp', ip, 81);
    await reachesAll(pod('exec-node-2'), 'tcp', ip, 80, ['edit-port-1']);
    await core.deleteNamespacedService({ namespace: NS, name: 'edit-port' });
    await deletePods(['edit-port-1', 'edit-port-2']);
  });

  it('should preserve source pod IP for traffic thru service cluster IP', async () => {
    // The server answers `<name> <client address as it sees it>`; clients on its node and on the other one.
    await sb.kubelet.createPod({ name: 'echo-sourceip', namespace: NS, node: 'node-1', labels: { app: 'sourceip' } });
    const server = await TcpServer.start((await sb.kubelet.pod(NS, 'echo-sourceip')).netns, 8080, 'echo-sourceip', dir);
    try {
      await service('sourceip-test', 'sourceip', [tcpPort(8080, 8080)]);
      const ip = (await readService('sourceip-test')).spec!.clusterIP!;
      for (const node of nodes) {
        const client = await sb.kubelet.pod(NS, `exec-${node}`);
        const seen = await waitUntil(
          `the echo server from ${node}`,
          () => tcpRequest(client.netns, ip, 8080, 2_000).catch((e: Error) => `error ${e.message}`),
          (r) => r.startsWith('echo-sourceip '),
        );
        expect(seen).toBe(`echo-sourceip ${client.ip}`);
      }
    } finally {
      await server.stop();
    }
    await core.deleteNamespacedService({ namespace: NS, name: 'sourceip-test' });
    await deletePods(['echo-sourceip']);
  });

  it('should be able to up and down services', async () => {
    const up = async (name: string) => {
      const pods = await servePods(name, 3, ['tcp:9376']);
      await service(name, name, [tcpPort(80, 9376)]);
      return { pods, ip: (await readService(name)).spec!.clusterIP! };
    };
    const verifyUp = async (s: { pods: string[]; ip: string }) => {
      await reachesAll(pod('exec-node-2'), 'tcp', s.ip, 80, s.pods);
      await reachesAll(fromHost, 'tcp', s.ip, 80, s.pods);
    };
    const [s1, s2] = [await up('up-down-1'), await up('up-down-2')];
    await verifyUp(s1);
    await verifyUp(s2);
    // Stopping service 1 (Service and pods, as upstream's StopServeHostnameService) leaves 2 alone.
    await core.deleteNamespacedService({ namespace: NS, name: 'up-down-1' });
    await deletePods(s1.pods);
    await answersNothing(pod('exec-node-2'), 'tcp', s1.ip, 80);
    await answersNothing(fromHost, 'tcp', s1.ip, 80);
    await verifyUp(s2);
    // A third one (possibly on service 1's old address): both up.
    const s3 = await up('up-down-3');
    expect(s3.ip).not.toBe(s2.ip);
    await verifyUp(s2);
    await verifyUp(s3);
    for (const [name, s] of [
      ['up-down-2', s2],
      ['up-down-3', s3],
    ] as const) {
      await core.deleteNamespacedService({ namespace: NS, name });
      await deletePods(s.pods);
    }
  });

  it('should work after restarting apiserver', async () => {
    const up = async (name: string) => {
      const pods = await servePods(name, 3, ['tcp:9376']);
      await service(name, name, [tcpPort(80, 9376)]);
      return { pods, ip: (await readService(name)).spec!.clusterIP! };
    };
    const s1 = await up('restart-apiserver-1');
    await reachesAll(pod('exec-node-2'), 'tcp', s1.ip, 80, s1.pods);
    const away = await sb.restartApiserver();
    figures.push(`kube-apiserver restarted: away ${away} ms`);
    await reachesAll(pod('exec-node-2'), 'tcp', s1.ip, 80, s1.pods);
    // A new Service after the restart: the controller's and the agents' watches came back by themselves.
    const t0 = Date.now();
    const s2 = await up('restart-apiserver-2');
    expect(s2.ip).not.toBe(s1.ip);
    await reachesAll(pod('exec-node-2'), 'tcp', s2.ip, 80, s2.pods);
    figures.push(`first Service after the restart served ${Date.now() - t0} ms after its create (3 pods included)`);
    await reachesAll(pod('exec-node-2'), 'tcp', s1.ip, 80, s1.pods);
    // Its NodePort too (the agents program those from their own watch).
    await patchService('restart-apiserver-2', { spec: { type: 'NodePort' } });
    const nodePort = (await readService('restart-apiserver-2')).spec!.ports![0].nodePort!;
    await reachesAll(pod('exec-node-1'), 'tcp', nodeIPs[1], nodePort, s2.pods);
    expect(sb.deadChildren()).toEqual([]);
    for (const [name, s] of [
      ['restart-apiserver-1', s1],
      ['restart-apiserver-2', s2],
    ] as const) {
      await core.deleteNamespacedService({ namespace: NS, name });
      await deletePods(s.pods);
    }
  });

  it('should be able to update service type to NodePort listening on same port number but different protocols', async () => {
    await service('nodeport-update-service', 'nodeport-update', [tcpPort(80, 9376)]);
    await patchService('nodeport-update-service', {
      spec: { type: 'NodePort', ports: [tcpPort(80, 9376, 'tcp-port')] },
    });
    const pods = await servePods('nodeport-update', 2, ['tcp:9376', 'udp:9376']);
    let svc = await readService('nodeport-update-service');
    const ip = svc.spec!.clusterIP!;
    const client = pod('exec-node-1');
    await reachesAll(client, 'tcp', ip, 80, pods);
    for (const nodeIP of nodeIPs) await reachesAll(client, 'tcp', nodeIP, svc.spec!.ports![0].nodePort!, pods);
    // TCP and UDP on the same port 80: two node ports, both protocols served on the ClusterIP and every node.
    svc = await patchService('nodeport-update-service', {
      spec: {
        ports: [tcpPort(80, 9376, 'tcp-port'), { name: 'udp-port', protocol: 'UDP', port: 80, targetPort: 9376 }],
      },
    });
    expect(svc.spec!.ports!.map((p) => [p.protocol, p.nodePort! > 0])).toEqual([
      ['TCP', true],
      ['UDP', true],
    ]);
    for (const p of svc.spec!.ports!) {
      const proto = p.protocol!.toLowerCase() as Proto;
      await reachesAll(client, proto, ip, 80, pods);
      for (const nodeIP of nodeIPs) await reachesAll(client, proto, nodeIP, p.nodePort!, pods);
    }
    await core.deleteNamespacedService({ namespace: NS, name: 'nodeport-update-service' });
    await deletePods(pods);
  });

  describe('changing the type to and from ExternalName', () => {
    // What a proxy owes an ExternalName Service is nothing: no VIP, no node port (the name is cluster DNS's job,
    // which the sandbox does not run). So these check that the ClusterIP / NodePort appear and disappear with the
    // type, with traffic to them.
    let pods: string[] = [];
    beforeAll(async () => {
      pods = await servePods('externalname', 2, ['tcp:9376']);
    });
    afterAll(async () => {
      await deletePods(pods);
    });
    const externalName = (name: string) =>
      core.createNamespacedService({
        namespace: NS,
        body: {
          metadata: { name, namespace: NS },
          spec: { type: 'ExternalName', externalName: 'foo.example.com', selector: { app: 'externalname' } },
        },
      });
    const toExternalName = (name: string) =>
      patchService(name, { spec: { type: 'ExternalName', externalName: 'externalsvc.example.com' } });

    it('should be able to change the type from ExternalName to ClusterIP', async () => {
      expect((await externalName('externalname-to-clusterip')).spec!.clusterIP).toBeUndefined();
      const svc = await patchService('externalname-to-clusterip', {
        spec: { type: 'ClusterIP', externalName: null, ports: [tcpPort(80, 9376, 'http')] },
      });
      expect(svc.spec!.clusterIP).toMatch(/^10\.96\./);
      await reachesAll(pod('exec-node-1'), 'tcp', svc.spec!.clusterIP!, 80, pods);
      await core.deleteNamespacedService({ namespace: NS, name: 'externalname-to-clusterip' });
    });

    it('should be able to change the type from ExternalName to NodePort', async () => {
      await externalName('externalname-to-nodeport');
      const svc = await patchService('externalname-to-nodeport', {
        spec: { type: 'NodePort', externalName: null, ports: [tcpPort(80, 9376, 'http')] },
      });
      const nodePort = svc.spec!.ports![0].nodePort!;
      await reachesAll(pod('exec-node-1'), 'tcp', svc.spec!.clusterIP!, 80, pods);
      for (const nodeIP of nodeIPs) await reachesAll(pod('exec-node-1'), 'tcp', nodeIP, nodePort, pods);
      await core.deleteNamespacedService({ namespace: NS, name: 'externalname-to-nodeport' });
    });

    it('should be able to change the type from ClusterIP to ExternalName', async () => {
      const ip = (await service('clusterip-service', 'externalname', [tcpPort(80, 9376)])).spec!.clusterIP!;
      await reachesAll(pod('exec-node-1'), 'tcp', ip, 80, pods);
      const svc = await toExternalName('clusterip-service');
      expect(svc.spec!.clusterIP ?? '').toBe('');
      // Its old ClusterIP answers no more.
      await answersNothing(pod('exec-node-1'), 'tcp', ip, 80);
      await core.deleteNamespacedService({ namespace: NS, name: 'clusterip-service' });
    });

    it('should be able to change the type from NodePort to ExternalName', async () => {
      const created = await service('nodeport-service', 'externalname', [tcpPort(80, 9376)], { type: 'NodePort' });
      const [ip, nodePort] = [created.spec!.clusterIP!, created.spec!.ports![0].nodePort!];
      await reachesAll(pod('exec-node-1'), 'tcp', nodeIPs[0], nodePort, pods);
      const svc = await toExternalName('nodeport-service');
      expect(svc.spec!.clusterIP ?? '').toBe('');
      expect(svc.spec!.ports?.[0]?.nodePort).toBeUndefined();
      // Neither the ClusterIP nor the released node port answers, on any node.
      await answersNothing(pod('exec-node-1'), 'tcp', ip, 80);
      for (const nodeIP of nodeIPs) await answersNothing(pod('exec-node-1'), 'tcp', nodeIP, nodePort);
      await core.deleteNamespacedService({ namespace: NS, name: 'nodeport-service' });
    });
  });

  it('should serve endpoints on same port and different protocol for internal traffic on Type LoadBalancer', async () => {
    // No EIP pool here: the LoadBalancer gets its ClusterIP and node ports only (upstream waits for the
    // ClusterIP only too); internal traffic reaches the pod on both protocols of port 80.
    const svc = await service(
      'multiprotocol-lb-test',
      'multiprotocol',
      [
        { name: 'portname1', protocol: 'TCP', port: 80, targetPort: 'svc1' as never },
        { name: 'portname2', protocol: 'UDP', port: 80, targetPort: 'svc2' as never },
      ],
      { type: 'LoadBalancer' },
    );
    await sb.kubelet.createPod({
      name: 'multiprotocol-1',
      namespace: NS,
      labels: { app: 'multiprotocol' },
      serve: ['tcp:100', 'udp:100'],
      portNames: { 'tcp:100': 'svc1', 'udp:100': 'svc2' },
    });
    const client = pod('exec-node-2');
    for (const p of svc.spec!.ports!) {
      const proto = p.protocol!.toLowerCase() as Proto;
      await reachesAll(client, proto, svc.spec!.clusterIP!, 80, ['multiprotocol-1']);
      for (const nodeIP of nodeIPs) await reachesAll(client, proto, nodeIP, p.nodePort!, ['multiprotocol-1']);
    }
    await core.deleteNamespacedService({ namespace: NS, name: 'multiprotocol-lb-test' });
    await deletePods(['multiprotocol-1']);
  });
});
