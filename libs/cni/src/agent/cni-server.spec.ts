import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Server, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeWireReply, encodeWireRequest } from '../protocol/wire';
import { CniServer } from './cni-server';

const mode = (p: string) => lstatSync(p).mode & 0o777;

describe('CniServer socket', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cni-sock-'))));
  const afterDone: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const f of afterDone.splice(0)) await f();
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is never reachable by others: bound inside a 0700 directory, 0600 before it appears at its path', async () => {
    const parent = join(dir, 'run');
    mkdirSync(parent, { mode: 0o755 }); // like /run/ycloud: others may look in
    const socketPath = join(parent, 'cni.sock');
    writeFileSync(socketPath, 'stale');
    // The moment the socket exists (bind() runs inside listen()), before any later chmod could narrow it.
    const atBind: Array<{ path: string; socket: number; dir: number }> = [];
    const listen = Server.prototype.listen;
    jest.spyOn(Server.prototype, 'listen').mockImplementation(function (this: Server, ...args: unknown[]) {
      const r = (listen as (...a: unknown[]) => Server).apply(this, args);
      const p = args[0] as string;
      atBind.push({ path: p, socket: mode(p), dir: mode(dirname(p)) });
      return r;
    });
    const server = new CniServer(socketPath, async () => ({ exitCode: 0, stdout: '{"ok":true}' }), 5000);
    await server.listen();
    afterDone.push(() => server.close());
    expect(atBind).toHaveLength(1);
    const reachable = atBind[0].dir & 0o077 && atBind[0].socket & 0o077;
    expect({ ...atBind[0], reachable: !!reachable }).toMatchObject({ dir: 0o700, reachable: false });
    expect(atBind[0].path).not.toBe(socketPath);

    expect(lstatSync(socketPath).isSocket()).toBe(true); // the stale file was replaced
    expect(mode(socketPath)).toBe(0o600);
    expect(readdirSync(parent)).toEqual(['cni.sock']); // the staging directory is gone

    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(socketPath);
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
      sock.end(encodeWireRequest({ env: { CNI_COMMAND: 'VERSION' }, stdin: '{}' }));
    });
    expect(decodeWireReply(reply)).toEqual({ exitCode: 0, stdout: '{"ok":true}' });
    await server.close();
    expect(readdirSync(parent)).toEqual([]);
  });

  it('creates a missing socket directory 0700', async () => {
    const socketPath = join(dir, 'a', 'b', 'cni.sock');
    const server = new CniServer(socketPath, async () => ({ exitCode: 0, stdout: '' }), 5000);
    await server.listen();
    try {
      expect(mode(join(dir, 'a', 'b'))).toBe(0o700);
      expect(mode(socketPath)).toBe(0o600);
    } finally {
      await server.close();
    }
  });
});
