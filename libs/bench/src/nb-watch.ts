import { OvsdbClient, type Row, type RowChange } from '@ycloud/ovsdb';

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
  private allWaiter?: { resolve: (atMs: number) => void };
  /** Row changes seen per table (inserts, updates and deletes). */
  readonly changes = new Map<string, number>();

  private constructor(private readonly client: OvsdbClient) {
    client.on('change', (c) => this.onChange(c));
  }

  static async connect(remote: string): Promise<NbWatch> {
    const monitor: Record<string, { columns?: string[] }> = {};
    for (const t of WATCHED_TABLES) monitor[t] = t === 'Load_Balancer' ? { columns: ['name', 'vips'] } : {};
    const client = await OvsdbClient.connect({
      remotes: remote,
      database: 'OVN_Northbound',
      monitor,
      inactivityProbeMs: 0,
    });
    return new NbWatch(client);
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
