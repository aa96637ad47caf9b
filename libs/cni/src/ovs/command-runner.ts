import { spawn } from 'node:child_process';

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** Kills the program when aborted (exit code 130). */
  signal?: AbortSignal;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs external programs (ovs-vsctl, ip, nsenter, devlink). Tests substitute a recorded runner. */
export interface CommandRunner {
  run(cmd: string, args: string[], opts?: RunOptions): Promise<CommandResult>;
}

/** Thrown by `runChecked` when a program exits non-zero. */
export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: string[],
    readonly result: CommandResult,
  ) {
    super(`${cmd} ${args.join(' ')}: exit ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/** Runs a command and throws CommandError on a non-zero exit. */
export async function runChecked(
  runner: CommandRunner,
  cmd: string,
  args: string[],
  opts?: RunOptions,
): Promise<string> {
  const r = await runner.run(cmd, args, opts);
  if (r.code !== 0) throw new CommandError(cmd, args, r);
  return r.stdout;
}

/** The real runner: spawns without a shell, kills on timeout (exit code 124 like timeout(1)). */
export class ExecCommandRunner implements CommandRunner {
  constructor(private readonly defaultTimeoutMs = 30_000) {}

  run(cmd: string, args: string[], opts: RunOptions = {}): Promise<CommandResult> {
    return new Promise((resolve) => {
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let done = false;
      const finish = (r: CommandResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish({ code: 124, stdout, stderr: stderr + `\n${cmd}: timed out` });
      }, opts.timeoutMs ?? this.defaultTimeoutMs);
      opts.signal?.addEventListener('abort', () => {
        child.kill('SIGKILL');
        finish({ code: 130, stdout, stderr: stderr + `\n${cmd}: aborted` });
      });
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err) => finish({ code: 127, stdout, stderr: String(err) }));
      child.on('close', (code) => finish({ code: code ?? 128, stdout, stderr }));
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input ?? '');
    });
  }
}

/** Prefixes every command with `ip netns exec <ns>`: a simulated node whose OVS lives in a netns. */
export class NetnsCommandRunner implements CommandRunner {
  constructor(
    private readonly inner: CommandRunner,
    private readonly netns: string,
  ) {}
  run(cmd: string, args: string[], opts?: RunOptions): Promise<CommandResult> {
    return this.inner.run('ip', ['netns', 'exec', this.netns, cmd, ...args], opts);
  }
}

/** A runner for unit tests: answers from a script of expected calls and records every call. */
export class RecordedCommandRunner implements CommandRunner {
  readonly calls: { cmd: string; args: string[]; input?: string }[] = [];
  private readonly rules: { match: RegExp; result: Partial<CommandResult> }[] = [];

  /** Answers calls whose `cmd args...` line matches `match` (first rule wins; default exit 0, no output). */
  on(match: RegExp, result: Partial<CommandResult>): this {
    this.rules.push({ match, result });
    return this;
  }

  run(cmd: string, args: string[], opts?: RunOptions): Promise<CommandResult> {
    this.calls.push({ cmd, args, input: opts?.input });
    const line = [cmd, ...args].join(' ');
    const rule = this.rules.find((r) => r.match.test(line));
    return Promise.resolve({ code: 0, stdout: '', stderr: '', ...rule?.result });
  }

  /** Every call as one `cmd arg arg` line, for assertions. */
  lines(): string[] {
    return this.calls.map((c) => [c.cmd, ...c.args].join(' '));
  }
}
