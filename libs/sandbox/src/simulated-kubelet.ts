import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, V1Pod } from '@kubernetes/client-node';
import { setPodStatus } from '@ycloud/testbed';
import { isAlive, netnsAdd, netnsDel, run, RunResult, sleep, waitFor } from '@ycloud/testbed';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { SandboxNodeState, SandboxState, SimulatedPodRecord, writeJsonAtomic } from './sandbox-state';

/** What a simulated pod serves: `tcp:PORT`, `http:PORT` or `udp:PORT`. */
export type ServeSpec = `${'tcp' | 'http' | 'udp'}:${number}`;

export interface CreatePodOptions {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  /** Node to run on; default the first node. */
  node?: string;
  /** Servers answering with the pod name. */
  serve?: string[];
  /** Report the pod Ready (default true). */
  ready?: boolean;
  /** Names for the container ports of `serve` entries (a Service's named targetPort), e.g. `{ 'tcp:100': 'svc1' }`. */
  portNames?: Record<string, string>;
}

const POD_SERVER = path.join(__dirname, 'pod-server.js');
/** Traffic generator for tests: `node pod-client.js tcp|http|udp HOST PORT COUNT [TIMEOUT_MS]` prints a JSON summary. */
export const POD_CLIENT = path.join(__dirname, 'pod-client.js');

/** What pod-client.js prints: replies per backend name and failed attempts with their error code and duration. */
export interface TrafficSummary {
  replies: Record<string, number>;
  /** Failed attempts: error code (ECONNREFUSED, TIMEOUT, …), how long it took, and which attempt (0-based). */
  errors: { code: string; ms: number; attempt: number }[];
}
const CNI_TIMEOUT_MS = 90_000;

/** Parses and checks one `--serve` value. */
export function parseServe(spec: string): { proto: 'tcp' | 'http' | 'udp'; port: number } {
  const m = /^(tcp|http|udp):(\d{1,5})$/.exec(spec);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) throw new Error(`--serve ${spec}: expected tcp:PORT, http:PORT or udp:PORT`);
  return { proto: m[1] as 'tcp' | 'http' | 'udp', port };
}

/**
 * The kubelet's part of the sandbox, for simulated pods: a Pod object bound to a node, a network namespace
 * plugged by the real CNI plugin (the shim, called exactly as a container runtime calls it, talking to the
 * node agent), small servers inside that answer with the pod name, and the Pod status (IP, Ready) written
 * through pods/status so the real EndpointSlice controller picks the pod up. State lives in `<dir>/pods/`, so
 * separate CLI invocations share it.
 */
export class SimulatedKubelet {
  readonly kubeConfig: KubeConfig;
  private readonly core: CoreV1Api;

  constructor(readonly state: SandboxState) {
    this.kubeConfig = new KubeConfig();
    this.kubeConfig.loadFromFile(state.kubeconfig);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
  }

  private get podsDir(): string {
    return path.join(this.state.dir, 'pods');
  }

  private recordPath(namespace: string, name: string): string {
    return path.join(this.podsDir, `${namespace}.${name}.json`);
  }

