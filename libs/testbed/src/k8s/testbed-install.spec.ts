import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from './k8s-binaries';
import { loadKustomization, ManifestObject } from './kustomize-lite';
import { adaptInstallForTestbed, TestbedInstallTarget } from './testbed-install';

const target: TestbedInstallTarget = {
  nodeName: 'real-node-1',
  nodeIp: '10.0.0.5',
  apiserverHost: '127.0.0.1',
  apiserverPort: 6443,
  serviceCIDR: '10.96.0.0/16',
  ovnImage: 'ycloud/ovn:25.03',
  hostRoot: '/tmp/node/host',
  cniBinDir: '/tmp/node/cni/bin',
  cniConfDir: '/tmp/node/cni/net.d',
  agentRunDir: '/tmp/node/ycloud-run',
  ports: {
    controllerHealth: 30001,
    controllerMetrics: 30002,
    agentMetrics: 30003,
    nb: 30004,
    sb: 30005,
    nbRaft: 30006,
    sbRaft: 30007,
  },
  ovnTrace: ['nsenter', 'ovn-trace'],
};

interface PodSpecView {
  containers: {
    name: string;
    image: string;
    args: string[];
    env: { name: string; value?: string }[];
    ports: { name?: string; containerPort: number }[];
  }[];
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

  it('keeps every object of the base, OVN central and the node OVS included, plus the agent config', () => {
    const { objects } = adaptInstallForTestbed(base, target);
    expect(objects).toHaveLength(base.length + 1);
    expect(find(objects, 'CustomResourceDefinition', 'vpcs.sdn.ycloud.io')).toBeDefined();
  });

  it('runs OVN central as a 1-member RAFT cluster on the node address, free ports, the release under test', () => {
    const { objects } = adaptInstallForTestbed(base, target);
    const sts = find(objects, 'StatefulSet', 'ovn-central')!;
    expect((sts.spec as { replicas: number }).replicas).toBe(1);
    for (const c of spec(sts).containers) {
      expect(c.image).toBe('ycloud/ovn:25.03');
      expect(c.env).toEqual(
        expect.arrayContaining([
          { name: 'OVN_CENTRAL_ADDRESSES', value: '10.0.0.5' },
          { name: 'OVN_NB_PORT', value: '30004' },
          { name: 'OVN_SB_RAFT_PORT', value: '30007' },
        ]),
      );
    }
    const nb = spec(sts).containers.find((c) => c.name === 'nb')!;
    expect(nb.ports.map((p) => p.containerPort)).toEqual([30004, 30006]);
    const ovs = spec(find(objects, 'DaemonSet', 'ycloud-ovs')!);
    expect(ovs.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: 'OVN_REMOTE', value: 'tcp:10.0.0.5:30005' },
        { name: 'OVS_DATAPATH_TYPE', value: 'netdev' },
      ]),
    );
    expect(ovs.volumes.find((v) => v.name === 'ovs-run')?.hostPath?.path).toBe('/tmp/node/host/var/run/openvswitch');
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
    expect(config).toEqual({ diagnose: { ovnTrace: ['nsenter', 'ovn-trace'] } });
    // The node's OVS sockets: the same host directory the ycloud-ovs DaemonSet writes them to.
    expect(hostPath('ovs-run')).toBe('/tmp/node/host/var/run/openvswitch');
  });

  it("gives the controller the member's NB and the service range, one replica, probes off; the base is not changed", () => {
    const before = JSON.stringify(base);
    const { objects } = adaptInstallForTestbed(base, target);
    expect(JSON.stringify(base)).toBe(before);
    const cfg = parseYaml((find(objects, 'ConfigMap', 'ycloud-config')!.data as Record<string, string>)['config.yaml']);
    expect(cfg).toMatchObject({
      nbRemote: 'tcp:10.0.0.5:30004',
      serviceCIDRs: [target.serviceCIDR],
      defaultVpc: 'default',
    });
    const deploy = find(objects, 'Deployment', 'ycloud-controller')!;
    expect((deploy.spec as { replicas: number }).replicas).toBe(1);
    const c = spec(deploy).containers[0];
    expect(c.env.map((e) => e.name)).not.toContain('NODE_NAME');
    expect(c.args).toEqual(expect.arrayContaining(['--health-port=30001', '--metrics-port=30002']));
  });
});
