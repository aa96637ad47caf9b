/**
 * `ycloud bench datapath --kubeconfig …`: the same measurements on a real cluster. The benchmark pods are
 * pinned to chosen nodes (nodeName), run an image that has iperf3, sockperf, apache2-utils and nginx-light
 * (Debian's packages), and double as node-level CPU samplers (/proc/stat is the node's). The Service is the
 * same ClusterIP + NodePort as on the test bed. Whatever proxies Services on the cluster (ycloud with its
 * agent in none / smartnic / dpu mode, or kube-proxy) is what gets measured: the run records which.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubeConfig, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { serverSideApply } from '@ycloud/testbed';
import {
  DATAPATH_PORTS,
  measurePath,
  type DatapathFigures,
  type DatapathTestOptions,
  type Exec,
} from './datapath-tools';
import { BENCH_NODE_PORTS, benchService } from './datapath-testbed';

const run = promisify(execFile);

export interface ClusterBenchOptions {
  namespace?: string;
  /** Image with iperf3, sockperf, ab (apache2-utils), nginx, sh and nc (e.g. built FROM debian:bookworm). */
  image: string;
  /** Node of the server pod and of the same-node client; node of the cross-node client. */
  serverNode: string;
  otherNode: string;
}

export const CLUSTER_BENCH_NAMESPACE = 'ycloud-bench';
const LABEL = 'app.kubernetes.io/name';

/** The server's start script: the three servers in the background, then wait. */
export const SERVER_SCRIPT = [
  'mkdir -p /tmp/bench',
  `printf 'worker_processes 1; pid /tmp/bench/nginx.pid; error_log /tmp/bench/error.log; events { worker_connections 4096; } http { access_log off; server { listen ${DATAPATH_PORTS.http} reuseport backlog=4096; location / { return 200 "ok\\\\n"; } } }' > /tmp/bench/nginx.conf`,
  'nginx -c /tmp/bench/nginx.conf -p /tmp/bench',
  `sockperf server --tcp -i 0.0.0.0 -p ${DATAPATH_PORTS.sockperf} &`,
  `exec iperf3 -s -p ${DATAPATH_PORTS.iperf}`,
].join('\n');

function pod(
  name: string,
  o: ClusterBenchOptions,
  node: string,
  role: string,
  script: string,
  hostNetwork = false,
): V1Pod & KubernetesObject {
  const ns = o.namespace ?? CLUSTER_BENCH_NAMESPACE;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { [LABEL]: 'ycloud-bench', 'ycloud.io/bench-role': role } },
    spec: {
      nodeName: node,
      ...(hostNetwork ? { hostNetwork: true } : {}),
      restartPolicy: 'Never',
      // The benchmark needs no API access.
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: 'bench',
          image: o.image,
          command: ['sh', '-c', script],
          ports:
            role === 'server'
              ? [
                  { name: 'iperf-tcp', containerPort: DATAPATH_PORTS.iperf, protocol: 'TCP' },
                  { name: 'iperf-udp', containerPort: DATAPATH_PORTS.iperf, protocol: 'UDP' },
                  { name: 'sockperf', containerPort: DATAPATH_PORTS.sockperf, protocol: 'TCP' },
                  { name: 'http', containerPort: DATAPATH_PORTS.http, protocol: 'TCP' },
                ]
              : undefined,
          resources: { requests: { cpu: '100m', memory: '64Mi' } },
        },
      ],
    },
  };
}

/** Every object the cluster mode creates, in apply order (the Namespace first). */
export function renderClusterBench(o: ClusterBenchOptions): KubernetesObject[] {
  const ns = o.namespace ?? CLUSTER_BENCH_NAMESPACE;
  const svc = benchService({ 'ycloud.io/bench-role': 'server' });
  svc.metadata!.namespace = ns;
  const idle = 'exec sleep 2147483647';
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { [LABEL]: 'ycloud-bench' } } },
    svc,
    pod('bench-server', o, o.serverNode, 'server', SERVER_SCRIPT),
    pod('bench-client-same', o, o.serverNode, 'client', idle),
    pod('bench-client-other', o, o.otherNode, 'client', idle),
    // node -> ClusterIP: a client in the node's own network namespace.
    pod('bench-client-host', o, o.otherNode, 'client', idle, true),
  ];
}

