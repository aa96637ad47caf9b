import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CommandRunner } from '../ovs/command-runner';
import { DaemonProbe, DatapathProbeResult, NbCfgLag } from './datapath-health';

/** Where a daemon's pidfile and unixctl socket are. */
export interface DaemonLocation {
  pidfile: string;
  /** unixctl socket; empty for the daemon's default `<pidfile dir>/<program>.<pid>.ctl`. */
  unixctl: string;
}

export interface DatapathProbeOptions {
  vswitchd: DaemonLocation;
  controller: DaemonLocation;
  /** OVSDB remote of the node's Open_vSwitch db (for br-int's `ovn-nb-cfg`); empty for ovs-vsctl's default. */
  ovsDb: string;
  /** SB remote (for SB_Global.nb_cfg); empty skips the caught-up check. */
  sbRemote: string;
  bridge: string;
  /** Per-command timeout: a daemon that does not answer within it counts as down. */
  timeoutSec: number;
}

const PROGRAMS = { vswitchd: 'ovs-vswitchd', controller: 'ovn-controller' } as const;

/** A daemon's unixctl socket: the configured one, else `<pidfile dir>/<program>.<pid>.ctl` (read from the pidfile). */
export async function controlSocket(loc: DaemonLocation, program: (typeof PROGRAMS)[keyof typeof PROGRAMS]) {
  if (loc.unixctl) return loc.unixctl;
  const pid = (await fs.readFile(loc.pidfile, 'utf8')).trim();
  return path.join(path.dirname(loc.pidfile), `${program}.${pid}.ctl`);
}

/**
 * Looks at the node's ovs-vswitchd and ovn-controller the way an operator would: the pidfile, then the daemon's
 * unixctl socket (a dead daemon leaves both behind, but nobody accepts on the socket), then ovn-controller's
 * `connection-status` and its installed nb_cfg against the SB's. Never throws: every failure is a finding.
 */
export class DatapathProbe {
  private readonly lag = new NbCfgLag();

  constructor(
    private readonly runner: CommandRunner,
    private readonly opts: DatapathProbeOptions,
  ) {}

  async probe(): Promise<DatapathProbeResult> {
    const [vswitchd, controller] = await Promise.all([this.daemon('vswitchd'), this.daemon('controller')]);
    const result: DatapathProbeResult = { vswitchd, controller };
    if (controller.alive) {
      const r = await this.appctl('ovn-appctl', this.ctl('controller', controller.pid), ['connection-status']);
      result.controller.sbConnection = r.code === 0 ? r.stdout.trim() : `no answer (${appctlError(r.stderr)})`;
    }
    if (vswitchd.alive && result.controller.sbConnection === 'connected') result.nbCfg = await this.nbCfg();
    return result;
  }

  private async daemon(which: keyof typeof PROGRAMS): Promise<DaemonProbe> {
    const loc = this.opts[which];
    let pid: number | undefined;
    try {
      const text = (await fs.readFile(loc.pidfile, 'utf8')).trim();
      pid = /^\d+$/.test(text) ? Number(text) : undefined;
    } catch (err) {
      // A default unixctl path needs the pid; an explicit one can still be asked.
      if (!loc.unixctl) return { alive: false, error: `no pidfile ${loc.pidfile} (${(err as Error).message})` };
    }
    const r = await this.appctl(which === 'controller' ? 'ovn-appctl' : 'ovs-appctl', this.ctl(which, pid), [
      'version',
    ]);
    if (r.code === 0) return { alive: true, pid };
    return { alive: false, pid, error: appctlError(r.stderr) || `exit ${r.code}` };
  }

  private ctl(which: keyof typeof PROGRAMS, pid: number | undefined): string {
    const loc = this.opts[which];
    return loc.unixctl || path.join(path.dirname(loc.pidfile), `${PROGRAMS[which]}.${pid ?? 0}.ctl`);
  }

  private appctl(tool: string, ctl: string, args: string[]): ReturnType<CommandRunner['run']> {
    const t = this.opts.timeoutSec;
    return this.runner.run(tool, ['-T', String(t), '-t', ctl, ...args], { timeoutMs: (t + 2) * 1000 });
  }

  /** Both nb_cfg values, or undefined when they cannot be read (no SB remote, SB or OVS db not answering). */
  private async nbCfg(): Promise<DatapathProbeResult['nbCfg']> {
    if (!this.opts.sbRemote) return undefined;
    const t = this.opts.timeoutSec;
    const [sb, installed] = await Promise.all([
      this.runner.run(
        'ovn-sbctl',
        [`--db=${this.opts.sbRemote}`, `--timeout=${t}`, 'get', 'SB_Global', '.', 'nb_cfg'],
        {
          timeoutMs: (t + 2) * 1000,
        },
      ),
      this.runner.run(
        'ovs-vsctl',
        [
          ...(this.opts.ovsDb ? [`--db=${this.opts.ovsDb}`] : []),
          `--timeout=${t}`,
          '--if-exists',
          'get',
          'Bridge',
          this.opts.bridge,
          'external_ids:ovn-nb-cfg',
        ],
        { timeoutMs: (t + 2) * 1000 },
      ),
    ]);
    if (sb.code !== 0 || installed.code !== 0 || !sb.stdout.trim()) return undefined;
    const sbCfg = Number(sb.stdout.trim());
    // ovn-controller writes the key only once it has installed a non-zero nb_cfg.
    const installedCfg = Number(installed.stdout.trim().replace(/"/g, '') || '0');
    if (!Number.isFinite(sbCfg) || !Number.isFinite(installedCfg)) return undefined;
    return { sb: sbCfg, installed: installedCfg, behindForMs: this.lag.observe(sbCfg, installedCfg) };
  }
}

/**
 * The stable part of an appctl failure: its own last line (`ovs-appctl: cannot connect to "..." (Connection
 * refused)`), not the timestamped vlog lines before it, which would change the condition message every round.
 */
export function appctlError(stderr: string): string {
  const vlog = /^\S+\|\d+\|\S+\|[A-Z]+\|/;
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const own = lines.filter((l) => !vlog.test(l));
  return own[own.length - 1] ?? (lines[lines.length - 1] ?? '').replace(vlog, '');
}
