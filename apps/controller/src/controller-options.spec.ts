import { controllerAppConfig } from './controller-options';
import { journalEntryOf } from './controller-telemetry';
import { probePortHost } from './probe-port-host';
import { RecordedCommandRunner } from '@ycloud/cni';

describe('ycloud-controller command line', () => {
  const files: Record<string, string> = { 'ok.yaml': 'nbRemote: tcp:10.0.0.2:6641\n', 'bad.yaml': 'mtu: 1\n' };
  const parse = (...argv: string[]) =>
    controllerAppConfig(argv, (f) => {
      if (!(f in files)) throw new Error('ENOENT');
      return files[f];
    });

  it('takes the flags the Deployment passes', () => {
    const c = parse(
      '--config=ok.yaml',
      '--leader-elect=true',
      '--leader-election-namespace=ycloud-system',
      '--health-port=8081',
      '--metrics-port=9180',
    );
    expect(c.config.nbRemote).toBe('tcp:10.0.0.2:6641');
    expect(c.leaderElection).toEqual({ enabled: true, namespace: 'ycloud-system', id: 'ycloud-controller' });
    expect([c.bindAddress, c.healthPort, c.metricsPort, c.journal, c.kubeconfig]).toEqual([
      '0.0.0.0',
      8081,
      9180,
      undefined,
      undefined,
    ]);
    expect(parse('--leader-elect=false').leaderElection.enabled).toBe(false);
    expect(parse('--no-leader-elect').leaderElection.enabled).toBe(false);
    expect(parse('--journal', 'postgres://db/ycloud').journal).toEqual({
      type: 'postgres',
      url: 'postgres://db/ycloud',
    });
  });

  it('reads the Northbound TLS key, certificate and CA from --nb-tls-dir; an ssl: remote without it is an error', () => {
    files['ssl.yaml'] = 'nbRemote: ssl:10.0.0.2:6641,ssl:10.0.0.3:6641\n';
    Object.assign(files, { 'tls/tls.key': 'KEY', 'tls/tls.crt': 'CERT', 'tls/ca.crt': 'CA' });
    expect(parse('--config=ssl.yaml', '--nb-tls-dir=tls').nbTls).toEqual({ key: 'KEY', cert: 'CERT', ca: 'CA' });
    expect(parse('--config=ok.yaml').nbTls).toBeUndefined();
    expect(() => parse('--config=ssl.yaml')).toThrow('nbRemote uses ssl: but --nb-tls-dir');
    expect(() => parse('--config=ssl.yaml', '--nb-tls-dir=missing')).toThrow(
      '--nb-tls-dir: cannot read missing/tls.key: ENOENT',
    );
  });

  it('runs probes on --probe-node, else on $NODE_NAME, else not at all', () => {
    const withEnv = (env: Record<string, string>, ...argv: string[]) =>
      controllerAppConfig(argv, () => '', undefined, env);
    expect(withEnv({}).probe).toEqual({ nodeName: undefined, ovsDb: 'unix:/var/run/openvswitch/db.sock' });
    expect(withEnv({ NODE_NAME: '' }).probe.nodeName).toBeUndefined();
    expect(withEnv({ NODE_NAME: 'node-7' }).probe.nodeName).toBe('node-7');
    expect(withEnv({ NODE_NAME: 'node-7' }, '--probe-node=node-1', '--ovs-db', 'tcp:127.0.0.1:6640').probe).toEqual({
      nodeName: 'node-1',
      ovsDb: 'tcp:127.0.0.1:6640',
    });
    expect(withEnv({}, '--probe-node=node-1', '--ovs-netns', 'node-1-ns').probe).toEqual({
      nodeName: 'node-1',
      ovsDb: 'unix:/var/run/openvswitch/db.sock',
      ovsNetns: 'node-1-ns',
    });
  });

  it('takes its pod name and the in-cluster API server from the environment it is given', () => {
    const withEnv = (env: Record<string, string>) => controllerAppConfig([], () => '', undefined, env);
    const c = withEnv({ POD_NAME: 'ycloud-controller-7d9f', KUBERNETES_SERVICE_HOST: '10.96.0.1', HOME: '/root' });
    expect(c.podName).toBe('ycloud-controller-7d9f');
    expect(c.inCluster).toEqual({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: undefined });
    expect(withEnv({ POD_NAME: '' }).podName).toBeUndefined();
  });

  it('plugs probe ports with ovs-vsctl against --ovs-db', async () => {
    const runner = new RecordedCommandRunner().on(/ovs-vsctl .* get /, { code: 1, stderr: 'no row' });
    const host = probePortHost('unix:/run/ovs.sock', runner);
    await host.vsctl(['--may-exist', 'add-port', 'br-int', 'p']);
    expect(runner.lines()).toEqual(['ovs-vsctl --db=unix:/run/ovs.sock --timeout=30 --may-exist add-port br-int p']);
    await expect(host.vsctl(['get', 'Interface', 'p', 'name'])).rejects.toThrow(/no row/);
    expect(host.datapathNetns).toBeUndefined();
    expect(probePortHost('unix:/run/ovs.sock', runner, 'node-1-ns').datapathNetns).toBe('node-1-ns');
  });

  it('explains a bad config, an unreadable file and bad flags', () => {
    expect(() => parse('--config=bad.yaml')).toThrow(/invalid controller config bad\.yaml: mtu: must be an integer/);
    expect(() => parse('--config=missing.yaml')).toThrow(/cannot read --config missing\.yaml/);
    expect(() => parse('--metrics-port=70000')).toThrow(/--metrics-port <n>' argument '70000' is invalid/);
    expect(() => parse('--leader-elect=maybe')).toThrow(/expected true or false/);
    expect(() => parse('--log-level=chatty')).toThrow(/Allowed choices are debug, info, warn, error/);
  });
});

describe('journalEntryOf', () => {
  it('splits the owner, keeps rows and counts, and shows membership changes as updates', () => {
    const at = new Date(0);
    const entry = journalEntryOf({
      owner: { kind: 'Service', name: 'shop/web' },
      reason: 'EndpointSlice changed',
      written: true,
      operations: 2,
      latencyMs: 3.5,
      at,
      touched: [
        { table: 'Load_Balancer', key: 'lb', action: 'update', columns: ['vips'] },
        { table: 'Load_Balancer_Group', key: 'g', action: 'attach', columns: ['load_balancer'] },
      ],
    });
    expect(entry).toEqual({
      owner: { kind: 'Service', namespace: 'shop', name: 'web' },
      reason: 'EndpointSlice changed',
      rows: [
        { table: 'Load_Balancer', key: 'lb', operation: 'update', columns: ['vips'] },
        { table: 'Load_Balancer_Group', key: 'g', operation: 'update', columns: ['load_balancer'] },
      ],
      latencyMs: 3.5,
      opCount: 2,
      at,
    });
    const cluster = journalEntryOf({
      owner: { kind: 'Vpc', name: 'blue' },
      reason: 'r',
      written: true,
      operations: 1,
      latencyMs: 1,
      at,
      touched: [],
    });
    expect(cluster.owner).toEqual({ kind: 'Vpc', namespace: '', name: 'blue' });
  });
});
