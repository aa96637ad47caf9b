import { Command } from 'commander';
import { ycloudVersion } from '@ycloud/api';
import { CniAgentConfig, OffloadMode, loadAgentConfig } from '@ycloud/cni';
import type { InClusterEnv } from '@ycloud/k8s';

/** Everything the agent process takes from its command line and environment, read once at start. */
export interface CniAppOptions {
  config: CniAgentConfig;
  /** The API server when the config names no kubeconfig (KUBERNETES_SERVICE_HOST/PORT, set by the kubelet). */
  inCluster: InClusterEnv;
}

/** The agent's command line (commander). */
export function cniAgentCommand(): Command {
  return new Command('ycloud-cni-agent')
    .description('ycloud CNI node agent: plugs pods into Open vSwitch; the CNI plugin forwards to it')
    .version(ycloudVersion(), '--version', 'print the version and exit')
    .option('--config <file>', 'YAML/JSON config file (see CniAgentConfig)')
    .option('--node-name <name>', 'this node (default $NODE_NAME)')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster)')
    .option('--socket <path>', 'unix socket the CNI shim calls')
    .option('--mode <mode>', 'none | smartnic | dpu-host | dpu')
    .option('--ovs-db <remote>', 'OVSDB remote for ovs-vsctl')
    .option('--node-netns <name>', 'network namespace holding the node OVS (simulated nodes)')
    .option('--metrics <host:port>', 'serve Prometheus metrics');
}

/**
 * Parses `argv` (the arguments after the program name; flags override the config file) and loads the config.
 * `env` supplies NODE_NAME (the DaemonSet sets it from `spec.nodeName`), the default of --node-name, and the
 * in-cluster API server address; nothing else in the agent reads the environment.
 */
export function cniAppOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): CniAppOptions {
  const o = cniAgentCommand()
    .parse([...argv], { from: 'user' })
    .opts<Record<string, string | undefined>>();
  const config = loadAgentConfig(o.config, {
    nodeName: o.nodeName ?? env.NODE_NAME,
    kubeconfig: o.kubeconfig,
    socketPath: o.socket,
    mode: o.mode as OffloadMode | undefined,
    ovsDb: o.ovsDb,
    nodeNetns: o.nodeNetns,
    metricsAddress: o.metrics,
  });
  return {
    config,
    inCluster: {
      KUBERNETES_SERVICE_HOST: env.KUBERNETES_SERVICE_HOST,
      KUBERNETES_SERVICE_PORT: env.KUBERNETES_SERVICE_PORT,
    },
  };
}
