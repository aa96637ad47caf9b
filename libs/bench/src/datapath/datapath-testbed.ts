/**
 * `ycloud bench datapath` on this machine: pods are network namespaces. ycloud runs as the sandbox (real
 * apiserver, controller, node agents, OVN with OVS's userspace datapath, two nodes); kube-proxy runs on a plain
 * routed pod network (veth pairs into two node namespaces, /32 routes, node-to-node routes over a veth link),
 * one kube-proxy per node namespace. The same servers, clients and tools run on both; all traffic stays
 * between namespaces this benchmark creates.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import { API_VERSION } from '@ycloud/api';
import { TOPOLOGY_RESOURCES, YUSUR_RESOURCES } from '@ycloud/controllers';
import { KubeClient, type KubeObject } from '@ycloud/k8s';
import { Sandbox } from '@ycloud/sandbox';
import {
  KubeControlPlane,
  createNamespace,
  createNode,
  ipIn,
  makeRunDir,
  runIdOf,
  netnsAdd,
  netnsDel,
  netnsExec,
  OvnRelease,
  startKubeProxy,
  waitFor,
  waitForCondition,
  type KubeProxy,
  type KubeProxyMode,
} from '@ycloud/testbed';
import { load1 } from '../environment';
import {
  BENCH_EIP_POOL,
  KUBE_PROXY_LB_ADDRESS,
  SGW_NAMESPACE_LABEL,
  SGW_POD_LABEL,
  SGW_VPCS,
  benchEipPool,
  benchLoadBalancerService,
  serviceGatewayTopology,
  serviceGatewayYusurService,
} from './datapath-eip';
import {
  DATAPATH_PORTS,
  measurePath,
  startServers,
  stopServers,
  type DatapathFigures,
  type DatapathTestOptions,
  type Exec,
} from './datapath-tools';

export type DatapathSystem = 'ycloud' | KubeProxyMode;
export type DatapathPath =
  | 'pod-clusterip-same-node'
  | 'pod-clusterip-cross-node'
  | 'node-clusterip'
  | 'nodeport-external'
  | 'eip-external'
  | 'eip-service-gateway';
export const DATAPATH_PATHS: readonly DatapathPath[] = [
  'pod-clusterip-same-node',
  'pod-clusterip-cross-node',
  'node-clusterip',
  'nodeport-external',
  'eip-external',
  'eip-service-gateway',
];

export interface PathResult {
  system: DatapathSystem;
  path: DatapathPath;
  target: string;
  load1: number;
  figures: DatapathFigures;
}

/** NodePorts of the benchmark Service (TCP and UDP iperf3 share one number). */
export const BENCH_NODE_PORTS = { iperf: 30201, sockperf: 31111, http: 30080 } as const;
const NS = 'ycloud-bench';

/** The benchmark Service: ClusterIP + NodePort for iperf3 (TCP and UDP), sockperf and HTTP. */
export function benchService(selector: Record<string, string> | undefined): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'dp', namespace: NS, labels: { 'app.kubernetes.io/name': 'ycloud-bench' } },
    spec: {
      type: 'NodePort',
      ...(selector ? { selector } : {}),
      ports: [
        {
          name: 'iperf-tcp',
          protocol: 'TCP',
          port: DATAPATH_PORTS.iperf,
          targetPort: DATAPATH_PORTS.iperf as never,
          nodePort: BENCH_NODE_PORTS.iperf,
        },
        {
          name: 'iperf-udp',
          protocol: 'UDP',
          port: DATAPATH_PORTS.iperf,
          targetPort: DATAPATH_PORTS.iperf as never,
          nodePort: BENCH_NODE_PORTS.iperf,
        },
        {
          name: 'sockperf',
          protocol: 'TCP',
          port: DATAPATH_PORTS.sockperf,
          targetPort: DATAPATH_PORTS.sockperf as never,
          nodePort: BENCH_NODE_PORTS.sockperf,
        },
        {
          name: 'http',
          protocol: 'TCP',
          port: 80,
          targetPort: DATAPATH_PORTS.http as never,
          nodePort: BENCH_NODE_PORTS.http,
        },
      ],
    },
  };
}

