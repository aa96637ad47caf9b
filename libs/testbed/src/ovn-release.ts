import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './k8s/k8s-binaries';
import { runText } from './process';
import { OvnSeries, testbedOptions } from './testbed-options';

/** The first run of the root filesystem build downloads and unpacks about 360 MB. */
const ROOT_BUILD_TIMEOUT_MS = 20 * 60_000;

/**
 * Runs a program inside an OVN root filesystem: a private mount namespace (so every mount goes when the process
 * goes, and nothing is left behind even after a SIGKILL) in which the host's /proc, /sys, /dev, /tmp and /run are
 * bound into the root, then `chroot`. Paths under /tmp and /run (run directories, sockets, logs, databases) are
 * therefore the same on both sides. /tmp and /run are bound without their submounts (the /run/netns entries are
 * not needed inside, and a copy would pin the namespaces).
 */
const IN_ROOT_SCRIPT =
  'root=$1; shift; ' +
  'for d in proc sys dev; do mount --rbind "/$d" "$root/$d" || exit 125; done; ' +
  'for d in tmp run; do mount --bind "/$d" "$root/$d" || exit 125; done; ' +
  'exec chroot "$root" "$@"';

/**
 * One OVN / Open vSwitch release the test bed can run: the system's own packages (Debian 12: OVN 23.03, OVS 3.1) or
 * a Debian root filesystem built by test/ovn-root/build.sh (Debian 13: OVN 25.03, OVS 3.5). Every daemon and tool
 * the test bed starts goes through {@link command}, so both sides use one release.
 */
export class OvnRelease {
  private constructor(
    /** The series asked for (`YCLOUD_OVN`). */
    readonly series: OvnSeries,
    /** Root filesystem holding the binaries; undefined for the system's own. */
    readonly root: string | undefined,
    /** Full versions, e.g. '25.03.0' and '3.5.0'. */
    readonly ovnVersion: string,
    readonly ovsVersion: string,
  ) {}

  /** Resolves `series` (default: the test bed options' `YCLOUD_OVN`), building its root filesystem if needed. */
  static async resolve(series: OvnSeries = testbedOptions().ovn): Promise<OvnRelease> {
    const root = series === SYSTEM_SERIES ? undefined : await buildRoot(series);
    const version = async (program: string) => {
      const [cmd, args] = commandIn(root, program, ['--version']);
      const first = (await runText(cmd, args)).split('\n')[0];
      return /(\d+\.\d+\.\d+)/.exec(first)?.[1] ?? first;
    };
    const [ovn, ovs] = await Promise.all([version('ovn-northd'), version('ovs-vswitchd')]);
    if (!ovn.startsWith(`${series}.`)) {
      throw new Error(`YCLOUD_OVN=${series} but ${root ?? 'the system'} has OVN ${ovn}`);
    }
    return new OvnRelease(series, root, ovn, ovs);
  }

  /** For logs and benchmark rows: 'OVN 25.03.0 / OVS 3.5.0 (Debian 13 root filesystem)'. */
  get description(): string {
    return `OVN ${this.ovnVersion} / OVS ${this.ovsVersion} (${this.root ? `root filesystem ${this.root}` : 'system packages'})`;
  }

  /** Major.minor of Open vSwitch ('3.1'). */
  get ovsSeries(): string {
    return this.ovsVersion.split('.').slice(0, 2).join('.');
  }

  /** `[cmd, args]` that run `program args…` from this release (through chroot for a root filesystem). */
  command(program: string, args: readonly string[]): [string, string[]] {
    return commandIn(this.root, program, args);
  }

  /** `[cmd, args]` that run `program args…` from this release inside network namespace `netns`. */
  commandInNetns(netns: string, program: string, args: readonly string[]): [string, string[]] {
    const [cmd, rest] = this.command(program, args);
    return ['ip', ['netns', 'exec', netns, cmd, ...rest]];
  }

  /** Host path of a file of this release (`/usr/share/ovn/ovn-nb.ovsschema` inside its root). */
  hostPath(file: string): string {
    return this.root ? path.join(this.root, file) : file;
  }
}

/** The series the system's own packages provide (scripts/setup.sh installs them). */
export const SYSTEM_SERIES: OvnSeries = '23.03';

function commandIn(root: string | undefined, program: string, args: readonly string[]): [string, string[]] {
  if (!root) return [program, [...args]];
  return ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', IN_ROOT_SCRIPT, 'sh', root, program, ...args]];
}

/** The cached root filesystem of `series` (test/ovn-root/build.sh builds it on first use). */
async function buildRoot(series: OvnSeries): Promise<string> {
  const root = await runText(path.join(repoRoot(), 'test/ovn-root/build.sh'), [series], {
    timeoutMs: ROOT_BUILD_TIMEOUT_MS,
  });
  await fs.access(path.join(root, '.ycloud-ready'));
  return root;
}
