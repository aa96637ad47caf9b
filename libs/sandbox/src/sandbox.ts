import { CoreV1Api, DiscoveryV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  cleanupStale,
  createNode,
  freePort,
  installCrds,
  ipIn,
  isAlive,
  isClean,
  KubeControlPlane,
  listLeaks,
  netnsExec,
  OvnRelease,
  OvnSeries,
  OvnTestbed,
  sleep,
  TESTBED_PREFIX,
  TestbedLeaks,
  waitFor,
} from '@ycloud/testbed';
import { DATAPATH_READY_CONDITION, EIP_GATEWAY_LABEL } from '@ycloud/api';
import { KubeClient } from '@ycloud/k8s';
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { applyKubeObjects, parseSandboxManifest } from './sandbox-manifest';
import {
  readState,
  repoRoot,
  sandboxDir,
  SandboxNodeState,
  SandboxState,
  SimulatedPodRecord,
  statePath,
  writeJsonAtomic,
} from './sandbox-state';
import { SimulatedKubelet, stopProcess } from './simulated-kubelet';
import { serviceSummaries, type ServiceSummary } from './service-summary';

export interface SandboxOptions {
  /** Sandbox directory (state.json, kubeconfig, logs); default `sandboxDir()`. */
  dir?: string;
  /** Node names; default ['node-1']. The first one is the gateway node. */
  nodes?: string[];
  /** Manifest applied once everything runs (default deploy/examples/hello.yaml); null for none. */
  example?: string | null;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** OVN / Open vSwitch release to run (default: the test bed options', `YCLOUD_OVN`). */
  ovn?: OvnSeries;
  /** More controller configuration (ControllerConfig keys), over the sandbox's own NB remote and Service CIDR. */
  controllerConfig?: Record<string, unknown>;
  /**
   * A dual-stack cluster (IPv4 first): the apiserver's Service CIDR pair, pod and join subnets with an IPv6 range
   * each, pods with both addresses, and the external network and the gateway node's external address with an
   * IPv6 address too (`SANDBOX_IPV6`). Default false (IPv4 only, as every other test expects).
   */
  dualStack?: boolean;
}

/** The IPv6 half of a dual-stack sandbox (`dualStack: true`). */
export const SANDBOX_IPV6 = {
  serviceCIDR: 'fd00:10:96::/112',
  podCIDR: 'fd00:10:16::/64',
  joinCIDR: 'fd00:100:64::/64',
  /** The external client's address. */
  externalIp: 'fd00:172:16::100/64',
  /** The gateway node's own address on the external network (br-ex), beside its IPv4 ExternalIP. */
  gatewayNodeExternalIp: 'fd00:172:16::11/64',
  /**
   * Node i's IPv6 InternalIP is `<prefix><i+1>` on the nodes' underlay, beside its IPv4 one (with two or more
   * nodes: one node has no underlay), as a kubelet with `--node-ip=<v4>,<v6>` reports it.
   */
  nodeInternalIpPrefix: 'fd00:192:168:100::',
} as const;

/** What `Sandbox.status()` reports. */
export interface SandboxStatus {
  running: boolean;
  state?: SandboxState;
  processes: { name: string; pid: number; alive: boolean }[];
  pods: SimulatedPodRecord[];
  services: ServiceSummary[];
  /** Each node's datapath as its agent reports it (the Node's YcloudDatapathReady condition). */
  nodes: { name: string; agentAlive: boolean; datapath?: NodeDatapathState }[];
}

/** A Node's YcloudDatapathReady condition; `daemons` is its message split into one state per daemon. */
export interface NodeDatapathState {
  status: string;
  reason: string;
  since: string;
  daemons: string[];
}

const SERVICE_CIDR = '10.96.0.0/16';
const POD_CIDR = '10.16.0.0/16';
const JOIN_CIDR = '100.64.0.0/16';
const EXTERNAL_IP = '172.16.0.100/24';
/** The gateway node's own address on the external network (its NIC in br-ex), reported as its ExternalIP. */
const GATEWAY_NODE_EXTERNAL_IP = '172.16.0.11/24';
const READY_TIMEOUT_MS = 90_000;

export const DEFAULT_EXAMPLE = path.join(repoRoot(), 'deploy/examples/hello.yaml');

/** A child process of the sandbox with its log file. */
interface Child {
  name: string;
  proc: ChildProcess;
  log: string;
}

/**
 * The one-machine sandbox: a private Kubernetes control plane, the OVN test bed (one simulated node by default),
 * the ycloud controller and one node agent per node as child processes, and a SimulatedKubelet for pods.
 * `up()` starts it all and writes `<dir>/state.json` and `<dir>/kubeconfig`; `down()` removes everything.
 */
export class Sandbox {
  private stopped = false;

