import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { KubeClient, Resources, resourcePath, type KubeObject } from '@ycloud/k8s';
import { ControllerApp, KubeControlPlane, OvnCentral, createNamespace, eventually, installCrds } from '@ycloud/testbed';

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string | null; leaseTransitions?: number };
}

/**
 * Two ycloud-controller processes with the default election timings (lease 15 s, renew deadline 10 s, retry 2 s)
 * against a real apiserver: on SIGTERM the leader drains, releases the Lease (holder cleared), and the standby,
 * which watches the Lease, holds it within 2 s of the release.
 */
describe('leader hand-over on a clean shutdown (two controller processes, real apiserver)', () => {
  let dir: string;
  let k8s: KubeControlPlane;
  let ovn: OvnCentral;
  let kube: KubeClient;
  const apps: ControllerApp[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ycloud-handover-'));
    [k8s, ovn] = await Promise.all([KubeControlPlane.start(), OvnCentral.start()]);
    kube = KubeClient.fromKubeconfigFile(k8s.kubeconfigPath);
    await installCrds(kube);
    await createNamespace(k8s.kubeConfig, 'ycloud-system');
  }, 180_000);
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.kill()));
    kube?.close();
    await Promise.all([k8s?.stop(), ovn?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const lease = () => kube.get<Lease>(Resources.leases, 'ycloud-system', 'ycloud-controller');
  const role = async (a: ControllerApp) =>
    /\[\+\]leader-election ok \((\w+)\)/.exec((await a.get('/readyz?verbose')).body)?.[1];

  it('the standby holds the Lease within 2 s of the leader releasing it', async () => {
    const configFile = path.join(dir, 'config.yaml');
    writeFileSync(configFile, `nbRemote: ${ovn.nbRemote}\n`);
    const first = await ControllerApp.start({ configFile, kubeconfigPath: k8s.kubeconfigPath, podName: 'first' });
    apps.push(first);
    await first.ready();
    // Ready comes as a standby, before the Lease is taken: wait for leadership as a rollout would.
    await eventually(
      () => role(first),
      (r) => r === 'leader',
      'the first replica to take the lease',
      60_000,
    );
    const second = await ControllerApp.start({ configFile, kubeconfigPath: k8s.kubeconfigPath, podName: 'second' });
    apps.push(second);
    await second.ready();
    expect(await role(second)).toBe('standby');
    expect((await lease()).spec?.holderIdentity).toMatch(/^first_/);

    // Every change of the Lease, timed as it arrives.
    const seen: Array<{ at: number; holder: string }> = [];
    const abort = new AbortController();
    const watching = kube
      .watch<Lease>(
        resourcePath(Resources.leases, 'ycloud-system'),
        { fieldSelector: 'metadata.name=ycloud-controller' },
        (ev) => seen.push({ at: Date.now(), holder: ev.object.spec?.holderIdentity ?? '' }),
        abort.signal,
      )
      .catch(() => undefined);
    await eventually(
      async () => seen.length,
      (n) => n > 0,
      'the watch to start',
    );

    const sigterm = Date.now();
    await first.stop(); // Nest re-raises SIGTERM after its shutdown hooks: the exit is by that signal
    expect(String(first.proc.signalCode ?? first.proc.exitCode)).toMatch(/^(SIGTERM|0)$/);
    expect(first.stderr).toContain('"msg":"released lease"');
    const taken = await eventually(
      async () => seen.find((s) => s.holder.startsWith('second_')),
      (s) => s !== undefined,
      'the standby to hold the Lease',
      20_000,
    );
    abort.abort();
    await watching;
    const released = seen.find((s) => s.holder === '');
    expect(released).toBeDefined();
    const handoverMs = taken!.at - released!.at;
    process.stdout.write(
      `hand-over: released ${released!.at - sigterm} ms after SIGTERM, taken ${handoverMs} ms after release\n`,
    );
    expect(handoverMs).toBeLessThan(2000);
    await eventually(
      () => role(second),
      (r) => r === 'leader',
      'the standby to lead',
      20_000,
    );
    expect(second.alive).toBe(true);
  });
});
