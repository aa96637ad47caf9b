import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { Server, Socket, createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { CniError, CniErrorCode } from '../protocol/cni-error';
import { replyVersion } from '../protocol/cni-request';
import { CniReply } from '../protocol/cni-types';
import { WireRequest, decodeWireRequest, encodeWireReply } from '../protocol/wire';

const MAX_REQUEST_BYTES = 1 << 20;

/** Serves the shim's requests on a unix socket (mode 0600: only root on the node may call the plugin). */
export class CniServer {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly socketPath: string,
    private readonly handle: (req: WireRequest) => Promise<CniReply>,
    private readonly requestTimeoutMs: number,
  ) {}

  /**
   * Binds the socket inside a fresh 0700 directory next to its path, sets it to 0600 there, then renames it into
   * place: at its public path it is 0600 from the first instant (a chmod after listen() would leave a window in
   * which anyone could connect). rename() also replaces a stale socket atomically.
   */
  async listen(): Promise<void> {
    const dir = dirname(this.socketPath);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const staging = mkdtempSync(join(dir, `.${basename(this.socketPath)}-`)); // mode 0700
    const bound = join(staging, 'sock');
    // allowHalfOpen: the shim half-closes after its request; the reply still has to go out.
    const server = createServer({ allowHalfOpen: true }, (sock) => this.serve(sock));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(bound, () => resolve());
      });
      chmodSync(bound, 0o600);
      renameSync(bound, this.socketPath);
    } catch (err) {
      server.close();
      throw err;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    rmSync(this.socketPath, { force: true });
  }

  private serve(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    sock.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_REQUEST_BYTES) {
        sock.destroy();
        return;
      }
      chunks.push(d);
    });
    sock.on('end', () => {
      const req = decodeWireRequest(Buffer.concat(chunks).toString('utf8'));
      void this.answer(req).then((reply) => {
        if (!sock.destroyed) sock.end(encodeWireReply(reply.exitCode, reply.stdout));
      });
    });
  }

  /** The handler, bounded: a stuck operation still gets an error reply instead of a hung runtime. */
  private async answer(req: WireRequest): Promise<CniReply> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CniReply>((resolve) => {
      timer = setTimeout(() => {
        const e = new CniError(CniErrorCode.TryAgainLater, `the agent did not finish ${req.env.CNI_COMMAND} in time`);
        resolve({ exitCode: 1, stdout: JSON.stringify(e.toResult(replyVersion(req.stdin))) });
      }, this.requestTimeoutMs);
    });
    try {
      return await Promise.race([this.handle(req), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
