import { execFile } from 'node:child_process';
import * as os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What a figure was measured on: recorded beside every result. */
export interface BenchMachine {
  host: string;
  cpuModel: string;
  cpus: number;
  memoryGb: number;
  kernel: string;
  /** OVS datapath type used: this machine has no openvswitch kernel module, so OVS runs its userspace `netdev` datapath. */
  ovsDatapath: string;
}

/** Versions as the running daemons report them (unixctl `version`), so a run on other packages says so. */
export interface BenchVersions {
  ovnNorthd?: string;
  ovnController?: string;
  ovsVswitchd?: string;
  nbSchema?: string;
  sbSchema?: string;
  kubernetes?: string;
  node: string;
}

export function machine(ovsDatapath = 'netdev (userspace)'): BenchMachine {
  return {
    host: os.hostname(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    ovsDatapath,
  };
}

export const load1 = (): number => Number(os.loadavg()[0].toFixed(2));

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export const loadAverages = (): number[] => os.loadavg().map((x) => Number(x.toFixed(2)));

/** First line of `<tool> -t <ctl> version`, without the program name; undefined when it cannot be asked. */
export async function daemonVersion(tool: 'ovs-appctl' | 'ovn-appctl', ctl: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(tool, ['-T', '5', '-t', ctl, 'version'], { timeout: 10_000 });
    return stdout.split('\n')[0].trim();
  } catch {
    return undefined;
  }
}

/** Schema version of a database as its server reports it (`ovsdb-client get-schema-version`). */
export async function schemaVersion(remote: string, db: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('ovsdb-client', ['get-schema-version', remote.split(',')[0], db], {
      timeout: 10_000,
    });
    return stdout.trim();
  } catch {
    return undefined;
  }
}
