import { promises as fs } from 'node:fs';
import { networkInterfaces } from 'node:os';
import * as path from 'node:path';
import { Daemon, freePort, makeRunDir, run, waitFor } from '../process';
import { resolveK8sTool } from './k8s-binaries';
import { KubeControlPlane } from './kube-control-plane';

/** Image reference of the locally built pause image every pod sandbox runs. */
export const PAUSE_IMAGE = 'ycloud.local/pause:3.10';

export interface KubeletNodeOptions {
  /** Node name (`--hostname-override`). */
  name: string;
  controlPlane: KubeControlPlane;
  /** Parent directory; a fresh run dir when omitted (removed by stop()). */
  dir?: string;
  readyTimeoutMs?: number;
  /**
   * Added to containerd's environment, which the CNI plugins it runs inherit (e.g. YCLOUD_CNI_SOCKET: the
   * plugin's agent socket when the agent's hostPath is the node's private directory, not /run/ycloud).
   */
  containerdEnv?: Record<string, string>;
}

/** Debian's containernetworking-plugins (portmap, loopback, ...): a node's standard plugins, as kubeadm's have. */
const STANDARD_CNI_PLUGINS = '/usr/lib/cni';

const PAUSE_C = `#include <signal.h>
#include <unistd.h>
static void done(int s) { (void)s; _exit(0); }
int main(void) { signal(SIGTERM, done); signal(SIGINT, done); for (;;) pause(); }
`;

// Root on these machines lacks CAP_SYS_RESOURCE, so runc cannot give a process the negative oom_score_adj the
// kubelet asks for (-998 for every sandbox) and fails with "can't get final child's PID from pipe: EOF"
// (docs/real-kubelet.md). The wrapper drops a negative oomScoreAdj; the process keeps its parent's.
const RUNC_WRAPPER = `#!/bin/bash
bundle=; prev=
for a in "$@"; do [ "$prev" = --bundle ] && bundle=$a; prev=$a; done
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
  jq 'if (.process.oomScoreAdj // 0) < 0 then del(.process.oomScoreAdj) else . end' "$bundle/config.json" \\
    > "$bundle/config.json.ycloud" && mv "$bundle/config.json.ycloud" "$bundle/config.json"
fi
exec runc "$@"
`;

/** The machine's first non-loopback IPv4 address: the kubelet refuses a loopback node IP. */
function hostAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('KubeletNode: no non-loopback IPv4 address on this machine');
}

/**
 * A real Kubernetes node: kubelet (built from the control plane's Kubernetes module) with a private containerd
 * (Debian's) and runc, on the host network with the machine's address, its own directories, sockets and ports.
 * Pods need `imagePullPolicy: Never` and images imported with `importImage` (no registry here); without a CNI
 * configuration only host-network pods run (the Node stays NotReady). Its CNI directories hold Debian's standard
 * plugins; a CNI installer (ycloud's agent DaemonSet) adds its own through hostPath volumes on cniBinDir/cniConfDir.
 */
export class KubeletNode {
  private constructor(
    readonly name: string,
    readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly containerd: Daemon,
    private readonly kubelet: Daemon,
    readonly containerdSocket: string,
    readonly kubeletRoot: string,
    /** The Node's address (`--node-ip`, the machine's): where its host-network pods serve. */
    readonly nodeIp: string,
  ) {}

  /** The runtime's CNI plugin directory (the node's /opt/cni/bin). */
  get cniBinDir(): string {
    return path.join(this.dir, 'cni/bin');
  }
  /** The runtime's CNI configuration directory (the node's /etc/cni/net.d). */
  get cniConfDir(): string {
    return path.join(this.dir, 'cni/net.d');
  }
  /** Where the kubelet writes container logs (`podLogsDir`). */
  get podLogsDir(): string {
    return path.join(this.dir, 'logs');
  }