/** `kubectl exec` into a benchmark pod, as an Exec. */
export function kubectlExec(kubectl: string, kubeconfig: string, namespace: string, podName: string): Exec {
  return async (cmd, timeoutMs = 120_000) =>
    (
      await run(kubectl, ['--kubeconfig', kubeconfig, '-n', namespace, 'exec', podName, '--', ...cmd], {
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
      })
    ).stdout;
}

export interface ClusterRunOptions extends ClusterBenchOptions {
  kubeconfig: string;
  kubectl: string;
  /** What proxies Services on this cluster, recorded with the figures (e.g. "ycloud agent=dpu", "kube-proxy nftables"). */
  system: string;
  /** Node address the outside client (this machine) uses for NodePort. */
  nodeAddress: string;
  log: (line: string) => void;
  tests?: DatapathTestOptions;
}

/**
 * Applies the manifests, waits for the pods, measures every path (outside = this machine, with the same tools
 * installed here) and deletes the namespace. CPU is the sum of both chosen nodes' /proc/stat.
 */
export async function runClusterDatapath(o: ClusterRunOptions): Promise<ClusterPathResult[]> {
  const ns = o.namespace ?? CLUSTER_BENCH_NAMESPACE;
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const k = (...a: string[]) => run(o.kubectl, ['--kubeconfig', o.kubeconfig, ...a], { timeout: 600_000 });
  const objects = renderClusterBench(o);
  try {
    const results = await serverSideApply(
      kc,
      objects.map((object) => ({ file: 'rendered', object: object as KubernetesObject & Record<string, unknown> })),
      {
        fieldManager: 'ycloud-bench',
      },
    );
    const failed = results.filter((r) => r.error);
    if (failed.length) throw new Error(`apply failed: ${failed.map((f) => `${f.ref}: ${f.error}`).join('; ')}`);
    await k('-n', ns, 'wait', '--for=condition=Ready', 'pod', '-l', `${LABEL}=ycloud-bench`, '--timeout=300s');
    const svc = JSON.parse((await k('-n', ns, 'get', 'service', 'dp', '-o', 'json')).stdout) as {
      spec: { clusterIP: string };
    };
    const vip = svc.spec.clusterIP;
    const ex = (p: string): Exec => kubectlExec(o.kubectl, o.kubeconfig, ns, p);
    const cpu = async (): Promise<string> => {
      const [a, b] = await Promise.all([
        ex('bench-server')(['cat', '/proc/stat']),
        ex('bench-client-other')(['cat', '/proc/stat']),
      ]);
      return sumProcStat(a, b);
    };
    const local: Exec = async (cmd, timeoutMs = 120_000) =>
      (await run(cmd[0], cmd.slice(1), { timeout: timeoutMs, maxBuffer: 64 << 20 })).stdout;
    const clusterPorts: { iperf: number; sockperf: number; http: number } = {
      iperf: DATAPATH_PORTS.iperf,
      sockperf: DATAPATH_PORTS.sockperf,
      http: 80,
    };
    const paths: Array<[string, Exec, string, typeof clusterPorts]> = [
      ['pod-clusterip-same-node', ex('bench-client-same'), vip, clusterPorts],
      ['pod-clusterip-cross-node', ex('bench-client-other'), vip, clusterPorts],
      ['node-clusterip', ex('bench-client-host'), vip, clusterPorts],
      ['nodeport-external', local, o.nodeAddress, BENCH_NODE_PORTS],
    ];
    const out: ClusterPathResult[] = [];
    for (const [name, client, host, ports] of paths) {
      o.log(`${o.system}: ${name} -> ${host}`);
      out.push({
        system: o.system,
        path: name,
        target: host,
        figures: await measurePath(client, host, ports, cpu, o.tests),
      });
    }
    return out;
  } finally {
    await k('delete', 'namespace', ns, '--wait=false').catch(() => undefined);
  }
}

export interface ClusterPathResult {
  system: string;
  path: string;
  target: string;
  figures: DatapathFigures;
}

/** Two nodes' /proc/stat first lines added field by field (so busyCores counts both). */
export function sumProcStat(a: string, b: string): string {
  const f = (t: string) => t.split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const x = f(a);
  const y = f(b);
  return `cpu ${x.map((v, i) => v + (y[i] ?? 0)).join(' ')}\n`;
}
