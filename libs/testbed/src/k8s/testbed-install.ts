import { stringify as toYaml, parse as parseYaml } from 'yaml';
import { ManifestObject } from './kustomize-lite';

/** Where ycloud's install (deploy/base) finds what the test bed runs instead of a real node's host paths. */
export interface TestbedInstallTarget {
  /** Node name: the OVN chassis and the kubelet's `--hostname-override`. */
  nodeName: string;
  /** kube-apiserver as the host-network pods reach it (no kube-proxy serves the `kubernetes` Service here). */
  apiserverHost: string;
  apiserverPort: number;
  /** kube-apiserver's --service-cluster-ip-range. */
  serviceCIDR: string;
  /** OVN NB and SB remotes (unix sockets under `testbedDir`). */
  nbRemote: string;
  sbRemote: string;
  /** The test bed's run directory: mounted at the same path into the controller and agent pods. */
  testbedDir: string;
  /** The node's OVS (its own network namespace, userspace datapath). */
  ovsRemote: string;
  nodeNetns: string;
  encapIp: string;
  /** The node's OVS daemons' files (pidfiles, control sockets), for the agent's datapath health checks. */
  ovsDir: string;
  /** The kubelet node's CNI directories (hostPath of the agent's cni-bin / cni-conf volumes). */
  cniBinDir: string;
  cniConfDir: string;
  /** Host directory for the agent's socket (hostPath of ycloud-run); the plugin finds it by YCLOUD_CNI_SOCKET. */
  agentRunDir: string;
  /** Free host ports for the host-network ops ports (the base's fixed ones may be taken on a shared machine). */
  ports: { controllerHealth: number; controllerMetrics: number; agentMetrics: number };
}

/** What deploy/base's objects become on the test bed, and what is left out. */
export interface TestbedInstall {
  objects: ManifestObject['object'][];
  /** `kind/name` of each object left out, with why. */
  omitted: string[];
}

type Obj = ManifestObject['object'];
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; hostPath?: { path: string; type?: string } }[];
}

/**
 * deploy/base as an operator would adapt it to this machine, object by object, the rest untouched:
 * - OVN central and the node's OVS are the test bed's (host-packages mode, like deploy/overlays/host-ovs; OVN
 *   central outside the cluster, as docs/install.md allows), so the ovn-central StatefulSet and its Services and
 *   the ycloud-ovs DaemonSet are left out;
 * - ycloud-config names the test bed's NB and the apiserver's service range;
 * - the agent gets a config file for the simulated node's OVS (its own network namespace, userspace datapath) and
 *   its hostPath volumes point at the kubelet node's private directories instead of /opt/cni/bin, /etc/cni/net.d
 *   and /run/ycloud;
 * - the controller runs one replica (one node; the replicas' anti-affinity would leave the second Pending) with
 *   network probes off (no NODE_NAME: the probe port would need the node's OVS namespace);
 * - host-network pods reach the apiserver on its loopback address (KUBERNETES_SERVICE_HOST/PORT, which the kubelet
 *   would otherwise take from the `kubernetes` Service that nothing serves here) and use free ops ports.
 * Pure: no I/O.
 */
export function adaptInstallForTestbed(base: readonly ManifestObject[], t: TestbedInstallTarget): TestbedInstall {
  const omitted: string[] = [];
  const objects: Obj[] = [];
  for (const { object } of base) {
    const o = structuredClone(object);
    const name = o.metadata!.name!;
    const ref = `${o.kind}/${name}`;
    if (
      (o.kind === 'StatefulSet' && name === 'ovn-central') ||
      (o.kind === 'Service' && name.startsWith('ovn-central'))
    ) {
      omitted.push(`${ref}: the test bed runs OVN central`);
      continue;
    }
    if (o.kind === 'DaemonSet' && name === 'ycloud-ovs') {
      omitted.push(`${ref}: the test bed runs the node's OVS and ovn-controller`);
      continue;
    }
    if (o.kind === 'ConfigMap' && name === 'ycloud-config') {
      const data = o.data as Record<string, string>;
      const config = parseYaml(data['config.yaml']) as Record<string, unknown>;
      data['config.yaml'] = toYaml({ ...config, nbRemote: t.nbRemote, serviceCIDRs: [t.serviceCIDR] });
    }
    if (o.kind === 'DaemonSet' && name === 'ycloud-agent') adaptAgent(o, t);
    if (o.kind === 'Deployment' && name === 'ycloud-controller') adaptController(o, t);
    objects.push(o);
  }
  objects.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'ycloud-agent-config', namespace: 'ycloud-system' },
    data: {
      'agent.yaml': toYaml({
        datapathType: 'netdev',
        ovsDb: t.ovsRemote,
        nodeNetns: t.nodeNetns,
        ovn: { systemId: t.nodeName, remote: t.sbRemote, encapIp: t.encapIp },
        datapath: {
          vswitchd: { pidfile: `${t.ovsDir}/vswitchd.pid`, unixctl: `${t.ovsDir}/vswitchd.ctl` },
          controller: { pidfile: `${t.ovsDir}/controller.pid`, unixctl: '' },
        },
        diagnose: { ovsRundir: t.ovsDir, ovnControllerPidfile: `${t.ovsDir}/controller.pid` },
      }),
    },
  });
  return { objects, omitted };
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

function mountTestbed(spec: PodSpec, c: Container, t: TestbedInstallTarget): void {
  spec.volumes!.push({ name: 'testbed', hostPath: { path: t.testbedDir, type: 'Directory' } });
  c.volumeMounts = [...(c.volumeMounts ?? []), { name: 'testbed', mountPath: t.testbedDir }];
}

function adaptAgent(o: Obj, t: TestbedInstallTarget): void {
  const spec = podSpec(o);
  const hostPaths: Record<string, string> = {
    'cni-bin': t.cniBinDir,
    'cni-conf': t.cniConfDir,
    'ycloud-run': t.agentRunDir,
    // Not used (the config names the node's OVS), but not the host's either.
    'ovs-run': t.ovsDir,
    'ovn-run': t.ovsDir,
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
  mountTestbed(spec, agent, t);
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
  // The base's ovs-run hostPath must exist (type Directory); probes are off, so point it at the test bed.
  for (const v of spec.volumes ?? []) if (v.name === 'ovs-run' && v.hostPath) v.hostPath.path = t.ovsDir;
  mountTestbed(spec, c, t);
}