  node(name?: string): SandboxNodeState {
    const n = name ? this.state.nodes.find((x) => x.name === name) : this.state.nodes[0];
    if (!n) throw new Error(`no node ${name} (have ${this.state.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  /** The record of a pod this kubelet runs; throws if there is none. */
  async pod(namespace: string, name: string): Promise<SimulatedPodRecord> {
    const text = await fs.readFile(this.recordPath(namespace, name), 'utf8').catch(() => undefined);
    if (!text) throw new Error(`no simulated pod ${namespace}/${name} (create it with: ycloud sandbox pod create)`);
    return JSON.parse(text) as SimulatedPodRecord;
  }

  async listPods(): Promise<SimulatedPodRecord[]> {
    const files = await fs.readdir(this.podsDir).catch(() => [] as string[]);
    const out: SimulatedPodRecord[] = [];
    for (const f of files.filter((x) => x.endsWith('.json'))) {
      const text = await fs.readFile(path.join(this.podsDir, f), 'utf8').catch(() => undefined);
      if (text) out.push(JSON.parse(text) as SimulatedPodRecord);
    }
    return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  }

  /** Creates and starts a pod; resolves once it is plugged, serving and reported Ready (unless ready=false). */
  async createPod(opts: CreatePodOptions): Promise<SimulatedPodRecord> {
    const node = this.node(opts.node);
    const serve = opts.serve ?? [];
    serve.forEach(parseServe);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(opts.name) || opts.name.length > 50) {
      throw new Error(`pod name ${JSON.stringify(opts.name)} must be a DNS label of at most 50 characters`);
    }
    await fs.mkdir(this.podsDir, { recursive: true });
    if (await fs.stat(this.recordPath(opts.namespace, opts.name)).catch(() => undefined)) {
      throw new Error(`pod ${opts.namespace}/${opts.name} already exists`);
    }
    const record: SimulatedPodRecord = {
      namespace: opts.namespace,
      name: opts.name,
      node: node.name,
      netns: `${this.state.netnsPrefix}pod-${opts.namespace}-${opts.name}`,
      containerId: randomBytes(16).toString('hex'),
      ip: '',
      servers: null,
    };
    const ports = serve.map((s) => {
      const { proto, port } = parseServe(s);
      const name = opts.portNames?.[s];
      return { containerPort: port, protocol: proto === 'udp' ? 'UDP' : 'TCP', ...(name ? { name } : {}) };
    });
    await this.core.createNamespacedPod({
      namespace: opts.namespace,
      body: {
        metadata: { name: opts.name, namespace: opts.namespace, labels: opts.labels ?? {} },
        spec: {
          nodeName: node.name,
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'app', image: 'ycloud.io/sandbox-pod', ports }],
        },
      },
    });
    let netnsMade = false;
    try {
      await netnsAdd(record.netns);
      netnsMade = true;
      const result = await this.cni('ADD', record, node);
      const ips = ((result.ips as Array<{ address: string }> | undefined) ?? []).map((x) => x.address.split('/')[0]);
      if (!ips.length) {
        throw new Error(`CNI ADD for ${opts.namespace}/${opts.name} returned no IP: ${JSON.stringify(result)}`);
      }
      record.ip = ips[0];
      if (ips.length > 1) record.ips = ips;
      await writeJsonAtomic(this.recordPath(opts.namespace, opts.name), record);
      if (serve.length) {
        record.servers = await this.startServers(record, serve);
        await writeJsonAtomic(this.recordPath(opts.namespace, opts.name), record);
      }
      await this.reportStatus(record, opts.ready ?? true);
      return record;
    } catch (err) {
      await this.teardown(record, node, netnsMade).catch(() => undefined);
      throw err;
    }
  }

  /** Stops the pod's servers, CNI DEL, deletes the Pod object and the namespace. */
  async deletePod(namespace: string, name: string): Promise<void> {
    const record = await this.pod(namespace, name);
    await this.teardown(record, this.node(record.node), true);
  }

  /** Reports the pod Ready or not (as a failing readiness probe would); the EndpointSlice follows. */
  async setReady(namespace: string, name: string, ready: boolean): Promise<V1Pod> {
    return this.reportStatus(await this.pod(namespace, name), ready);
  }

  /** Pod IP and Ready conditions (what the EndpointSlice controller reads), then the container status kubectl shows. */
  private async reportStatus(record: SimulatedPodRecord, ready: boolean): Promise<V1Pod> {
    await setPodStatus(this.kubeConfig, record.namespace, record.name, { podIP: record.ip, podIPs: record.ips, ready });
    const container = {
      name: 'app',
      image: 'ycloud.io/sandbox-pod',
      imageID: '',
      containerID: `sandbox://${record.containerId}`,
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: new Date() } },
    };
    return this.core.patchNamespacedPodStatus(
      { namespace: record.namespace, name: record.name, body: { status: { containerStatuses: [container] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Runs a command in the pod's network namespace (bounded; output captured). */
  async exec(namespace: string, name: string, cmd: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    const record = await this.pod(namespace, name);
    return run('ip', ['netns', 'exec', record.netns, ...cmd], { allowFailure: true, timeoutMs });
  }

  /** Sends `count` requests (each on a new connection / socket) from a pod to host:port with pod-client.js. */
  async traffic(
    from: { namespace: string; name: string },
    proto: 'tcp' | 'http' | 'udp',
    host: string,
    port: number,
    count: number,
    timeoutMs = 2_000,
  ): Promise<TrafficSummary> {
    const args = [process.execPath, POD_CLIENT, proto, host, String(port), String(count), String(timeoutMs)];
    const r = await this.exec(from.namespace, from.name, args, count * timeoutMs + 30_000);
    if (r.code !== 0) throw new Error(`pod-client in ${from.namespace}/${from.name} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as TrafficSummary;
  }

  /** Deletes every pod this kubelet runs (sandbox teardown); keeps going after errors. */
  async deleteAll(): Promise<string[]> {
    const errors: string[] = [];
    for (const p of await this.listPods()) {
      await this.teardown(p, this.node(p.node), true).catch((e: unknown) => errors.push(String(e)));
    }
    return errors;
  }

  private async teardown(record: SimulatedPodRecord, node: SandboxNodeState, netnsMade: boolean): Promise<void> {
    const errors: string[] = [];
    if (record.servers) await stopProcess(record.servers.pid);
    if (netnsMade) {
      await this.cni('DEL', record, node).catch((e: unknown) => errors.push(`CNI DEL: ${String(e)}`));
      // Anything else still running in the namespace would keep it alive after `ip netns del`.
      const pids = (await run('ip', ['netns', 'pids', record.netns], { allowFailure: true })).stdout;
      for (const pid of pids.split('\n').filter(Boolean).map(Number)) await stopProcess(pid);
      await netnsDel(record.netns).catch((e: unknown) => errors.push(String(e)));
    }
    await this.core
      .deleteNamespacedPod({ namespace: record.namespace, name: record.name, gracePeriodSeconds: 0 })
      .catch((e: unknown) => {
        if ((e as { code?: number }).code !== 404) errors.push(`delete Pod: ${String(e)}`);
      });
    await fs.rm(this.recordPath(record.namespace, record.name), { force: true });
    if (errors.length) throw new Error(`deleting pod ${record.namespace}/${record.name}: ${errors.join('; ')}`);
  }

  /** Calls the CNI plugin as a container runtime does: CNI_* environment, the plugin's config on stdin. */
  private async cni(command: 'ADD' | 'DEL', record: SimulatedPodRecord, node: SandboxNodeState) {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      CNI_COMMAND: command,
      CNI_CONTAINERID: record.containerId,
      CNI_NETNS: `/var/run/netns/${record.netns}`,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${record.namespace};K8S_POD_NAME=${record.name};K8S_POD_INFRA_CONTAINER_ID=${record.containerId}`,
      CNI_PATH: this.state.cni.binDir,
      // The node's agent socket (on a real node the shim's default path).
      YCLOUD_CNI_SOCKET: node.cniSocket,
    };
    const plugin = path.join(this.state.cni.binDir, String(this.state.cni.pluginConf.type));
    const r = await run(plugin, [], {
      env,
      input: JSON.stringify(this.state.cni.pluginConf),
      allowFailure: true,
      timeoutMs: CNI_TIMEOUT_MS,
    });
    if (r.code !== 0) {
      throw new Error(
        `CNI ${command} ${record.namespace}/${record.name} failed (exit ${r.code}): ${r.stdout || r.stderr}`,
      );
    }
    return (r.stdout.trim() ? JSON.parse(r.stdout) : {}) as Record<string, unknown>;
  }

  /** Starts pod-server.js inside the namespace, detached (it outlives a CLI invocation), and waits for it. */
  private async startServers(record: SimulatedPodRecord, serve: string[]): Promise<SimulatedPodRecord['servers']> {
    const logDir = path.join(this.state.dir, 'logs', 'pods');
    await fs.mkdir(logDir, { recursive: true });
    const log = path.join(logDir, `${record.namespace}.${record.name}.log`);
    await fs.writeFile(log, '');
    const fd = openSync(log, 'a');
    let pid: number;
    try {
      const args = ['netns', 'exec', record.netns, process.execPath, POD_SERVER, '--name', record.name];
      args.push('--netns', record.netns, ...serve.flatMap((s) => ['--serve', s]));
      const child = spawn('ip', args, { detached: true, stdio: ['ignore', fd, fd] });
      child.unref();
      pid = child.pid ?? -1;
    } finally {
      closeSync(fd);
    }
    await waitFor(
      `servers ${serve.join(', ')} of pod ${record.namespace}/${record.name} (log ${log})`,
      async () => {
        const text = await fs.readFile(log, 'utf8');
        if (!isAlive(pid)) throw new Error(`pod server exited: ${text.trim()}`);
        return text.split('\n').filter((l) => l.startsWith('listening ')).length >= serve.length;
      },
      { timeoutMs: 15_000 },
    );
    return { serve, pid, log };
  }
}

/** SIGTERM, then SIGKILL after 2 s; resolves once the process is gone. */
export async function stopProcess(pid: number, graceMs = 2_000): Promise<void> {
  if (pid <= 0 || !isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
  }
}