  private constructor(
    readonly state: SandboxState,
    readonly kubelet: SimulatedKubelet,
    private readonly bed: OvnTestbed,
    private readonly controlPlane: KubeControlPlane,
    private readonly children: Child[],
    private readonly log: (line: string) => void,
  ) {}

  static async up(opts: SandboxOptions = {}): Promise<Sandbox> {
    const dir = path.resolve(opts.dir ?? sandboxDir());
    const log = opts.log ?? (() => undefined);
    const nodes = opts.nodes ?? ['node-1'];
    await fs.mkdir(dir, { recursive: true });
    const previous = await readState(dir);
    if (previous && isAlive(previous.pid)) {
      throw new Error(`a sandbox is already running (pid ${previous.pid}, ${statePath(dir)}); stop it first`);
    }
    const stale = await cleanupStale();
    if (stale.processes.length || stale.netns.length) {
      log(`removed leftovers of crashed runs: ${stale.netns.length} namespaces, ${stale.processes.length} processes`);
    }
    for (const f of ['state.json', 'kubeconfig', 'pods'])
      await fs.rm(path.join(dir, f), { recursive: true, force: true });
    const logDir = path.join(dir, 'logs');
    await fs.rm(logDir, { recursive: true, force: true });
    await fs.mkdir(logDir, { recursive: true });

    const release = await OvnRelease.resolve(opts.ovn);
    const addressing = sandboxAddressing(opts.dualStack ?? false);
    log(
      `starting the Kubernetes control plane and the OVN test bed (nodes: ${nodes.join(', ')}; ${release.description})`,
    );
    const [b, c] = await Promise.allSettled([
      OvnTestbed.start({ nodes, gatewayNodes: [nodes[0]], release, underlayIpv6Prefix: addressing.nodeIpv6Prefix }),
      KubeControlPlane.start({ serviceClusterIpRange: addressing.serviceCidrs.join(',') }),
    ]);
    const children: Child[] = [];
    const bed = b.status === 'fulfilled' ? b.value : undefined;
    const cp = c.status === 'fulfilled' ? c.value : undefined;
    const abort = async (err: unknown): Promise<never> => {
      for (const ch of children.reverse()) await stopChild(ch);
      await bed?.stop().catch(() => undefined);
      await cp?.stop().catch(() => undefined);
      await fs.rm(statePath(dir), { force: true });
      throw err;
    };
    if (!bed || !cp) return abort(b.status === 'rejected' ? b.reason : (c as PromiseRejectedResult).reason);

    try {
      log(`  kube-apiserver ${cp.server}, OVN NB ${bed.central.nbRemote}`);
      const kubeconfig = path.join(dir, 'kubeconfig');
      await fs.copyFile(cp.kubeconfigPath, kubeconfig);
      await fs.chmod(kubeconfig, 0o600);
      const gw = bed.node(nodes[0]);
      const external = await gw.attachExternalNetwork({ network: 'external', netns: 'external', ip: EXTERNAL_IP });
      // Like a real node whose NIC sits in br-ex: br-ex's LOCAL port carries the node's external address.
      await ipIn(gw.netns, 'addr', 'add', GATEWAY_NODE_EXTERNAL_IP, 'dev', 'br-ex');
      await ipIn(gw.netns, 'link', 'set', 'br-ex', 'up');
      if (opts.dualStack) await addExternalIpv6(external, gw.netns);
      const work = path.join(bed.dir, 'sandbox'); // configs here: the processes' command lines name the run dir
      await fs.mkdir(work, { recursive: true });

      const internalIPs = (name: string): string[] => {
        const node = bed.node(name);
        return [node.encapIp, ...(node.underlayIp6 ? [node.underlayIp6] : [])];
      };
      for (const name of nodes) {
        const labels: Record<string, string> = name === nodes[0] ? { [EIP_GATEWAY_LABEL]: 'true' } : {};
        await createNode(cp.kubeConfig, name, internalIPs(name), labels);
      }
      await setExternalIP(
        cp.kubeConfig.makeApiClient(CoreV1Api),
        nodes[0],
        internalIPs(nodes[0]),
        addressing.gatewayNodeIps,
      );

      // ycloud's CRDs before the controller: it starts the Vpc/EIP/YusurService controllers only for served ones.
      await installSandboxCrds(kubeconfig);

      const controllerConfig = path.join(work, 'controller.yaml');
      const { serviceCidrs, podCidrs } = addressing;
      await fs.writeFile(
        controllerConfig,
        toYaml({
          ...addressing.controllerSubnets,
          ...opts.controllerConfig,
          nbRemote: bed.central.nbRemote,
          serviceCIDRs: serviceCidrs,
        }),
      );
      const journal = path.join(dir, 'journal.sqlite');
      await fs.rm(journal, { force: true });
      const healthPort = await freePort();
      log('starting the ycloud controller');
      const controller = await startChild(children, 'controller', path.join(logDir, 'controller.log'), [
        path.join(repoRoot(), 'apps/controller/src/main.ts'),
        '--config',
        controllerConfig,
        '--kubeconfig',
        kubeconfig,
        '--no-leader-elect',
        '--bind-address',
        '127.0.0.1',
        '--health-port',
        String(healthPort),
        '--metrics-port',
        String(healthPort),
        '--journal',
        journal,
        // NetworkProbes run in the controller on the gateway node, whose OVS lives in that node's namespace.
        '--probe-node',
        nodes[0],
        '--ovs-db',
        gw.ovsRemote,
        '--ovs-netns',
        gw.netns,
      ]);
      await waitForHttp(controller, `http://127.0.0.1:${healthPort}/readyz`);

      const binDir = path.join(dir, 'cni', 'bin');
      await fs.rm(path.join(dir, 'cni'), { recursive: true, force: true });
      await fs.mkdir(binDir, { recursive: true });
      await fs.symlink(path.join(repoRoot(), 'apps/cni/src/shim/ycloud-cni.sh'), path.join(binDir, 'ycloud'));
      const pluginConf = { cniVersion: '1.1.0', name: 'ycloud', type: 'ycloud' };
      await fs.writeFile(
        path.join(dir, 'cni', '10-ycloud.conflist'),
        JSON.stringify({ cniVersion: '1.1.0', name: 'ycloud', plugins: [{ type: 'ycloud' }] }, null, 2) + '\n',
      );

      const nodeStates: SandboxNodeState[] = [];
      for (const name of nodes) {
        const node = bed.node(name);
        const nodeWork = path.join(work, name);
        await fs.mkdir(nodeWork, { recursive: true });
        const cniSocket = path.join(nodeWork, 'cni.sock');
        const agentConfig = path.join(nodeWork, 'cni.yaml');
        await fs.writeFile(
          agentConfig,
          toYaml({
            datapathType: 'netdev',
            ovsDb: node.ovsRemote,
            nodeNetns: node.netns,
            ovn: {
              systemId: name,
              remote: bed.central.sbRemote,
              encapIp: node.encapIp,
              bridgeMappings: 'external:br-ex',
            },
            nodePort: { enabled: true, serviceCidrs, podCidrs },
            // The test bed's daemons keep their pidfiles and control sockets in the node's directory.
            datapath: {
              vswitchd: { pidfile: path.join(node.dir, 'vswitchd.pid'), unixctl: path.join(node.dir, 'vswitchd.ctl') },
              controller: { pidfile: path.join(node.dir, 'controller.pid'), unixctl: '' },
            },
            // The test bed's daemons keep their sockets and pidfiles in the node's directory.
            // ovn-trace must read northd's flows: the release's own (an older one traces newer actions as drops).
            diagnose: {
              ovsRundir: node.dir,
              ovnControllerPidfile: path.join(node.dir, 'controller.pid'),
              ovnTrace: release.command('ovn-trace', []).flat(),
            },
          }),
        );
        const opsPort = await freePort();
        log(`starting the node agent of ${name}`);
        const agentLog = path.join(logDir, `agent-${name}.log`);
        const agent = await startChild(children, `agent ${name}`, agentLog, [
          path.join(repoRoot(), 'apps/cni/src/main.ts'),
          '--config',
          agentConfig,
          '--node-name',
          name,
          '--kubeconfig',
          kubeconfig,
          '--socket',
          cniSocket,
          '--mode',
          'none',
          '--ovs-db',
          node.ovsRemote,
          '--node-netns',
          node.netns,
          '--metrics',
          `127.0.0.1:${opsPort}`,
        ]);
        await waitForLog(agent, /listening on/);
        nodeStates.push({
          name,
          netns: node.netns,
          ovsRemote: node.ovsRemote,
          ip: node.encapIp,
          cniSocket,
          agentPid: agent.proc.pid ?? -1,
          agentLog,
          opsUrl: `http://127.0.0.1:${opsPort}`,
        });
      }

      const state: SandboxState = {
        version: 1,
        pid: process.pid,
        startedAt: new Date().toISOString(),
        dir,
        kubeconfig,
        apiServer: cp.server,
        netnsPrefix: `${TESTBED_PREFIX}-${bed.runId}-`,
        testbed: {
          dir: bed.dir,
          runId: bed.runId,
          nbRemote: bed.central.nbRemote,
          sbRemote: bed.central.sbRemote,
          release: bed.release.description,
        },
        controlPlane: { dir: cp.dir, pids: cp.components().map((x) => x.pid) },
        controller: {
          pid: controller.proc.pid ?? -1,
          log: controller.log,
          config: controllerConfig,
          health: `http://127.0.0.1:${healthPort}`,
          journal,
        },
        nodes: nodeStates,
        external: { netns: external.netns, ip: external.ip },
        cni: { binDir, pluginConf },
        serviceCIDR: SERVICE_CIDR,
        podCIDR: POD_CIDR,
        ...addressing.state,
      };
      await writeJsonAtomic(statePath(dir), state);
      const sandbox = new Sandbox(state, new SimulatedKubelet(state), bed, cp, children, log);
      const example = opts.example === undefined ? DEFAULT_EXAMPLE : opts.example;
      if (example) await sandbox.apply(example);
      return sandbox;
    } catch (err) {
      return abort(err);
    }
  }

