import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Command } from 'commander';
import { ycloudVersion } from '@ycloud/api';
import { OffloadMode, loadAgentConfig } from '@ycloud/cni';
import { CniAppModule } from './cni-app.module';

/**
 * ycloud CNI node agent. `node dist/apps/cni/main.js --config /etc/ycloud/cni.yaml --node-name $NODE_NAME`
 * (or from sources: `node -r ./scripts/register.js apps/cni/src/main.ts ...`). Flags override the file.
 */
async function main(): Promise<void> {
  const cmd = new Command('ycloud-cni-agent')
    .description('ycloud CNI node agent: plugs pods into Open vSwitch; the CNI plugin forwards to it')
    .version(ycloudVersion(), '--version', 'print the version and exit')
    .option('--config <file>', 'YAML/JSON config file (see CniAgentConfig)')
    .option('--node-name <name>', 'this node (default $NODE_NAME)')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster)')
    .option('--socket <path>', 'unix socket the CNI shim calls')
    .option('--mode <mode>', 'none | smartnic | dpu-host | dpu')
    .option('--ovs-db <remote>', 'OVSDB remote for ovs-vsctl')
    .option('--node-netns <name>', 'network namespace holding the node OVS (simulated nodes)')
    .option('--metrics <host:port>', 'serve Prometheus metrics')
    .parse(process.argv);
  const o = cmd.opts<Record<string, string | undefined>>();
  const cfg = loadAgentConfig(o.config, {
    nodeName: o.nodeName ?? process.env.NODE_NAME,
    kubeconfig: o.kubeconfig,
    socketPath: o.socket,
    mode: o.mode as OffloadMode | undefined,
    ovsDb: o.ovsDb,
    nodeNetns: o.nodeNetns,
    metricsAddress: o.metrics,
  });
  const app = await NestFactory.createApplicationContext(CniAppModule.forConfig(cfg), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
}

main().catch((err: Error) => {
  process.stderr.write(`ycloud-cni-agent: ${err.message}\n`);
  process.exit(1);
});