  static async start(opts: KubeletNodeOptions): Promise<KubeletNode> {
    const ownsDir = !opts.dir;
    const dir = opts.dir ? path.join(opts.dir, `kubelet-${opts.name}`) : await makeRunDir();
    const d = (...p: string[]) => path.join(dir, ...p);
    for (const sub of [
      'containerd/root',
      'containerd/state',
      'runc',
      'cni/bin',
      'cni/net.d',
      'manifests',
      'root',
      'logs',
    ])
      await fs.mkdir(d(sub), { recursive: true });
    for (const f of await fs.readdir(STANDARD_CNI_PLUGINS).catch(() => [] as string[]))
      await fs.copyFile(path.join(STANDARD_CNI_PLUGINS, f), d('cni/bin', f));
    const timeout = opts.readyTimeoutMs ?? 120_000;
    const kubelet = await resolveK8sTool('kubelet');
    await fs.writeFile(d('runc-wrapper.sh'), RUNC_WRAPPER, { mode: 0o755 });
    const socket = d('containerd.sock');
    await fs.writeFile(
      d('containerd.toml'),
      [
        'version = 2',
        `root = "${d('containerd/root')}"`,
        `state = "${d('containerd/state')}"`,
        `[grpc]\n  address = "${socket}"`,
        `[ttrpc]\n  address = "${d('containerd-ttrpc.sock')}"`,
        '[metrics]\n  address = ""',
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${PAUSE_IMAGE}"`,
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        `        BinaryName = "${d('runc-wrapper.sh')}"`,
        `        Root = "${d('runc')}"`,
        '        SystemdCgroup = false',
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        `    bin_dir = "${d('cni/bin')}"`,
        `    conf_dir = "${d('cni/net.d')}"`,
        '',
      ].join('\n'),
    );
    const containerd = await Daemon.spawn({
      name: `containerd ${opts.name}`,
      cmd: 'containerd',
      args: ['--config', d('containerd.toml')],
      consoleLog: d('containerd.log'),
      env: { ...process.env, ...opts.containerdEnv },
    });
    let kubeletDaemon: Daemon | undefined;
    try {
      await waitFor(
        `containerd of ${opts.name} to serve (log ${d('containerd.log')})`,
        async () => {
          await containerd.assertRunning();
          return (await run('ctr', ['--address', socket, 'version'], { allowFailure: true })).code === 0;
        },
        { timeoutMs: timeout },
      );
      await importPauseImage(dir, socket);
      const [port, healthzPort] = [await freePort(), await freePort()];
      const nodeIp = hostAddress();
      await fs.writeFile(
        d('kubelet.yaml'),
        JSON.stringify({
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          kind: 'KubeletConfiguration',
          // These machines: cgroup v1, no systemd, swap possible, a shared disk and iptables.
          failCgroupV1: false,
          cgroupDriver: 'cgroupfs',
          cgroupsPerQOS: false,
          enforceNodeAllocatable: [],
          failSwapOn: false,
          localStorageCapacityIsolation: false,
          makeIPTablesUtilChains: false,
          evictionHard: {},
          imageGCHighThresholdPercent: 100,
          imageGCLowThresholdPercent: 99,
          staticPodPath: d('manifests'),
          podLogsDir: d('logs'),
          address: nodeIp,
          port,
          readOnlyPort: 0,
          healthzBindAddress: '127.0.0.1',
          healthzPort,
          authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
          authorization: { mode: 'AlwaysAllow' },
          containerRuntimeEndpoint: `unix://${socket}`,
          resolvConf: '/etc/resolv.conf',
        }),
      );
      kubeletDaemon = await Daemon.spawn({
        name: `kubelet ${opts.name}`,
        cmd: kubelet,
        args: [
          `--config=${d('kubelet.yaml')}`,
          `--kubeconfig=${opts.controlPlane.kubeconfigPath}`,
          `--root-dir=${d('root')}`,
          `--hostname-override=${opts.name}`,
          `--node-ip=${nodeIp}`,
          '--v=2',
        ],
        consoleLog: d('kubelet.log'),
      });
      const k = kubeletDaemon;
      await waitFor(
        `kubelet ${opts.name} to answer /healthz (log ${d('kubelet.log')})`,
        async () => {
          await k.assertRunning();
          return fetch(`http://127.0.0.1:${healthzPort}/healthz`).then(
            (r) => r.status === 200,
            () => false,
          );
        },
        { timeoutMs: timeout },
      );
      return new KubeletNode(opts.name, dir, ownsDir, containerd, k, socket, d('root'), nodeIp);
    } catch (err) {
      await kubeletDaemon?.stop().catch(() => undefined);
      await cleanUpContainers(socket).catch(() => undefined);
      await containerd.stop().catch(() => undefined);
      await unmountUnder(dir).catch(() => undefined);
      if (ownsDir) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Imports an OCI archive from scripts/images.sh into the node's containerd as `<repository>:<tag>`, the tag being
   * the archive's own ref name (e.g. docker.io/ycloud/ycloud and 0.1.0; the CRI looks `ycloud/ycloud:0.1.0` up
   * under docker.io). `--index-name` would not do: ctr then also names the image `import-<date>:<tag>`, and the
   * CRI resolves it to that name and fails to find it ("image docker.io/library/import-...: not found").
   */
  async importImage(archive: string, repository: string): Promise<void> {
    await run(
      'ctr',
      ['--address', this.containerdSocket, '-n', 'k8s.io', 'images', 'import', '--base-name', repository, archive],
      {
        timeoutMs: 10 * 60_000,
      },
    );
  }

  /** Stops kubelet, removes every container it left, stops containerd, unmounts and removes its directories. */
  async stop(): Promise<void> {
    await this.kubelet.stop();
    await cleanUpContainers(this.containerdSocket);
    await this.containerd.stop();
    // containerd 1.6 puts its shims' sockets in the fixed /run/containerd/s: drop the directories if now empty.
    for (const d of ['/run/containerd/s', '/run/containerd']) await fs.rmdir(d).catch(() => undefined);
    // The kubelet bind-mounts its root dir and pods' volumes, containerd each sandbox's /dev/shm.
    await unmountUnder(this.dir);
    // The kubelet links every container's log into the fixed /var/log/containers: remove the links to ours.
    const links = await fs.readdir(CONTAINER_LOG_LINKS).catch(() => [] as string[]);
    for (const l of links) {
      const target = await fs.readlink(path.join(CONTAINER_LOG_LINKS, l)).catch(() => '');
      if (target.startsWith(`${this.dir}/`)) await fs.rm(path.join(CONTAINER_LOG_LINKS, l), { force: true });
    }
    if (this.ownsDir) await fs.rm(this.dir, { recursive: true, force: true });
  }
}

const CONTAINER_LOG_LINKS = '/var/log/containers';

/** Builds the pause program (static) and imports it as PAUSE_IMAGE: an OCI layout made with umoci. */
async function importPauseImage(dir: string, socket: string): Promise<void> {
  const d = (...p: string[]) => path.join(dir, 'pause', ...p);
  await fs.mkdir(d(), { recursive: true });
  await fs.writeFile(d('pause.c'), PAUSE_C);
  await run('gcc', ['-static', '-O2', '-o', d('pause'), d('pause.c')]);
  const tag = PAUSE_IMAGE.split(':')[1];
  await run('umoci', ['init', '--layout', d('layout')]);
  await run('umoci', ['new', '--image', `${d('layout')}:${tag}`]);
  await run('umoci', ['unpack', '--image', `${d('layout')}:${tag}`, d('bundle')]);
  await fs.copyFile(d('pause'), d('bundle/rootfs/pause'));
  await fs.chmod(d('bundle/rootfs/pause'), 0o755);
  await run('umoci', ['repack', '--image', `${d('layout')}:${tag}`, d('bundle')]);
  await run('umoci', ['config', '--image', `${d('layout')}:${tag}`, '--config.entrypoint', '/pause']);
  // Without the layout's own ref name, `ctr import` adds no second name (import-<date>:<tag>) that the CRI would
  // resolve the image to and then not find.
  const index = JSON.parse(await fs.readFile(d('layout/index.json'), 'utf8')) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  for (const m of index.manifests) delete m.annotations;
  await fs.writeFile(d('layout/index.json'), JSON.stringify(index));
  await run('tar', ['-C', d('layout'), '-cf', d('pause.oci.tar'), '.']);
  await run('ctr', [
    '--address',
    socket,
    '-n',
    'k8s.io',
    'images',
    'import',
    '--index-name',
    PAUSE_IMAGE,
    d('pause.oci.tar'),
  ]);
}

/**
 * Kills and deletes every task and container in the node's containerd (the kubelet leaves them running), and
 * removes the pod network namespaces the CRI made for them (bind mounts under /var/run/netns) that no CNI DEL
 * released.
 */
async function cleanUpContainers(socket: string): Promise<void> {
  const ctr = (...args: string[]) => run('ctr', ['--address', socket, '-n', 'k8s.io', ...args], { allowFailure: true });
  const ids = (await ctr('containers', 'ls', '-q')).stdout.split('\n').filter(Boolean);
  const netnsPaths = new Set<string>();
  for (const id of ids) {
    try {
      const info = JSON.parse((await ctr('containers', 'info', id)).stdout) as {
        Spec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
      };
      for (const ns of info.Spec?.linux?.namespaces ?? [])
        if (ns.type === 'network' && ns.path && /^\/(var\/)?run\/netns\//.test(ns.path)) netnsPaths.add(ns.path);
    } catch {
      // not a container with a spec we can read: nothing of ours to remove
    }
  }
  for (const id of ids) {
    await ctr('tasks', 'kill', '-s', 'SIGKILL', id);
    await waitFor(
      `task ${id} to exit`,
      async () => !(await ctr('tasks', 'ls')).stdout.includes(id) || (await ctr('tasks', 'delete', id)).code === 0,
      {
        timeoutMs: 20_000,
      },
    ).catch(() => undefined);
    await ctr('containers', 'rm', id);
  }
  for (const p of netnsPaths) {
    await run('umount', [p], { allowFailure: true });
    await fs.rm(p, { force: true });
  }
}

/** Unmounts every mount at or below `dir`, deepest first (the kubelet bind-mounts its root dir, pods' volumes). */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await fs.readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m], { allowFailure: true });
}
