import { Command, CommanderError, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { IpFamily } from '@ycloud/api';
import { loadManifests, ManifestError, translateManifests } from '@ycloud/translate';

/** Where the command writes; injectable so tests capture output. */
export interface TranslateIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const FAMILIES: Record<string, IpFamily> = { ipv4: 4, ipv6: 6 };

/** `ycloud translate`: the Northbound rows manifests translate to. Sets `result.exitCode` to 2 for --strict. */
export function translateCommand(io: TranslateIo, result: { exitCode: number } = { exitCode: 0 }): Command {
  return new Command('translate')
    .description('Print the OVN Northbound rows that Kubernetes manifests translate to (no cluster, no database)')
    .argument('[paths...]', 'manifest files or directories (YAML, multi-document, or JSON)')
    .option('-f, --filename <path>', 'a manifest file or directory, as with kubectl (repeatable)', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'yaml']).default('json'))
    .option('--default-vpc <name>', 'VPC of namespaces no manifest assigns', 'default')
    .option('--ip-families <list>', 'families the default VPC serves: ipv4,ipv6', 'ipv4,ipv6')
    .option('--offload-selection-fields', 'hash on ip/tp src/dst so OVS can offload LB selection', false)
    .option(
      '--eip-default-pool',
      'as a controller config with eip.defaultPool: Local replies use its default route (no IPv4 reply gateway)',
      false,
    )
    .option('--strict', 'exit 2 when any part of a manifest was skipped with a warning', false)
    .action(async (args: string[], opts: Record<string, string | boolean | string[]>) => {
      const paths = [...(opts.filename as string[]), ...args];
      if (!paths.length) throw new ManifestError('no manifests: give paths or -f FILE_OR_DIR');
      const families = String(opts.ipFamilies)
        .split(',')
        .map((f) => FAMILIES[f.trim().toLowerCase()]);
      if (families.some((f) => !f)) throw new ManifestError(`--ip-families: expected ipv4, ipv6 or both`);
      const output = translateManifests(await loadManifests(paths), {
        defaultVpc: String(opts.defaultVpc),
        defaultVpcFamilies: families,
        offloadSelectionFields: opts.offloadSelectionFields === true,
        eipDefaultPool: opts.eipDefaultPool === true,
      });
      io.stdout(opts.format === 'yaml' ? toYaml(output) : `${JSON.stringify(output, null, 2)}\n`);
      for (const w of output.warnings) io.stderr(`warning: ${w.object}: ${w.field}: ${w.message}\n`);
      if (opts.strict === true && output.warnings.length > 0) result.exitCode = 2;
    });
}

/**
 * Runs `ycloud translate` with `argv` (the arguments after `translate`) and returns the exit code: 0, 1 with a
 * printed reason for bad manifests or options, 2 with --strict when something was skipped.
 */
export async function runTranslate(
  argv: string[],
  io: TranslateIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) },
): Promise<number> {
  const result = { exitCode: 0 };
  const command = translateCommand(io, result)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  try {
    await command.parseAsync(argv, { from: 'user' });
    return result.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1; // commander printed the reason
    if (err instanceof ManifestError) {
      io.stderr(`error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
