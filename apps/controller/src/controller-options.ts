import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ControllerConfig, ControllerConfigError, parseControllerConfig, ycloudVersion } from '@ycloud/api';
import { JournalConfigError, JournalDatabaseConfig, journalDatabaseFromString } from '@ycloud/journal';
import { InClusterEnv, LogLevel } from '@ycloud/k8s';
import { parse as parseYaml } from 'yaml';

/** Everything the controller process needs, parsed and validated once at start (the app's one typed config). */
export interface ControllerAppConfig {
  config: ControllerConfig;
  configFile?: string;
  /** Kubeconfig file; undefined means in-cluster. */
  kubeconfig?: string;
  /** The API server when there is no kubeconfig (KUBERNETES_SERVICE_HOST/PORT, set by the kubelet). */
  inCluster: InClusterEnv;
  /** This pod's name (POD_NAME, from the Deployment's downward API): the start of the leader-election identity. */
  podName?: string;
  leaderElection: { enabled: boolean; namespace: string; id: string };
  bindAddress: string;
  /** 0 = any free port. Equal ports mean one server for both. */
  healthPort: number;
  metricsPort: number;
  journal?: JournalDatabaseConfig;
  logLevel: LogLevel;
  /** NetworkProbes (ADR 0003): run on `nodeName` with its local OVS; no node name means probes are off. */
  probe: { nodeName?: string; ovsDb: string; ovsNetns?: string };
  /** Mutual TLS material (PEM) for `ssl:` Northbound remotes, read from --nb-tls-dir at start. */
  nbTls?: { key: string; cert: string; ca: string };
}

/** A command line the controller cannot run with; the message is the one-line reason. */
export class ControllerUsageError extends Error {
  override readonly name = 'ControllerUsageError';
}

/** Where Debian's openvswitch-switch serves the local OVS database. */
export const DEFAULT_OVS_DB = 'unix:/var/run/openvswitch/db.sock';

const LOG_LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

