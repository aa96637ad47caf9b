import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { CniAppModule } from './cni-app.module';
import { cniAppOptions } from './cni-options';

/**
 * ycloud CNI node agent. `node dist/apps/cni/main.js --config /etc/ycloud/cni.yaml --node-name $NODE_NAME`
 * (or from sources: `node -r ./scripts/register.js apps/cni/src/main.ts ...`). Flags override the file.
 */
async function main(): Promise<void> {
  const options = cniAppOptions(process.argv.slice(2));
  const app = await NestFactory.createApplicationContext(CniAppModule.forOptions(options), {
    logger: ['error', 'warn'],
  });
  app.enableShutdownHooks();
}

main().catch((err: Error) => {
  process.stderr.write(`ycloud-cni-agent: ${err.message}\n`);
  process.exit(1);
});
