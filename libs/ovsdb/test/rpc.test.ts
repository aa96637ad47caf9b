// JSON-RPC 1.0 as ovsdb-server speaks it, checked on the wire with a local socket peer.
import * as net from 'node:net';
import { JsonSplitter, OvsdbConnectionError, OvsdbRpcError, RpcConnection } from '@ycloud/ovsdb';

jest.setTimeout(20000); // the project's testTimeout is not applied per project

async function pair(): Promise<{ client: RpcConnection; peer: net.Socket; seen: unknown[]; close: () => void }> {
  const seen: unknown[] = [];
  let peer!: net.Socket;
  const server = net.createServer((s) => {
    peer = s;
    const split = new JsonSplitter();
    s.on('data', (d: Buffer) => seen.push(...split.push(d)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const sock = await new Promise<net.Socket>((r) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => r(s));
  });
  while (!peer) await new Promise((r) => setTimeout(r, 5));
  const client = new RpcConnection(sock, `tcp:127.0.0.1:${port}`);
  return { client, peer, seen, close: () => (client.close(), server.close()) };
}

const until = async (f: () => boolean): Promise<void> => {
  while (!f()) await new Promise((r) => setTimeout(r, 5));
};

test('requests are JSON-RPC 1.0: no "jsonrpc" member, params always an array; replies match by id', async () => {
  const p = await pair();
  const r1 = p.client.request('list_dbs', []);
  const r2 = p.client.request('get_schema', ['X']);
  await until(() => p.seen.length === 2);
  expect(p.seen).toEqual([
    { method: 'list_dbs', params: [], id: 1 },
    { method: 'get_schema', params: ['X'], id: 2 },
  ]);
  // Replies out of order, in one chunk, the second split from the first mid-way.
  const w = '{"id":2,"result":{"name":"X"},"error":null}{"id":1,"result":["X","_Server"],"error":null}';
  p.peer.write(w.slice(0, 50));
  await new Promise((r) => setTimeout(r, 20));
  p.peer.write(w.slice(50));
  await expect(r1).resolves.toEqual(['X', '_Server']);
  await expect(r2).resolves.toEqual({ name: 'X' });
  const r3 = p.client.request('transact', ['X']);
  p.peer.write('{"id":3,"result":null,"error":{"error":"unknown database","details":"X"}}');
  await expect(r3).rejects.toBeInstanceOf(OvsdbRpcError);
  p.close();
});

test("the server's echo is answered with the same params; notifications are dispatched in order", async () => {
  const p = await pair();
  const notes: unknown[] = [];
  p.client.on('notification', (m: string, params: unknown[]) => notes.push([m, params]));
  p.peer.write('{"id":"echo","method":"echo","params":[]}{"id":null,"method":"update3","params":["m","t1",{}]}');
  p.peer.write('{"method":"update3","params":["m","t2",{}],"id":null}');
  await until(() => p.seen.length === 1 && notes.length === 2);
  expect(p.seen[0]).toEqual({ result: [], error: null, id: 'echo' });
  expect(notes).toEqual([
    ['update3', ['m', 't1', {}]],
    ['update3', ['m', 't2', {}]],
  ]);
  p.close();
});

test('a lost connection rejects every pending request', async () => {
  const p = await pair();
  const r = p.client.request('transact', ['X', { op: 'comment', comment: 'x' }]);
  const closed = new Promise((res) => p.client.once('close', res));
  p.peer.destroy();
  await expect(r).rejects.toBeInstanceOf(OvsdbConnectionError); // reset or closed, depending on timing
  await closed;
  await expect(p.client.request('list_dbs', [])).rejects.toThrow();
  p.close();
});
