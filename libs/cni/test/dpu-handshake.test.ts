import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import {
  OvnTestbed,
  TcpServer,
  netnsAdd,
  netnsDel,
  netnsExecText,
  run as tbRun,
  tcpRequest,
  startOvnAndKube,
} from '@ycloud/testbed';
import { KubeControlPlane, createNode } from '@ycloud/testbed/k8s';
import { CniAgent } from '../src/agent/cni-agent';
import { CniAgentConfig, DEFAULT_AGENT_CONFIG } from '../src/agent/agent-config';
import { POD_ALLOCATION_ANNOTATION } from '../src/k8s/allocation-annotation';
import { ClientNodeKubeApi, microTime } from '../src/k8s/kube-api';
import { DPU_CONNECTION_STATUS_ANNOTATION } from '../src/offload/dpu-annotations';
import { OFFLOAD_ANNOTATION } from '../src/offload/offload-report';
import { FakeSysfs } from './fake-sysfs';
import { cnitoolPath, installPlugin, run, allocationJson } from './cni-helpers';

/**
 * DPU mode without hardware: a host namespace (the x86 host, no OVS) and the test bed's node-1 (the DPU, with
 * OVS and ovn-controller). A veth pair stands in for VF (host side, `vf0`) and representor (DPU side, `pf0vf0`);
 * fake sysfs trees describe them. Two agents, one `dpu-host` and one `dpu`, coordinate only through the
 * apiserver (pod annotations + the DPU health Lease).
 */
