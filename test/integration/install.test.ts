import { parseControllerConfig } from '@ycloud/api';
import { run } from '@ycloud/testbed';
import {
  KubeControlPlane,
  ManifestObject,
  loadKustomization,
  repoRoot,
  resolveK8sTool,
  serverSideApply,
  waitForCrdsEstablished,
} from '@ycloud/testbed/k8s';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

/**
 * Installing ycloud as an operator would: `kubectl apply -k deploy/base` (real kubectl and its kustomize), the
 * deploy/overlays/host-ovs overlay, and the Helm chart (real helm: lint, template) all pass a server-side dry run
 * (`dryRun=All`, server-side apply, strict field validation) against a real kube-apiserver; the chart with
 * default values renders the same objects as the base.
 */
const root = repoRoot();
const NS = 'ycloud-system';
const chart = path.join(root, 'deploy/helm/ycloud');
type Obj = ManifestObject['object'] & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function parseDocs(text: string, file: string): ManifestObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o)
    .map((object) => ({ file, object }));
}
const ref = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

/** Embedded config files compared by content, not by their text (comments, flow style). */
function normalized(o: Obj): Obj {
  if (o.kind !== 'ConfigMap') return o;
  const data = Object.fromEntries(
    Object.entries(o.data as Record<string, string>).map(([k, v]) => [
      k,
      k.endsWith('.yaml') ? parseYaml(v) : k.endsWith('.conflist') ? JSON.parse(v) : v,
    ]),
  );
  return { ...o, data };
}

