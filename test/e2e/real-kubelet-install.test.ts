import { promises as fs, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AppsV1Api, CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { stringify as toYaml } from 'yaml';
import { eventually, freePort, makeRunDir, run, testbedOptions } from '@ycloud/testbed';
import {
  DEFAULT_CONTROLLERS,
  KubeControlPlane,
  KubeletNode,
  adaptInstallForTestbed,
  loadKustomization,
  repoRoot,
  resolveK8sTool,
} from '@ycloud/testbed/k8s';

/**
 * ycloud installed on a real kubelet node as an operator installs it, OVN included: the images built by
 * scripts/images.sh (ycloud, and the OVN image of the release under test) imported into the node's containerd,
 * deploy/base applied with kubectl (adapted to a one-node cluster by adaptInstallForTestbed: a 1-member RAFT
 * cluster on the node's address, the userspace datapath, private host directories and free ports), the real
 * kube-controller-manager and kube-scheduler place the ovn-central StatefulSet's, the ycloud-ovs, agent
 * DaemonSets' and the controller Deployment's pods, the agent's init container installs the CNI plugin, and the
 * kubelet starts real pods through it. Nothing OVN-side runs outside Kubernetes. Traffic is real: Node.js in the
 * pods (the ycloud image's), a client pod talking to a server pod and to a ClusterIP Service, and a long-lived
 * connection through the Service across `kubectl rollout restart` of the agent.
 */
const NODE = 'real-node-1';
const VERSION = (JSON.parse(readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string })
  .version;
const IMAGE = `ycloud/ycloud:${VERSION}`;
const IMAGES_DIR = process.env.YCLOUD_IMAGES_DIR ?? path.join(repoRoot(), '.images');
const ARCHIVE = path.join(IMAGES_DIR, `ycloud-${VERSION}.oci.tar`);
const OVN_RELEASE = testbedOptions().ovn;
const OVN_IMAGE = `ycloud/ovn:${OVN_RELEASE}`;
const OVN_ARCHIVE = path.join(IMAGES_DIR, `ovn-${OVN_RELEASE}.oci.tar`);

// The agent's diagnose.ovnTrace: the release's own ovn-trace, the one in the ycloud-ovs container (its mount
// namespace, through the pid of its ovn-controller; the agent has the host's pids). The ycloud image's is 25.03's.
const OVN_TRACE = [
  'sh',
  '-c',
  'exec nsenter -m -t "$(cat /var/run/ovn/ovn-controller.pid)" ovn-trace "$@"',
  'ovn-trace',
];

// A line-echo server: every line comes back prefixed with the pod's hostname (its name).
const SERVER_JS = `
const net = require('net'), os = require('os');
net.createServer((s) => {
  let buf = '';
  s.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) { s.write(os.hostname() + ' ' + buf.slice(0, i) + '\\n'); buf = buf.slice(i + 1); } });
  s.on('error', () => {});
}).listen(8080, () => console.log('listening on 8080'));
`;
// One request to the server pod, one to the Service, then one connection to the Service kept open with a line
// every 100 ms; every reply is logged with its time, so the test reads the pod's log for what got through.
const CLIENT_JS = `
const net = require('net');
const [podIp, svcIp] = process.argv.slice(1);
const log = (...a) => console.log(Date.now(), ...a);
function request(host, port, tag, then) {
  const s = net.connect(port, host, () => s.write(tag + '\\n'));
  s.setTimeout(3000, () => s.destroy(new Error('timeout')));
  s.once('data', (d) => { log(tag, 'reply', d.toString().trim()); s.destroy(); then(); });
  s.on('error', (e) => { log(tag, 'error', e.message); setTimeout(() => request(host, port, tag, then), 500); });
}
let conns = 0;
function stream() {
  const id = ++conns; let seq = 0, buf = '';
  const s = net.connect(80, svcIp, () => { log('stream', id, 'connected'); tick(); });
  function tick() { if (s.destroyed) return; s.write(++seq + '\\n'); setTimeout(tick, 100); }
  s.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) { log('stream', id, 'reply', buf.slice(0, i)); buf = buf.slice(i + 1); } });
  s.on('error', (e) => log('stream', id, 'error', e.message));
  s.on('close', () => { log('stream', id, 'closed'); setTimeout(stream, 500); });
}
request(podIp, 8080, 'pod', () => request(svcIp, 80, 'service', stream));
`;

interface LogLine {
  t: number;
  words: string[];
}

describe('ycloud installed from deploy/base on a real kubelet node', () => {
  let dir: string;
  let cp: KubeControlPlane | undefined;
  let node: KubeletNode | undefined;
  let nbPort = 0;
  let sbPort = 0;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let kubectl: string;
  const k = (...args: string[]) =>
    run(kubectl, [`--kubeconfig=${cp!.kubeconfigPath}`, ...args], { timeoutMs: 180_000 });

  const pod = (name: string, labels: Record<string, string>, command: string[]): V1Pod => ({
    metadata: { name, labels },
    spec: {
      nodeName: NODE,
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: IMAGE, imagePullPolicy: 'Never', command }],
    },
  });
  const runningPod = (name: string) =>
    eventually(
      () => core.readNamespacedPod({ namespace: 'default', name }),
      (p) => p.status?.phase === 'Running' && !!p.status.podIP,
      `pod ${name} to run with an address from the ycloud CNI`,
      120_000,
      500,
    );
  const podLog = async (name: string): Promise<LogLine[]> =>
    String(await core.readNamespacedPodLog({ namespace: 'default', name }))
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [t, ...words] = l.split(' ');
        return { t: Number(t), words };
      });

  beforeAll(async () => {
    for (const [archive, target] of [
      [ARCHIVE, 'ycloud'],
      [OVN_ARCHIVE, `ovn:${OVN_RELEASE}`],
    ]) {
      if (!existsSync(archive)) {
        throw new Error(
          `${archive} is missing: build it with \`bash scripts/images.sh ${target}\` (scripts/setup.sh does)`,
        );
      }
    }
    const source = await fs.readFile(`${ARCHIVE}.source`, 'utf8').catch(() => 'unknown');
    const head = (await run('git', ['-C', repoRoot(), 'rev-parse', 'HEAD'])).stdout;
    if (source.trim() !== head.trim()) {
      console.warn(`${ARCHIVE} was built from ${source.trim()}, not HEAD: the pods run that code`);
    }
    dir = await makeRunDir();
    kubectl = await resolveK8sTool('kubectl');
    cp = await KubeControlPlane.start({
      // nodelifecycle lifts the not-ready taint the kubelet registers its Node with once the Node is Ready;
      // statefulset and persistentvolume-binder run OVN central on the PersistentVolume made below.
      controllers: [
        ...DEFAULT_CONTROLLERS,
        'daemonset',
        'deployment',
        'replicaset',
        'statefulset',
        'persistentvolume-binder',
        'nodelifecycle',
        // The apiserver's Service proxy (`ycloud diagnose` reaches the controller so) reads Endpoints.
        'endpoints-controller',
      ],
      scheduler: true,
      // Logs and exec reach the kubelet on the Node's address (its name resolves nowhere here).
      extraApiserverArgs: ['--kubelet-preferred-address-types=InternalIP'],
    });
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    apps = cp.kubeConfig.makeApiClient(AppsV1Api);

    const agentRunDir = path.join(dir, 'ycloud-run');
    await fs.mkdir(agentRunDir, { recursive: true });
    node = await KubeletNode.start({
      name: NODE,
      controlPlane: cp,
      dir,
      containerdEnv: { YCLOUD_CNI_SOCKET: path.join(agentRunDir, 'cni.sock') },
    });
    // As an operator without a registry loads an image: the OCI archive into the node's containerd, under the
    // name the manifests use (the CRI resolves `ycloud/ycloud:X` as docker.io/ycloud/ycloud:X).
    await node.importImage(ARCHIVE, `docker.io/${IMAGE.split(':')[0]}`);
    await node.importImage(OVN_ARCHIVE, `docker.io/${OVN_IMAGE.split(':')[0]}`);

    // The operator's steps for OVN central on a cluster without a storage provisioner: label the node it runs on
    // and give its member a local PersistentVolume there (the StatefulSet's claim binds to it).
    await eventually(
      () => core.readNode({ name: NODE }),
      (n) => !!n.metadata?.name,
      `Node ${NODE} to register`,
      60_000,
      500,
    );
    await k('label', 'node', NODE, 'ycloud.io/ovn-central=true');
    const pvDir = path.join(dir, 'ovn-central-data-0');
    await fs.mkdir(pvDir, { recursive: true });
    await core.createPersistentVolume({
      body: {
        metadata: { name: 'ovn-central-data-0' },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          local: { path: pvDir },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] }] },
              ],
            },
          },
        },
      },
    });

    const api = new URL(cp.server);
    [nbPort, sbPort] = [await freePort(), await freePort()];
    const { objects } = adaptInstallForTestbed(await loadKustomization(path.join(repoRoot(), 'deploy/base')), {
      nodeName: NODE,
      nodeIp: node.nodeIp,
      apiserverHost: api.hostname,
      apiserverPort: Number(api.port),
      serviceCIDR: cp.serviceClusterIpRange,
      ovnImage: OVN_IMAGE,
      hostRoot: path.join(dir, 'host'),
      cniBinDir: node.cniBinDir,
      cniConfDir: node.cniConfDir,
      agentRunDir,
      ports: {
        controllerHealth: await freePort(),
        controllerMetrics: await freePort(),
        agentMetrics: await freePort(),
        nb: nbPort,
        sb: sbPort,
        nbRaft: await freePort(),
        sbRaft: await freePort(),
      },
      ovnTrace: OVN_TRACE,
    });
    const manifest = path.join(dir, 'install.yaml');
    await fs.writeFile(manifest, objects.map((o) => toYaml(o)).join('---\n'));
    await k('apply', '--server-side', '-f', manifest);
  }, 600_000);

  // What a failing test needs to see: the pods and their events, and the node's kubelet and containerd errors.
  let passed = 0;
  const diagnostics = async (): Promise<string> => {
    const out: string[] = [];
    for (const args of [
      ['get', 'pods', '-A', '-o', 'wide'],
      ['describe', 'pods', '-A'],
      ['logs', '-n', 'ycloud-system', '-l', 'app.kubernetes.io/name=ycloud-agent', '--tail=40', '--all-containers'],
      ['logs', '-n', 'ycloud-system', '-l', 'app.kubernetes.io/name=ycloud-controller', '--tail=40'],
      ['logs', '-n', 'ycloud-system', 'ovn-central-0', '--tail=30', '--all-containers'],
      ['logs', '-n', 'ycloud-system', '-l', 'app.kubernetes.io/name=ycloud-ovs', '--tail=40'],
    ])
      out.push(`$ kubectl ${args.join(' ')}`, (await k(...args).catch((e: Error) => ({ stdout: e.message }))).stdout);
    for (const f of ['kubelet.log', 'containerd.log']) {
      const text = await fs.readFile(path.join(node!.dir, f), 'utf8').catch(() => '');
      out.push(
        `== ${f} (errors)`,
        ...text
          .split('\n')
          .filter((l) => /^E|level=error/.test(l))
          .slice(-30),
      );
    }
    return out.join('\n');
  };

  afterAll(async () => {
    if (cp && node && passed < 5) console.log(await diagnostics().catch((e: Error) => e.message));
    // Pods first, while the agent still answers their CNI DEL; then the node's OVS and OVN central (stopped by
    // SIGTERM, so ovs-vswitchd removes its ports), then the node and the control plane.
    if (cp && node) {
      await k('delete', 'pods', '--all', '-n', 'default', '--wait=true', '--timeout=90s').catch(() => undefined);
      await k(
        'delete',
        '-n',
        'ycloud-system',
        'daemonset/ycloud-agent',
        'daemonset/ycloud-ovs',
        'statefulset/ovn-central',
        'deployment/ycloud-controller',
        '--wait=true',
        '--timeout=90s',
      ).catch(() => undefined);
      await eventually(
        () => core.listNamespacedPod({ namespace: 'ycloud-system' }),
        (l) => l.items.length === 0,
        'the ycloud-system pods to stop',
        90_000,
        1000,
      ).catch((e: Error) => console.error(e.message));
    }
    await node?.stop().catch((e) => console.error(e));
    // The userspace datapath's bridge is a tap device in the host's namespace (the node's): never leave it.
    for (const link of ['br-int', 'ovs-netdev']) {
      if ((await run('ip', ['link', 'show', link], { allowFailure: true })).code === 0) {
        console.error(`${link} was left in the host network namespace: removing it`);
        await run('ip', ['link', 'del', link], { allowFailure: true });
      }
    }
    await cp?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 300_000);

  const execIn = async (pod: string, container: string, ...cmd: string[]) =>
    (await k('exec', '-n', 'ycloud-system', pod, '-c', container, '--', ...cmd)).stdout;
  const nbctl = (...args: string[]) =>
    execIn('ovn-central-0', 'nb', 'ovn-nbctl', '--db=unix:/var/run/ovn/ovnnb_db.sock', ...args);
  const sbctl = (...args: string[]) =>
    execIn('ovn-central-0', 'sb', 'ovn-sbctl', '--db=unix:/var/run/ovn/ovnsb_db.sock', ...args);

  it('runs OVN central (RAFT StatefulSet) and the node OVS + ovn-controller (DaemonSet) from the manifests', async () => {
    await eventually(
      () => apps.readNamespacedStatefulSet({ namespace: 'ycloud-system', name: 'ovn-central' }),
      (s) => s.status?.readyReplicas === 1,
      'the ovn-central StatefulSet to have its member Ready (NB and SB cluster members)',
      180_000,
      1000,
    );
    const ovs = await eventually(
      () => apps.readNamespacedDaemonSet({ namespace: 'ycloud-system', name: 'ycloud-ovs' }),
      (ds) => ds.status?.numberReady === 1 && ds.status.desiredNumberScheduled === 1,
      'the ycloud-ovs DaemonSet to have its pod Ready (ovn-controller connected to the Southbound DB)',
      180_000,
      1000,
    );
    expect(ovs.status?.numberReady).toBe(1);
    // Each database is a RAFT cluster of one member, the leader, on the node's address.
    for (const [container, db, ctl] of [
      ['nb', 'OVN_Northbound', 'ovnnb_db'],
      ['sb', 'OVN_Southbound', 'ovnsb_db'],
    ]) {
      const status = await execIn(
        'ovn-central-0',
        container,
        'ovn-appctl',
        '-t',
        `/var/run/ovn/${ctl}.ctl`,
        'cluster/status',
        db,
      );
      expect(status).toMatch(/^Status: cluster member$/m);
      expect(status).toMatch(/^Role: leader$/m);
      expect(status).toContain(`tcp:${node!.nodeIp}:`);
    }
    // The node's ovn-controller registered its chassis, with the node's address as its tunnel endpoint.
    const chassis = await eventually(
      () => sbctl('--bare', '--columns=name', 'list', 'Chassis'),
      (out) => out.trim() === NODE,
      `chassis ${NODE} in the Southbound DB`,
      60_000,
      1000,
    );
    expect(chassis.trim()).toBe(NODE);
    expect((await sbctl('--bare', '--columns=ip', 'list', 'Encap')).trim()).toBe(node!.nodeIp);
    const ovsPod = (
      await core.listNamespacedPod({ namespace: 'ycloud-system', labelSelector: 'app.kubernetes.io/name=ycloud-ovs' })
    ).items[0].metadata!.name!;
    expect((await execIn(ovsPod, 'ovs', 'ovs-vsctl', 'get', 'bridge', 'br-int', 'datapath_type')).trim()).toBe(
      'netdev',
    );
    expect((await execIn(ovsPod, 'ovs', 'ovs-vsctl', 'get', 'open', '.', 'external_ids:ovn-remote')).trim()).toBe(
      `"tcp:${node!.nodeIp}:${sbPort}"`,
    );
    passed++;
  });

  it('schedules the agent DaemonSet and the controller from the image; the agent installs the CNI plugin', async () => {
    await eventually(
      () => apps.readNamespacedDaemonSet({ namespace: 'ycloud-system', name: 'ycloud-agent' }),
      (ds) => ds.status?.numberReady === 1 && ds.status.desiredNumberScheduled === 1,
      'the ycloud-agent DaemonSet to have its pod Ready on the node',
      150_000,
      1000,
    );
    await eventually(
      () => apps.readNamespacedDeployment({ namespace: 'ycloud-system', name: 'ycloud-controller' }),
      (d) => d.status?.readyReplicas === 1,
      'the ycloud-controller Deployment to have a Ready replica',
      180_000,
      1000,
    );
    // The plugin and the conflist were written by the DaemonSet's init container, not by this test.
    expect(JSON.parse(await fs.readFile(path.join(node!.cniConfDir, '10-ycloud.conflist'), 'utf8')).name).toBe(
      'ycloud',
    );
    const version = await run(path.join(node!.cniBinDir, 'ycloud'), ['--version']);
    expect(version.stdout.trim()).toBe(VERSION);
    const n = await eventually(
      () => core.readNode({ name: NODE }),
      (x) => x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
      `Node ${NODE} to be Ready (network plugin installed)`,
      120_000,
      1000,
    );
    expect(n.metadata?.name).toBe(NODE);
    passed++;
  });

  let serverIp = '';
  let serviceIp = '';
  it('[sig-network] Services should serve a basic endpoint from pods: two real pods get addresses, reach each other and a ClusterIP Service', async () => {
    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('echo-server', { app: 'echo' }, ['node', '-e', SERVER_JS]),
    });
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'echo' },
        spec: { selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
      },
    });
    const server = await runningPod('echo-server');
    serverIp = server.status!.podIP!;
    expect(serverIp).toMatch(/^10\.16\./); // the default Subnet's CIDR (deploy/base's ycloud-config)
    serviceIp = (await core.readNamespacedService({ namespace: 'default', name: 'echo' })).spec!.clusterIP!;

    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('client', { app: 'client' }, ['node', '-e', CLIENT_JS, serverIp, serviceIp]),
    });
    const client = await runningPod('client');
    expect(client.status!.podIP).toMatch(/^10\.16\./);
    expect(client.status!.podIP).not.toBe(serverIp);

    const lines = await eventually(
      () => podLog('client'),
      (ls) => ls.filter((l) => l.words[0] === 'stream' && l.words[2] === 'reply').length >= 10,
      'the client to get replies from the server pod, the Service and on its long-lived Service connection',
      120_000,
      1000,
    );
    expect(lines.find((l) => l.words[0] === 'pod' && l.words[1] === 'reply')?.words.slice(2)).toEqual([
      'echo-server',
      'pod',
    ]);
    expect(lines.find((l) => l.words[0] === 'service' && l.words[1] === 'reply')?.words.slice(2)).toEqual([
      'echo-server',
      'service',
    ]);
    // The Service went through the OVN the manifests run: its VIP in ovn-central's Northbound with the server pod
    // behind it, and northd's logical flows for it in the Southbound.
    expect(await nbctl('lb-list')).toMatch(
      new RegExp(`${serviceIp.replace(/\./g, '\\.')}:80\\s+${serverIp.replace(/\./g, '\\.')}:8080`),
    );
    expect(await sbctl('lflow-list')).toContain(serviceIp);
    passed++;
  });

  it("`ycloud diagnose --trace` through the installed agent runs the OVN release's own ovn-trace: load-balanced to the server pod", async () => {
    // As a user with only a kubeconfig: the controller and the agent are reached through the apiserver's proxy.
    const r = await run(
      path.join(repoRoot(), 'bin/ycloud'),
      [
        'diagnose',
        'service',
        'default/echo',
        '--from',
        'pod',
        'default/client',
        '--trace',
        '-o',
        'json',
        `--kubeconfig=${cp!.kubeconfigPath}`,
      ],
      { timeoutMs: 120_000, allowFailure: true },
    );
    const d = JSON.parse(r.stdout) as {
      hops: { id: string; status: string; evidence: string; detail?: Record<string, unknown> }[];
    };
    const trace = d.hops.find((h) => h.id === `trace/${serviceIp}:80`);
    expect(trace).toMatchObject({ status: 'ok' });
    expect(trace!.detail!.lbBackends).toEqual([`${serverIp}:8080`]);
    expect(trace!.detail!.backend).toBe(`${serverIp}:8080`);
    expect(d.hops.filter((h) => h.status !== 'ok').map((h) => `${h.status} ${h.id}: ${h.evidence}`)).toEqual([]);
    expect(r.code).toBe(0);
    // The command the agent ran is the OVN release's ovn-trace, not the ycloud image's.
    const agentPod = (
      await core.listNamespacedPod({ namespace: 'ycloud-system', labelSelector: 'app.kubernetes.io/name=ycloud-agent' })
    ).items[0].metadata!.name!;
    expect(await execIn(agentPod, 'agent', ...OVN_TRACE, '--version')).toMatch(
      new RegExp(`^ovn-trace.* ${OVN_RELEASE.replace('.', '\\.')}\\.`, 'm'),
    );
    passed++;
  });

  it('keeps an established connection through the Service flowing across `kubectl rollout restart` of the agent', async () => {
    const before = await core.listNamespacedPod({
      namespace: 'ycloud-system',
      labelSelector: 'app.kubernetes.io/name=ycloud-agent',
    });
    const oldAgent = before.items[0].metadata!.uid!;
    const t0 = Date.now();
    await k('rollout', 'restart', 'daemonset/ycloud-agent', '-n', 'ycloud-system');
    await k('rollout', 'status', 'daemonset/ycloud-agent', '-n', 'ycloud-system', '--timeout=170s');
    const after = await core.listNamespacedPod({
      namespace: 'ycloud-system',
      labelSelector: 'app.kubernetes.io/name=ycloud-agent',
    });
    expect(after.items.map((p) => p.metadata!.uid)).not.toContain(oldAgent);
    const t1 = Date.now();
    // A pod started after the restart is plugged by the new agent.
    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('after-restart', { app: 'after' }, ['sleep', 'infinity']),
    });
    expect((await runningPod('after-restart')).status!.podIP).toMatch(/^10\.16\./);
    await new Promise((r) => setTimeout(r, 2000));

    const lines = await podLog('client');
    const stream = lines.filter((l) => l.words[0] === 'stream');
    // The connection made before the restart is the only one: it neither failed nor closed.
    expect(
      stream.filter((l) => l.words[2] !== 'reply' && l.words[2] !== 'connected').map((l) => l.words.join(' ')),
    ).toEqual([]);
    expect(new Set(stream.map((l) => l.words[1]))).toEqual(new Set(['1']));
    const replies = stream.filter((l) => l.words[2] === 'reply');
    const during = replies.filter((l) => l.t >= t0 - 1000);
    expect(during.length).toBeGreaterThan(0);
    expect(Math.max(...replies.map((l) => l.t))).toBeGreaterThan(t1);
    // Replies in order, none missing (sequence numbers), and the longest pause while the agent restarted.
    const seqs = replies.map((l) => Number(l.words[4]));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const maxGap = (ls: LogLine[]) => ls.slice(1).reduce((m, l, i) => Math.max(m, l.t - ls[i].t), 0);
    const baseline = replies.filter((l) => l.t >= t0 - 5000 && l.t < t0);
    console.log(
      `agent rollout restart took ${t1 - t0} ms; the Service connection carried ${during.length} replies from 1 s ` +
        `before it to the end, longest gap between replies ${maxGap(during)} ms (${maxGap(baseline)} ms in the 5 s ` +
        'before the restart; one line every 100 ms)',
    );
    passed++;
  });
});
