import { Command, CommanderError } from 'commander';
import { ycloudVersion } from '@ycloud/api';
import { runDiagnose } from './diagnose.command';
import { runBench } from './bench.command';
import { runJournal } from './journal.command';
import { registerSandboxCommands } from './sandbox';
import { runTranslate } from './translate.command';

/** Where `ycloud` writes; injectable so tests capture output. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Exit code of a command line `ycloud` cannot run (unknown command, bad flag). */
export const EXIT_USAGE = 2;

const defaultIo = (): CliIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});

/**
 * Commands that parse their own arguments (and print their own help): everything after the command name is
 * handed over unchanged, so their flags and exit codes are exactly those of `runTranslate` / `runJournal`.
 */
const DELEGATED: Record<string, { description: string; run: (argv: string[], io: CliIo) => Promise<number> }> = {
  translate: {
    description: 'print the OVN Northbound rows Kubernetes manifests translate to (no cluster needed)',
    run: (argv, io) => runTranslate(argv, io),
  },
  journal: {
    description: 'show what the controller changed in OVN Northbound: when, for which object, and why',
    run: (argv, io) => runJournal(argv, io),
  },
  diagnose: {
    description: 'walk a Service path (Kubernetes, OVN NB/SB, the node) and name the first broken hop',
    run: (argv, io) => runDiagnose(argv, io),
  },
  bench: {
    description: 'benchmarks against kube-proxy (programming latency, data path); results in results/',
    run: runBench,
  },
};

/** The `ycloud` program: delegated commands listed for --help, and the sandbox command group. */
export function cliProgram(io: CliIo): Command {
  const program = new Command('ycloud')
    .description('ycloud: SDN controller for Kubernetes on OVN — offline tools and a one-machine sandbox')
    .version(ycloudVersion(), '--version', 'print the version and exit')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const [name, { description }] of Object.entries(DELEGATED)) {
    // Listed for `ycloud --help`; runCli dispatches before commander sees these.
    program.command(name).description(description).helpOption(false).allowUnknownOption().allowExcessArguments();
  }
  registerSandboxCommands(program);
  // Sub-commands report their errors the same way as the program.
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

/**
 * Runs `ycloud` with `argv` (the arguments after the program name). Returns the exit code: 0 ok, the delegated
 * command's code, 2 for a usage error, 1 when a command failed; every error is one `ycloud: …` line on stderr.
 */
export async function runCli(argv: readonly string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const io = { ...defaultIo(), ...ioOverrides };
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(`ycloud: missing command (${[...Object.keys(DELEGATED), 'sandbox'].join(', ')}); see ycloud --help\n`);
    return EXIT_USAGE;
  }
  const delegated = Object.hasOwn(DELEGATED, name) ? DELEGATED[name] : undefined;
  try {
    if (delegated) return await delegated.run(rest, io);
    // Commander prints "error: …" (and a suggestion on the next line) for its own errors: make it one line.
    const oneLine = (t: string) => t.replace(/^error: /, 'ycloud: ').replace(/\n\(Did you mean/, ' (Did you mean');
    const program = cliProgram({ ...io, stderr: (t) => io.stderr(oneLine(t)) });
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    io.stderr(`ycloud: ${firstLine(err)}\n`);
    return 1;
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] || 'failed';
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      if (code !== 0) process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`ycloud: ${firstLine(err)}\n`);
      process.exitCode = 1;
    },
  );
}
