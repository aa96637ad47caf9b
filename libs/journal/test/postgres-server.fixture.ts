import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';

/** Directory of Debian's PostgreSQL server binaries (highest version), or null when not installed. */
export function findPostgresBinDir(): string | null {
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT)
    .filter(
      (v) => existsSync(path.join(PG_ROOT, v, 'bin', 'initdb')) && existsSync(path.join(PG_ROOT, v, 'bin', 'pg_ctl')),
    )
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(PG_ROOT, versions[0], 'bin') : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A private PostgreSQL server in a temporary directory, on 127.0.0.1 and a random port, trust auth.
 * PostgreSQL refuses to run as root, so under root it runs as the `postgres` system user.
 */
export class PostgresServer {
  readonly url: string;
  private running = false;

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
    private readonly owner: { uid: number; gid: number } | null,
  ) {
    this.url = `postgres://ycloud@127.0.0.1:${port}/journal`;
  }

  static async start(bin: string): Promise<PostgresServer> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ycloud-pg-'));
    let owner: { uid: number; gid: number } | null = null;
    if (process.getuid?.() === 0) {
      const uid = Number((await exec('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await exec('id', ['-g', 'postgres'])).stdout.trim());
      owner = { uid, gid };
      chownSync(dir, uid, gid);
    }
    const server = new PostgresServer(bin, dir, await freePort(), owner);
    try {
      await server.run('initdb', ['-D', server.dataDir, '-U', 'ycloud', '--auth=trust', '-E', 'UTF8', '--no-sync']);
      await server.resume();
      await server.run('createdb', ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'ycloud', 'journal']);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  private async run(tool: string, args: string[]): Promise<string> {
    const cmd = path.join(this.bin, tool);
    const [file, argv] = this.owner ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    const { stdout } = await exec(file, argv, { timeout: 60_000, cwd: this.dir });
    return stdout;
  }

  /** Starts (or restarts after `pause`) the server and waits until it accepts connections. */
  async resume(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    await this.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      path.join(this.dir, 'server.log'),
      '-o',
      opts,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    this.running = true;
  }

  /** Stops the server but keeps its data, to simulate an outage. */
  async pause(): Promise<void> {
    if (!this.running) return;
    await this.run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
    this.running = false;
  }

  /** Stops the server and deletes its directory. */
  async stop(): Promise<void> {
    try {
      if (this.running || existsSync(path.join(this.dataDir, 'postmaster.pid'))) {
        await this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
      }
      this.running = false;
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
