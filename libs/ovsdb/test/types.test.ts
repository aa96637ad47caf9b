// Round-trips of every value shape against a real standalone ovsdb-server, with a schema that has them all.
import * as path from 'node:path';
import { OvsdbClient, OvsdbTransactionError, TableCache, parseSchema, type Row } from '@ycloud/ovsdb';
import * as fs from 'node:fs';
import { dumpDatabase, startOvsdbServer, type StandaloneServer } from './fixtures/ovsdb-server.fixture';

const SCHEMA = path.join(__dirname, 'fixtures', 'types.ovsschema');
const schema = parseSchema(JSON.parse(fs.readFileSync(SCHEMA, 'utf8')));

jest.setTimeout(60000); // the project's testTimeout is not applied per project

let srv: StandaloneServer;
let db: OvsdbClient;

/** The database as `ovsdb-client dump` sees it, decoded by the same schema. */
async function dumped(table: string): Promise<Map<string, Row>> {
  const d = await dumpDatabase(srv.unix, 'Types', [table]);
  const t = schema.tables[table];
  const tc = new TableCache(
    t,
    Object.keys(t.columns).filter((c) => !c.startsWith('_')),
  );
  for (const r of d[table]) tc.insert(tc.decodeRow((r._uuid as [string, string])[1], r));
  return tc.rows;
}

beforeAll(async () => {
  srv = await startOvsdbServer({ schema: SCHEMA });
  db = await OvsdbClient.connect({
    remotes: srv.unix,
    database: 'Types',
    monitor: { Root: {}, Child: {}, Missing_Table: {} },
    indexes: {
      Root: [
        { name: 's', columns: ['s'] },
        { name: 'owner', columns: ['mss:owner'] },
        { name: 'pair', columns: ['s', 'i'] },
      ],
    },
  });
});
afterAll(async () => {
  await db?.close();
  await srv?.stop();
});

test('every atomic type, sets, maps and optional columns round-trip through the server and the cache', async () => {
  const big = 2n ** 60n + 7n;
  const tx = db.transaction();
  const a = tx.insert('Root', {
    i: -42,
    r: 2.0,
    b: true,
    s: 'héllo ✓ 𝄞',
    u: '01234567-89ab-cdef-0123-456789abcdef',
    oi: [big],
    os: [],
    si: [1, 2, 3],
    sr: [1.5, -0.25],
    sb: [true, false],
    ss: ['x'],
    mss: { k: 'v', 'with space': 'ü' },
    mir: { '1': 1.5, '-2': 3 },
    mbi: { true: 9007199254740993n },
    e: ['b'],
    rng: 10,
    slen: ['abc'],
  });
  const b = tx.insert('Root', { s: 'second', su: [a], peer: [a], weak: [a] });
  const { uuids } = await tx.commit();
  const ua = uuids[a];
  const ub = uuids[b];
  const rowA = db.table('Root').get(ua)!;
  expect(rowA).toEqual({
    _uuid: ua,
    i: -42,
    r: 2,
    b: true,
    s: 'héllo ✓ 𝄞',
    u: '01234567-89ab-cdef-0123-456789abcdef',
    oi: [big],
    os: [],
    si: [1, 2, 3],
    sr: [-0.25, 1.5], // the server keeps sets sorted
    sb: [false, true],
    ss: ['x'],
    su: [],
    mss: { k: 'v', 'with space': 'ü' },
    mir: { '1': 1.5, '-2': 3 },
    mbi: { true: 9007199254740993n },
    e: ['b'],
    rng: 10,
    slen: ['abc'],
    children: [],
    weak: [],
    peer: [],
  });
  // A one-element uuid set arrives bare on the wire; it is still an array here.
  expect(db.table('Root').get(ub)!.su).toEqual([ua]);
  expect(db.table('Root').get(ub)!.peer).toEqual([ua]);
  const fromDump = await dumped('Root');
  expect(fromDump.get(ua)).toEqual(rowA);
  expect(fromDump.get(ub)).toEqual(db.table('Root').get(ub));
});

test('enum, range and length constraints are rejected with a typed error naming the operation', async () => {
  for (const [row, idx] of [
    [{ e: ['z'] }, 1],
    [{ rng: 11 }, 1],
    [{ slen: ['toolong'] }, 1],
  ] as const) {
    const tx = db.transaction();
    tx.comment('constraint test');
    tx.insert('Root', row);
    const err = await tx.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvsdbTransactionError);
    expect((err as OvsdbTransactionError).index).toBe(idx);
    expect((err as OvsdbTransactionError).error).toBe('constraint violation');
  }
  // Values that cannot be encoded never reach the server.
  expect(() => db.transaction().insert('Root', { i: 1.5 }) && undefined).not.toThrow();
  await expect(
    (() => {
      const tx = db.transaction();
      tx.insert('Root', { i: 1.5 });
      return tx.commit();
    })(),
  ).rejects.toThrow(/cannot encode 1.5 as integer/);
});