  /** Applies a sandbox manifest (Kubernetes objects and simulated pods, see sandbox-manifest.ts). */
  async apply(file: string): Promise<void> {
    const manifest = parseSandboxManifest(
      await fs.readFile(file, 'utf8'),
      this.state.nodes.map((n) => n.name),
    );
    this.log(`applying ${path.relative(process.cwd(), file) || file}`);
    for (const done of await applyKubeObjects(this.kubelet.kubeConfig, manifest)) this.log(`  created ${done}`);
    for (const pod of manifest.pods) {
      const p = await this.kubelet.createPod(pod);
      this.log(
        `  pod ${p.namespace}/${p.name} on ${p.node}: ${p.ip}${pod.serve?.length ? ` serving ${pod.serve.join(', ')}` : ''}`,
      );
    }
  }

  /**
   * Restarts the control plane's kube-apiserver (same address and credentials; etcd keeps the objects), as an
   * operator's upgrade or a crash would; the controller and agents must reconnect by themselves. Resolves once it
   * answers again, with how long it was away (ms).
   */
  async restartApiserver(): Promise<number> {
    const ms = await this.controlPlane.restartApiserver();
    this.state.controlPlane.pids = this.controlPlane.components().map((x) => x.pid);
    await writeJsonAtomic(statePath(this.state.dir), this.state);
    return ms;
  }

