import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from './k8s-binaries';
import { loadKustomization, ManifestObject } from './kustomize-lite';
import { adaptInstallForTestbed, TestbedInstallTarget } from './testbed-install';

const target: TestbedInstallTarget = {
  nodeName: 'real-node-1',
  apiserverHost: '127.0.0.1',
  apiserverPort: 6443,
  serviceCIDR: '10.96.0.0/16',
  nbRemote: 'unix:/tmp/bed/central/nb.sock',
  sbRemote: 'unix:/tmp/bed/central/sb.sock',
  testbedDir: '/tmp/bed',
  ovsRemote: 'unix:/tmp/bed/real-node-1/conf.sock',
  nodeNetns: 'ycn-x-real-node-1',
  encapIp: '127.0.0.1',
  ovsDir: '/tmp/bed/real-node-1',
  cniBinDir: '/tmp/node/cni/bin',
  cniConfDir: '/tmp/node/cni/net.d',
  agentRunDir: '/tmp/node/ycloud-run',
  ports: { controllerHealth: 30001, controllerMetrics: 30002, agentMetrics: 30003 },
};

interface PodSpecView {
  containers: { name: string; args: string[]; env: { name: string; value?: string }[]; ports: unknown[] }[];
  volumes: { name: string; hostPath?: { path: string } }[];
}
const spec = (o: ManifestObject['object']) => (o.spec as { template: { spec: PodSpecView } }).template.spec;
const find = (objs: ManifestObject['object'][], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata?.name === name);

describe('adaptInstallForTestbed (deploy/base on the test bed)', () => {
  let base: ManifestObject[];
  beforeAll(async () => {
    base = await loadKustomization(path.join(repoRoot(), 'deploy/base'));
  });

  it('leaves out OVN central and the node OVS DaemonSet, saying why, and keeps everything else', () => {
    const { objects, omitted } = adaptInstallForTestbed(base, target);
    expect(omitted.map((o) => o.split(':')[0]).sort()).toEqual([
      'DaemonSet/ycloud-ovs',
      'Service/ovn-central',
      'Service/ovn-central-raft',
      'StatefulSet/ovn-central',
    ]);
    expect(objects).toHaveLength(base.length - omitted.length + 1); // + the agent's config
    expect(find(objects, 'CustomResourceDefinition', 'vpcs.sdn.ycloud.io')).toBeDefined();
  });

  it('points the agent at the node: private CNI dirs, its config file, the apiserver, a free ops port', () => {
    const { objects } = adaptInstallForTestbed(base, target);
    const ds = spec(find(objects, 'DaemonSet', 'ycloud-agent')!);
    const hostPath = (n: string) => ds.volumes.find((v) => v.name === n)?.hostPath?.path;
    expect([hostPath('cni-bin'), hostPath('cni-conf'), hostPath('ycloud-run')]).toEqual([
      target.cniBinDir,
      target.cniConfDir,
      target.agentRunDir,
    ]);
    const agent = ds.containers.find((c) => c.name === 'agent')!;
    expect(agent.args).toContain('--config=/etc/ycloud/agent/agent.yaml');
    expect(agent.args).toContain('--metrics=$(HOST_IP):30003');
    expect(agent.env.filter((e) => e.name.startsWith('KUBERNETES_SERVICE_'))).toEqual([
      { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' },
      { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
    ]);
    const config = parseYaml(
      (find(objects, 'ConfigMap', 'ycloud-agent-config')!.data as Record<string, string>)['agent.yaml'],
    ) as Record<string, unknown>;
    expect(config).toMatchObject({ ovsDb: target.ovsRemote, nodeNetns: target.nodeNetns, datapathType: 'netdev' });
  });

  it('gives the controller the bed NB and service range, one replica, probes off; the base is not changed', () => {
    const before = JSON.stringify(base);
    const { objects } = adaptInstallForTestbed(base, target);
    expect(JSON.stringify(base)).toBe(before);
    const cfg = parseYaml((find(objects, 'ConfigMap', 'ycloud-config')!.data as Record<string, string>)['config.yaml']);
    expect(cfg).toMatchObject({ nbRemote: target.nbRemote, serviceCIDRs: [target.serviceCIDR], defaultVpc: 'default' });
    const deploy = find(objects, 'Deployment', 'ycloud-controller')!;
    expect((deploy.spec as { replicas: number }).replicas).toBe(1);
    const c = spec(deploy).containers[0];
    expect(c.env.map((e) => e.name)).not.toContain('NODE_NAME');
    expect(c.args).toEqual(expect.arrayContaining(['--health-port=30001', '--metrics-port=30002']));
  });
});
