import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { NestFactory } from '@nestjs/core';
import { CommanderError } from 'commander';
import { KubeClient, Logger } from '@ycloud/k8s';
import { ControllerAppModule } from './controller-app.module';
import { ControllerUsageError, controllerAppConfig } from './controller-options';

/**
 * ycloud-controller. `node dist/apps/controller/src/main.js --config /etc/ycloud/config.yaml` (from sources:
 * `node -r ./scripts/register.js apps/controller/src/main.ts ...`); `--help` lists the flags. Exit status: 0
 * after SIGTERM/SIGINT, 1 on a runtime failure or a lost leader Lease, 2 for a bad command line or config.
 */
async function main(): Promise<void> {
  let cfg;
  try {
    cfg = controllerAppConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) return; // --help, --version
    if (err instanceof ControllerUsageError) {
      process.stderr.write(`ycloud-controller: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const log = new Logger({ level: cfg.logLevel, fields: { component: 'ycloud-controller' } });
  const kube = cfg.kubeconfig ? KubeClient.fromKubeconfigFile(cfg.kubeconfig) : KubeClient.inCluster(cfg.inCluster);
  const identity = `${cfg.podName || hostname()}_${randomBytes(4).toString('hex')}`;
  const app = await NestFactory.createApplicationContext(
    ControllerAppModule.forConfig(cfg, { kube, identity, log, exit: (code) => process.exit(code) }),
    { logger: ['error', 'warn'] },
  );
  app.enableShutdownHooks();
}

main().catch((err: Error) => {
  process.stderr.write(`ycloud-controller: ${err.message}\n`);
  process.exit(1);
});
