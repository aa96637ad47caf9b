// The replicated cache against a real OVN Northbound ovsdb-server: the API other engineers code against,
// and monitor correctness after random transactions from independent C clients.
import { NB, OvsdbClient, TableCache, type NBTables, type Row } from '@ycloud/ovsdb';
import {
  dumpDatabase,
  nbctl,
  ovsdbClientTransact,
  startOvsdbServer,
  type StandaloneServer,
} from './fixtures/ovsdb-server.fixture';

jest.setTimeout(60000); // the project's testTimeout is not applied per project

let srv: StandaloneServer;
let nb: OvsdbClient<NBTables>;
const MONITOR = {
  Load_Balancer: {},
  Load_Balancer_Group: {},
  Logical_Switch: { columns: ['name', 'load_balancer_group', 'load_balancer', 'ports', 'external_ids'] },
  Logical_Switch_Port: {},
  ACL: {},
  NB_Global: {},
};

beforeAll(async () => {
  srv = await startOvsdbServer();
  nb = await OvsdbClient.connect<NBTables>({
    remotes: `${srv.tcp},${srv.unix}`,
    database: 'OVN_Northbound',
    monitor: MONITOR,
    indexes: { Load_Balancer: [{ name: 'key', columns: ['external_ids:ycloud.io/key'] }] },
  });
});
afterAll(async () => {
  await nb?.close();
  await srv?.stop();
});

/** Tables as a fresh `ovsdb-client dump` shows them, decoded with the monitored columns. */
async function dumpAsCache(): Promise<Record<string, Map<string, Row>>> {
  const tables = Object.keys(MONITOR);
  const d = await dumpDatabase(srv.unix, 'OVN_Northbound', tables);
  const out: Record<string, Map<string, Row>> = {};
  for (const t of tables) {
    const ts = nb.schema().tables[t];
    const cols =
      (MONITOR as Record<string, { columns?: string[] }>)[t].columns ??
      Object.keys(ts.columns).filter((c) => !c.startsWith('_'));
    const tc = new TableCache(ts, cols);
    for (const r of d[t] ?? []) tc.insert(tc.decodeRow((r._uuid as [string, string])[1], r));
    out[t] = tc.rows;
  }
  return out;
}

function cacheNow(): Record<string, Map<string, Row>> {
  const out: Record<string, Map<string, Row>> = {};
  for (const t of Object.keys(MONITOR))
    out[t] = new Map(
      nb
        .table(t as keyof NBTables)
        .all()
        .map((r) => [r._uuid, r as Row]),
    );
  return out;
}

/** Plain objects sorted by uuid, with set columns sorted: readable diffs. */
function normalized(db: Record<string, Map<string, Row>>): Record<string, Record<string, Row>> {
  const out: Record<string, Record<string, Row>> = {};
  for (const [t, rows] of Object.entries(db)) {
    out[t] = {};
    for (const u of [...rows.keys()].sort()) {
      const r = { ...rows.get(u)! };
      for (const [k, v] of Object.entries(r)) if (Array.isArray(v)) r[k] = [...(v as string[])].sort();
      out[t][u] = r;
    }
  }
  return out;
}

