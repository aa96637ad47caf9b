import { Command, CommanderError, Option } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ApiserverProxyEndpoints,
  DiagnoseRequest,
  DiagnoseSource,
  DiagnoseTarget,
  Diagnosis,
  DirectEndpoints,
  OpsEndpoints,
  diagnose,
  exitCodeOf,
  gatherFacts,
  renderJson,
  renderTable,
} from '@ycloud/diagnose';
import { KubeClient } from '@ycloud/k8s';
import { readState, sandboxDir } from '@ycloud/sandbox';

export const EXIT_USAGE = 2;

export interface DiagnoseCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

interface DiagnoseFlags {
  from?: string[];
  port?: string;
  output: 'table' | 'json';
  kubeconfig?: string;
  controllerUrl?: string;
  agentUrl: string[];
  sandbox?: string | boolean;
  trace?: boolean;
  connect?: boolean;
}

const TARGET_KINDS: Record<string, DiagnoseTarget['kind']> = { service: 'Service', yusurservice: 'YusurService' };

function buildCommand(io: DiagnoseCommandIo): Command {
  return new Command('diagnose')
    .description(
      'Walk a Service path (Kubernetes, OVN Northbound, Southbound, the node) and name the first broken hop.\n' +
        'Exit code 0: nothing broken; 1: a hop is broken; 2: usage.',
    )
    .argument('<kind>', 'service | yusurservice | eip')
    .argument('<name>', 'NAMESPACE/NAME (eip: NAME)')
    .option(
      '--from <source...>',
      'where traffic starts: pod NS/NAME | node NAME | external (EIP of a LoadBalancer Service, or a NodePort); eip: external',
    )
    .option('--port <port>', 'only this Service port (number or name)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--kubeconfig <file>', 'kubeconfig (default $KUBECONFIG or ~/.kube/config)')
    .option('--controller-url <url>', "reach the controller's ops server directly instead of via the apiserver proxy")
    .option(
      '--agent-url <node=url>',
      "reach a node agent's ops server directly (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--trace', 'also ovn-trace a first packet from the source pod to each VIP (through its node agent)')
    .option('--connect', 'also make a real TCP connection to each VIP from the source node (through its agent)')
    .option('--sandbox [dir]', "use the running sandbox: its kubeconfig and its components' addresses")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
}

export function parseTarget(kind: string, name: string): DiagnoseRequest {
  if (kind.toLowerCase() === 'eip') {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new UsageError(`invalid Eip name "${name}"`);
    return { kind: 'Eip', name };
  }
  const k = TARGET_KINDS[kind.toLowerCase()];
  if (!k) throw new UsageError(`unknown kind "${kind}": use service, yusurservice or eip`);
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(name);
  if (!m) throw new UsageError(`invalid name "${name}": use NAMESPACE/NAME`);
  return { kind: k, namespace: m[1], name: m[2] };
}

export function parseSource(from: string[] | undefined, target?: DiagnoseRequest): DiagnoseSource {
  // An Eip is reached from outside; that is the only path it has.
  if (!from?.length && target?.kind === 'Eip') return { kind: 'external' };
  if (!from?.length) throw new UsageError('missing --from: pod NS/NAME, node NAME or external');
  const [kind, name, ...rest] = from;
  if (rest.length) throw new UsageError(`--from takes a kind and a name, got: ${from.join(' ')}`);
  if (kind === 'external' && name === undefined) return { kind: 'external' };
  if (kind === 'node' && name) return { kind: 'node', name };
  if (kind === 'pod' && name) {
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(name);
    if (!m) throw new UsageError(`invalid pod "${name}": use NAMESPACE/NAME`);
    return { kind: 'pod', namespace: m[1], name: m[2] };
  }
  throw new UsageError(`invalid --from "${from.join(' ')}": use pod NS/NAME, node NAME or external`);
}

function parseAgentUrls(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw new UsageError(`invalid --agent-url "${v}": use NODE=URL`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/** The kubeconfig and the way to the components, from the flags (or the sandbox's state). */
async function connect(
  flags: DiagnoseFlags,
  io: DiagnoseCommandIo,
): Promise<{ kube: KubeClient; endpoints: OpsEndpoints }> {
  if (flags.sandbox) {
    const dir = typeof flags.sandbox === 'string' ? path.resolve(flags.sandbox) : sandboxDir(io.env);
    const state = await readState(dir);
    if (!state) throw new UsageError(`no sandbox running (no state in ${dir})`);
    const agents = Object.fromEntries(state.nodes.filter((n) => n.opsUrl).map((n) => [n.name, n.opsUrl!]));
    return {
      kube: KubeClient.fromKubeconfigFile(state.kubeconfig),
      endpoints: new DirectEndpoints(flags.controllerUrl ?? state.controller.health, {
        ...agents,
        ...parseAgentUrls(flags.agentUrl),
      }),
    };
  }
  const file = flags.kubeconfig ?? io.env.KUBECONFIG?.split(':')[0] ?? path.join(os.homedir(), '.kube', 'config');
  const kube = KubeClient.fromKubeconfigFile(file);
  const direct = flags.controllerUrl !== undefined || flags.agentUrl.length > 0;
  return {
    kube,
    endpoints: direct
      ? new DirectEndpoints(flags.controllerUrl, parseAgentUrls(flags.agentUrl))
      : new ApiserverProxyEndpoints(kube),
  };
}

/** Runs one diagnosis; exported for the benchmark and tests that want the Diagnosis itself. */
export async function runDiagnosis(
  kube: KubeClient,
  endpoints: OpsEndpoints,
  target: DiagnoseRequest,
  source: DiagnoseSource,
  port?: string,
  opts: { trace?: boolean; connect?: boolean } = {},
): Promise<Diagnosis> {
  return diagnose(await gatherFacts(kube, endpoints, target, source, port, opts));
}

/**
 * `ycloud diagnose service NS/NAME --from pod NS/NAME|node NAME|external [--port P] [-o table|json]`, or
 * `ycloud diagnose eip NAME` (from outside). Returns the exit code: 0
 * nothing broken, 1 a hop is broken (or the cluster could not be read), 2 usage.
 */
export async function runDiagnose(
  argv: readonly string[],
  ioOverrides: Partial<DiagnoseCommandIo> = {},
): Promise<number> {
  const io: DiagnoseCommandIo = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    ...ioOverrides,
  };
  const cmd = buildCommand(io);
  let target: DiagnoseRequest;
  let source: DiagnoseSource;
  let flags: DiagnoseFlags;
  let conn: { kube: KubeClient; endpoints: OpsEndpoints };
  try {
    cmd.parse([...argv], { from: 'user' });
    flags = cmd.opts<DiagnoseFlags>();
    target = parseTarget(cmd.args[0], cmd.args[1]);
    source = parseSource(flags.from, target);
    conn = await connect(flags, io);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    if (err instanceof UsageError) {
      io.stderr(`ycloud diagnose: ${err.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`ycloud diagnose: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const d = await runDiagnosis(conn.kube, conn.endpoints, target, source, flags.port, {
      trace: flags.trace,
      connect: flags.connect,
    });
    io.stdout(flags.output === 'json' ? renderJson(d) : renderTable(d));
    return exitCodeOf(d);
  } catch (err) {
    io.stderr(`ycloud diagnose: ${(err as Error).message}\n`);
    return 1;
  } finally {
    conn.kube.close();
  }
}
