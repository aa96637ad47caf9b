import { EventEmitter } from 'node:events';
import type { TransactionWriter } from '@ycloud/ovn';
import { NbCfgBarrier } from './nb-cfg-barrier';

/** NB_Global as a client cache holds it, with the change events the client emits after each update. */
class NbGlobalCache extends EventEmitter {
  row: Record<string, unknown> = { nb_cfg: 0, hv_cfg: 0, hv_cfg_timestamp: 0 };
  table(name: string) {
    return { values: () => (name === 'NB_Global' ? [this.row] : [])[Symbol.iterator]() };
  }
  set(cols: Record<string, number>): void {
    const old = this.row;
    this.row = { ...old, ...cols };
    this.emit('change', { table: 'NB_Global', uuid: 'u', old, new: this.row });
  }
}

function recordingWriter(log: unknown[][]): TransactionWriter {
  const rec =
    (op: string) =>
    (...a: unknown[]) =>
      log.push([op, ...a]);
  return {
    insert: rec('insert'),
    update: rec('update'),
    mutate: rec('mutate'),
    delete: rec('delete'),
    wait: rec('wait'),
    comment: rec('comment'),
    commit: () => Promise.resolve(log.push(['commit'])),
  };
}

describe('NbCfgBarrier', () => {
  it('appends the nb_cfg increment as the last operation of every committed transaction', async () => {
    const cache = new NbGlobalCache();
    const barrier = new NbCfgBarrier(cache as never);
    const ops: unknown[][] = [];
    const tx = barrier.source({ transaction: () => recordingWriter(ops) }).transaction();
    tx.comment('svc');
    tx.update('Load_Balancer', [['_uuid', '==', ['uuid', 'x']]], { vips: {} });
    await tx.commit();
    expect(ops.map((o) => o[0])).toEqual(['comment', 'update', 'mutate', 'commit']);
    expect(ops[2]).toEqual(['mutate', 'NB_Global', [], [['nb_cfg', '+=', 1]]]);
  });

  it('resolves a waiter when hv_cfg reaches its nb_cfg, with the chassis timestamp', async () => {
    const cache = new NbGlobalCache();
    const barrier = new NbCfgBarrier(cache as never);
    cache.set({ nb_cfg: 5 });
    let at: number | undefined;
    void barrier.whenInstalled().then((t) => (at = t));
    cache.set({ hv_cfg: 4, hv_cfg_timestamp: 1000 });
    await Promise.resolve();
    expect(at).toBeUndefined();
    expect(barrier.pending).toBe(1);
    cache.set({ hv_cfg: 5, hv_cfg_timestamp: 2000 });
    await Promise.resolve();
    expect(at).toBe(2000);
    expect(barrier.pending).toBe(0);
    // Already installed: resolves at once.
    await expect(barrier.whenInstalled(3)).resolves.toBe(2000);
  });
});