  /** The log lines of a child process whose output mentions an exit; empty when all run. */
  deadChildren(): string[] {
    return this.children.filter((c) => c.proc.exitCode !== null || c.proc.signalCode !== null).map((c) => c.name);
  }

  /**
   * Stops everything this sandbox started: pods (CNI DEL while the agents still run), agents, the controller,
   * the test bed and the control plane; removes state.json and the kubeconfig (logs stay). Throws with what
   * was left behind, if anything.
   */
  async down(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const errors: string[] = [];
    this.log('stopping: pods');
    // Not fatal: after a Ctrl-C in the terminal the node daemons may be gone already (CNI DEL then fails); what
    // matters is that nothing is left, which the leak check below decides.
    for (const e of await this.kubelet.deleteAll()) this.log(`  (ignored) ${e}`);
    this.log('stopping: node agents and controller');
    for (const ch of [...this.children].reverse()) await stopChild(ch);
    this.log('stopping: OVN test bed and Kubernetes control plane');
    await this.bed.stop().catch((e: unknown) => errors.push(String(e)));
    await this.controlPlane.stop().catch((e: unknown) => errors.push(String(e)));
    for (const f of ['state.json', 'kubeconfig', 'pods', 'cni']) {
      await fs.rm(path.join(this.state.dir, f), { recursive: true, force: true });
    }
    const leaks = await sandboxLeaks(this.state);
    if (!isClean(leaks)) errors.push(`left behind: ${JSON.stringify(leaks)}`);
    if (errors.length) throw new Error(`sandbox down: ${errors.join('; ')}`);
    this.log('stopped; nothing left behind');
  }

