import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { OvnTestbed, TcpServer, netnsAdd, netnsDel, netnsExecText, tcpRequest, startOvnAndKube } from '@ycloud/testbed';
import { KubeControlPlane } from '@ycloud/testbed/k8s';
import { ExecCommandRunner, NetnsCommandRunner } from '../src/ovs/command-runner';
import { OvsVsctl } from '../src/ovs/ovs-vsctl';
import { OvsPortPlumber } from '../src/plumbing/ovs-port.plumber';
import { CniHandler } from '../src/agent/cni-handler';
import { CniServer } from '../src/agent/cni-server';
import { ClientNodeKubeApi } from '../src/k8s/kube-api';
import { POD_ALLOCATION_ANNOTATION } from '../src/k8s/allocation-annotation';
import { RunResult, SHIMS, cnitoolPath, installPlugin, run, allocationJson } from './cni-helpers';

/**
 * The plugin as a runtime sees it: the reference cnitool calls the shim, the shim calls the agent, the agent
 * reads the pod's allocation from a real kube-apiserver and plugs the pod into a real OVS (userspace datapath)
 * bound by a real ovn-controller; the pods then talk TCP.
 */
describe('ycloud CNI plugin with cnitool, kube-apiserver, OVS and OVN (mode none, netdev)', () => {
  let bed: OvnTestbed;
  let cp: KubeControlPlane;
  let server: CniServer;
  let cnitool: string;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-cni-'));
  const socket = join(dir, 'cni.sock');
  const ovsRun = (...a: string[]): Promise<string> =>
    run('ovs-vsctl', [`--db=${bed.node('node-1').ovsRemote}`, ...a], process.env).then((r) => r.stdout.trim());

  const pods = {
    a: { lsp: 'default_pod-a', ip: '10.16.0.5', mac: '0a:58:0a:10:00:05' },
    b: { lsp: 'default_pod-b', ip: '10.16.0.6', mac: '0a:58:0a:10:00:06' },
  };
  const netns: Record<string, string> = {};
  const nsName = (p: string): string => p.split('/').pop()!;
  const tcpServers: TcpServer[] = [];

  beforeAll(async () => {
    cnitool = cnitoolPath();
    [bed, cp] = await startOvnAndKube(() => OvnTestbed.start({ nodes: ['node-1'] }), { controllers: [] });
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    // No kube-controller-manager: the ServiceAccount admission plugin still wants default/default.
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'default' } } });
    await bed.central.nbctl('ls-add', 'ls-pods');
    for (const name of ['a', 'b', 'noalloc']) {
      const p = pods[name as 'a' | 'b'];
      const annotations: Record<string, string> = {};
      if (p) {
        await bed.central.nbctl('lsp-add', 'ls-pods', p.lsp, '--', 'lsp-set-addresses', p.lsp, `${p.mac} ${p.ip}`);
        annotations[POD_ALLOCATION_ANNOTATION] = allocationJson(`${p.ip}/16`, p.mac, '10.16.0.1', 'ls-pods', p.lsp);
      }
      await core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name: `pod-${name}`, annotations }, spec: { containers: [{ name: 'c', image: 'none' }] } },
      });
    }
    const node = bed.node('node-1');
    const runner = new NetnsCommandRunner(new ExecCommandRunner(), node.netns);
    const ovs = new OvsVsctl(runner, node.ovsRemote);
    const handler = new CniHandler(
      new ClientNodeKubeApi(cp.kubeConfig),
      new OvsPortPlumber(runner, ovs, 'br-int', 'netdev'),
      ovs,
      {
        allocationTimeoutMs: 1500,
        plugTimeoutMs: 20_000,
        notReadyReason: () => Promise.resolve(undefined),
      },
    );
    server = new CniServer(socket, (r) => handler.handle(r), 60_000);
    await server.listen();
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await Promise.all([bed?.stop(), cp?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  describe.each(Object.entries(SHIMS))('through the %s shim', (shimName, shimPath) => {
    beforeAll(async () => {
      for (const name of ['a', 'b']) {
        const ns = `ycn-${bed.runId}-${shimName}-${name}`;
        await netnsAdd(ns);
        netns[name] = `/var/run/netns/${ns}`;
      }
      const { binDir, confDir } = installPlugin(dir, shimPath);
      env = { ...process.env, CNI_PATH: binDir, NETCONFPATH: confDir, YCLOUD_CNI_SOCKET: socket };
    });
    afterAll(async () => {
      for (const s of tcpServers.splice(0)) await s.stop();
      for (const p of Object.values(netns)) await netnsDel(nsName(p)).catch(() => undefined);
    });

    const tool = (op: string, pod: string, ns: string): Promise<RunResult> =>
      run(cnitool, [op, 'ycloud', ns], { ...env, CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod}` });

    it('ADD plugs both pods, ovn-controller installs them, and they exchange TCP', async () => {
      const started = Date.now();
      const ra = await tool('add', 'pod-a', netns.a);
      const addMs = Date.now() - started;
      expect(ra.stderr).toBe('');
      expect(ra.code).toBe(0);
      const result = JSON.parse(ra.stdout);
      expect(result).toMatchObject({
        cniVersion: '1.1.0',
        interfaces: [{ name: 'eth0', mac: pods.a.mac, sandbox: netns.a }],
        ips: [{ address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 }],
        routes: [{ dst: '0.0.0.0/0', gw: '10.16.0.1' }],
        dns: { nameservers: ['10.96.0.10'] },
      });
      const rb = await tool('add', 'pod-b', netns.b);
      expect(rb.code).toBe(0);
      for (const p of Object.values(pods)) {
        const name = await ovsRun('--bare', '--columns=name', 'find', 'Interface', `external_ids:iface-id=${p.lsp}`);
        expect(await ovsRun('get', 'Interface', name, 'external_ids:ovn-installed')).toBe('"true"');
      }
      expect(await netnsExecText(nsName(netns.a), ['ip', '-br', 'addr', 'show', 'eth0'])).toContain('10.16.0.5/16');
      tcpServers.push(await TcpServer.start(nsName(netns.b), 8080, 'pod-b'));
      expect(await tcpRequest(nsName(netns.a), '10.16.0.6', 8080)).toBe('pod-b 10.16.0.5');
      // ADD latency as the runtime sees it (shim start-up + agent + OVS + ovn-installed), DEL/ADD cycles.
      const samples: number[] = [];
      for (let i = 0; i < 10; i++) {
        expect((await tool('del', 'pod-a', netns.a)).code).toBe(0);
        const t0 = process.hrtime.bigint();
        expect((await tool('add', 'pod-a', netns.a)).code).toBe(0);
        samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      samples.sort((x, y) => x - y);
      console.log(
        `${shimName} shim: cnitool ADD ms p50=${samples[4].toFixed(0)} min=${samples[0].toFixed(0)} max=${samples[9].toFixed(0)} (first ADD ${addMs} ms)`,
      );
    }, 60_000);

    it('CHECK passes on a plugged pod and fails once its address is gone', async () => {
      expect((await tool('check', 'pod-a', netns.a)).code).toBe(0);
      await netnsExecText(nsName(netns.a), ['ip', 'addr', 'flush', 'dev', 'eth0']);
      const r = await tool('check', 'pod-a', netns.a);
      expect(r.code).not.toBe(0);
      // cnitool prints the plugin's error on stderr.
      expect(r.stderr).toContain('address 10.16.0.5/16 missing');
    }, 60_000);

    it('DEL removes the port, is idempotent, and tolerates a vanished netns', async () => {
      expect((await tool('del', 'pod-a', netns.a)).code).toBe(0);
      expect(await ovsRun('--bare', '--columns=name', 'find', 'Interface', `external_ids:iface-id=${pods.a.lsp}`)).toBe(
        '',
      );
      expect((await tool('del', 'pod-a', netns.a)).code).toBe(0);
      await netnsDel(nsName(netns.b));
      expect((await tool('del', 'pod-b', netns.b)).code).toBe(0);
      expect(await ovsRun('--bare', '--columns=name', 'find', 'Interface', `external_ids:iface-id=${pods.b.lsp}`)).toBe(
        '',
      );
    }, 60_000);

    describe('errors come back as the spec error JSON, never a hang', () => {
      const shim = (cniEnv: Record<string, string>, stdin: string, sock = socket): Promise<RunResult> =>
        run(shimPath, [], { PATH: process.env.PATH, YCLOUD_CNI_SOCKET: sock, ...cniEnv }, stdin);
      const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'ycloud', type: 'ycloud' });
      const addEnv = {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'c1',
        CNI_NETNS: '/var/run/netns/none',
        CNI_IFNAME: 'eth0',
      };
      const cases: [string, Record<string, string>, string, number][] = [
        ['garbage on stdin', addEnv, '{not json', 6],
        ['a missing variable', { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }, conf, 4],
        ['an unknown command', { ...addEnv, CNI_COMMAND: 'FROB' }, conf, 4],
        ['an unsupported cniVersion', addEnv, JSON.stringify({ cniVersion: '0.3.1', name: 'n', type: 'ycloud' }), 1],
        ['no pod in CNI_ARGS', addEnv, conf, 4],
        ['STATUS with a 1.0.0 config', { CNI_COMMAND: 'STATUS' }, conf, 1],
      ];
      it.each(cases)('%s', async (_name, cniEnv, stdin, code) => {
        const r = await shim(cniEnv, stdin);
        expect(r.code).toBe(1);
        expect(JSON.parse(r.stdout)).toMatchObject({ code, msg: expect.any(String) });
      });

      it('a pod without an allocation: code 11 after the bounded wait', async () => {
        const r = await shim({ ...addEnv, CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-noalloc' }, conf);
        expect(JSON.parse(r.stdout)).toMatchObject({
          code: 11,
          msg: expect.stringContaining('no ycloud.io/ip-allocation annotation'),
        });
      }, 30_000);

      it('the agent not running: code 11 (50 for STATUS); VERSION still answers', async () => {
        const gone = join(dir, 'nobody.sock');
        expect(JSON.parse((await shim(addEnv, conf, gone)).stdout)).toMatchObject({
          code: 11,
          msg: expect.stringContaining('not reachable'),
        });
        const v11 = JSON.stringify({ cniVersion: '1.1.0', name: 'ycloud', type: 'ycloud' });
        expect(JSON.parse((await shim({ CNI_COMMAND: 'STATUS' }, v11, gone)).stdout)).toMatchObject({ code: 50 });
        const v = await shim({ CNI_COMMAND: 'VERSION' }, conf, gone);
        expect(v.code).toBe(0);
        expect(JSON.parse(v.stdout)).toEqual({ cniVersion: '1.0.0', supportedVersions: ['1.0.0', '1.1.0'] });
      }, 30_000);

      it('STATUS and GC through cnitool', async () => {
        expect((await tool('status', 'x', '/var/run/netns/none')).code).toBe(0);
        expect((await tool('gc', 'x', '/var/run/netns/none')).code).toBe(0);
      }, 30_000);

      it('GC removes a stale ycloud port that the runtime no longer lists', async () => {
        await ovsRun(
          'add-port',
          'br-int',
          'ycstale',
          '--',
          'set',
          'Interface',
          'ycstale',
          'type=internal',
          'external_ids:ycloud-network=ycloud',
          'external_ids:ycloud-sandbox=stale-sandbox',
          'external_ids:ycloud-ifname=eth0',
        );
        expect(await ovsRun('list-ports', 'br-int')).toContain('ycstale');
        expect((await tool('gc', 'x', '/var/run/netns/none')).code).toBe(0);
        expect(await ovsRun('list-ports', 'br-int')).not.toContain('ycstale');
      }, 30_000);
    });
  });
});