async function expectCacheEqualsDump(): Promise<void> {
  const want = await dumpAsCache();
  const end = Date.now() + 5000;
  // Updates from other clients arrive asynchronously: give them a moment.
  while (Date.now() < end) {
    try {
      expect(normalized(cacheNow())).toEqual(normalized(want));
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  expect(normalized(cacheNow())).toEqual(normalized(want));
}

test('the documented API: insert with a named uuid, mutate with the token, index lookup, typed rows', async () => {
  const group = await nb.createIfAbsent('Load_Balancer_Group', [['name', '==', 'cluster-lbs']], {
    name: 'cluster-lbs',
  });
  const key = 'svc:default/web:TCP';
  const tx = nb.transaction();
  tx.comment('ycloud: reconcile Service default/web');
  tx.wait('Load_Balancer', [['external_ids', 'includes', { 'ycloud.io/key': key }]], ['_uuid'], '==', [], 0);
  const lb = tx.insert(NB.Load_Balancer, {
    name: 'lb-default-web-tcp',
    vips: { '10.96.0.10:80': '10.0.0.5:8080' },
    protocol: ['tcp'],
    external_ids: { 'ycloud.io/key': key },
  });
  tx.mutate('Load_Balancer_Group', [['_uuid', '==', group.uuid]], [['load_balancer', 'insert', [lb]]]);
  const { uuids, results } = await tx.commit();
  expect(results).toHaveLength(4);
  const row = nb.table(NB.Load_Balancer).get(uuids[lb])!;
  expect(row.vips).toEqual({ '10.96.0.10:80': '10.0.0.5:8080' });
  expect(row.protocol).toEqual(['tcp']);
  expect(
    nb
      .table('Load_Balancer')
      .lookup('key', key)
      .map((r) => r._uuid),
  ).toEqual([uuids[lb]]);
  expect(nb.table('Load_Balancer_Group').get(group.uuid)!.load_balancer).toEqual([uuids[lb]]);

  const up = nb.transaction();
  up.update('Load_Balancer', [['_uuid', '==', uuids[lb]]], {
    vips: { '10.96.0.10:80': '10.0.0.6:8080,10.0.0.7:8080' },
  });
  await up.commit();
  expect(nb.table(NB.Load_Balancer).get(uuids[lb])!.vips).toEqual({ '10.96.0.10:80': '10.0.0.6:8080,10.0.0.7:8080' });
  await expectCacheEqualsDump();
});

test('after random transactions from ovn-nbctl and ovsdb-client, the cache equals a fresh dump', async () => {
  let seed = 12345; // mulberry32: deterministic and well mixed
  const rnd = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const switches: string[] = [];
  const lbs: string[] = [];
  let ports = 0;
  for (let round = 0; round < 25; round++) {
    const args: string[] = [];
    const add = (...a: string[]): void => {
      if (args.length) args.push('--');
      args.push(...a);
    };
    for (let k = 0; k < 4; k++) {
      const choice = rnd(8);
      if (choice === 0 || switches.length === 0) {
        const ls = `ls${round}_${k}`;
        switches.push(ls);
        add('ls-add', ls);
      } else if (choice === 1) {
        add('lsp-add', switches[rnd(switches.length)], `p${ports++}`);
      } else if (choice === 2) {
        const lb = `lb${round}_${k}`;
        lbs.push(lb);
        add('lb-add', lb, `10.96.${round}.${k}:80`, `10.0.${round}.1:8080,10.0.${round}.2:8080`, 'tcp');
      } else if (choice === 3 && lbs.length) {
        add('--may-exist', 'ls-lb-add', switches[rnd(switches.length)], lbs[rnd(lbs.length)]);
      } else if (choice === 4 && lbs.length > 2) {
        add('lb-del', lbs.splice(rnd(lbs.length), 1)[0]);
      } else if (choice === 5 && switches.length > 2) {
        add('ls-del', switches.splice(rnd(switches.length), 1)[0]);
      } else if (choice === 6) {
        add('set', 'Logical_Switch', switches[rnd(switches.length)], `external_ids:k${rnd(3)}=v${rnd(100)}`);
      } else {
        add(
          'acl-add',
          switches[rnd(switches.length)],
          'to-lport',
          String(1000 + rnd(100)),
          `ip4.src == 10.0.0.${rnd(250)}`,
          'allow',
        );
      }
    }
    await nbctl(srv.unix, ...args);
    if (round % 5 === 4) {
      // A second independent client, raw transactions: map and set mutations, one-element sets.
      await ovsdbClientTransact(srv.unix, [
        'OVN_Northbound',
        {
          op: 'mutate',
          table: 'Logical_Switch',
          where: [],
          mutations: [['external_ids', 'insert', ['map', [['raw', `r${round}`]]]]],
        },
        { op: 'mutate', table: 'NB_Global', where: [], mutations: [['nb_cfg', '+=', 1]] },
        {
          op: 'mutate',
          table: 'Load_Balancer',
          where: [],
          mutations: [['vips', 'delete', ['set', [`10.96.${round - 1}.0:80`]]]],
        },
      ]);
    }
    if (round % 8 === 7) await expectCacheEqualsDump();
  }
  await expectCacheEqualsDump();
  expect(nb.table('Logical_Switch').size).toBeGreaterThan(1);
  expect(nb.table('Logical_Switch_Port').size + nb.table('ACL').size).toBeGreaterThan(5);
  expect(nb.table('NB_Global').all()[0].nb_cfg).toBe(5);
});

test('our inactivity probe is answered; the server echo is answered (tcp stays up while idle)', async () => {
  const c = await OvsdbClient.connect({
    remotes: srv.tcp,
    database: 'OVN_Northbound',
    monitor: { NB_Global: {} },
    inactivityProbeMs: 200,
  });
  let disconnects = 0;
  c.on('disconnected', () => disconnects++);
  await new Promise((r) => setTimeout(r, 1500));
  expect(disconnects).toBe(0);
  expect(c.connected).toBe(true);
  expect(c.table('NB_Global').all()).toHaveLength(1);
  await c.close();
});
