import { CoreV1Api } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { KubeControlPlane, KubeProxy, KubeProxyMode, createNode, setPodStatus, startKubeProxy } from '../src/k8s';
import { netnsAdd, netnsDel, netnsExecText } from '../src/netns';
import { isAlive, waitFor } from '../src/process';

/** What each mode's rules look like when they carry a ClusterIP. */
const rulesOf: Record<Exclude<KubeProxyMode, 'ipvs'>, string[]> = {
  iptables: ['iptables-save'],
  nftables: ['nft', 'list', 'ruleset'],
};

describe('startKubeProxy', () => {
  let cp: KubeControlPlane | undefined;
  const netns = `ycn-kp-${randomBytes(3).toString('hex')}`;
  let clusterIP = '';

  beforeAll(async () => {
    cp = await KubeControlPlane.start();
    await netnsAdd(netns);
    const kc = cp.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    await createNode(kc, 'kp-node', '10.200.0.1');
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'echo' },
        spec: { selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    clusterIP = svc.spec!.clusterIP!;
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'echo-1', labels: { app: 'echo' } },
        spec: { nodeName: 'kp-node', containers: [{ name: 'echo', image: 'example/echo:1' }] },
      },
    });
    await setPodStatus(kc, 'default', 'echo-1', { podIP: '10.244.1.5', ready: true });
  });
  afterAll(async () => {
    await netnsDel(netns);
    await cp?.stop();
  });

  for (const mode of Object.keys(rulesOf) as (keyof typeof rulesOf)[]) {
    it(`programs a Service's ClusterIP and endpoint in ${mode} mode inside the netns`, async () => {
      let kp: KubeProxy | undefined;
      try {
        kp = await startKubeProxy({ kubeconfig: cp!.kubeconfigPath, mode, netns, hostname: 'kp-node' });
        const rules = await waitFor(`${mode} rules for ${clusterIP} and 10.244.1.5 in ${netns}`, async () => {
          const text = await netnsExecText(netns, rulesOf[mode]);
          return text.includes(clusterIP) && text.includes('10.244.1.5') ? text : undefined;
        });
        expect(rules).toContain(clusterIP);
        expect(await kp.metrics()).toMatch(
          /^kubeproxy_sync_proxy_rules_duration_seconds_count\{ip_family="IPv4"\} [1-9]/m,
        );
      } finally {
        const pids = kp?.pids ?? [];
        await kp?.stop();
        expect(pids.filter(isAlive)).toEqual([]);
      }
    });
  }
});
