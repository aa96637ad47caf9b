import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  AgentApp,
  eventually,
  OvnTestbed,
  TcpServer,
  netnsAdd,
  netnsDel,
  netnsExecText,
  startOvnAndKube,
  tcpRequest,
} from '@ycloud/testbed';
import { KubeControlPlane, createNode } from '@ycloud/testbed/k8s';
import { NODE_ALLOCATION_ANNOTATION, POD_ALLOCATION_ANNOTATION } from '../src/k8s/allocation-annotation';
import { cnitoolPath, installPlugin, run, allocationJson } from './cni-helpers';

/**
 * The real `apps/cni` process (Nest standalone context) on a simulated node: it configures the node's OVS
 * (and repairs it after the settings vanish), plugs its node port `ycloud0` into the join switch (scenario 2:
 * the node reaches pods and a Service VIP through OVN), and serves cnitool.
 */
describe('apps/cni agent process: node bootstrap, node port, CNI', () => {
  let bed: OvnTestbed;
  let cp: KubeControlPlane;
  let agent: AgentApp | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-cni-agent-'));
  const socket = join(dir, 'cni.sock');
  let podNs = '';
  const tcpServers: TcpServer[] = [];
  const vsctl = (...a: string[]): Promise<string> =>
    run('ovs-vsctl', [`--db=${bed.node('node-1').ovsRemote}`, ...a], process.env).then((r) => r.stdout.trim());

  beforeAll(async () => {
    [bed, cp] = await startOvnAndKube(() => OvnTestbed.start({ nodes: ['node-1'] }), { controllers: [] });
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'default' } } });
    const nb = (...a: string[]): Promise<string> => bed.central.nbctl(...a);
    // The controller's part, by hand: router, pod switch, join switch with the node's LSP, a Service LB.
    await nb('lr-add', 'vpc0');
    await nb('lrp-add', 'vpc0', 'vpc0-pods', '0a:58:0a:10:00:01', '10.16.0.1/16');
    await nb('lrp-add', 'vpc0', 'vpc0-join', '0a:58:64:40:00:01', '100.64.0.1/16');
    for (const [ls, lrp] of [
      ['pods', 'vpc0-pods'],
      ['join', 'vpc0-join'],
    ]) {
      await nb('ls-add', ls);
      await bed.central.addRouterLsp(ls, `${ls}-vpc0`, lrp);
    }
    await nb(
      'lsp-add',
      'join',
      'node-node-1',
      '--',
      'lsp-set-addresses',
      'node-node-1',
      '0a:58:64:40:00:02 100.64.0.2',
    );
    await nb('lsp-add', 'pods', 'default_web', '--', 'lsp-set-addresses', 'default_web', '0a:58:0a:10:00:07 10.16.0.7');
    await nb('lb-add', 'svc-web', '10.96.0.50:80', '10.16.0.7:8080', 'tcp');
    await nb('ls-lb-add', 'join', 'svc-web');
    await createNode(cp.kubeConfig, 'node-1', '127.0.0.1', { 'ycloud.io/eip-gateway': 'true' });
    await core.patchNode(
      {
        name: 'node-1',
        body: {
          metadata: {
            annotations: {
              [NODE_ALLOCATION_ANNOTATION]: allocationJson(
                '100.64.0.2/16',
                '0a:58:64:40:00:02',
                '100.64.0.1',
                'join',
                'node-node-1',
              ),
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: {
          name: 'web',
          annotations: {
            [POD_ALLOCATION_ANNOTATION]: allocationJson(
              '10.16.0.7/16',
              '0a:58:0a:10:00:07',
              '10.16.0.1',
              'pods',
              'default_web',
            ),
          },
        },
        spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'none' }] },
      },
    });
    agent = await AgentApp.start({
      dir,
      socket,
      bed,
      nodeName: 'node-1',
      kubeconfigPath: cp.kubeconfigPath,
      ovn: ['bridgeMappings: external:br-ex'],
      config: [
        'allocationTimeoutMs: 5000',
        'plugTimeoutMs: 20000',
        'nodePort:',
        '  enabled: true',
        '  serviceCidrs: [10.96.0.0/16]',
        '  podCidrs: [10.16.0.0/16]',
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    for (const s of tcpServers) await s.stop();
    if (podNs) await netnsDel(podNs).catch(() => undefined);
    await Promise.all([bed?.stop(), cp?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves /metrics and the DaemonSet probes: /healthz, and /readyz once br-int exists', async () => {
    const get = async (p: string) => {
      const r = await fetch(`${agent!.url}${p}`);
      return [r.status, await r.text()] as const;
    };
    expect(await get('/healthz')).toEqual([200, 'ok\n']);
    const ready = await eventually(
      () => get('/readyz'),
      (r) => r[0] === 200,
      '/readyz 200',
      60_000,
      250,
    );
    expect(ready).toEqual([200, 'ok\n']);
    expect((await get('/metrics'))[0]).toBe(200);
    expect((await get('/nothing'))[0]).toBe(404);
  });

  it('configures the node OVS for OVN and re-applies it when it is lost', async () => {
    expect(await vsctl('get', 'Open_vSwitch', '.', 'external_ids:ovn-bridge-mappings')).toBe('"external:br-ex"');
    expect(await vsctl('get', 'Open_vSwitch', '.', 'external_ids:ovn-bridge-datapath-type')).toBe('netdev');
    await vsctl('remove', 'Open_vSwitch', '.', 'external_ids', 'ovn-bridge-mappings');
    // The agent re-checks the node every 5 s.
    const v = await eventually(
      () => vsctl('get', 'Open_vSwitch', '.', 'external_ids:ovn-bridge-mappings'),
      (x) => x !== '',
      'ovn-bridge-mappings re-applied',
      60_000,
      250,
    );
    expect(v).toBe('"external:br-ex"');
  }, 90_000);

  it('plugs a pod via cnitool, and the node reaches it and a Service VIP through ycloud0', async () => {
    const node = bed.node('node-1');
    await eventually(
      () => vsctl('--bare', '--columns=external_ids', 'find', 'Interface', 'name=ycloud0'),
      (ids) => ids.includes('ovn-installed=true'),
      'ycloud0 ovn-installed',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent!.log}`);
    });
    expect(await netnsExecText(node.netns, ['ip', '-br', 'addr', 'show', 'ycloud0'])).toContain('100.64.0.2/16');
    expect(await netnsExecText(node.netns, ['ip', 'route', 'show', '10.96.0.0/16'])).toContain(
      'via 100.64.0.1 dev ycloud0',
    );

    podNs = `ycn-${bed.runId}-web`;
    await netnsAdd(podNs);
    const { binDir, confDir } = installPlugin(dir);
    const r = await run(cnitoolPath(), ['add', 'ycloud', `/var/run/netns/${podNs}`], {
      ...process.env,
      CNI_PATH: binDir,
      NETCONFPATH: confDir,
      YCLOUD_CNI_SOCKET: socket,
      CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web',
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).ips[0].address).toBe('10.16.0.7/16');
    tcpServers.push(await TcpServer.start(podNs, 8080, 'web'));
    await bed.central.nbctl('--wait=hv', 'sync');
    expect(await tcpRequest(node.netns, '10.16.0.7', 8080)).toBe('web 100.64.0.2');
    expect(await tcpRequest(node.netns, '10.96.0.50', 80)).toBe('web 100.64.0.2');
  }, 60_000);
});
