import { stringify as toYaml, parse as parseYaml } from 'yaml';
import { ManifestObject } from './kustomize-lite';

/** Where ycloud's install (deploy/base) finds, on the test bed's kubelet node, what a real node has at fixed paths. */
export interface TestbedInstallTarget {
  /** Node name: the OVN chassis and the kubelet's `--hostname-override`. */
  nodeName: string;
  /** The node's address (the kubelet's `--node-ip`): the host-network OVN central member serves there. */
  nodeIp: string;
  /** kube-apiserver as the host-network pods reach it (no kube-proxy serves the `kubernetes` Service here). */
  apiserverHost: string;
  apiserverPort: number;
  /** kube-apiserver's --service-cluster-ip-range. */
  serviceCIDR: string;
  /** The OVN image the install runs (ycloud/ovn:<release>, of the release the bed tests). */
  ovnImage: string;
  /**
   * Stands for the node's root in the OVS DaemonSet's and the agent's hostPath volumes (/var/run/openvswitch,
   * /var/run/ovn, /etc/openvswitch, ...): a shared machine's own directories stay untouched.
   */
  hostRoot: string;
  /** The kubelet node's CNI directories (hostPath of the agent's cni-bin / cni-conf volumes). */
  cniBinDir: string;
  cniConfDir: string;
  /** Host directory for the agent's socket (hostPath of ycloud-run); the plugin finds it by YCLOUD_CNI_SOCKET. */
  agentRunDir: string;
  /** Free host ports for the host-network pods (the base's fixed ones may be taken on a shared machine). */
  ports: {
    controllerHealth: number;
    controllerMetrics: number;
    agentMetrics: number;
    nb: number;
    sb: number;
    nbRaft: number;
    sbRaft: number;
  };
  /** The agent's `diagnose.ovnTrace`: the command that runs the OVN release's own ovn-trace. */
  ovnTrace?: string[];
}

/** What deploy/base's objects become on the test bed. */
export interface TestbedInstall {
  objects: ManifestObject['object'][];
}

type Obj = ManifestObject['object'];
interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: unknown;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; hostPath?: { path: string; type?: string } }[];
}

/** The base's hostPath volumes of the node's OVS and OVN files, by volume name, under TestbedInstallTarget.hostRoot. */
const NODE_HOST_PATHS: Record<string, string> = {
  'ovs-run': 'var/run/openvswitch',
  'ovn-run': 'var/run/ovn',
  'ovs-db': 'etc/openvswitch',
  'ovs-lib': 'var/lib/openvswitch',
  'ovs-log': 'var/log/openvswitch',
  'ovn-log': 'var/log/ovn',
};

/**
 * deploy/base as an operator would adapt it to a one-node cluster on this machine, object by object, the rest
 * untouched. OVN runs from the manifests: the ovn-central StatefulSet as a 1-member RAFT cluster on the node's
 * address and the ycloud-ovs DaemonSet with the userspace datapath (no OVS kernel module here); then
 * - OVN central's members, ycloud-config's nbRemote and ycloud-ovs's OVN_REMOTE name the node's address, with free
 *   ports (a shared machine), and both run the OVN image of the release under test;
 * - the node's OVS/OVN files (hostPath volumes of ycloud-ovs, the agent and the controller) live under hostRoot,
 *   and the agent's cni-bin / cni-conf / ycloud-run under the kubelet node's private directories;
 * - the controller runs one replica (one node; the replicas' anti-affinity would leave the second Pending) with
 *   network probes off;
 * - host-network pods reach the apiserver on its loopback address (KUBERNETES_SERVICE_HOST/PORT, which the kubelet
 *   would otherwise take from the `kubernetes` Service that nothing serves here) and use free ops ports.
 * Pure: no I/O.
 */
export function adaptInstallForTestbed(base: readonly ManifestObject[], t: TestbedInstallTarget): TestbedInstall {
  const objects: Obj[] = [];
  for (const { object } of base) {
    const o = structuredClone(object);
    const name = o.metadata!.name!;
    if (o.kind === 'StatefulSet' && name === 'ovn-central') adaptOvnCentral(o, t);
    if (o.kind === 'DaemonSet' && name === 'ycloud-ovs') adaptOvs(o, t);
    if (o.kind === 'ConfigMap' && name === 'ycloud-config') {
      const data = o.data as Record<string, string>;
      const config = parseYaml(data['config.yaml']) as Record<string, unknown>;
      data['config.yaml'] = toYaml({
        ...config,
        nbRemote: `tcp:${t.nodeIp}:${t.ports.nb}`,
        serviceCIDRs: [t.serviceCIDR],
      });
    }
    if (o.kind === 'DaemonSet' && name === 'ycloud-agent') adaptAgent(o, t);
    if (o.kind === 'Deployment' && name === 'ycloud-controller') adaptController(o, t);
    objects.push(o);
  }
  objects.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'ycloud-agent-config', namespace: 'ycloud-system' },
    data: { 'agent.yaml': toYaml({ diagnose: { ovnTrace: t.ovnTrace ?? [] } }) },
  });
  return { objects };
}

function podSpec(o: Obj): PodSpec {
  return (o.spec as { template: { spec: PodSpec } }).template.spec;
}

