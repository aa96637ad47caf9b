// Bad input: garbage from the server, a server that stops answering, a schema that differs from the model,
// TLS that is refused. Each must end in a clear error or a recovery, never a crash or a hang.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { OvsdbClient, OvsdbConnectionError, OvsdbUnknownOutcomeError } from '@ycloud/ovsdb';
import { NB_SCHEMA, startOvsdbServer, type SslFiles, type StandaloneServer } from './fixtures/ovsdb-server.fixture';

jest.setTimeout(60000); // the project's testTimeout is not applied per project

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ycloud-ovsdb-bad-'));
const servers: StandaloneServer[] = [];
const fakes: net.Server[] = [];
const afterCleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const f of afterCleanup) await f();
  for (const f of fakes) f.close();
  for (const s of servers) await s.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fake server on a unix socket that answers every connection with `reply`. */
async function fakeServer(name: string, reply: (sock: net.Socket) => void): Promise<string> {
  const p = path.join(tmp, name);
  const srv = net.createServer(reply);
  fakes.push(srv);
  await new Promise<void>((r) => srv.listen(p, r));
  return `unix:${p}`;
}

test('garbage from the server: a clear protocol error, no crash', async () => {
  const remote = await fakeServer('garbage.sock', (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await expect(
    OvsdbClient.connect({ remotes: remote, database: 'OVN_Northbound', initialConnectTimeoutMs: 300 }),
  ).rejects.toThrow(/protocol error: JSON framing error/);
  const remote2 = await fakeServer('badjson.sock', (s) => s.write('{"id":1,"result":[tru'));
  await expect(
    OvsdbClient.connect({
      remotes: remote2,
      database: 'OVN_Northbound',
      initialConnectTimeoutMs: 300,
      setupSilenceMs: 300,
    }),
  ).rejects.toThrow(/no answer for 300 ms/);
  const remote3 = await fakeServer('wrongid.sock', (s) => s.write('{"id":999,"result":{},"error":null}'));
  await expect(
    OvsdbClient.connect({ remotes: remote3, database: 'OVN_Northbound', initialConnectTimeoutMs: 300 }),
  ).rejects.toThrow(/unknown request id/);
  await expect(
    OvsdbClient.connect({ remotes: `unix:${tmp}/nothing.sock`, database: 'X', initialConnectTimeoutMs: 300 }),
  ).rejects.toThrow(/ENOENT/);
});

test('a server that stops answering: the probe drops it, an in-flight write is an unknown outcome, then recovery', async () => {
  const srv = await startOvsdbServer();
  servers.push(srv);
  const c = await OvsdbClient.connect({
    remotes: srv.unix,
    database: 'OVN_Northbound',
    monitor: { Load_Balancer: {} },
    inactivityProbeMs: 300,
  });
  afterCleanup.push(() => c.close());
  const disconnected = new Promise((r) => c.once('disconnected', r));
  srv.server.pause();
  const tx = c.transaction();
  tx.insert('Load_Balancer', { name: 'during-stop' });
  const outcome = tx.commit().catch((e: unknown) => e);
  await disconnected;
  expect(await outcome).toBeInstanceOf(OvsdbUnknownOutcomeError);
  const reconnected = new Promise((r) => c.once('connected', r));
  srv.server.resume();
  await reconnected;
  // The first write may or may not have committed (it sat in the paused server's socket buffer).
  const tx2 = c.transaction();
  tx2.insert('Load_Balancer', { name: 'after' });
  await tx2.commit();
  expect(
    c
      .table('Load_Balancer')
      .all()
      .map((r) => r.name)
      .sort(),
  ).toEqual(expect.arrayContaining(['after']));
  await c.close();
});

test('a schema that differs from the model: missing tables and columns are skipped with a warning', async () => {
  const schema = JSON.parse(fs.readFileSync(NB_SCHEMA, 'utf8')) as {
    tables: Record<string, { columns: Record<string, unknown> }>;
    version: string;
  };
  delete schema.tables.Load_Balancer_Group;
  for (const t of Object.values(schema.tables)) {
    for (const [name, col] of Object.entries(t.columns)) {
      if (JSON.stringify(col).includes('"refTable":"Load_Balancer_Group"')) delete t.columns[name];
    }
  }
  delete schema.tables.Load_Balancer.columns.selection_fields;
  schema.tables.Future_Table = { columns: { name: { type: 'string' } } };
  schema.tables.Load_Balancer.columns.future_column = { type: { key: 'integer', min: 0, max: 'unlimited' } };
  const file = path.join(tmp, 'nb-variant.ovsschema');
  fs.writeFileSync(file, JSON.stringify(schema));
  const srv = await startOvsdbServer({ schema: file });
  servers.push(srv);
  const warnings: string[] = [];
  const c = await OvsdbClient.connect({
    remotes: srv.unix,
    database: 'OVN_Northbound',
    monitor: { Load_Balancer: { columns: ['name', 'selection_fields', 'vips'] }, Load_Balancer_Group: {} },
    onWarning: (w) => warnings.push(w),
  });
  afterCleanup.push(() => c.close());
  expect(warnings.join('\n')).toMatch(/table Load_Balancer_Group is not in the server's OVN_Northbound schema/);
  expect(warnings.join('\n')).toMatch(/column Load_Balancer.selection_fields is not in the server's schema/);
  const tx = c.transaction();
  const lb = tx.insert('Load_Balancer', { name: 'x', vips: { '1.1.1.1:80': '2.2.2.2:80' } });
  const { uuids } = await tx.commit();
  expect(c.table('Load_Balancer').get(uuids[lb])).toEqual({
    _uuid: uuids[lb],
    name: 'x',
    vips: { '1.1.1.1:80': '2.2.2.2:80' },
  });
  expect(c.table('Load_Balancer_Group').all()).toEqual([]);
  await c.close();
});

describe('TLS', () => {
  let files: SslFiles & { otherKey: string; otherCert: string };
  let srv: StandaloneServer;
  beforeAll(async () => {
    const ssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: tmp, stdio: 'ignore' });
    };
    const key = (name: string): string[] => [
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      name,
    ];
    ssl('req', '-x509', ...key('ca.key'), '-out', 'ca.crt', '-days', '2', '-subj', '/CN=ycloud-test-ca');
    ssl('req', '-x509', ...key('rogue-ca.key'), '-out', 'rogue-ca.crt', '-days', '2', '-subj', '/CN=rogue-ca');
    for (const [n, ca] of [
      ['server', 'ca'],
      ['client', 'ca'],
      ['rogue', 'rogue-ca'],
    ]) {
      ssl('req', ...key(`${n}.key`), '-out', `${n}.csr`, '-subj', `/CN=${n}`);
      ssl(
        'x509',
        '-req',
        '-in',
        `${n}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-CAcreateserial',
        '-out',
        `${n}.crt`,
        '-days',
        '2',
      );
    }
    const f = (n: string): string => path.join(tmp, n);
    files = {
      key: f('server.key'),
      cert: f('server.crt'),
      ca: f('ca.crt'),
      otherKey: f('rogue.key'),
      otherCert: f('rogue.crt'),
    };
    srv = await startOvsdbServer({ ssl: files });
    servers.push(srv);
  });
  const read = (p: string): string => fs.readFileSync(p, 'utf8');

  test('mutual TLS with the chain verified and the peer CN checked', async () => {
    const tls = {
      key: read(path.join(tmp, 'client.key')),
      cert: read(path.join(tmp, 'client.crt')),
      ca: read(files.ca),
    };
    const c = await OvsdbClient.connect({
      remotes: srv.server.sslRemote,
      database: 'OVN_Northbound',
      tls: { ...tls, peerCommonName: 'server' },
      monitor: { Load_Balancer: {} },
    });
    try {
      const tx = c.transaction();
      const lb = tx.insert('Load_Balancer', { name: 'over-tls' });
      const { uuids } = await tx.commit();
      expect(c.table('Load_Balancer').get(uuids[lb])?.name).toBe('over-tls');
    } finally {
      await c.close();
    }
    await expect(
      OvsdbClient.connect({
        remotes: srv.server.sslRemote,
        database: 'OVN_Northbound',
        tls: { ...tls, peerCommonName: 'other' },
        initialConnectTimeoutMs: 300,
      }),
    ).rejects.toThrow(/server certificate CN server is not other/);
  });

  test('a refused handshake is a clear connection error, not a hang', async () => {
    // Our certificate is signed by a CA the server does not trust: the server refuses the handshake.
    const rogue = { key: read(files.otherKey), cert: read(files.otherCert), ca: read(files.ca) };
    const err = await OvsdbClient.connect({
      remotes: srv.server.sslRemote,
      database: 'OVN_Northbound',
      tls: rogue,
      initialConnectTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvsdbConnectionError);
    expect(String(err)).toMatch(/ssl:127.0.0.1:\d+/);
    // We do not trust the server's CA.
    const wrongCa = {
      key: read(path.join(tmp, 'client.key')),
      cert: read(path.join(tmp, 'client.crt')),
      ca: read(path.join(tmp, 'rogue-ca.crt')),
    };
    await expect(
      OvsdbClient.connect({
        remotes: srv.server.sslRemote,
        database: 'OVN_Northbound',
        tls: wrongCa,
        initialConnectTimeoutMs: 300,
      }),
    ).rejects.toThrow(/unable to verify|self.signed|certificate/i);
    await expect(
      OvsdbClient.connect({ remotes: srv.server.sslRemote, database: 'OVN_Northbound', initialConnectTimeoutMs: 300 }),
    ).rejects.toThrow(/needs the tls option/);
  });
});
