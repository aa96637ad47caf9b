import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  KubeControlPlane,
  OvnCentral,
  OvsdbPki,
  createOvsdbPki,
  eventually,
  ovsTlsArgs,
  repoRoot,
  run,
} from '@ycloud/testbed';

/**
 * OVSDB over mutual TLS, as the Helm chart's `ovn.tls.enabled` installs it: the test bed's NB and SB serve
 * `ssl:` with certificates of a private CA; the ycloud-controller process connects with `--nb-tls-dir` (a TLS
 * Secret's files) and programs the `kubernetes` Service's load balancer; a client whose certificate another CA
 * signed is refused.
 */
describe('OVSDB over mutual TLS (test bed NB/SB, ycloud-controller --nb-tls-dir)', () => {
  const root = repoRoot();
  let dir = '';
  let pki: OvsdbPki;
  let intruder: OvsdbPki;
  let k8s: KubeControlPlane | undefined;
  let ovn: OvnCentral | undefined;
  let controller: ChildProcess | undefined;
  let stderr = '';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ycloud-ovsdb-tls-'));
    pki = await createOvsdbPki(path.join(dir, 'pki'));
    intruder = await createOvsdbPki(path.join(dir, 'intruder'), 'intruder');
    [k8s, ovn] = await Promise.all([
      KubeControlPlane.start({ serviceClusterIpRange: '10.96.0.0/16', controllers: [] }),
      OvnCentral.start({ tls: pki }),
    ]);
  });
  afterAll(async () => {
    if (controller && controller.exitCode === null && controller.signalCode === null) {
      const exited = new Promise((r) => controller!.once('exit', r));
      controller.kill('SIGKILL');
      await exited;
    }
    await Promise.all([k8s?.stop(), ovn?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves NB and SB to a client with a certificate of its CA, and refuses one signed by another CA', async () => {
    for (const remote of [ovn!.nbSslRemote, ovn!.sbSslRemote]) {
      const ok = await run('ovsdb-client', [...ovsTlsArgs(pki.client), '--timeout=10', 'list-dbs', remote]);
      expect(ok.stdout).toMatch(/OVN_(North|South)bound/);
      const refused = await run('ovsdb-client', [...ovsTlsArgs(intruder.client), '--timeout=5', 'list-dbs', remote], {
        allowFailure: true,
      });
      expect(refused.code).not.toBe(0);
    }
  });

  it('ycloud-controller with --nb-tls-dir programs NB over ssl:', async () => {
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, `serviceCIDRs: [10.96.0.0/16]\nnbRemote: ${ovn!.nbSslRemote}\n`);
    controller = spawn(
      process.execPath,
      [
        '-r',
        './scripts/register.js',
        'apps/controller/src/main.ts',
        `--config=${config}`,
        `--kubeconfig=${k8s!.kubeconfigPath}`,
        `--nb-tls-dir=${pki.client.dir}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--health-port=0',
        '--metrics-port=0',
      ],
      { cwd: root, env: { ...process.env, NODE_NAME: '' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    controller.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // The apiserver's own `kubernetes` Service becomes a load balancer: read back over the unix socket.
    const vips = await eventually(
      async () => {
        if (controller!.exitCode !== null) throw new Error(`controller exited ${controller!.exitCode}: ${stderr}`);
        return ovn!.nbctl('--bare', '--columns=vips', 'find', 'Load_Balancer', 'name="Service_default/kubernetes_TCP"');
      },
      (v) => v.includes('10.96.0.1:443'),
      'the kubernetes Service load balancer written over TLS',
      90_000,
    );
    expect(vips).toContain('10.96.0.1:443');
  });
});