function bool(value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new InvalidArgumentError('expected true or false');
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

/** The controller's command line (commander), without actions: `controllerAppConfig` interprets it. */
export function controllerCommand(): Command {
  return new Command('ycloud-controller')
    .description('ycloud SDN controller: Kubernetes Services and ycloud resources to OVN Northbound')
    .option('--config <file>', 'controller config, YAML (keys of ControllerConfig); default: built-in defaults')
    .option('--kubeconfig <file>', 'kubeconfig file (default: in-cluster service account)')
    .addOption(
      new Option('--leader-elect [bool]', 'run controllers only while holding the Lease (true|false)')
        .argParser(bool)
        .default(true),
    )
    .option('--no-leader-elect', 'same as --leader-elect=false')
    .option('--leader-election-namespace <ns>', 'namespace of the leader election Lease', 'ycloud-system')
    .option('--leader-election-id <name>', 'name of the leader election Lease', 'ycloud-controller')
    .option('--bind-address <ip>', 'address the health and metrics servers listen on', '0.0.0.0')
    .option('--health-port <n>', '/healthz and /readyz port (0: any free port)', port, 8081)
    .option('--metrics-port <n>', '/metrics port (0: any free port; equal to --health-port: one server)', port, 9180)
    .option('--journal <db>', 'record every NB transaction: SQLite file path or postgres:// URL (default: off)')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--probe-node <name>', 'node this process runs on: NetworkProbes run here (default: $NODE_NAME; none: off)')
    .option('--ovs-db <remote>', "the node's Open vSwitch database (probe ports)", DEFAULT_OVS_DB)
    .option('--ovs-netns <name>', "network namespace the node's OVS datapath lives in (default: this process's)")
    .option(
      '--nb-tls-dir <dir>',
      'client key and certificate for ssl: Northbound remotes: <dir>/tls.key, tls.crt, ca.crt (a TLS Secret)',
    )
    .helpOption('-h, --help')
    .version(ycloudVersion(), '--version', 'print the version and exit')
    .exitOverride()
    .allowExcessArguments(false);
}

interface Flags {
  config?: string;
  kubeconfig?: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  bindAddress: string;
  healthPort: number;
  metricsPort: number;
  journal?: string;
  logLevel: LogLevel;
  probeNode?: string;
  ovsDb: string;
  ovsNetns?: string;
  nbTlsDir?: string;
}

/**
 * Parses `argv` (the arguments after the program name) and reads and validates the config file. `env` supplies
 * NODE_NAME (the Deployment sets it from `spec.nodeName`), the default of --probe-node; POD_NAME; and the
 * in-cluster API server address. Nothing else in the process reads the environment.
 * Throws `ControllerUsageError` (bad flag, unreadable or invalid config) with the reason, or a CommanderError
 * for --help (exit code 0) after commander has printed.
 */
export function controllerAppConfig(
  argv: readonly string[],
  readFile: (file: string) => string = (f) => readFileSync(f, 'utf8'),
  output: { writeOut: (s: string) => void; writeErr: (s: string) => void } = {
    writeOut: (s) => process.stdout.write(s),
    writeErr: () => undefined,
  },
  env: Readonly<Record<string, string | undefined>> = process.env,
): ControllerAppConfig {
  const cmd = controllerCommand().configureOutput(output);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode !== 0) {
      throw new ControllerUsageError(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
  const f = cmd.opts<Flags>();
  let config: ControllerConfig;
  let raw: unknown = undefined;
  if (f.config !== undefined) {
    let text: string;
    try {
      text = readFile(f.config);
    } catch (err) {
      throw new ControllerUsageError(`cannot read --config ${f.config}: ${(err as Error).message}`);
    }
    try {
      raw = parseYaml(text);
    } catch (err) {
      throw new ControllerUsageError(`--config ${f.config} is not valid YAML: ${(err as Error).message}`);
    }
  }
  try {
    config = parseControllerConfig(raw);
  } catch (err) {
    if (err instanceof ControllerConfigError) {
      throw new ControllerUsageError(`invalid controller config ${f.config ?? '(defaults)'}: ${err.errors.join('; ')}`);
    }
    throw err;
  }
  let journal: JournalDatabaseConfig | undefined;
  if (f.journal !== undefined) {
    try {
      journal = journalDatabaseFromString(f.journal);
    } catch (err) {
      if (err instanceof JournalConfigError) throw new ControllerUsageError(`--journal: ${err.message}`);
      throw err;
    }
  }
  let nbTls: ControllerAppConfig['nbTls'];
  if (f.nbTlsDir !== undefined) {
    const read = (name: string): string => {
      const file = join(f.nbTlsDir!, name);
      try {
        return readFile(file);
      } catch (err) {
        throw new ControllerUsageError(`--nb-tls-dir: cannot read ${file}: ${(err as Error).message}`);
      }
    };
    nbTls = { key: read('tls.key'), cert: read('tls.crt'), ca: read('ca.crt') };
  } else if (config.nbRemote.split(',').some((r) => r.trim().startsWith('ssl:'))) {
    throw new ControllerUsageError('nbRemote uses ssl: but --nb-tls-dir (client key and certificate) is not set');
  }
  return {
    config,
    configFile: f.config,
    ...(nbTls ? { nbTls } : {}),
    kubeconfig: f.kubeconfig,
    inCluster: {
      KUBERNETES_SERVICE_HOST: env.KUBERNETES_SERVICE_HOST,
      KUBERNETES_SERVICE_PORT: env.KUBERNETES_SERVICE_PORT,
    },
    ...(env.POD_NAME ? { podName: env.POD_NAME } : {}),
    leaderElection: { enabled: f.leaderElect, namespace: f.leaderElectionNamespace, id: f.leaderElectionId },
    bindAddress: f.bindAddress,
    healthPort: f.healthPort,
    metricsPort: f.metricsPort,
    journal,
    logLevel: f.logLevel,
    probe: {
      nodeName: f.probeNode || env.NODE_NAME || undefined,
      ovsDb: f.ovsDb,
      ...(f.ovsNetns ? { ovsNetns: f.ovsNetns } : {}),
    },
  };
}
