/** OVSDB remotes (`tcp:HOST:PORT`, `unix:PATH`, `ssl:HOST:PORT`) and opening a socket to one. */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { OvsdbConnectionError } from './errors';

export interface Remote {
  kind: 'tcp' | 'ssl' | 'unix';
  host?: string;
  port?: number;
  path?: string;
  /** As written by the caller. */
  text: string;
}

/** Mutual TLS material (PEM). OVS does no hostname check: the chain is verified, the CN optionally. */
export interface TlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
  /** When set, the server certificate's subject CN must equal it. */
  peerCommonName?: string;
}

/** Parses a comma-separated remote list. IPv6 hosts are written in brackets: `tcp:[::1]:6641`. */
export function parseRemotes(spec: string | string[]): Remote[] {
  const items = (Array.isArray(spec) ? spec : spec.split(',')).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new OvsdbConnectionError('no OVSDB remote given');
  return items.map(parseRemote);
}

export function parseRemote(text: string): Remote {
  const i = text.indexOf(':');
  const kind = text.slice(0, i);
  const rest = text.slice(i + 1);
  if (kind === 'unix') {
    if (!rest) throw new OvsdbConnectionError(`bad remote ${text}`);
    return { kind, path: rest, text };
  }
  if (kind === 'tcp' || kind === 'ssl') {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(rest);
    if (!m) throw new OvsdbConnectionError(`bad remote ${text} (want ${kind}:HOST:PORT)`);
    return { kind, host: m[1] ?? m[2], port: Number(m[3]), text };
  }
  throw new OvsdbConnectionError(`unsupported remote ${text} (tcp:, ssl:, unix:)`);
}

/** Opens a socket; rejects with OvsdbConnectionError on failure, refused TLS handshake or timeout. */
export function openSocket(remote: Remote, tlsOpts: TlsOptions | undefined, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let sock: net.Socket;
    const fail = (err: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      reject(new OvsdbConnectionError(`${remote.text}: ${err.message}`));
    };
    const timer = setTimeout(() => fail(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
    const ok = (): void => {
      clearTimeout(timer);
      sock.removeListener('error', fail);
      sock.setNoDelay(true);
      resolve(sock);
    };
    if (remote.kind === 'unix') {
      sock = net.connect({ path: remote.path! }, ok);
    } else if (remote.kind === 'tcp') {
      sock = net.connect({ host: remote.host, port: remote.port! }, ok);
    } else {
      if (!tlsOpts) {
        reject(new OvsdbConnectionError(`${remote.text}: ssl remote needs the tls option (key, cert, ca)`));
        clearTimeout(timer);
        return;
      }
      const cn = tlsOpts.peerCommonName;
      sock = tls.connect(
        {
          host: remote.host,
          port: remote.port!,
          key: tlsOpts.key,
          cert: tlsOpts.cert,
          ca: tlsOpts.ca,
          rejectUnauthorized: true,
          servername: net.isIP(remote.host!) ? undefined : remote.host,
          checkServerIdentity: (_host, cert) => {
            if (cn !== undefined && cert.subject?.CN !== cn) {
              return new Error(`server certificate CN ${String(cert.subject?.CN)} is not ${cn}`);
            }
            return undefined;
          },
        },
        ok,
      );
    }
    sock.once('error', fail);
  });
}
