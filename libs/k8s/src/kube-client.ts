import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KubeList, KubeObject, ResourceType, resourcePath } from './resource';

/** Where and how to reach an apiserver. PEM strings or buffers. */
export interface KubeClientConfig {
  server: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  token?: string;
  /** Read on use (rotating service-account tokens). */
  tokenFile?: string;
  insecureSkipTlsVerify?: boolean;
}

/** An apiserver answer with an error status, carrying the Status `reason` (`NotFound`, `Conflict`, ...). */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly reason?: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409;
}
export function isAlreadyExists(err: unknown): boolean {
  return isConflict(err) && (err as KubeApiError).reason === 'AlreadyExists';
}
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 410;
}

/** One watch event as the apiserver sends it. */
export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{ name: string; cluster: Record<string, unknown> }>;
  users?: Array<{ name: string; user?: Record<string, unknown> }>;
}

/** What KubeClient.inCluster reads of the environment (the kubelet sets both in every pod). */
export interface InClusterEnv {
  KUBERNETES_SERVICE_HOST?: string;
  KUBERNETES_SERVICE_PORT?: string;
}

/**
 * A small REST client for the apiserver on node:https, with one keep-alive agent per client.
 *
 * Why not client-node's generated clients and Watch: its 1.4.0 Watch makes a new HTTPS agent per request
 * (socket leak on reconnects), has no per-watch deadline, and client-node 1.x is ESM-only (plain `node -r
 * scripts/register.js` and jest need extra transforms for it). Owning the socket lets the informer set timeouts, TCP
 * keep-alive and abort a watch deterministically. Types from client-node (V1Service, ...) still fit.
 * Auth: client certificates and bearer tokens (files, kubeconfig, in-cluster); no exec plugins.
 */
export class KubeClient {
  private readonly agent: http.Agent;
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;
  private tokenCache?: { value: string; readAt: number };

  constructor(
    readonly config: KubeClientConfig,
    private readonly defaultTimeoutMs = 30_000,
  ) {
    this.base = new URL(config.server);
    const tls = this.base.protocol === 'https:';
    this.transport = tls ? https : http;
    this.agent = tls
      ? new https.Agent({
          keepAlive: true,
          ca: config.ca,
          cert: config.cert,
          key: config.key,
          rejectUnauthorized: !config.insecureSkipTlsVerify,
        })
      : new http.Agent({ keepAlive: true });
  }

  /** From a kubeconfig file (its current context unless `context` is given). */
  static fromKubeconfigFile(file: string, context?: string): KubeClient {
    return KubeClient.fromKubeconfig(readFileSync(file, 'utf8'), path.dirname(file), context);
  }

  /** From kubeconfig YAML; relative file references resolve against `baseDir`. */
  static fromKubeconfig(text: string, baseDir = '.', contextName?: string): KubeClient {
    const kc = parseYaml(text) as KubeconfigFile;
    const ctxName = contextName ?? kc['current-context'];
    const ctx = kc.contexts?.find((c) => c.name === ctxName)?.context;
    if (!ctx) throw new Error(`kubeconfig: context ${ctxName ?? '(none)'} not found`);
    const cluster = kc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
    if (!cluster) throw new Error(`kubeconfig: cluster ${ctx.cluster} not found`);
    const user = kc.users?.find((u) => u.name === ctx.user)?.user ?? {};
    const pem = (data: unknown, file: unknown): Buffer | undefined =>
      typeof data === 'string'
        ? Buffer.from(data, 'base64')
        : typeof file === 'string'
          ? readFileSync(path.resolve(baseDir, file))
          : undefined;
    return new KubeClient({
      server: String(cluster.server),
      ca: pem(cluster['certificate-authority-data'], cluster['certificate-authority']),
      insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
      cert: pem(user['client-certificate-data'], user['client-certificate']),
      key: pem(user['client-key-data'], user['client-key']),
      token: typeof user.token === 'string' ? user.token : undefined,
      tokenFile: typeof user.tokenFile === 'string' ? path.resolve(baseDir, user.tokenFile) : undefined,
    });
  }