test('strong, weak references and garbage collection of unreferenced non-root rows', async () => {
  // Non-root row inserted unreferenced: garbage-collected at commit.
  const tx1 = db.transaction();
  const orphan = tx1.insert('Child', { name: 'orphan' });
  const r1 = await tx1.commit();
  expect(db.table('Child').get(r1.uuids[orphan])).toBeUndefined();
  expect((await dumped('Child')).has(r1.uuids[orphan])).toBe(false);

  // Inserted together with its referrer: kept.
  const tx2 = db.transaction();
  const child = tx2.insert('Child', { name: 'kept', n: 3 });
  const parent = tx2.insert('Root', { s: 'parent', children: [child] });
  const r2 = await tx2.commit();
  expect(db.table('Child').get(r2.uuids[child])).toMatchObject({ name: 'kept', n: 3 });
  expect(db.table('Root').get(r2.uuids[parent])!.children).toEqual([r2.uuids[child]]);

  // A strong reference to a missing row: commit-time error (index -1).
  const tx3 = db.transaction();
  tx3.insert('Root', { s: 'dangling', children: ['11111111-2222-3333-4444-555555555555'] });
  const err = (await tx3.commit().catch((e: unknown) => e)) as OvsdbTransactionError;
  expect(err).toBeInstanceOf(OvsdbTransactionError);
  expect(err.commitTime).toBe(true);
  expect(err.error).toBe('referential integrity violation');

  // Weak references to a deleted row disappear.
  const tx4 = db.transaction();
  const target = tx4.insert('Root', { s: 'target' });
  const holder = tx4.insert('Root', { s: 'holder', weak: [target], peer: [target] });
  const r4 = await tx4.commit();
  const tx5 = db.transaction();
  tx5.delete('Root', [['_uuid', '==', r4.uuids[target]]]);
  await tx5.commit();
  expect(db.table('Root').get(r4.uuids[holder])).toMatchObject({ weak: [], peer: [] });
  // Removing the parent's reference collects the child.
  const tx6 = db.transaction();
  tx6.update('Root', [['_uuid', '==', r2.uuids[parent]]], { children: [] });
  await tx6.commit();
  expect(db.table('Child').get(r2.uuids[child])).toBeUndefined();
});

test('update2 diffs of sets and maps, mutate, indexes and change events', async () => {
  const changes: string[] = [];
  const onChange = (c: { table: string; old?: Row; new?: Row }): void => {
    changes.push(`${c.table}:${c.old ? (c.new ? 'modify' : 'delete') : 'insert'}`);
  };
  db.on('change', onChange);
  const tx = db.transaction();
  const t = tx.insert('Root', { s: 'idx', i: 5, ss: ['a', 'b'], mss: { owner: 'me', x: '1' } });
  const u = (await tx.commit()).uuids[t];
  expect(
    db
      .table('Root')
      .lookup('owner', 'me')
      .map((r) => r._uuid),
  ).toEqual([u]);
  expect(
    db
      .table('Root')
      .lookup('pair', 'idx', 5)
      .map((r) => r._uuid),
  ).toEqual([u]);

  const m = db.transaction();
  m.mutate(
    'Root',
    [['_uuid', '==', u]],
    [
      ['ss', 'delete', ['a']],
      ['ss', 'insert', ['c', 'd']],
      ['mss', 'delete', ['x']],
      ['mss', 'delete', { owner: 'me' }],
      ['mss', 'insert', { owner: 'you', y: '2' }],
      ['i', '+=', 10],
    ],
  );
  await m.commit();
  const row = db.table('Root').get(u)!;
  expect([...(row.ss as string[])].sort()).toEqual(['b', 'c', 'd']);
  expect(row.mss).toEqual({ owner: 'you', y: '2' });
  expect(row.i).toBe(15);
  expect(db.table('Root').lookup('owner', 'me')).toEqual([]);
  expect(
    db
      .table('Root')
      .lookup('owner', 'you')
      .map((r) => r._uuid),
  ).toEqual([u]);
  expect(
    db
      .table('Root')
      .lookup('pair', 'idx', 15)
      .map((r) => r._uuid),
  ).toEqual([u]);
  expect((await dumped('Root')).get(u)).toEqual(row);

  const d = db.transaction();
  d.delete('Root', [['_uuid', '==', u]]);
  await d.commit();
  db.off('change', onChange);
  expect(changes).toEqual(['Root:insert', 'Root:modify', 'Root:delete']);
});

test('create-if-absent by an owner key is idempotent; wait reports a typed "timed out"', async () => {
  const where: [string, '==' | 'includes', unknown][] = [['mss', 'includes', { owner: 'singleton' }]];
  const first = await db.createIfAbsent('Root', where as never, { s: 'one', mss: { owner: 'singleton' } });
  const second = await db.createIfAbsent('Root', where as never, { s: 'two', mss: { owner: 'singleton' } });
  expect(first.created).toBe(true);
  expect(second).toEqual({ uuid: first.uuid, created: false });
  const tx = db.transaction();
  tx.insertIfAbsent('Root', where as never, { s: 'three', mss: { owner: 'singleton' } });
  const err = (await tx.commit().catch((e: unknown) => e)) as OvsdbTransactionError;
  expect(err).toBeInstanceOf(OvsdbTransactionError);
  expect([err.index, err.error]).toEqual([0, 'timed out']);
  expect(db.table('Root').find(where as never)).toHaveLength(1);
});

test('a monitored table the server lacks is tolerated', () => {
  expect(db.table('Missing_Table').all()).toEqual([]);
});

test('locks: lock, contention, unlock hands over (notified), assert fails for a non-owner', async () => {
  const other = await OvsdbClient.connect({ remotes: srv.unix, database: 'Types' });
  try {
    expect(await db.lock('ycloud_test')).toBe(true);
    expect(await other.lock('ycloud_test')).toBe(false);
    const tx = other.transaction();
    tx.assert('ycloud_test');
    const err = (await tx.commit().catch((e: unknown) => e)) as OvsdbTransactionError;
    expect([err.index, err.error]).toEqual([0, 'not owner']);
    const handed = new Promise((r) => other.once('locked', r));
    await db.unlock('ycloud_test');
    expect(await handed).toBe('ycloud_test');
    const tx2 = other.transaction();
    tx2.assert('ycloud_test');
    await expect(tx2.commit()).resolves.toMatchObject({ results: [{}] });
  } finally {
    await other.close();
  }
});