describe('install: kustomize base, overlay and Helm chart against a real kube-apiserver', () => {
  let cp: KubeControlPlane | undefined;
  let kubectl = '';
  let helm = '';
  let work = '';
  const helmEnv = () => ({
    ...process.env,
    HELM_CACHE_HOME: path.join(work, 'helm-cache'),
    HELM_CONFIG_HOME: path.join(work, 'helm-config'),
    HELM_DATA_HOME: path.join(work, 'helm-data'),
  });
  const helmTemplate = async (values?: object): Promise<ManifestObject[]> => {
    const args = ['template', 'ycloud', chart, '--namespace', NS];
    if (values) {
      const f = path.join(work, `values-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(f, JSON.stringify(values));
      args.push('--values', f);
    }
    const r = await run(helm, args, { env: helmEnv(), timeoutMs: 120_000 });
    return parseDocs(r.stdout, 'helm template');
  };
  const kustomize = async (dir: string) =>
    parseDocs((await run(kubectl, ['kustomize', dir], { timeoutMs: 120_000 })).stdout, dir);

  /** Every option an operator changes, at once. */
  const options = {
    images: { ycloud: { repository: 'registry.invalid/ycloud', tag: '9.9.9' }, ovn: { tag: '25.03' } },
    ovn: {
      tls: { enabled: true, secretName: 'ovn-tls' },
      central: { addresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'], storageClassName: 'fast' },
    },
    network: { podCIDRs: ['10.32.0.0/16'], serviceCIDRs: ['10.100.0.0/16'], mtu: 1450, selectionFields: true },
    eipPools: [
      {
        name: 'internet',
        networkName: 'physnet1',
        cidr: '172.18.0.0/16',
        gateway: '172.18.0.1',
        ranges: ['172.18.10.0/24'],
        gatewayNodes: ['node-1', 'node-2'],
      },
    ],
    defaultEipPool: 'internet',
    controller: { networkProbes: false, resources: { requests: { cpu: '50m' } } },
    agent: { nodePools: [{ name: 'dpu', mode: 'dpu-host', nodeSelector: { 'ycloud.io/dpu': 'bf3' } }] },
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'ycloud-install-'));
    [kubectl, helm] = await Promise.all([resolveK8sTool('kubectl'), resolveK8sTool('helm')]);
    cp = await KubeControlPlane.start({ controllers: [] });
    writeFileSync(path.join(work, 'kubeconfig'), readFileSync(cp.kubeconfigPath));
  });
  afterAll(async () => {
    await cp?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('helm lint passes with the default values and with every option set', async () => {
    const lint = await run(helm, ['lint', '--strict', chart], { env: helmEnv(), allowFailure: true });
    expect(lint.stdout + lint.stderr).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(lint.code).toBe(0);
    const f = path.join(work, 'options.yaml');
    writeFileSync(f, JSON.stringify(options));
    const withOptions = await run(helm, ['lint', '--strict', chart, '--values', f], {
      env: helmEnv(),
      allowFailure: true,
    });
    expect(withOptions.code).toBe(0);
  });

  it('the chart with default values renders the same objects as deploy/base (but the Namespace)', async () => {
    const fromKustomize = (await kustomize(path.join(root, 'deploy/base'))).map((m) => m.object as Obj);
    const fromHelm = (await helmTemplate()).map((m) => m.object as Obj);
    // The chart's CRDs come from its crds/ folder (installed, not templated): the generated copies of the base's.
    const withoutCrds = (objs: Obj[]) =>
      objs.filter((o) => o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace');
    const byRef = (objs: Obj[]) => Object.fromEntries(withoutCrds(objs).map((o) => [ref(o), normalized(o)]));
    expect(Object.keys(byRef(fromHelm)).sort()).toEqual(Object.keys(byRef(fromKustomize)).sort());
    expect(byRef(fromHelm)).toEqual(byRef(fromKustomize));
    // kustomize-lite (what deploy.test.ts and the sandbox read) agrees with real kustomize.
    const lite = (await loadKustomization(path.join(root, 'deploy/base'))).map((m) => m.object as Obj);
    expect(lite.map(ref).sort()).toEqual(fromKustomize.map(ref).sort());
  });

  it('the chart applies every option an operator changes', async () => {
    const objs = (await helmTemplate(options)).map((m) => m.object as Obj);
    const find = (kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata?.name === name);
    const config = parseControllerConfig(parseYaml(find('ConfigMap', 'ycloud-config')!.data['config.yaml']));
    expect(config.nbRemote.split(',')).toHaveLength(5);
    expect(config.nbRemote).toMatch(/^ssl:10\.0\.0\.1:6641,ssl:10\.0\.0\.2:6641,/);
    expect(config.defaultSubnet.cidrBlocks).toEqual(['10.32.0.0/16']);
    expect(config.serviceCIDRs).toEqual(['10.100.0.0/16']);
    expect(config.mtu).toBe(1450);
    expect(config.offload.selectionFields).toBe(true);
    expect(config.eip.defaultPool).toBe('internet');
    expect(find('EipPool', 'internet')!.spec.gatewayNodes).toEqual(['node-1', 'node-2']);
    const central = find('StatefulSet', 'ovn-central')!;
    expect(central.spec.replicas).toBe(5);
    expect(central.spec.template.spec.containers[0].image).toBe('ycloud/ovn:25.03');
    expect(central.spec.template.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'ovn-tls' } });
    const ctrl = find('Deployment', 'ycloud-controller')!.spec.template.spec;
    expect(ctrl.containers[0].image).toBe('registry.invalid/ycloud:9.9.9');
    expect(ctrl.containers[0].args).toContain('--nb-tls-dir=/etc/ovn/tls');
    expect(ctrl.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'ovn-tls' } });
    expect(ctrl.hostNetwork).toBeUndefined();
    expect(ctrl.securityContext.runAsNonRoot).toBe(true);
    expect(ctrl.containers[0].securityContext.capabilities).toEqual({ drop: ['ALL'] });
    const pool = find('DaemonSet', 'ycloud-agent-dpu')!.spec.template.spec;
    expect(pool.nodeSelector).toEqual({ 'ycloud.io/dpu': 'bf3' });
    expect(pool.containers[0].args).toContain('--mode=dpu-host');
    const rest = find('DaemonSet', 'ycloud-agent')!.spec.template.spec;
    expect(rest.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'ycloud.io/dpu', operator: 'NotIn', values: ['bf3'] }] },
    ]);
    const ovs = find('DaemonSet', 'ycloud-ovs')!.spec.template.spec.containers[0];
    expect(ovs.env).toContainEqual({ name: 'OVN_TLS', value: 'true' });

    // OVN outside the cluster: the chart wants its address, and uses it.
    await expect(helmTemplate({ ovn: { central: { enabled: false } } })).rejects.toThrow(
      /ovn\.(north|south)bound is required/,
    );
    const external = (
      await helmTemplate({
        ovn: {
          central: { enabled: false },
          node: { enabled: false },
          northbound: 'tcp:10.0.0.2:6641',
          southbound: 'tcp:10.0.0.2:6642',
        },
      })
    ).map((m) => m.object as Obj);
    expect(external.filter((o) => o.kind === 'StatefulSet' || o.metadata?.name === 'ycloud-ovs')).toEqual([]);
    const cm = external.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'ycloud-config')!;
    expect(parseControllerConfig(parseYaml(cm.data['config.yaml'])).nbRemote).toBe('tcp:10.0.0.2:6641');
  });

  it('kubectl apply --server-side --dry-run=server -k deploy/base passes, and so do the overlay and the chart', async () => {
    const kc = cp!.kubeConfig;
    const kubeconfig = path.join(work, 'kubeconfig');
    const base = await kustomize(path.join(root, 'deploy/base'));
    // CRDs and the namespace for real first (as `kubectl apply` would on a second run), so custom objects
    // (EipPools) validate and namespaced objects have a home.
    const crds = base.filter((o) => o.object.kind === 'CustomResourceDefinition');
    const setup = await serverSideApply(kc, [...crds, ...base.filter((o) => o.object.kind === 'Namespace')]);
    expect(setup.filter((r) => r.error)).toEqual([]);
    await waitForCrdsEstablished(
      kc,
      crds.map((o) => o.object.metadata!.name!),
    );

    // The operator's own command, with the real kubectl.
    const applied = await run(
      kubectl,
      ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--dry-run=server', '-k', path.join(root, 'deploy/base')],
      { allowFailure: true, timeoutMs: 120_000 },
    );
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim().split('\n')).toHaveLength(base.length);

    const overlay = await kustomize(path.join(root, 'deploy/overlays/host-ovs'));
    expect(overlay.map((o) => ref(o.object as Obj))).not.toContain(`DaemonSet/${NS}/ycloud-ovs`);
    expect(overlay).toHaveLength(base.length - 1);
    for (const objects of [overlay, await helmTemplate(), await helmTemplate(options)]) {
      const results = await serverSideApply(kc, objects, { dryRun: true });
      expect(results.filter((r) => r.error)).toEqual([]);
      expect(results).toHaveLength(objects.length);
    }
  });

  it('the chart, the images and package.json agree on the version', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const chartYaml = parseYaml(readFileSync(path.join(chart, 'Chart.yaml'), 'utf8')) as Record<string, string>;
    expect([chartYaml.version, chartYaml.appVersion]).toEqual([pkg.version, pkg.version]);
  });
});
