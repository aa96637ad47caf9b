import { Command } from 'commander';
import { registerSandboxCommands } from './index';

/**
 * `ycloud sandbox …` on its own, for when the full `ycloud` entry point (apps/cli/src/main.ts) is not at hand:
 * `node -r ./scripts/register.js apps/cli/src/sandbox/sandbox-main.ts sandbox up`.
 */
const program = new Command('ycloud').showHelpAfterError();
registerSandboxCommands(program);
program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`ycloud: ${err.message}\n`);
  process.exit(1);
});
