import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, DiscoveryV1Api, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { Journal, parseJournalConfig } from '@ycloud/journal';
import {
  KubeControlPlane,
  OvnCentral,
  createNamespace,
  repoRoot,
  waitForCrdsEstablished,
  eventually,
} from '@ycloud/testbed';
import { parse as parseYaml } from 'yaml';

/**
 * The ycloud-controller process as a Deployment runs it (`main.ts` with flags), against a real kube-apiserver
 * and a real OVN Northbound: probes, metrics, a Service's load balancer read back with ovn-nbctl, config
 * errors, and two leader-elected replicas with a hand-over when the leader dies.
 */
describe('ycloud-controller process (real apiserver + real OVN NB)', () => {
  const root = repoRoot();
  let dir: string;
  let k8s: KubeControlPlane;
  let ovn: OvnCentral;
  let core: CoreV1Api;
  let discovery: DiscoveryV1Api;
  let configFile: string;
  const procs: Replica[] = [];

  interface Replica {
    proc: ChildProcess;
    stderr: string;
    exited: Promise<number | null>;
    url?: string;
  }

  function start(args: string[]): Replica {
    const proc = spawn(process.execPath, ['-r', './scripts/register.js', 'apps/controller/src/main.ts', ...args], {
      cwd: root,
      // No NODE_NAME: probes off (this test bed has no OVS for probe ports).
      env: { ...process.env, POD_NAME: `ctl-${procs.length}`, NODE_NAME: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const r: Replica = { proc, stderr: '', exited: new Promise((res) => proc.once('exit', (code) => res(code))) };
    proc.stderr!.on('data', (d: Buffer) => (r.stderr += d.toString()));
    procs.push(r);
    return r;
  }

  /** A replica with both servers on one random port, waited for until it serves. */
  async function replica(extra: string[] = []): Promise<Replica> {
    const r = start([
      `--config=${configFile}`,
      `--kubeconfig=${k8s.kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      '--health-port=0',
      '--metrics-port=0',
      '--leader-election-namespace=ycloud-system',
      ...extra,
    ]);
    const line = await eventually(
      async () => r.stderr.split('\n').find((l) => l.includes('"msg":"serving"')),
      (l) => l !== undefined || r.proc.exitCode !== null,
      'the controller to serve',
    );
    if (!line) throw new Error(`controller exited: ${r.stderr}`);
    r.url = (JSON.parse(line) as { healthz: string }).healthz.replace(/\/healthz$/, '');
    return r;
  }

  /** Waits for 200 on /readyz; on timeout the error carries the replica's last log lines. */
  async function ready(r: Replica, what: string, ms = 60_000): Promise<void> {
    try {
      await eventually(
        () => get(r, '/readyz?verbose'),
        (x) => x.status === 200,
        what,
        ms,
      );
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\n--- controller log ---\n${r.stderr.split('\n').slice(-30).join('\n')}`,
      );
    }
  }

  async function get(r: Replica, p: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`${r.url}${p}`);
    return { status: res.status, body: await res.text() };
  }

  async function lbVips(name: string): Promise<string[]> {
    const out = await ovn.nbctl(
      '--bare',
      '--columns=vips',
      'find',
      'Load_Balancer',
      `name="Service_default/${name}_TCP"`,
    );
    return out.replace(/"/g, '').split('\n').filter(Boolean);
  }

  async function createService(name: string, ips: string[]): Promise<string> {
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name, namespace: 'default' },
        spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 as never }] },
      },
    });
    await discovery.createNamespacedEndpointSlice({
      namespace: 'default',
      body: {
        metadata: { name: `${name}-manual`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      },
    });
    return `${svc.spec!.clusterIP}:80`;
  }

  const role = async (r: Replica) =>
    /\[\+\]leader-election ok \((\w+)\)/.exec((await get(r, '/readyz?verbose')).body)?.[1];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ycloud-controller-app-'));
    [k8s, ovn] = await Promise.all([
      KubeControlPlane.start({ serviceClusterIpRange: '10.96.0.0/16' }),
      OvnCentral.start(),
    ]);
    core = k8s.kubeConfig.makeApiClient(CoreV1Api);
    discovery = k8s.kubeConfig.makeApiClient(DiscoveryV1Api);
    await createNamespace(k8s.kubeConfig, 'ycloud-system');
    // As deployed: the controller watches ycloud's CRDs too.
    const crdDir = path.join(root, 'crds');
    const crds = readdirSync(crdDir)
      .filter((f) => /\.ya?ml$/.test(f) && !/^kustomization\./.test(f))
      .map((f) => parseYaml(readFileSync(path.join(crdDir, f), 'utf8')) as V1CustomResourceDefinition);
    const ext = k8s.kubeConfig.makeApiClient(ApiextensionsV1Api);
    for (const body of crds) await ext.createCustomResourceDefinition({ body });
    await waitForCrdsEstablished(
      k8s.kubeConfig,
      crds.map((c) => c.metadata!.name!),
    );
    configFile = path.join(dir, 'config.yaml');
    writeFileSync(configFile, `serviceCIDRs: [10.96.0.0/16]\nnbRemote: ${ovn.nbRemote}\n`);
  });
  afterAll(async () => {
    for (const r of procs) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    await Promise.all(procs.map((r) => r.exited));
    await Promise.all([k8s?.stop(), ovn?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exits 2 with the reason on a bad config or flag', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'mtu: 70000\nnbRemote: nowhere\n');
    const r = start([`--config=${bad}`, `--kubeconfig=${k8s.kubeconfigPath}`]);
    expect(await r.exited).toBe(2);
    expect(r.stderr).toMatch(/invalid controller config .*bad\.yaml: .*nbRemote: "nowhere" is not/);
    expect(r.stderr).toContain('mtu: must be an integer between 1280 and 9000');
    const flag = start(['--health-port=http']);
    expect(await flag.exited).toBe(2);
    expect(flag.stderr).toMatch(/--health-port <n>' argument 'http' is invalid/);
  });

  let leader: Replica;
  let standby: Replica;
  const journalFile = () => path.join(dir, 'journal.sqlite');
  const standbyJournal = () => path.join(dir, 'standby-journal.sqlite');
  async function journal(file: string, owner?: string) {
    const j = await Journal.open(parseJournalConfig({ type: 'sqlite', path: file }), { readOnly: true });
    try {
      return await j.query(owner ? { ownerKind: 'Service', owner } : {});
    } finally {
      await j.close();
    }
  }

  it('serves probes and metrics, leads, and programs a Service load balancer (journaled)', async () => {
    leader = await replica([`--journal=${journalFile()}`]);
    expect((await get(leader, '/healthz')).status).toBe(200);
    // A replica is ready as a standby before it holds the Lease: wait for leadership first, as a rollout would.
    await eventually(
      () => role(leader),
      (r) => r === 'leader',
      'the only replica to take the lease',
      60_000,
    );
    await ready(leader, 'leader ready');
    const checks = (await get(leader, '/readyz?verbose')).body;
    expect(checks).toContain('[+]leader-election ok (leader)');
    expect(checks).toContain('[+]caches-synced ok');
    expect(checks).toContain('[+]nb-connected ok');
    expect(leader.stderr.match(/NetworkProbes off: no --probe-node and no NODE_NAME/g)).toHaveLength(1);

    const vip = await createService('web', ['10.16.0.5', '10.16.0.6']);
    await eventually(
      () => lbVips('web'),
      (v) => v.join().includes(`${vip}=10.16.0.5:8080,10.16.0.6:8080`),
      'web LB',
    );

    const metrics = (await get(leader, '/metrics')).body;
    expect(metrics).toMatch(/ycloud_controller_reconcile_total\{controller="service",result="success"\} [1-9]/);
    expect(metrics).toMatch(/ycloud_nb_writes_total\{kind="Service"\} [1-9]/);
    expect(metrics).toMatch(/ycloud_nb_transaction_duration_seconds_count\{kind="Service"\} [1-9]/);
    expect(metrics).toMatch(/ycloud_nb_owned_rows\{table="Load_Balancer"\} [2-9]/); // web + kubernetes
    expect(metrics).toContain('ycloud_journal_dropped_entries_total 0');
    expect(metrics).toContain('ycloud_network_programming_duration_seconds_count');
    expect(metrics).toContain('ycloud_controller_leader 1');

    const records = await eventually(
      () => journal(journalFile(), 'default/web'),
      (rs) => rs.length > 0,
      'journal entry for default/web',
      15_000,
    );
    expect(records[0].owner).toEqual({ kind: 'Service', namespace: 'default', name: 'web' });
    // Newest first: the Service's LB was inserted, then updated with the EndpointSlice's backends.
    const rows = records.flatMap((rec) => rec.rows.map((r) => `${r.table} ${r.operation}`));
    expect(rows).toContain('Load_Balancer insert');
  });

  it('runs a second replica as a ready standby that writes nothing', async () => {
    standby = await replica([`--journal=${standbyJournal()}`]);
    await ready(standby, 'standby ready');
    expect(await role(standby)).toBe('standby');

    const vip = await createService('two', ['10.16.0.9']);
    await eventually(
      () => lbVips('two'),
      (v) => v.join().includes(`${vip}=10.16.0.9:8080`),
      'two LB',
    );
    const count = await ovn.nbctl(
      '--bare',
      '--columns=_uuid',
      'find',
      'Load_Balancer',
      'name="Service_default/two_TCP"',
    );
    expect(count.split('\n').filter(Boolean)).toHaveLength(1);
    const standbyMetrics = (await get(standby, '/metrics')).body;
    expect(standbyMetrics).not.toMatch(/ycloud_nb_writes_total\{/);
    expect(standbyMetrics).not.toMatch(/ycloud_controller_reconcile_total\{/);
    expect(standbyMetrics).toContain('ycloud_controller_leader 0');
  });

  it('hands over when the leader dies: the standby leads and reconciles a new Service', async () => {
    leader.proc.kill('SIGKILL');
    await leader.exited;
    await eventually(
      () => role(standby),
      (r) => r === 'leader',
      'standby to take the lease',
      60_000,
    );
    await ready(standby, 'new leader ready');
    const vip = await createService('three', ['10.16.0.10']);
    await eventually(
      () => lbVips('three'),
      (v) => v.join().includes(`${vip}=10.16.0.10:8080`),
      'three LB',
    );
    // The earlier Services are still programmed and were not rewritten by the new leader (zero-write start).
    expect((await lbVips('web')).join()).toContain('10.16.0.5:8080,10.16.0.6:8080');
    // The new leader wrote only for the new Service: nothing while standing by, no rewrite of the others.
    const written = await eventually(
      () => journal(standbyJournal()),
      (rs) => rs.some((r) => r.rows.some((row) => row.operation === 'update')),
      'the new leader to journal default/three',
      15_000,
    );
    expect(new Set(written.map((r) => `${r.owner.kind} ${r.owner.namespace}/${r.owner.name}`))).toEqual(
      new Set(['Service default/three']),
    );
  });

  it('drains and stops on SIGTERM, releasing the lease', async () => {
    standby.proc.kill('SIGTERM');
    await standby.exited;
    expect(standby.stderr).toContain('"msg":"released lease"');
    expect(standby.stderr).toContain('"msg":"stopped"');
  });
});
