import { OvsdbClient, type Row, type RowChange } from '@ycloud/ovsdb';

/** When a monotonically increasing sequence number (nb_cfg at some stage) first reached each value. */
export class CfgTimeline {
  private readonly points: Array<{ value: number; atMs: number }> = [];
  private waiters: Array<{ value: number; resolve: (atMs: number) => void }> = [];

  get current(): number {
    return this.points.length ? this.points[this.points.length - 1].value : 0;
  }

  /** Records `value` seen at `atMs` (epoch ms); lower or equal values than the last are ignored. */
  note(value: number, atMs: number): void {
    if (value <= this.current) return;
    this.points.push({ value, atMs });
    if (!this.waiters.length) return;
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.value <= value) w.resolve(atMs);
      else keep.push(w);
    }
    this.waiters = keep;
  }

  /** Epoch ms at which the sequence first reached `value` or more, if it has. */
  firstAtLeast(value: number): number | undefined {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.points[mid].value >= value) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.points.length ? this.points[lo].atMs : undefined;
  }

  /** Resolves with the epoch ms at which `value` was reached (at once if it already was). */
  reach(value: number, timeoutMs: number): Promise<number | undefined> {
    const at = this.firstAtLeast(value);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => {
      const w = { value, resolve: (t: number) => (clearTimeout(timer), resolve(t)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve(undefined);
      }, timeoutMs);
      timer.unref();
      this.waiters.push(w);
    });
  }
}

/** Wall clock with sub-millisecond resolution (epoch ms). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * An independent SB monitor: when northd wrote each nb_cfg into SB (SB_Global), and when the chassis reported
 * it installed (Chassis_Private nb_cfg; `installedAt` uses ovn-controller's own nb_cfg_timestamp, `seenAt` our
 * receipt of the update).
 */
export class SbCfgWatch {
  readonly sb = new CfgTimeline();
  readonly installed = new CfgTimeline();
  readonly seen = new CfgTimeline();

  private constructor(
    private readonly client: OvsdbClient,
    private readonly chassis: string,
  ) {
    client.on('change', (c: RowChange) => this.onChange(c));
    for (const r of client.table('SB_Global').values()) this.sb.note(Number((r as Row).nb_cfg ?? 0), nowMs());
  }

  static async connect(remote: string, chassis: string): Promise<SbCfgWatch> {
    const client = await OvsdbClient.connect({
      remotes: remote,
      database: 'OVN_Southbound',
      inactivityProbeMs: 0,
      monitor: {
        SB_Global: { columns: ['nb_cfg'] },
        Chassis_Private: { columns: ['name', 'nb_cfg', 'nb_cfg_timestamp'] },
      },
    });
    return new SbCfgWatch(client, chassis);
  }

  private onChange(c: RowChange): void {
    const now = nowMs();
    const row = c.new as Row | undefined;
    if (!row) return;
    if (c.table === 'SB_Global') this.sb.note(Number(row.nb_cfg ?? 0), now);
    else if (c.table === 'Chassis_Private' && row.name === this.chassis) {
      const v = Number(row.nb_cfg ?? 0);
      const ts = Number(row.nb_cfg_timestamp ?? 0);
      this.installed.note(v, ts > 0 ? ts : now);
      this.seen.note(v, now);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