const netnsRunner =
  (netns: string): Exec =>
  async (cmd, timeoutMs = 60_000) =>
    (await netnsExec(netns, cmd, { timeoutMs })).stdout;

/** The whole machine's CPU: every simulated node shares it. */
const machineCpu = async (): Promise<string> => readFileSync('/proc/stat', 'utf8');

/** Waits until a TCP connection to host:port succeeds from `client`. */
async function reachable(client: Exec, host: string, port: number, what: string): Promise<void> {
  await waitFor(
    what,
    async () => {
      await client(['nc', '-z', '-w', '2', host, String(port)], 10_000);
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
}

async function measureAll(
  system: DatapathSystem,
  targets: Array<{ path: DatapathPath; client: Exec; host: string; nodePort: boolean }>,
  paths: readonly DatapathPath[],
  opts: DatapathTestOptions,
  log: (l: string) => void,
): Promise<PathResult[]> {
  const out: PathResult[] = [];
  for (const t of targets.filter((x) => paths.includes(x.path))) {
    const ports = t.nodePort
      ? BENCH_NODE_PORTS
      : { iperf: DATAPATH_PORTS.iperf, sockperf: DATAPATH_PORTS.sockperf, http: 80 };
    const load = load1();
    log(`${system}: ${t.path} -> ${t.host} (load ${load})`);
    try {
      await reachable(t.client, t.host, ports.http, `${system} ${t.path}: ${t.host}:${ports.http} reachable`);
      const figures = await measurePath(t.client, t.host, ports, machineCpu, opts);
      out.push({ system, path: t.path, target: `${t.host}`, load1: load, figures });
    } catch (err) {
      out.push({
        system,
        path: t.path,
        target: t.host,
        load1: load,
        figures: { errors: [(err as Error).message.split('\n')[0]] },
      });
    }
  }
  return out;
}

/** ycloud: the sandbox with two nodes; server on node-1, clients on node-1 and node-2, node-2 itself, outside. */
export async function runYcloudDatapath(
  paths: readonly DatapathPath[],
  opts: DatapathTestOptions,
  log: (l: string) => void,
): Promise<PathResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ycloud-dp-sandbox-'));
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ycloud-dp-server-'));
  let sb: Sandbox | undefined;
  /** Where the benchmark's servers run, and the directory of their pid files. */
  const servers: Array<{ exec: Exec; dir: string }> = [];
  let kube: KubeClient | undefined;
  try {
    log('ycloud: sandbox up (two nodes)');
    sb = await Sandbox.up({
      dir,
      example: null,
      nodes: ['node-1', 'node-2'],
      // LoadBalancer Services of the default VPC get their EIP from the benchmark's pool.
      controllerConfig: { eip: { defaultPool: BENCH_EIP_POOL } },
    });
    const kc = sb.kubelet.kubeConfig;
    await createNamespace(kc, NS);
    const core = kc.makeApiClient(CoreV1Api);
    const svc = await core.createNamespacedService({ namespace: NS, body: benchService({ app: 'dp-server' }) });
    const vip = svc.spec!.clusterIP!;
    const srv = await sb.kubelet.createPod({
      name: 'dp-server',
      namespace: NS,
      node: 'node-1',
      labels: { app: 'dp-server' },
    });
    const c1 = await sb.kubelet.createPod({ name: 'dp-client-1', namespace: NS, node: 'node-1' });
    const c2 = await sb.kubelet.createPod({ name: 'dp-client-2', namespace: NS, node: 'node-2' });
    servers.push({ exec: netnsRunner(srv.netns), dir: scratch });
    await startServers(servers[0].exec, scratch);
    const nodeIp = sb.state.external.ip ? '172.16.0.11' : sb.state.nodes[0].ip;
    const outside = netnsRunner(sb.state.external.netns);
    const targets: Array<{ path: DatapathPath; client: Exec; host: string; nodePort: boolean }> = [
      { path: 'pod-clusterip-same-node', client: netnsRunner(c1.netns), host: vip, nodePort: false },
      { path: 'pod-clusterip-cross-node', client: netnsRunner(c2.netns), host: vip, nodePort: false },
      { path: 'node-clusterip', client: netnsRunner(sb.state.nodes[1].netns), host: vip, nodePort: false },
      { path: 'nodeport-external', client: outside, host: nodeIp, nodePort: true },
    ];
    const wantEip = paths.includes('eip-external');
    const wantSgw = paths.includes('eip-service-gateway');
    if (wantEip || wantSgw) {
      kube = KubeClient.fromKubeconfigFile(sb.state.kubeconfig);
      await kube.create(TOPOLOGY_RESOURCES.EipPool, undefined, benchEipPool('node-1') as never);
      await waitForCondition(kube, TOPOLOGY_RESOURCES.EipPool, undefined, BENCH_EIP_POOL, 'Ready', 'True', 120_000);
    }
    if (wantEip) {
      log('ycloud: a LoadBalancer Service on an EIP of the default VPC');
      await core.createNamespacedService({ namespace: NS, body: benchLoadBalancerService(NS, { app: 'dp-server' }) });
      const eip = await loadBalancerAddress(kc, NS, 'dp-lb');
      targets.push({ path: 'eip-external', client: outside, host: eip, nodePort: false });
    }
    if (wantSgw) {
      log('ycloud: a YusurService on one EIP through a service-gateway, backends in two VPCs');
      const eip = await serviceGatewayUp(sb, kube!, scratch, servers);
      targets.push({ path: 'eip-service-gateway', client: outside, host: eip, nodePort: false });
    }
    return await measureAll('ycloud', targets, paths, opts, log);
  } finally {
    for (const x of servers) await stopServers(x.exec, x.dir).catch(() => undefined);
    kube?.close();
    await sb?.down().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The OVN / OVS release the test bed runs (`YCLOUD_OVN`), for the report's versions line. */
export async function testbedVersions(): Promise<{ ovnNorthd: string; ovsVswitchd: string }> {
  const r = await OvnRelease.resolve();
  return { ovnNorthd: `ovn-northd ${r.ovnVersion}`, ovsVswitchd: `ovs-vswitchd ${r.ovsVersion}` };
}

/** Waits for a LoadBalancer Service's first ingress address. */
async function loadBalancerAddress(kc: KubeConfig, namespace: string, name: string): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  return waitFor(
    `LoadBalancer address of ${namespace}/${name}`,
    async () =>
      (await core.readNamespacedServiceStatus({ namespace, name })).status?.loadBalancer?.ingress?.[0]?.ip || undefined,
    { timeoutMs: 120_000, intervalMs: 500 },
  );
}

/**
 * The service-gateway path: two VPCs (a namespace and subnet each), one server pod in each (first VPC on node-1,
 * second on node-2), the benchmark's servers started in both, and a YusurService publishing both on one EIP.
 * Resolves with the EIP once the YusurService is Ready.
 */
async function serviceGatewayUp(
  sb: Sandbox,
  kube: KubeClient,
  scratch: string,
  servers: Array<{ exec: Exec; dir: string }>,
): Promise<string> {
  const kc = sb.kubelet.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  for (const t of serviceGatewayTopology())
    await kube.create(TOPOLOGY_RESOURCES[t.kind], undefined, {
      apiVersion: API_VERSION,
      kind: t.kind,
      metadata: { name: t.name },
      spec: t.spec,
    } as never);
  for (const v of SGW_VPCS) {
    await waitForCondition(kube, TOPOLOGY_RESOURCES.Subnet, undefined, v.vpc, 'Ready', 'True', 120_000);
    await core.createNamespace({ body: { metadata: { name: v.namespace, labels: { ...SGW_NAMESPACE_LABEL } } } });
    await createNamespace(kc, v.namespace); // waits for its service account
    const pod = await sb.kubelet.createPod({
      name: 'dp-sgw-server',
      namespace: v.namespace,
      node: v.node,
      labels: { ...SGW_POD_LABEL },
    });
    const server = { exec: netnsRunner(pod.netns), dir: path.join(scratch, v.vpc) };
    servers.push(server);
    await startServers(server.exec, server.dir);
  }
  const ns = SGW_VPCS[0].namespace;
  await kube.create(YUSUR_RESOURCES.YusurService, ns, serviceGatewayYusurService() as never);
  await waitForCondition(kube, YUSUR_RESOURCES.YusurService, ns, 'dp-sgw', 'Ready', 'True', 120_000);
  const svc = await kube.get<KubeObject & { status?: { eips?: string[] } }>(YUSUR_RESOURCES.YusurService, ns, 'dp-sgw');
  const eip = svc.status?.eips?.[0];
  if (!eip) throw new Error('YusurService dp-sgw is Ready without an EIP');
  return eip;
}

/**
 * kube-proxy on a routed pod network: node-1 and node-2 namespaces joined by a veth (192.168.200.0/24), pods
 * on /32 routes behind veth pairs (proxy ARP on the node side, as Calico does), an outside namespace on
 * 172.16.1.0/24 towards node-1; one kube-proxy per node in `mode`; a hand-made EndpointSlice to the server.
 */
export async function runKubeProxyDatapath(
  mode: KubeProxyMode,
  paths: readonly DatapathPath[],
  opts: DatapathTestOptions,
  log: (l: string) => void,
): Promise<PathResult[]> {
  // A test-bed run directory with its owner file: namespaces `ycn-<id>-*` of a run whose directory is gone are
  // removed by other test runs' cleanupStale.
  const scratch = await makeRunDir();
  const id = runIdOf(scratch);
  const ns = (n: string): string => `ycn-${id}-${n}`;
  const made: string[] = [];
  const proxies: KubeProxy[] = [];
  let cp: KubeControlPlane | undefined;
  let server: Exec | undefined;
  try {
    log(`kube-proxy ${mode}: routed pod network, two nodes`);
    cp = await KubeControlPlane.start({ controllers: [], serviceClusterIpRange: '10.96.0.0/16' });
    for (const n of ['node-1', 'node-2', 'ext', 'server', 'client-1', 'client-2']) {
      await netnsAdd(ns(n));
      made.push(ns(n));
    }
    const sh = (n: string, script: string): Promise<unknown> => netnsExec(ns(n), ['sh', '-ec', script]);
    // node-1 <-> node-2
    await ipIn(ns('node-1'), 'link', 'add', 'ul', 'type', 'veth', 'peer', 'name', 'ul', 'netns', ns('node-2'));
    await sh(
      'node-1',
      'ip addr add 192.168.200.1/24 dev ul; ip link set ul up; ip link set lo up; sysctl -qw net.ipv4.ip_forward=1',
    );
    await sh(
      'node-2',
      'ip addr add 192.168.200.2/24 dev ul; ip link set ul up; ip link set lo up; sysctl -qw net.ipv4.ip_forward=1',
    );
    await sh('node-1', 'ip route add 10.244.2.0/24 via 192.168.200.2');
    await sh('node-2', 'ip route add 10.244.1.0/24 via 192.168.200.1');
    // A node's own connections to a ClusterIP need a route before kube-proxy's output DNAT (real nodes have a
    // default route): the Service CIDR towards the other node.
    await sh('node-1', 'ip route add 10.96.0.0/16 via 192.168.200.2');
    await sh('node-2', 'ip route add 10.96.0.0/16 via 192.168.200.1');
    // outside <-> node-1
    await ipIn(ns('node-1'), 'link', 'add', 'ext', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns('ext'));
    await sh('node-1', 'ip addr add 172.16.1.1/24 dev ext; ip link set ext up');
    await sh('ext', 'ip addr add 172.16.1.100/24 dev eth0; ip link set eth0 up; ip link set lo up');
    // pods
    const pod = async (name: string, node: string, ip: string): Promise<void> => {
      const host = `v${name.replace(/[^a-z0-9]/g, '').slice(0, 10)}`;
      await ipIn(ns(node), 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(name));
      await sh(
        node,
        `ip addr add 169.254.1.1/32 dev ${host}; ip link set ${host} up; ip route add ${ip}/32 dev ${host}`,
      );
      await sh(
        name,
        `ip link set lo up; ip addr add ${ip}/32 dev eth0; ip link set eth0 up; ip route add 169.254.1.1 dev eth0; ip route add default via 169.254.1.1`,
      );
    };
    await pod('server', 'node-1', '10.244.1.10');
    await pod('client-1', 'node-1', '10.244.1.11');
    await pod('client-2', 'node-2', '10.244.2.11');

    const kc = cp.kubeConfig;
    await createNode(kc, 'node-1', '192.168.200.1');
    await createNode(kc, 'node-2', '192.168.200.2');
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    const svc = await core.createNamespacedService({ namespace: NS, body: benchService(undefined) });
    const vip = svc.spec!.clusterIP!;
    const serverSlice = (service: string) =>
      kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
        namespace: NS,
        body: {
          metadata: { name: `${service}-1`, namespace: NS, labels: { 'kubernetes.io/service-name': service } },
          addressType: 'IPv4',
          ports: [
            { name: 'iperf-tcp', protocol: 'TCP', port: DATAPATH_PORTS.iperf },
            { name: 'iperf-udp', protocol: 'UDP', port: DATAPATH_PORTS.iperf },
            { name: 'sockperf', protocol: 'TCP', port: DATAPATH_PORTS.sockperf },
            { name: 'http', protocol: 'TCP', port: DATAPATH_PORTS.http },
          ],
          endpoints: [{ addresses: ['10.244.1.10'], conditions: { ready: true }, nodeName: 'node-1' }],
        },
      });
    await serverSlice('dp');
    const wantLb = paths.includes('eip-external');
    if (wantLb) {
      // kube-proxy's counterpart of an EIP: a LoadBalancer address a provider (BGP, ARP) has routed to node-1.
      const lb = await core.createNamespacedService({ namespace: NS, body: benchLoadBalancerService(NS) });
      await serverSlice('dp-lb');
      await core.replaceNamespacedServiceStatus({
        namespace: NS,
        name: 'dp-lb',
        body: { ...lb, status: { loadBalancer: { ingress: [{ ip: KUBE_PROXY_LB_ADDRESS, ipMode: 'VIP' }] } } },
      });
      await sh('ext', `ip route add ${KUBE_PROXY_LB_ADDRESS}/32 via 172.16.1.1`);
    }
    for (const node of ['node-1', 'node-2']) {
      proxies.push(
        await startKubeProxy({
          kubeconfig: cp.kubeconfigPath,
          mode,
          netns: ns(node),
          hostname: node,
          clusterCidr: '10.244.0.0/16',
          extraArgs: ['--nodeport-addresses=0.0.0.0/0'],
        }),
      );
    }
    server = netnsRunner(ns('server'));
    await startServers(server, scratch);
    return await measureAll(
      mode,
      [
        { path: 'pod-clusterip-same-node', client: netnsRunner(ns('client-1')), host: vip, nodePort: false },
        { path: 'pod-clusterip-cross-node', client: netnsRunner(ns('client-2')), host: vip, nodePort: false },
        { path: 'node-clusterip', client: netnsRunner(ns('node-2')), host: vip, nodePort: false },
        { path: 'nodeport-external', client: netnsRunner(ns('ext')), host: '172.16.1.1', nodePort: true },
        ...(wantLb
          ? [
              {
                path: 'eip-external' as const,
                client: netnsRunner(ns('ext')),
                host: KUBE_PROXY_LB_ADDRESS,
                nodePort: false,
              },
            ]
          : []),
      ],
      paths,
      opts,
      log,
    );
  } finally {
    if (server) await stopServers(server, scratch);
    for (const p of proxies) await p.stop().catch(() => undefined);
    for (const n of made.reverse()) await netnsDel(n).catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}