  /** Stops the sandbox running in another process (`ycloud sandbox down`): SIGTERM to its `up`, then waits. */
  static async stopRunning(dir: string = sandboxDir(), timeoutMs = 120_000): Promise<'stopped' | 'not-running'> {
    const state = await readState(dir);
    if (!state) return 'not-running';
    if (!isAlive(state.pid)) {
      // Its `up` died without tearing down: remove what it left.
      await cleanupStale();
      for (const f of ['state.json', 'kubeconfig', 'pods', 'cni']) {
        await fs.rm(path.join(dir, f), { recursive: true, force: true });
      }
      return 'stopped';
    }
    process.kill(state.pid, 'SIGTERM');
    await waitFor(`sandbox up (pid ${state.pid}) to stop`, () => !isAlive(state.pid), { timeoutMs });
    return 'stopped';
  }

  /** What runs: processes, simulated pods, Services with their ClusterIPs and ready endpoints. */
  static async status(dir: string = sandboxDir()): Promise<SandboxStatus> {
    const state = await readState(dir);
    if (!state || !isAlive(state.pid)) {
      return { running: false, state, processes: [], pods: [], services: [], nodes: [] };
    }
    const proc = (name: string, pid: number) => ({ name, pid, alive: isAlive(pid) });
    const processes = [
      proc('sandbox up', state.pid),
      proc('controller', state.controller.pid),
      ...state.nodes.map((n) => proc(`agent ${n.name}`, n.agentPid)),
    ];
    const kubelet = new SimulatedKubelet(state);
    const pods = await kubelet.listPods();
    for (const p of pods) if (p.servers) processes.push(proc(`pod ${p.namespace}/${p.name}`, p.servers.pid));
    const core = kubelet.kubeConfig.makeApiClient(CoreV1Api);
    const discovery = kubelet.kubeConfig.makeApiClient(DiscoveryV1Api);
    const slices = (await discovery.listEndpointSliceForAllNamespaces()).items;
    const services = serviceSummaries((await core.listServiceForAllNamespaces()).items, slices);
    const nodeObjects = (await core.listNode()).items;
    const nodes = state.nodes.map((n) => {
      const c = nodeObjects
        .find((o) => o.metadata?.name === n.name)
        ?.status?.conditions?.find((x) => x.type === DATAPATH_READY_CONDITION);
      const datapath = c && {
        status: c.status,
        reason: c.reason ?? '',
        since: c.lastTransitionTime ? new Date(c.lastTransitionTime).toISOString() : '',
        daemons: (c.message ?? '').split('; '),
      };
      return { name: n.name, agentAlive: isAlive(n.agentPid), datapath };
    });
    return { running: true, state, processes, pods, services, nodes };
  }
}

/** What a sandbox left behind: the test bed's and control plane's leak checks, plus its own processes. */
export async function sandboxLeaks(state: SandboxState): Promise<TestbedLeaks> {
  const bed = await listLeaks({ runDir: state.testbed.dir });
  const cp = await listLeaks({ runDir: state.controlPlane.dir });
  const own = [state.controller.pid, ...state.nodes.map((n) => n.agentPid), ...state.controlPlane.pids]
    .filter((pid) => pid > 0 && pid !== process.pid && isAlive(pid))
    .map((pid) => ({ pid, cmdline: '(sandbox child)' }));
  const ownNetns = (await listLeaks()).netns.filter((n) => n.startsWith(state.netnsPrefix));
  return {
    processes: [...bed.processes, ...cp.processes, ...own],
    netns: [...new Set([...bed.netns, ...ownNetns])],
    devices: [...bed.devices],
    dirs: [...bed.dirs, ...cp.dirs],
  };
}

/**
 * Pure: the sandbox's address plan, IPv4 only or dual stack (IPv4 first): the Service and pod CIDRs (apiserver,
 * controller, agents), the controller's built-in subnets (only when dual: single stack keeps its defaults), the
 * gateway node's external addresses and what state.json records of IPv6.
 */
export function sandboxAddressing(dualStack: boolean): {
  serviceCidrs: string[];
  podCidrs: string[];
  controllerSubnets: Record<string, unknown>;
  gatewayNodeIps: string[];
  /** The test bed's `underlayIpv6Prefix`: the nodes' IPv6 InternalIPs (dual stack only). */
  nodeIpv6Prefix?: string;
  state: Pick<SandboxState, 'ipv6'>;
} {
  if (!dualStack) {
    return {
      serviceCidrs: [SERVICE_CIDR],
      podCidrs: [POD_CIDR],
      controllerSubnets: {},
      gatewayNodeIps: [GATEWAY_NODE_EXTERNAL_IP],
      state: {},
    };
  }
  const v6 = SANDBOX_IPV6;
  return {
    serviceCidrs: [SERVICE_CIDR, v6.serviceCIDR],
    podCidrs: [POD_CIDR, v6.podCIDR],
    controllerSubnets: {
      defaultSubnet: { name: 'default', cidrBlocks: [POD_CIDR, v6.podCIDR] },
      joinSubnet: { name: 'join', cidrBlocks: [JOIN_CIDR, v6.joinCIDR] },
    },
    gatewayNodeIps: [GATEWAY_NODE_EXTERNAL_IP, v6.gatewayNodeExternalIp],
    nodeIpv6Prefix: v6.nodeInternalIpPrefix,
    state: { ipv6: { serviceCIDR: v6.serviceCIDR, podCIDR: v6.podCIDR, external: v6.externalIp } },
  };
}

/** IPv6 on the external client and on the gateway node's br-ex (the test bed switches IPv6 off in its namespaces). */
async function addExternalIpv6(external: { netns: string; ifname: string }, gatewayNetns: string): Promise<void> {
  await netnsExec(external.netns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0']);
  await ipIn(external.netns, 'addr', 'add', SANDBOX_IPV6.externalIp, 'dev', external.ifname, 'nodad');
  await ipIn(gatewayNetns, 'addr', 'add', SANDBOX_IPV6.gatewayNodeExternalIp, 'dev', 'br-ex', 'nodad');
}

/** Adds the node's ExternalIPs to its status addresses (a merge patch replaces the whole list). */
async function setExternalIP(core: CoreV1Api, name: string, internalIPs: string[], cidrs: string[]): Promise<void> {
  const addresses = [
    ...internalIPs.map((address) => ({ type: 'InternalIP', address })),
    ...cidrs.map((cidr) => ({ type: 'ExternalIP', address: cidr.split('/')[0] })),
    { type: 'Hostname', address: name },
  ];
  await core.patchNodeStatus(
    { name, body: { status: { addresses } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function startChild(children: Child[], name: string, log: string, args: string[]): Promise<Child> {
  const fd = openSync(log, 'a');
  let proc: ChildProcess;
  try {
    // setpriv --pdeathsig: if `up` dies without tearing down, the kernel stops its children too.
    proc = spawn(
      'setpriv',
      ['--pdeathsig', 'KILL', '--', process.execPath, '-r', path.join(repoRoot(), 'scripts/register.js'), ...args],
      // Own process group: a Ctrl-C in the terminal reaches `up`, which stops its children in order.
      { cwd: repoRoot(), stdio: ['ignore', fd, fd], detached: true },
    );
  } finally {
    closeSync(fd);
  }
  const child = { name, proc, log };
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    proc.once('spawn', resolve);
    proc.once('error', reject);
  });
  return child;
}

async function waitForLog(child: Child, pattern: RegExp): Promise<void> {
  await waitFor(
    `${child.name} to start (log ${child.log})`,
    async () => {
      const text = await fs.readFile(child.log, 'utf8').catch(() => '');
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
        throw new Error(`${child.name} exited: ${text.trim().split('\n').slice(-15).join('\n')}`);
      }
      return pattern.test(text);
    },
    { timeoutMs: READY_TIMEOUT_MS },
  );
}

async function waitForHttp(child: Child, url: string): Promise<void> {
  await waitFor(
    `${child.name} to answer ${url} (log ${child.log})`,
    async () => {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
        const text = await fs.readFile(child.log, 'utf8').catch(() => '');
        throw new Error(`${child.name} exited: ${text.trim().split('\n').slice(-15).join('\n')}`);
      }
      return (await httpStatus(url)) === 200;
    },
    { timeoutMs: READY_TIMEOUT_MS },
  );
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

async function stopChild(child: Child): Promise<void> {
  const pid = child.proc.pid ?? -1;
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.proc.once('exit', () => r()));
  await stopProcess(pid, 5_000);
  await Promise.race([exited, sleep(5_000)]);
}

/** Installs `crds/` (installCrds waits until every one is Established). */
async function installSandboxCrds(kubeconfig: string): Promise<void> {
  const kube = KubeClient.fromKubeconfigFile(kubeconfig);
  try {
    await installCrds(kube);
  } finally {
    kube.close();
  }
}
