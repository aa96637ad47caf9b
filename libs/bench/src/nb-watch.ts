import { OvsdbClient, type Row, type RowChange } from '@ycloud/ovsdb';
import { CfgTimeline, nowMs } from './cfg-timeline';

/** Tables whose changes count as "ycloud wrote something" (NB_Global is excluded: northd writes it). */
const WATCHED_TABLES = [
  'Load_Balancer',
  'Load_Balancer_Group',
  'Logical_Switch',
  'Logical_Switch_Port',
  'Logical_Router',
  'Logical_Router_Port',
  'Logical_Router_Static_Route',
  'NAT',
] as const;

/** What one Service's LB must hold: `vip -> backends` with backends sorted (order is not compared). */
export interface ExpectedLb {
  vip: string;
  backends: string;
}

export function normalizeBackends(list: string): string {
  return list === '' ? '' : list.split(',').sort().join(',');
}

/**
 * An independent OVSDB monitor of the NB database: tracks which expected Load_Balancer rows hold the right
 * backends, and resolves waiters at the moment an update shows a row in its expected state.
 */
export class NbWatch {
  private readonly expected = new Map<string, ExpectedLb>();
  private readonly matched = new Set<string>();
  private readonly lbByName = new Map<string, Row>();
  private readonly waiters = new Map<string, (atMs: number) => void>();
  /** NB_Global nb_cfg in the update that made each LB match (the value its transaction committed). */
  private readonly matchedCfg = new Map<string, number>();
  /** NB_Global hv_cfg as it rose (with `nbGlobal`); epoch ms of our receipt. */
  readonly hvCfg = new CfgTimeline();
  private allWaiter?: { resolve: (atMs: number) => void };
  /** Row changes seen per table (inserts, updates and deletes). */
  readonly changes = new Map<string, number>();
  /** nb_cfg increments this watch made itself (`bumpNbCfg`). */
  bumps = 0;

  private constructor(private readonly client: OvsdbClient) {
    client.on('change', (c) => this.onChange(c));
  }

  /** With `nbGlobal`, NB_Global's nb_cfg/hv_cfg are followed too (not counted as changes: northd writes it). */
  static async connect(remote: string, opts: { nbGlobal?: boolean } = {}): Promise<NbWatch> {
    const monitor: Record<string, { columns?: string[] }> = {};
    for (const t of WATCHED_TABLES) monitor[t] = t === 'Load_Balancer' ? { columns: ['name', 'vips'] } : {};
    if (opts.nbGlobal) monitor.NB_Global = { columns: ['nb_cfg', 'hv_cfg'] };
    const client = await OvsdbClient.connect({
      remotes: remote,
      database: 'OVN_Northbound',
      monitor,
      inactivityProbeMs: 0,
    });
    return new NbWatch(client);
  }

  /** NB_Global nb_cfg as our cache shows it now (0 without `nbGlobal`). */
  nbCfg(): number {
    const row = this.client.table('NB_Global').values().next().value as Row | undefined;
    return Number(row?.nb_cfg ?? 0);
  }

  /**
   * Increments NB_Global nb_cfg in a transaction of its own (what `ovn-nbctl --wait=hv sync` does) and resolves
   * with the new value: once a chassis reports it, that chassis has installed everything committed before.
   */
  async bumpNbCfg(): Promise<number> {
    this.bumps++;
    const result = (await this.client.request('transact', [
      'OVN_Northbound',
      { op: 'mutate', table: 'NB_Global', where: [], mutations: [['nb_cfg', '+=', 1]] },
      { op: 'select', table: 'NB_Global', where: [], columns: ['nb_cfg'] },
    ])) as Array<{ error?: string; details?: string; rows?: Array<{ nb_cfg?: number }> }>;
    const failed = result.find((r) => r?.error);
    if (failed) throw new Error(`nb_cfg bump failed: ${failed.error} ${failed.details ?? ''}`.trim());
    return Number(result[1]?.rows?.[0]?.nb_cfg ?? NaN);
  }

  /** nb_cfg of the update in which LB `name` last came to match (undefined if it never did). */
  cfgOfMatch(name: string): number | undefined {
    return this.matchedCfg.get(name);
  }

  get matchedCount(): number {
    return this.matched.size;
  }

  totalChanges(): number {
    let n = 0;
    for (const v of this.changes.values()) n += v;
    return n;
  }

  /** Declares (or re-declares) what LB `name` must hold; checks the cache at once. */
  expect(name: string, lb: ExpectedLb): void {
    this.expected.set(name, { vip: lb.vip, backends: normalizeBackends(lb.backends) });
    this.matched.delete(name);
    const row = this.lbByName.get(name);
    if (row) this.check(row, performance.now());
  }

  /** Resolves with `performance.now()` of the update that made LB `name` match its expectation. */
  waitFor(name: string): Promise<number> {
    if (this.matched.has(name)) return Promise.resolve(performance.now());
    return new Promise((resolve) => this.waiters.set(name, resolve));
  }

  /** Resolves when every expected LB matches. */
  waitForAll(): Promise<number> {
    if (this.matched.size === this.expected.size) return Promise.resolve(performance.now());
    return new Promise((resolve) => (this.allWaiter = { resolve }));
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private onChange(c: RowChange): void {
    if (c.table === 'NB_Global') {
      if (c.new) this.hvCfg.note(Number((c.new as Row).hv_cfg ?? 0), nowMs());
      return;
    }
    this.changes.set(c.table, (this.changes.get(c.table) ?? 0) + 1);
    if (c.table !== 'Load_Balancer') return;
    const now = performance.now();
    if (c.new) {
      this.lbByName.set(c.new.name as string, c.new);
      this.check(c.new, now);
    } else if (c.old) {
      this.lbByName.delete(c.old.name as string);
      this.matched.delete(c.old.name as string);
    }
  }

  private check(row: Row, now: number): void {
    const name = row.name as string;
    const exp = this.expected.get(name);
    if (!exp) return;
    const vips = row.vips as Record<string, string>;
    const got = vips[exp.vip];
    if (got !== undefined && normalizeBackends(got) === exp.backends) {
      if (this.matched.has(name)) return;
      this.matched.add(name);
      this.matchedCfg.set(name, this.nbCfg());
      const w = this.waiters.get(name);
      if (w) {
        this.waiters.delete(name);
        w(now);
      }
      if (this.allWaiter && this.matched.size === this.expected.size) {
        this.allWaiter.resolve(now);
        this.allWaiter = undefined;
      }
    } else {
      this.matched.delete(name);
    }
  }
}
