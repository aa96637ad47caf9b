import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Logger } from './logger';

/**
 * A health or readiness check: resolve true/void when fine; false or a throw means failing. A string also means
 * fine and is shown beside the check (e.g. `standby`), so one check can say which of its passing states holds.
 */
export type Check = () => boolean | void | string | Promise<boolean | void | string>;

/** A read-only JSON route: the answer's status and body (serialised as JSON). */
export type OpsRoute = (url: URL) => Promise<{ status: number; body: unknown }>;

export interface OpsServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  registry: Registry;
  logger?: Logger;
  /** Per-check time limit. Default 5 s. */
  checkTimeoutMs?: number;
}

/**
 * The operations endpoint: `/healthz` (liveness), `/readyz` (readiness: caches synced, NB connected, leader or
 * standby...), `/metrics` (Prometheus text from the registry). `?verbose` lists each check.
 */
export class OpsServer {
  private readonly healthChecks = new Map<string, Check>();
  private readonly readyChecks = new Map<string, Check>();
  private readonly routes = new Map<string, OpsRoute>();
  private server?: http.Server;
  private readonly log: Logger;

  constructor(private readonly options: OpsServerOptions) {
    this.log = (options.logger ?? new Logger()).child({ component: 'ops-server' });
  }

  /** Adds a liveness check (`/healthz`). */
  addHealthCheck(name: string, check: Check): this {
    this.healthChecks.set(name, check);
    return this;
  }

  /** Adds a readiness check (`/readyz`). */
  addReadyCheck(name: string, check: Check): this {
    this.readyChecks.set(name, check);
    return this;
  }

  /** Adds a read-only JSON route (GET) at `path`, e.g. diagnose's. */
  addRoute(path: string, route: OpsRoute): this {
    this.routes.set(path, route);
    return this;
  }

  /** Listens; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.log.error('ops request failed', { err, url: req.url });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return { host: addr.address, port: addr.port, url: `http://${host}:${addr.port}` };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === '/metrics') {
      const body = await this.options.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.options.registry.contentType }).end(body);
      return;
    }
    const route = this.routes.get(url.pathname);
    if (route) {
      const { status, body } = await route(url);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    const checks =
      url.pathname === '/healthz' ? this.healthChecks : url.pathname === '/readyz' ? this.readyChecks : undefined;
    if (!checks) {
      res.writeHead(404).end('not found\n');
      return;
    }
    const results = await Promise.all(
      [...checks].map(async ([name, check]) => ({ name, ...(await this.run(name, check)) })),
    );
    const ok = results.every((r) => r.ok);
    const lines =
      url.searchParams.has('verbose') || !ok
        ? results.map(
            (r) => `[${r.ok ? '+' : '-'}]${r.name} ${r.ok ? 'ok' : 'failed'}${r.detail ? ` (${r.detail})` : ''}`,
          )
        : [];
    lines.push(ok ? 'ok' : `${url.pathname.slice(1)} check failed`);
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' }).end(lines.join('\n') + '\n');
  }

  private async run(name: string, check: Check): Promise<{ ok: boolean; detail?: string }> {
    const timeoutMs = this.options.checkTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        Promise.resolve().then(check),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      return { ok: result !== false, detail: typeof result === 'string' ? result : undefined };
    } catch (err) {
      this.log.warn('check failed', { check: name, err });
      return { ok: false, detail: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}
