// A 3-member RAFT cluster on loopback: leader-only selection, failover during a stream of writes, resume
// with monitor_cond_since, and a correct full resync when the history does not cover the gap.
import * as net from 'node:net';
import { OvsdbClient, OvsdbConnectionError, TableCache, type Row } from '@ycloud/ovsdb';
import { dumpDatabase, startOvsdbCluster, type Cluster } from './fixtures/ovsdb-server.fixture';

jest.setTimeout(90000); // the project's testTimeout is not applied per project

let cluster: Cluster;
const clients: OvsdbClient[] = [];

beforeAll(async () => {
  cluster = await startOvsdbCluster();
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster?.stop();
});

async function connect(remotes: string, leaderOnly: boolean, extra: object = {}): Promise<OvsdbClient> {
  const c = await OvsdbClient.connect({
    remotes,
    database: 'OVN_Northbound',
    leaderOnly,
    monitor: { Load_Balancer: {} },
    indexes: { Load_Balancer: [{ name: 'key', columns: ['external_ids:k'] }] },
    ...extra,
  });
  clients.push(c);
  return c;
}

async function liveMember(): Promise<number> {
  return cluster.members.findIndex((m) => m.proc);
}

async function expectEqualsDatabase(c: OvsdbClient): Promise<void> {
  const m = cluster.members[await liveMember()];
  const d = await dumpDatabase(m.unix, 'OVN_Northbound', ['Load_Balancer']);
  const ts = c.schema().tables.Load_Balancer;
  const tc = new TableCache(
    ts,
    Object.keys(ts.columns).filter((x) => !x.startsWith('_')),
  );
  for (const r of d.Load_Balancer) tc.insert(tc.decodeRow((r._uuid as [string, string])[1], r));
  const sorted = (rows: Iterable<Row>): Row[] => [...rows].sort((a, b) => a._uuid.localeCompare(b._uuid));
  expect(sorted(c.table('Load_Balancer').all())).toEqual(sorted(tc.rows.values()));
}

test('leader-only clients reject followers; others may read from them', async () => {
  const leader = await cluster.leader();
  const follower = cluster.members[(leader + 1) % 3];
  await expect(
    OvsdbClient.connect({ remotes: follower.tcp, database: 'OVN_Northbound', initialConnectTimeoutMs: 600 }),
  ).rejects.toThrow(/not the leader/);
  const reader = await connect(follower.tcp, false);
  expect(reader.remote).toBe(follower.tcp);
  const writer = await connect(cluster.remotes, true);
  expect(writer.remote).toBe(cluster.members[leader].tcp);
  // Writes through a follower: the commit still resolves with the rows in the cache.
  for (let i = 0; i < 20; i++) {
    const tx = reader.transaction();
    const t = tx.insert('Load_Balancer', { name: `via-follower-${i}` });
    const { uuids } = await tx.commit();
    expect(reader.table('Load_Balancer').get(uuids[t])?.name).toBe(`via-follower-${i}`);
  }
  await expect(
    OvsdbClient.connect({ remotes: cluster.remotes, database: 'No_Such_DB', initialConnectTimeoutMs: 300 }),
  ).rejects.toBeInstanceOf(OvsdbConnectionError);
});

test('leader killed during a stream of writes: ends on the new leader, resumes, no duplicate or lost row', async () => {
  const writer = await connect(cluster.remotes, true);
  const inserts = new Map<string, number>();
  writer.on('change', (ch) => {
    if (!ch.old && ch.new) inserts.set(ch.uuid, (inserts.get(ch.uuid) ?? 0) + 1);
  });
  let unknownOutcomes = 0;
  writer.on('disconnected', () => unknownOutcomes++);
  const oldLeader = await cluster.leader();
  const N = 60;
  for (let i = 0; i < N; i++) {
    if (i === 20) await cluster.members[oldLeader].kill();
    // Idempotent create: retried after an unknown outcome, never duplicated.
    await writer.createIfAbsent('Load_Balancer', [['external_ids', 'includes', { k: `w${i}` }]], {
      name: `lb-w${i}`,
      external_ids: { k: `w${i}` },
    });
  }
  expect(unknownOutcomes).toBeGreaterThanOrEqual(1);
  const newLeader = await cluster.leader();
  expect(newLeader).not.toBe(oldLeader);
  expect(writer.remote).toBe(cluster.members[newLeader].tcp);
  // Resumed with monitor_cond_since from last_id: no second full dump.
  expect(writer.stats.fullDumps).toBe(1);
  expect(writer.stats.resumes).toBeGreaterThanOrEqual(1);
  for (let i = 0; i < N; i++) expect(writer.table('Load_Balancer').lookup('key', `w${i}`)).toHaveLength(1);
  expect([...inserts.values()].every((n) => n === 1)).toBe(true);
  await expectEqualsDatabase(writer);
  await cluster.members[oldLeader].start(); // back for the next test
});

test('a reader that missed more than the history gets a correct full resync', async () => {
  const leader = await cluster.leader();
  const member = cluster.members[(leader + 1) % 3];
  // The reader reaches its member through a proxy the test can cut, so the gap it misses is exactly known
  // (killing the member instead races with raft catch-up: a reader that reconnects mid catch-up legitimately
  // resumes from history).
  const proxy = await TcpProxy.start(member.tcp);
  const reader = await connect(proxy.remote, false);
  const writer = await connect(cluster.remotes, true);
  await new Promise((r) => setTimeout(r, 300));
  const before = reader.table('Load_Balancer').size;
  let resyncs = 0;
  const deleted = new Set<string>();
  reader.on('resync', () => resyncs++);
  reader.on('change', (ch) => {
    if (ch.old && !ch.new) deleted.add(ch.uuid);
  });
  await proxy.cut();
  // More than the 100 transactions of history, including deletes the reader must notice.
  const victim = writer.table('Load_Balancer').lookup('key', 'w0')[0]._uuid;
  const del = writer.transaction();
  del.delete('Load_Balancer', [['_uuid', '==', victim]]);
  await del.commit();
  for (let i = 0; i < 130; i++) {
    const tx = writer.transaction();
    tx.insert('Load_Balancer', { name: `r${i}`, external_ids: { k: `r${i}` } });
    await tx.commit();
  }
  await proxy.restore();
  const end = Date.now() + 30000;
  while (Date.now() < end && !(reader.connected && reader.table('Load_Balancer').size === before + 129)) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await proxy.stop();
  expect(resyncs).toBe(1);
  expect(reader.stats.fullDumps).toBe(2);
  expect(deleted.has(victim)).toBe(true);
  await expectEqualsDatabase(reader);
});

/** A TCP relay to one server that can drop every connection and refuse new ones for a while. */
class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private server?: net.Server;
  private constructor(
    private readonly target: { host: string; port: number },
    private port: number,
  ) {}

  static async start(targetRemote: string): Promise<TcpProxy> {
    const [, host, port] = targetRemote.split(':');
    const p = new TcpProxy({ host, port: Number(port) }, 0);
    await p.restore();
    return p;
  }

  get remote(): string {
    return `tcp:127.0.0.1:${this.port}`;
  }

  async restore(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}