function apiserverEnv(c: Container, t: TestbedInstallTarget): void {
  c.env = [
    ...(c.env ?? []).filter((e) => !e.name.startsWith('KUBERNETES_SERVICE_')),
    { name: 'KUBERNETES_SERVICE_HOST', value: t.apiserverHost },
    { name: 'KUBERNETES_SERVICE_PORT', value: String(t.apiserverPort) },
  ];
}

function setPort(c: Container, portName: string, port: number): void {
  const p = c.ports?.find((x) => x.name === portName);
  if (!p) throw new Error(`container ${c.name} has no port ${portName}`);
  p.containerPort = port;
}

function replaceArg(c: Container, flag: string, value: string): void {
  const i = (c.args ?? []).findIndex((a) => a.startsWith(`${flag}=`));
  if (i < 0) throw new Error(`container ${c.name} has no ${flag}`);
  c.args![i] = `${flag}=${value}`;
}

function setEnv(c: Container, name: string, value: string): void {
  c.env = [...(c.env ?? []).filter((e) => e.name !== name), { name, value }];
}

function hostPathsUnderRoot(spec: PodSpec, t: TestbedInstallTarget): void {
  for (const v of spec.volumes ?? [])
    if (v.hostPath && NODE_HOST_PATHS[v.name]) v.hostPath.path = `${t.hostRoot}/${NODE_HOST_PATHS[v.name]}`;
}

function adaptOvnCentral(o: Obj, t: TestbedInstallTarget): void {
  (o.spec as { replicas: number }).replicas = 1;
  const spec = podSpec(o);
  const ports: Record<string, number> = {
    nb: t.ports.nb,
    sb: t.ports.sb,
    'nb-raft': t.ports.nbRaft,
    'sb-raft': t.ports.sbRaft,
  };
  for (const c of spec.containers) {
    c.image = t.ovnImage;
    setEnv(c, 'OVN_CENTRAL_ADDRESSES', t.nodeIp);
    setEnv(c, 'OVN_NB_PORT', String(t.ports.nb));
    setEnv(c, 'OVN_SB_PORT', String(t.ports.sb));
    setEnv(c, 'OVN_NB_RAFT_PORT', String(t.ports.nbRaft));
    setEnv(c, 'OVN_SB_RAFT_PORT', String(t.ports.sbRaft));
    for (const p of c.ports ?? []) if (p.name && ports[p.name]) p.containerPort = ports[p.name];
  }
}

function adaptOvs(o: Obj, t: TestbedInstallTarget): void {
  const spec = podSpec(o);
  hostPathsUnderRoot(spec, t);
  const c = spec.containers.find((x) => x.name === 'ovs');
  if (!c) throw new Error('DaemonSet ycloud-ovs has no container "ovs"');
  c.image = t.ovnImage;
  setEnv(c, 'OVN_REMOTE', `tcp:${t.nodeIp}:${t.ports.sb}`);
  setEnv(c, 'OVS_DATAPATH_TYPE', 'netdev');
  // No kernel module to load (and no /lib/modules on these machines), as the chart renders netdev.
  spec.volumes = spec.volumes!.filter((v) => v.name !== 'modules');
  c.volumeMounts = c.volumeMounts!.filter((m) => m.name !== 'modules');
}

function adaptAgent(o: Obj, t: TestbedInstallTarget): void {
  const spec = podSpec(o);
  hostPathsUnderRoot(spec, t);
  const hostPaths: Record<string, string> = {
    'cni-bin': t.cniBinDir,
    'cni-conf': t.cniConfDir,
    'ycloud-run': t.agentRunDir,
  };
  for (const v of spec.volumes ?? []) if (v.hostPath && hostPaths[v.name]) v.hostPath.path = hostPaths[v.name];
  const agent = spec.containers.find((c) => c.name === 'agent');
  if (!agent) throw new Error('DaemonSet ycloud-agent has no container "agent"');
  agent.args = [...(agent.args ?? []), '--config=/etc/ycloud/agent/agent.yaml'];
  replaceArg(agent, '--metrics', `$(HOST_IP):${t.ports.agentMetrics}`);
  setPort(agent, 'metrics', t.ports.agentMetrics);
  apiserverEnv(agent, t);
  spec.volumes!.push({ name: 'agent-config', configMap: { name: 'ycloud-agent-config' } } as never);
  agent.volumeMounts!.push({ name: 'agent-config', mountPath: '/etc/ycloud/agent' });
}

function adaptController(o: Obj, t: TestbedInstallTarget): void {
  (o.spec as { replicas: number }).replicas = 1;
  const spec = podSpec(o);
  const c = spec.containers.find((x) => x.name === 'controller');
  if (!c) throw new Error('Deployment ycloud-controller has no container "controller"');
  c.env = (c.env ?? []).filter((e) => e.name !== 'NODE_NAME');
  apiserverEnv(c, t);
  replaceArg(c, '--health-port', String(t.ports.controllerHealth));
  replaceArg(c, '--metrics-port', String(t.ports.controllerMetrics));
  setPort(c, 'health', t.ports.controllerHealth);
  setPort(c, 'metrics', t.ports.controllerMetrics);
  hostPathsUnderRoot(spec, t);
}
