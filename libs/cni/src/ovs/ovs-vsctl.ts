import { CommandRunner, runChecked } from './command-runner';

/** Quotes a value for ovs-vsctl's `column:key=value` syntax. */
function q(v: string): string {
  return JSON.stringify(v);
}

export interface AddPortSpec {
  bridge: string;
  name: string;
  /** `internal`, `dpdk`, or undefined for a system port (veth, representor). */
  type?: string;
  externalIds: Record<string, string>;
  options?: Record<string, string>;
  mtuRequest?: number;
}

type OvsJsonCell = string | number | boolean | ['map', [string, string][]] | ['set', unknown[]] | ['uuid', string];

function cellToMap(cell: OvsJsonCell): Record<string, string> {
  if (Array.isArray(cell) && cell[0] === 'map') return Object.fromEntries(cell[1] as [string, string][]);
  return {};
}

/**
 * The few OVS operations the CNI agent needs, through `ovs-vsctl` (robust, one transaction per call).
 * `db` is an OVSDB remote (`unix:/run/openvswitch/db.sock`), empty for ovs-vsctl's default.
 */
export class OvsVsctl {
  constructor(
    private readonly runner: CommandRunner,
    private readonly db = '',
    private readonly timeoutSec = 10,
  ) {}

  private base(): string[] {
    const a = [`--timeout=${this.timeoutSec}`];
    if (this.db) a.push(`--db=${this.db}`);
    return a;
  }

  /** Runs raw ovs-vsctl arguments (after the common --db/--timeout ones). */
  vsctl(args: string[], timeoutMs?: number): Promise<string> {
    return runChecked(this.runner, 'ovs-vsctl', [...this.base(), ...args], { timeoutMs });
  }

  /** Adds (or updates) a port and its interface in one transaction. */
  async addPort(spec: AddPortSpec): Promise<void> {
    const set: string[] = [];
    if (spec.type) set.push(`type=${spec.type}`);
    for (const [k, v] of Object.entries(spec.externalIds)) set.push(`external_ids:${k}=${q(v)}`);
    for (const [k, v] of Object.entries(spec.options ?? {})) set.push(`options:${k}=${q(v)}`);
    if (spec.mtuRequest) set.push(`mtu_request=${spec.mtuRequest}`);
    const args = ['--may-exist', 'add-port', spec.bridge, spec.name];
    if (set.length) args.push('--', 'set', 'Interface', spec.name, ...set);
    await this.vsctl(args);
  }

  async delPort(name: string): Promise<void> {
    await this.vsctl(['--if-exists', 'del-port', name]);
  }

  /** Interfaces whose external_ids contain all of `match`, with their external_ids and ofport. */
  async findInterfaces(
    match: Record<string, string>,
  ): Promise<{ name: string; externalIds: Record<string, string>; ofport: number }[]> {
    const conds = Object.entries(match).map(([k, v]) => `external_ids:${k}=${q(v)}`);
    const out = await this.vsctl([
      '--format=json',
      '--columns=name,external_ids,ofport',
      'find',
      'Interface',
      ...conds,
    ]);
    const parsed = JSON.parse(out) as { data: OvsJsonCell[][] };
    return parsed.data.map((row) => ({
      name: String(row[0]),
      externalIds: cellToMap(row[1]),
      ofport: typeof row[2] === 'number' ? row[2] : -1,
    }));
  }

  /** Blocks until the interface has `external_ids:ovn-installed=true`; false on timeout. */
  async waitOvnInstalled(name: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
    const args = [`--timeout=${secs}`];
    if (this.db) args.push(`--db=${this.db}`);
    args.push('wait-until', 'Interface', name, 'external_ids:ovn-installed="true"');
    const r = await this.runner.run('ovs-vsctl', args, { timeoutMs: timeoutMs + 2000, signal });
    return r.code === 0;
  }

  async getOpenVswitchMap(column: 'external_ids' | 'other_config'): Promise<Record<string, string>> {
    const out = await this.vsctl(['--format=json', `--columns=${column}`, 'list', 'Open_vSwitch', '.']);
    const parsed = JSON.parse(out) as { data: OvsJsonCell[][] };
    return parsed.data.length ? cellToMap(parsed.data[0][0]) : {};
  }

  /** Sets keys (value string) and removes keys (value null) in Open_vSwitch's map column in one call. */
  async updateOpenVswitchMap(
    column: 'external_ids' | 'other_config',
    changes: Record<string, string | null>,
  ): Promise<void> {
    const args: string[] = [];
    const set = Object.entries(changes).filter(([, v]) => v !== null);
    const del = Object.entries(changes).filter(([, v]) => v === null);
    if (set.length) args.push('set', 'Open_vSwitch', '.', ...set.map(([k, v]) => `${column}:${k}=${q(v!)}`));
    for (const [k] of del) args.push(...(args.length ? ['--'] : []), 'remove', 'Open_vSwitch', '.', column, k);
    if (args.length) await this.vsctl(args);
  }
}
