import { run, RunOptions, RunResult, runText } from './process';

/** Creates a network namespace with loopback up. */
export async function netnsAdd(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a network namespace; a missing one is fine. Devices inside it go away with it. */
export async function netnsDel(name: string): Promise<void> {
  const r = await run('ip', ['netns', 'del', name], { allowFailure: true });
  if (r.code !== 0 && !/No such file|does not exist/.test(r.stderr)) {
    throw new Error(`ip netns del ${name}: ${r.stderr.trim()}`);
  }
}

/** Names of all network namespaces (optionally only those starting with `prefix`). */
export async function netnsList(prefix = ''): Promise<string[]> {
  const out = await runText('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n && n.startsWith(prefix));
}

/** Runs `cmd` inside network namespace `netns` (bounded; throws on non-zero exit unless allowFailure). */
export function netnsExec(netns: string, cmd: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', netns, ...cmd], opts);
}

/** Like netnsExec but returns trimmed stdout. */
export async function netnsExecText(netns: string, cmd: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await netnsExec(netns, cmd, opts)).stdout.trim();
}

/** `ip -n <netns> <args…>` */
export function ipIn(netns: string, ...args: string[]): Promise<RunResult> {
  return run('ip', ['-n', netns, ...args]);
}