describe('DPU handshake: dpu-host agent and dpu agent through the apiserver', () => {
  let bed: OvnTestbed;
  let cp: KubeControlPlane;
  let hostAgent: CniAgent | undefined;
  let dpuAgent: CniAgent | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-dpu-'));
  const socket = join(dir, 'cni.sock');
  const hostSysfs = new FakeSysfs().addPf({
    netdev: 'hpf0',
    pci: '0000:03:00.0',
    portName: 'p0',
    switchId: 'h1',
    vfs: ['vf0', 'vf1'],
  });
  const dpuSysfs = new FakeSysfs()
    .netdev('p0', { portName: 'p0', switchId: 'dpu1' })
    .netdev('pf0vf0', { portName: 'c1pf0vf0', switchId: 'dpu1' });
  let hostNs = '';
  let podNs = '';
  let pod2Ns = '';
  const logs: string[] = [];
  const servers: TcpServer[] = [];
  let env: NodeJS.ProcessEnv;

  const cfg = (o: Partial<CniAgentConfig>): CniAgentConfig => ({
    ...DEFAULT_AGENT_CONFIG,
    ...o,
    allocationTimeoutMs: 5000,
    plugTimeoutMs: 20_000,
    ovn: { ...DEFAULT_AGENT_CONFIG.ovn, systemId: 'node-1', remote: bed.central.sbRemote, encapIp: '127.0.0.1' },
    offload: {
      ...DEFAULT_AGENT_CONFIG.offload,
      leaseNamespace: 'ycloud-system',
      dpuStatusTimeoutMs: 15_000,
      ...o.offload,
    },
  });

  beforeAll(async () => {
    [bed, cp] = await startOvnAndKube(() => OvnTestbed.start({ nodes: ['node-1'] }), { controllers: [] });
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'default' } } });
    await core.createNamespace({ body: { metadata: { name: 'ycloud-system' } } });
    await createNode(cp.kubeConfig, 'host-1', '127.0.0.2');
    const dpuNode = bed.node('node-1');
    hostNs = `ycn-${bed.runId}-host`;
    podNs = `ycn-${bed.runId}-dpupod`;
    pod2Ns = `ycn-${bed.runId}-dpupod2`;
    for (const ns of [hostNs, podNs, pod2Ns]) await netnsAdd(ns);
    await tbRun('ip', [
      'link',
      'add',
      'vf0',
      'netns',
      hostNs,
      'type',
      'veth',
      'peer',
      'name',
      'pf0vf0',
      'netns',
      dpuNode.netns,
    ]);
    await tbRun('ip', ['-n', dpuNode.netns, 'link', 'set', 'pf0vf0', 'up']);
    // A veth hands partially checksummed packets to OVS's userspace datapath (AF_PACKET), which does not fill
    // them in: the stand-ins compute checksums themselves (a real VF and representor need nothing of the sort).
    await tbRun('ip', ['netns', 'exec', hostNs, 'ethtool', '-K', 'vf0', 'tx', 'off']);
    await tbRun('ip', ['netns', 'exec', dpuNode.netns, 'ethtool', '-K', 'pf0vf0', 'tx', 'off']);

    await bed.central.nbctl('ls-add', 'pods');
    for (const [lsp, mac, ip] of [
      ['default_dpupod', '0a:58:0a:10:00:0a', '10.16.0.10'],
      ['default_peer', '0a:58:0a:10:00:0b', '10.16.0.11'],
      ['default_dpupod2', '0a:58:0a:10:00:0c', '10.16.0.12'],
    ]) {
      await bed.central.nbctl('lsp-add', 'pods', lsp, '--', 'lsp-set-addresses', lsp, `${mac} ${ip}`);
      const name = lsp.slice('default_'.length);
      if (name === 'peer') continue;
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: {
            name,
            annotations: {
              [POD_ALLOCATION_ANNOTATION]: allocationJson(`${ip}/16`, mac, '10.16.0.1', 'pods', lsp),
            },
          },
          spec: { nodeName: 'host-1', containers: [{ name: 'c', image: 'none' }] },
        },
      });
    }
    servers.push(
      await TcpServer.start(
        (
          await dpuNode.plugPod({
            netns: 'peer',
            ifaceId: 'default_peer',
            mac: '0a:58:0a:10:00:0b',
            ips: ['10.16.0.11/16'],
          })
        ).netns,
        8080,
        'peer',
      ),
    );

    const log = (l: string): number => logs.push(l);
    dpuAgent = new CniAgent(
      cfg({
        nodeName: 'dpu-1',
        mode: 'dpu',
        ovsDb: dpuNode.ovsRemote,
        nodeNetns: dpuNode.netns,
        offload: {
          ...DEFAULT_AGENT_CONFIG.offload,
          sysfsRoot: dpuSysfs.root,
          hostNodeName: 'host-1',
          switchId: 'dpu1',
        },
      }),
      { kube: new ClientNodeKubeApi(cp.kubeConfig), log },
    );
    hostAgent = new CniAgent(
      cfg({
        nodeName: 'host-1',
        mode: 'dpu-host',
        socketPath: socket,
        nodeNetns: hostNs,
        offload: { ...DEFAULT_AGENT_CONFIG.offload, sysfsRoot: hostSysfs.root, pf: 'hpf0' },
      }),
      { kube: new ClientNodeKubeApi(cp.kubeConfig), log },
    );
    await dpuAgent.start();
    await hostAgent.start();
    const { binDir, confDir } = installPlugin(dir);
    env = { ...process.env, CNI_PATH: binDir, NETCONFPATH: confDir, YCLOUD_CNI_SOCKET: socket };
  }, 180_000);

  afterAll(async () => {
    if (process.env.YCLOUD_TEST_VERBOSE) process.stdout.write(logs.join('\n') + '\n');
    await hostAgent?.stop();
    await dpuAgent?.stop();
    for (const s of servers) await s.stop();
    for (const ns of [podNs, pod2Ns, hostNs]) if (ns) await netnsDel(ns).catch(() => undefined);
    await Promise.all([bed?.stop(), cp?.stop()]);
    hostSysfs.cleanup();
    dpuSysfs.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const cni = (op: string, pod: string, ns: string): ReturnType<typeof run> =>
    run(cnitoolPath(), [op, 'ycloud', `/var/run/netns/${ns}`], {
      ...env,
      CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod}`,
    });

  it('ADD on the host waits for the DPU to plug the representor, then the pod talks TCP through OVN', async () => {
    const r = await cni('add', 'dpupod', podNs);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).interfaces[0]).toMatchObject({ name: 'eth0', pciID: '0000:03:01.0' });
    const pod = await cp.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedPod({ namespace: 'default', name: 'dpupod' });
    expect(JSON.parse(pod.metadata!.annotations![DPU_CONNECTION_STATUS_ANNOTATION])).toMatchObject({ status: 'Ready' });
    const ids = (
      await tbRun('ovs-vsctl', [`--db=${bed.node('node-1').ovsRemote}`, 'get', 'Interface', 'pf0vf0', 'external_ids'])
    ).stdout;
    expect(ids).toContain('iface-id=default_dpupod');
    expect(ids).toContain('ovn-installed="true"');
    expect(await tcpRequest(podNs, '10.16.0.11', 8080)).toBe('peer 10.16.0.10');
  }, 60_000);

  it('the host reports its offload capability on the Node', async () => {
    const deadline = Date.now() + 10_000;
    let value: string | undefined;
    while (!value && Date.now() < deadline) {
      const node = await cp.kubeConfig.makeApiClient(CoreV1Api).readNode({ name: 'host-1' });
      value = node.metadata?.annotations?.[OFFLOAD_ANNOTATION];
      if (!value) await new Promise((r) => setTimeout(r, 250));
    }
    expect(JSON.parse(value!)).toMatchObject({ mode: 'dpu-host', pf: 'hpf0', vfsTotal: 2, hwOffload: false });
  });

  it('DEL returns the VF to the host and the DPU unplugs the representor', async () => {
    expect((await cni('del', 'dpupod', podNs)).code).toBe(0);
    expect(await netnsExecText(hostNs, ['ip', '-br', 'link', 'show', 'vf0'])).toContain('vf0');
    const deadline = Date.now() + 10_000;
    let ports = '';
    do {
      ports = (await tbRun('ovs-vsctl', [`--db=${bed.node('node-1').ovsRemote}`, 'list-ports', 'br-int'])).stdout;
      if (!ports.includes('pf0vf0')) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < deadline);
    expect(ports).not.toContain('pf0vf0');
  }, 30_000);

  it('with the DPU gone (lease expired), ADD fails fast with a clear error', async () => {
    await dpuAgent!.stop();
    dpuAgent = undefined;
    const coord = cp.kubeConfig.makeApiClient(CoordinationV1Api);
    const lease = await coord.readNamespacedLease({ namespace: 'ycloud-system', name: 'ycloud-dpu-host-1' });
    lease.spec!.renewTime = microTime(new Date(Date.now() - 60_000)) as never;
    await coord.replaceNamespacedLease({ namespace: 'ycloud-system', name: 'ycloud-dpu-host-1', body: lease });
    const started = Date.now();
    const r = await cni('add', 'dpupod2', pod2Ns);
    // Fast: not the DPU status wait (dpuStatusTimeoutMs, 60 s).
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/DPU of node host-1 is gone: lease ycloud-dpu-host-1 last renewed \d+s ago/);
  }, 30_000);
});
