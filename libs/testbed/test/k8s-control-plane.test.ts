import { CoreV1Api, DiscoveryV1Api, V1EndpointSlice, VersionApi } from '@kubernetes/client-node';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isAlive, run, waitFor } from '../src/process';
import { ControlPlaneStartError, KubeControlPlane, createNamespace, createNode, setPodStatus } from '../src/k8s';

describe('KubeControlPlane', () => {
  let cp: KubeControlPlane | undefined;

  beforeAll(async () => {
    cp = await KubeControlPlane.start();
    // Surfaced in the test output: how long a start takes on this runner.
    console.log(`control plane started: ${JSON.stringify(cp.timings)}`);
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('serves the admin kubeconfig and reports the built version', async () => {
    const version = await cp!.kubeConfig.makeApiClient(CoreV1Api).readNamespace({ name: 'kube-system' });
    expect(version.metadata?.name).toBe('kube-system');
    const res = await cp!.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(res.gitVersion).toBe('v1.35.4');
  });

  it('produces EndpointSlices from Pods whose status the test sets', async () => {
    const kc = cp!.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const ns = 'eps-test';
    await createNamespace(kc, ns);
    await createNode(kc, 'node-a', '192.168.50.10');
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
      },
    });
    const ips: Record<string, string> = { 'web-1': '10.244.0.11', 'web-2': '10.244.0.12' };
    for (const [name, podIP] of Object.entries(ips)) {
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name, labels: { app: 'web' } },
          spec: {
            nodeName: 'node-a',
            containers: [{ name: 'app', image: 'example/web:1', ports: [{ containerPort: 8080 }] }],
          },
        },
      });
      await setPodStatus(kc, ns, name, { podIP, ready: true });
    }

    const readiness = async (): Promise<Record<string, boolean | undefined>> => {
      const list = await discovery.listNamespacedEndpointSlice({
        namespace: ns,
        labelSelector: 'kubernetes.io/service-name=web',
      });
      const out: Record<string, boolean | undefined> = {};
      for (const slice of list.items as V1EndpointSlice[]) {
        for (const ep of slice.endpoints ?? []) for (const a of ep.addresses) out[a] = ep.conditions?.ready;
      }
      return out;
    };
    const bothReady = { '10.244.0.11': true, '10.244.0.12': true };
    const seenReady = await waitFor('an EndpointSlice of web with both Pod IPs ready', async () => {
      const r = await readiness();
      return JSON.stringify(r) === JSON.stringify(bothReady) ? r : undefined;
    });
    expect(seenReady).toEqual(bothReady);

    await setPodStatus(kc, ns, 'web-2', { podIP: '10.244.0.12', ready: false });
    const oneReady = { '10.244.0.11': true, '10.244.0.12': false };
    const seenFlip = await waitFor('web-2 to turn not ready in the EndpointSlice', async () => {
      const r = await readiness();
      return JSON.stringify(r) === JSON.stringify(oneReady) ? r : undefined;
    });
    expect(seenFlip).toEqual(oneReady);
  });

  it('stop() kills every component and removes its directory', async () => {
    const comps = cp!.components();
    expect(comps.map((c) => c.name)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager']);
    expect(comps.every((c) => isAlive(c.pid))).toBe(true);
    await cp!.stop();
    expect(comps.filter((c) => isAlive(c.pid))).toEqual([]);
    expect(existsSync(cp!.dir)).toBe(false);
  });
});

describe('KubeControlPlane.start failure', () => {
  it('tears down what it started and reports the failing component with its log', async () => {
    const parent = mkdtempSync(path.join(os.tmpdir(), 'ycloud-k8s-fail-'));
    try {
      const err = await KubeControlPlane.start({ dir: parent, extraApiserverArgs: ['--no-such-flag'] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ControlPlaneStartError);
      expect((err as ControlPlaneStartError).component).toBe('kube-apiserver');
      expect((err as Error).message).toMatch(/unknown flag: --no-such-flag/);
      // etcd had been started: its data dir lived under `parent`, so no process may still name it.
      const left = await run('pgrep', ['-f', parent], { allowFailure: true });
      expect(left.stdout.trim()).toBe('');
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
