import type { TransactionSource, TransactionWriter } from '@ycloud/ovn';
import type { OvsdbClient, Row, RowChange } from '@ycloud/ovsdb';

/** Waiters kept at most; past it the oldest are dropped (no chassis answering, e.g. northd down). */
const MAX_WAITERS = 10_000;

/** NB_Global's sequence numbers as the controller's cache shows them. */
export interface NbCfgState {
  /** Bumped by writers (ycloud, `ovn-nbctl --wait`); northd copies it to SB. */
  nbCfg: number;
  /** What northd has put into SB (`sb_cfg`) and what every chassis has installed into its flows (`hv_cfg`). */
  sbCfg: number;
  hvCfg: number;
  /** ms since epoch: when the last chassis reported `hv_cfg` (from ovn-controller's own clock, via northd). */
  hvCfgTimestamp: number;
}

interface Waiter {
  cfg: number;
  resolve(atMs: number): void;
}

/**
 * OVN's own "has every node installed it" barrier, as `ovn-nbctl --wait=hv` uses it: each transaction ycloud
 * commits also increments NB_Global `nb_cfg` (in the same transaction, so northd handles both in one pass);
 * northd copies it to SB, each ovn-controller reports it in Chassis_Private once its OpenFlow for that SB
 * state is installed, and northd sets NB_Global `hv_cfg` to the lowest chassis value. `whenInstalled(cfg)`
 * resolves when `hv_cfg >= cfg`: the change that transaction carried is in every node's flows.
 */
export class NbCfgBarrier {
  private waiters: Waiter[] = [];

  constructor(private readonly client: Pick<OvsdbClient, 'table' | 'on'>) {
    client.on('change', (c: RowChange) => {
      if (c.table === 'NB_Global' && c.new) this.release(c.new);
    });
  }

  /** The client's transactions, each with the nb_cfg increment appended (after every planned operation). */
  source(db: TransactionSource): TransactionSource {
    return { transaction: () => new NbCfgBumpingTransaction(db.transaction()) };
  }

  state(): NbCfgState {
    const row = this.client.table('NB_Global').values().next().value as Row | undefined;
    return {
      nbCfg: Number(row?.nb_cfg ?? 0),
      sbCfg: Number(row?.sb_cfg ?? 0),
      hvCfg: Number(row?.hv_cfg ?? 0),
      hvCfgTimestamp: Number(row?.hv_cfg_timestamp ?? 0),
    };
  }

  /**
   * Resolves with the epoch ms at which every chassis had installed NB state `cfg` (default: the current
   * nb_cfg, i.e. everything committed so far, since a commit resolves with its update in the cache).
   */
  whenInstalled(cfg = this.state().nbCfg): Promise<number> {
    const s = this.state();
    if (s.hvCfg >= cfg) return Promise.resolve(s.hvCfgTimestamp || Date.now());
    return new Promise((resolve) => {
      this.waiters.push({ cfg, resolve });
      if (this.waiters.length > MAX_WAITERS) this.waiters.splice(0, this.waiters.length - MAX_WAITERS);
    });
  }

  get pending(): number {
    return this.waiters.length;
  }

  private release(row: Row): void {
    if (this.waiters.length === 0) return;
    const hv = Number(row.hv_cfg ?? 0);
    const at = Number(row.hv_cfg_timestamp ?? 0) || Date.now();
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.cfg <= hv) w.resolve(at);
      else keep.push(w);
    }
    this.waiters = keep;
  }
}

/** A transaction that increments NB_Global nb_cfg as its last operation (so earlier operation indexes keep). */
class NbCfgBumpingTransaction implements TransactionWriter {
  constructor(private readonly tx: TransactionWriter) {}
  insert(table: string, row: Record<string, unknown>): unknown {
    return this.tx.insert(table, row);
  }
  update(table: string, where: unknown[][], row: Record<string, unknown>): unknown {
    return this.tx.update(table, where, row);
  }
  mutate(table: string, where: unknown[][], mutations: unknown[][]): unknown {
    return this.tx.mutate(table, where, mutations);
  }
  delete(table: string, where: unknown[][]): unknown {
    return this.tx.delete(table, where);
  }
  wait(
    table: string,
    where: unknown[][],
    columns: string[],
    until: '==' | '!=',
    rows: unknown[],
    timeout?: number,
  ): unknown {
    return this.tx.wait(table, where, columns, until, rows, timeout);
  }
  comment(text: string): unknown {
    return this.tx.comment(text);
  }
  commit(): Promise<unknown> {
    this.tx.mutate('NB_Global', [], [['nb_cfg', '+=', 1]]);
    return this.tx.commit();
  }
}