  /** Inside a pod: the service-account token and CA, the service host from the given environment. */
  static inCluster(env: InClusterEnv): KubeClient {
    const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    if (!host) throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST unset');
    const h = host.includes(':') ? `[${host}]` : host;
    return new KubeClient({
      server: `https://${h}:${port}`,
      ca: readFileSync(`${dir}/ca.crt`),
      tokenFile: `${dir}/token`,
    });
  }

  /** Closes idle keep-alive sockets (open watches end when their signal aborts). */
  close(): void {
    this.agent.destroy();
  }

  private bearer(): string | undefined {
    if (this.config.token) return this.config.token;
    if (!this.config.tokenFile) return undefined;
    const now = Date.now();
    if (!this.tokenCache || now - this.tokenCache.readAt > 60_000) {
      this.tokenCache = { value: readFileSync(this.config.tokenFile, 'utf8').trim(), readAt: now };
    }
    return this.tokenCache.value;
  }

  private open(
    method: string,
    p: string,
    query: Query | undefined,
    headers: http.OutgoingHttpHeaders,
  ): http.ClientRequest {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + p, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const token = this.bearer();
    return this.transport.request(url, {
      method,
      agent: this.agent,
      headers: { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    });
  }

  /** One JSON request; error statuses become KubeApiError. */
  request<T>(method: string, p: string, options: RequestOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
      const headers: http.OutgoingHttpHeaders = body
        ? { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': body.length }
        : {};
      const req = this.open(method, p, options.query, headers);
      const timeout = options.timeoutMs ?? this.defaultTimeoutMs;
      req.setTimeout(timeout, () => req.destroy(new Error(`${method} ${p}: no answer within ${timeout} ms`)));
      const onAbort = (): void => {
        req.destroy(new Error(`${method} ${p}: aborted`));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        options.signal?.removeEventListener('abort', onAbort);
        reject(err);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          options.signal?.removeEventListener('abort', onAbort);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = undefined;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = text;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(toApiError(status, `${method} ${p}`, parsed));
        });
      });
      req.end(body);
    });
  }

  /**
   * Streams a watch; calls `onEvent` per event line. Resolves when the server ends the stream (timeoutSeconds)
   * or `signal` aborts; rejects on a non-200 answer, a broken connection, or when `onEvent` throws.
   */
  watch<T = KubeObject>(
    p: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const req = this.open('GET', p, { ...query, watch: 1 }, {});
      let ended = false;
      const finish = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        // After a clean end the socket goes back to the agent; otherwise it must not be reused.
        if (!ended && !req.destroyed) req.destroy();
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => finish();
      if (signal?.aborted) return finish();
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (socket) => socket.setKeepAlive(true, 15_000));
      req.on('error', (err) => finish(err));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              parsed = undefined;
            }
            finish(toApiError(status, `watch ${p}`, parsed));
          });
          res.on('error', finish);
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while (!settled && (nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (err) {
              finish(err);
            }
          }
        });
        res.on('end', () => {
          ended = true;
          finish();
        });
        res.on('error', (err) => finish(err));
        res.on('close', () => finish(res.complete ? undefined : new Error(`watch ${p}: connection closed mid-stream`)));
      });
      req.end();
    });
  }

  get<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>('GET', resourcePath(rt, namespace, name));
  }

  list<T extends KubeObject>(rt: ResourceType, namespace?: string, query?: Query): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', resourcePath(rt, namespace), { query });
  }

  create<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, obj: T): Promise<T> {
    return this.request<T>('POST', resourcePath(rt, namespace), { body: obj });
  }

  /** PUT; carries metadata.resourceVersion, so a concurrent change gives a 409 Conflict. */
  replace<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    obj: T,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>('PUT', resourcePath(rt, namespace, name, subresource), { body: obj });
  }

  /** JSON merge patch (RFC 7386), optionally on a subresource such as `status`. */
  mergePatch<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(rt, namespace, name, subresource), {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  delete(rt: ResourceType, namespace: string | undefined, name: string): Promise<unknown> {
    return this.request('DELETE', resourcePath(rt, namespace, name));
  }
}

function toApiError(status: number, what: string, body: unknown): KubeApiError {
  const s = (typeof body === 'object' && body !== null ? body : {}) as { message?: string; reason?: string };
  return new KubeApiError(
    status,
    `${what}: ${status} ${s.message ?? (typeof body === 'string' ? body : '')}`.trim(),
    s.reason,
    body,
  );
}
