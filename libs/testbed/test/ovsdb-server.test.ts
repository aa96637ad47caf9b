import { runText, startOvsdbCluster, startOvsdbServer } from '@ycloud/testbed';
import { existsSync } from 'node:fs';

const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startOvsdbServer', () => {
  it('serves the schema on unix and tcp remotes and is gone after stop()', async () => {
    const srv = await startOvsdbServer({ schema: NB_SCHEMA });
    try {
      expect(srv.unixRemote).toMatch(/^unix:\/.*\.sock$/);
      expect(srv.tcpRemote).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
      for (const remote of [srv.unixRemote, srv.tcpRemote]) {
        expect((await runText('ovsdb-client', ['--timeout=10', 'list-dbs', remote])).split('\n')).toContain(
          'OVN_Northbound',
        );
      }
      await runText('ovn-nbctl', ['--db', srv.tcpRemote, 'ls-add', 'sw0']);
      expect(await runText('ovn-nbctl', ['--db', srv.unixRemote, 'ls-list'])).toContain('sw0');
    } finally {
      await srv.stop();
    }
    expect(isAlive(srv.pid)).toBe(false);
    expect(existsSync(srv.dbPath)).toBe(false);
  });
});

describe('startOvsdbCluster', () => {
  it('forms a 3-member cluster, survives killing the leader, and a killed member rejoins', async () => {
    const cluster = await startOvsdbCluster({ schema: NB_SCHEMA, size: 3 });
    try {
      expect(cluster.remotes.split(',')).toHaveLength(3);
      await runText('ovn-nbctl', ['--db', cluster.remotes, 'ls-add', 'before']);
      const leader = await cluster.leaderIndex();
      await cluster.members[leader].kill();
      expect(cluster.members[leader].running).toBe(false);
      const next = await cluster.leaderIndex(30_000);
      expect(next).not.toBe(leader);
      await runText('ovn-nbctl', ['--db', cluster.remotes, '--timeout=20', 'ls-add', 'after'], { timeoutMs: 30_000 });
      await cluster.members[leader].start();
      const ls = await runText('ovn-nbctl', [
        '--db',
        cluster.members[leader].unixRemote,
        '--no-leader-only',
        'ls-list',
      ]);
      expect(ls).toContain('before');
      expect(ls).toContain('after');
    } finally {
      await cluster.stop();
    }
    for (const m of cluster.members) expect(m.running).toBe(false);
  });
});
