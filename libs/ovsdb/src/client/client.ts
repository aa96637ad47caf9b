/**
 * OvsdbClient: one database, a replicated cache kept by one monitor_cond_since, transactions, RAFT-aware
 * reconnection (modelled on the C IDL, lib/ovsdb-cs.c).
 */
import { EventEmitter } from 'node:events';
import { TableCache, type IndexSpec, type Row, type RowChange } from '../cache/table-cache';
import { ZERO_UUID } from '../ovsdb/codec';
import {
  OvsdbConnectionError,
  OvsdbError,
  OvsdbRpcError,
  OvsdbTransactionError,
  OvsdbUnknownOutcomeError,
} from '../ovsdb/errors';
import { RpcConnection } from '../ovsdb/rpc-connection';
import { dataColumns, parseSchema, type DatabaseSchema } from '../ovsdb/schema';
import { openSocket, parseRemotes, type Remote, type TlsOptions } from '../ovsdb/transport';
import type { TableMap, TableRef } from '../model/table-ref';
import { Transaction, type Condition, type RowInput, type RowOf, type TransactionResult } from './transaction';
import { matchesWhere } from './condition';

export interface MonitorTableOptions {
  /** Columns to replicate (default: all columns of the server's schema). */
  columns?: string[];
  /** monitor_cond condition (default: all rows). Values in wire form. */
  where?: unknown[];
}

export interface OvsdbClientOptions {
  /** Comma-separated or array: `unix:/run/nb.sock`, `tcp:127.0.0.1:6641`, `ssl:host:port`. */
  remotes: string | string[];
  database: string;
  /** Only use the cluster leader (default true: writers should). */
  leaderOnly?: boolean;
  tls?: TlsOptions;
  /** Echo after this long without traffic, drop after twice; 0 = off (default 30000). Never during the initial dump. */
  inactivityProbeMs?: number;
  /** Tables (and columns) to replicate. Tables missing on the server are skipped (event `warning`). */
  monitor?: Record<string, MonitorTableOptions>;
  indexes?: Record<string, IndexSpec[]>;
  /** Per-socket connect timeout (default 5000). */
  connectTimeoutMs?: number;
  /** How long `connect()` keeps trying before it rejects (default 20000). */
  initialConnectTimeoutMs?: number;
  /** Session setup (server check, schema, initial dump) fails after this long without a byte (default 30000). */
  setupSilenceMs?: number;
  /** How long a commit waits for a connection while reconnecting (default 15000). */
  commitWaitMs?: number;
  /** Called with each warning (also emitted as `warning`); sees those of the initial connect too. */
  onWarning?: (message: string) => void;
  /** Shuffle the remote list (default true, as the C IDL does). */
  shuffle?: boolean;
}

export interface ClientEvents<T extends TableMap> {
  change: [RowChange<T[keyof T]>];
  connected: [{ remote: string; resumed: boolean }];
  disconnected: [{ remote: string; error?: Error }];
  /** A full resync replaced the cache (changes were emitted as `change` events before this). */
  resync: [{ remote: string }];
  warning: [string];
  locked: [string];
  stolen: [string];
}

/** Read access to one cached table. */
export class TableView<R> {
  constructor(private readonly cache: () => TableCache | undefined) {}

  get(uuid: string): R | undefined {
    return this.cache()?.rows.get(uuid) as R | undefined;
  }

  /** A snapshot array of all rows (use `values()` to iterate without copying). */
  all(): R[] {
    const c = this.cache();
    return c ? ([...c.rows.values()] as R[]) : [];
  }

  values(): IterableIterator<R> {
    const c = this.cache();
    return (c ? c.rows.values() : new Map<string, Row>().values()) as IterableIterator<R>;
  }

  get size(): number {
    return this.cache()?.rows.size ?? 0;
  }

  /** Rows whose index `name` equals `values` (one per indexed column or map key). */
  lookup(name: string, ...values: unknown[]): R[] {
    const c = this.cache();
    return c ? (c.lookup(name, values) as R[]) : [];
  }

  /** Rows matching conditions, evaluated on the cache (linear scan). */
  find(where: Condition[]): R[] {
    const c = this.cache();
    if (!c) return [];
    const out: R[] = [];
    for (const r of c.rows.values()) if (matchesWhere(r, where)) out.push(r as R);
    return out;
  }
}

const SERVER_DB_COLUMNS = ['name', 'model', 'connected', 'leader', 'schema', 'index', 'cid', 'sid'];

function shuffled<X>(a: X[]): X[] {
  const r = [...a];
  for (let i = r.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [r[i], r[j]] = [r[j], r[i]];
  }
  return r;
}

/** Why a server was not acceptable (not an error of the client). */
class UnsuitableServer extends OvsdbError {}

export class OvsdbClient<T extends TableMap = Record<string, Row>> extends EventEmitter<ClientEvents<T>> {
  private readonly remotes: Remote[];
  private readonly opts: Required<Omit<OvsdbClientOptions, 'tls' | 'monitor' | 'indexes' | 'onWarning'>> &
    OvsdbClientOptions;
  private rpc: RpcConnection | undefined;
  private dbSchema: DatabaseSchema | undefined;
  private readonly tables = new Map<string, TableCache>();
  private lastId = ZERO_UUID;
  /** Transactions built so far (numbers their named-uuid tokens). */
  private transactions = 0;
  /** Highest _Server Database.index seen (the C IDL rejects servers behind it). */
  private highestIndex = 0;
  private clusterId: string | undefined;
  private closing = false;
  private generation = 0;
  private readyWaiters: Array<() => void> = [];
  /** Ends the current backoff sleep early (on close). */
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private monitorMethod: 'monitor_cond_since' | 'monitor_cond' | 'monitor' = 'monitor_cond_since';
  private readonly monitorId: string;
  /** Statistics for callers and the benchmark. */
  readonly stats = { connects: 0, fullDumps: 0, resumes: 0, updates: 0 };

  private constructor(opts: OvsdbClientOptions) {
    super();
    this.remotes = parseRemotes(opts.remotes);
    this.opts = {
      leaderOnly: true,
      inactivityProbeMs: 30000,
      connectTimeoutMs: 5000,
      setupSilenceMs: 30000,
      initialConnectTimeoutMs: 20000,
      commitWaitMs: 15000,
      shuffle: true,
      ...opts,
    };
    this.monitorId = `ycloud:${opts.database}`;
  }

  /** Connects; resolves once the schema and the initial monitor dump are in the cache. */
  static async connect<T extends TableMap = Record<string, Row>>(opts: OvsdbClientOptions): Promise<OvsdbClient<T>> {
    const c = new OvsdbClient<T>(opts);
    await c.start();
    return c;
  }

  get database(): string {
    return this.opts.database;
  }

  /** The connected remote, or undefined while reconnecting. */
  get remote(): string | undefined {
    return this.rpc && !this.rpc.isClosed ? this.rpc.remote : undefined;
  }

  get connected(): boolean {
    return this.remote !== undefined;
  }

  /** Last transaction id the cache reflects (zero uuid for standalone servers). */
  get lastTxnId(): string {
    return this.lastId;
  }

  schema(): DatabaseSchema {
    if (!this.dbSchema) throw new OvsdbConnectionError('not connected yet');
    return this.dbSchema;
  }

  table<K extends keyof T & string>(name: K): TableView<T[K]>;
  table<R>(ref: TableRef<R>): TableView<R>;
  table(t: string | TableRef<unknown>): TableView<unknown> {
    const name = typeof t === 'string' ? t : t.name;
    return new TableView(() => this.tables.get(name));
  }

  transaction(): Transaction<T> {
    this.transactions = (this.transactions + 1) % 1e9;
    return new Transaction<T>(
      {
        databaseName: this.opts.database,
        schema: () => this.schema(),
        commitTransaction: (ops, described) => this.commitTransaction(ops, described),
      },
      this.transactions,
    );
  }

  /**
   * Returns the row matching `where` (an owner key), creating it if absent, safely against concurrent
   * writers and lost replies: a wait on absence, then the insert.
   */
  async createIfAbsent<K extends keyof T & string>(
    table: K,
    where: Condition[],
    row: RowInput<T[K]>,
  ): Promise<{ uuid: string; created: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const existing = this.table(table).find(where);
      if (existing.length > 0) return { uuid: existing[0]._uuid, created: false };
      const tx = this.transaction();
      const token = tx.insertIfAbsent(table, where, row as RowInput<RowOf<T, K>>);
      try {
        const { uuids } = await tx.commit();
        return { uuid: uuids[token], created: true };
      } catch (e) {
        const retry =
          (e instanceof OvsdbTransactionError && e.error === 'timed out' && e.index === 0) ||
          e instanceof OvsdbUnknownOutcomeError;
        if (!retry || attempt >= 3) throw e;
        await this.waitReady(this.opts.commitWaitMs);
      }
    }
  }

  /** Raw JSON-RPC request on the current connection (e.g. for methods this client does not wrap). */
  async request(method: string, params: unknown[]): Promise<unknown> {
    await this.waitReady(this.opts.commitWaitMs);
    return this.rpc!.request(method, params);
  }

  /** OVSDB lock (id: [A-Za-z_][A-Za-z0-9_]*): true if acquired now, else `locked` is emitted later. Locks are per server process, not cluster-wide. */
  async lock(id: string): Promise<boolean> {
    const r = (await this.request('lock', [id])) as { locked: boolean };
    return r.locked;
  }
  async steal(id: string): Promise<boolean> {
    const r = (await this.request('steal', [id])) as { locked: boolean };
    return r.locked;
  }
  async unlock(id: string): Promise<void> {
    await this.request('unlock', [id]);
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.closing = true;
    this.rpc?.close();
    this.wake?.();
    for (const w of this.readyWaiters.splice(0)) w();
    await this.loop?.catch(() => undefined);
  }

  private warn(msg: string): void {
    this.opts.onWarning?.(msg);
    this.emit('warning', msg);
  }

  // ---- transactions

  private async commitTransaction(ops: unknown[], described: unknown[]): Promise<TransactionResult> {
    await this.waitReady(this.opts.commitWaitMs);
    const rpc = this.rpc!;
    if (rpc.isClosed) throw new OvsdbConnectionError(`connection to ${rpc.remote} lost; the transaction was not sent`);
    let reply: unknown;
    try {
      reply = await rpc.request('transact', [this.opts.database, ...ops]);
    } catch (e) {
      if (e instanceof OvsdbRpcError) throw e;
      throw new OvsdbUnknownOutcomeError(
        `connection to ${rpc.remote} lost before the transaction's reply: it may or may not have been committed (${(e as Error).message})`,
      );
    }
    const results = reply as Array<{ error?: string; details?: string; uuid?: [string, string] } | null>;
    if (!Array.isArray(results)) throw new OvsdbConnectionError(`transact: malformed reply ${JSON.stringify(reply)}`);
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (r && typeof r.error === 'string') {
        throw new OvsdbTransactionError(
          i < ops.length ? i : -1,
          r.error,
          r.details,
          i < ops.length ? described[i] : undefined,
          results,
        );
      }
    }
    if (results.length < ops.length)
      throw new OvsdbConnectionError(`transact: ${results.length} results for ${ops.length} operations`);
    const uuids: Record<string, string> = {};
    ops.forEach((op, i) => {
      const o = op as { op: string; 'uuid-name'?: string };
      const r = results[i];
      if (o.op === 'insert' && o['uuid-name'] && r?.uuid) uuids[o['uuid-name']] = r.uuid[1];
    });
    return { results, uuids };
  }

  private waitReady(timeoutMs: number): Promise<void> {
    if (this.closing) return Promise.reject(new OvsdbConnectionError('client closed'));
    if (this.connected && this.dbSchema) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        reject(new OvsdbConnectionError(`not connected to ${this.opts.database} after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        if (this.closing) reject(new OvsdbConnectionError('client closed'));
        else resolve();
      };
      this.readyWaiters.push(done);
    });
  }

  // ---- connection management

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async start(): Promise<void> {
    const deadline = Date.now() + this.opts.initialConnectTimeoutMs;
    const reasons: string[] = [];
    let backoff = 250;
    for (;;) {
      for (const remote of this.opts.shuffle ? shuffled(this.remotes) : this.remotes) {
        try {
          await this.session(remote);
          this.loop = this.runLoop();
          return;
        } catch (e) {
          reasons.push(`${remote.text}: ${(e as Error).message}`);
          if (!(e instanceof OvsdbError)) throw e; // a bug, not a connection problem
        }
      }
      if (Date.now() + backoff > deadline || this.closing) {
        throw new OvsdbConnectionError(
          `cannot connect to ${this.opts.database}: ${[...new Set(reasons)].slice(-6).join('; ')}`,
        );
      }
      await this.sleep(backoff);
      backoff = Math.min(backoff * 2, 2000);
    }
  }

  /** Reconnects after a loss, for as long as the client is open: at once, then with backoff 1 s to 8 s. */
  private async runLoop(): Promise<void> {
    while (!this.closing) {
      const rpc = this.rpc!;
      const err = await new Promise<Error | undefined>((resolve) => {
        if (rpc.isClosed) resolve(undefined);
        else rpc.once('close', (e: Error) => resolve(e));
      });
      if (this.closing) return;
      this.emit('disconnected', { remote: rpc.remote, error: err });
      let backoff = 0;
      while (!this.closing) {
        let ok = false;
        for (const remote of this.opts.shuffle ? shuffled(this.remotes) : this.remotes) {
          if (this.closing) return;
          try {
            await this.session(remote);
            ok = true;
            break;
          } catch (e) {
            this.warn(`reconnect to ${remote.text} failed: ${(e as Error).message}`);
          }
        }
        if (ok) break;
        backoff = Math.min(Math.max(backoff * 2, 1000), 8000);
        await this.sleep(backoff);
      }
    }
  }

  /** One connection attempt: socket, _Server check, schema, monitor. Throws if the server is unsuitable. */
  private async session(remote: Remote): Promise<void> {
    const gen = ++this.generation;
    const sock = await openSocket(remote, this.opts.tls, this.opts.connectTimeoutMs);
    const rpc = new RpcConnection(sock, remote.text);
    rpc.on('notification', (method: string, params: unknown[]) => {
      if (gen === this.generation) this.onNotification(rpc, method, params);
    });
    try {
      if (this.closing) throw new OvsdbConnectionError('client closed');
      // Silence watchdog for the setup (not a total limit: a big initial dump may take long, but it streams).
      const limit = this.opts.setupSilenceMs;
      const timeout = setInterval(
        () => {
          if (rpc.idleMs > limit)
            rpc.close(new OvsdbConnectionError(`${remote.text}: no answer for ${limit} ms during session setup`));
        },
        Math.min(1000, limit / 4),
      );
      try {
        await this.checkServer(rpc);
        const schema = parseSchema(await rpc.request('get_schema', [this.opts.database]));
        await this.startMonitor(rpc, schema);
      } finally {
        clearInterval(timeout);
      }
    } catch (e) {
      rpc.close();
      throw e;
    }
    this.rpc = rpc;
    this.stats.connects++;
    rpc.setInactivityProbe(this.opts.inactivityProbeMs);
    for (const w of this.readyWaiters.splice(0)) w();
  }

  /** Monitors _Server.Database for our database and verifies the server suits us (as ovsdb-cs does). */
  private async checkServer(rpc: RpcConnection): Promise<void> {
    if (this.opts.database === '_Server') return;
    let reply: unknown;
    try {
      reply = await rpc.request('monitor_cond', [
        '_Server',
        ['ycloud:_Server'],
        { Database: [{ columns: SERVER_DB_COLUMNS, where: [['name', '==', this.opts.database]] }] },
      ]);
    } catch (e) {
      if (e instanceof OvsdbRpcError) return; // a server without _Server: accept, as the C client does
      throw e;
    }
    const rows = Object.values(
      ((reply as Record<string, Record<string, { initial?: Record<string, unknown> }>>) ?? {}).Database ?? {},
    );
    const row = rows[0]?.initial;
    if (!row) throw new UnsuitableServer(`${rpc.remote} does not serve database ${this.opts.database}`);
    this.judgeServer(rpc, row, true);
  }

  private serverRow: Record<string, unknown> = {};

  /** Throws (on connect) or drops the connection (later) when the server is not suitable. */
  private judgeServer(rpc: RpcConnection, row: Record<string, unknown>, initial: boolean): void {
    this.serverRow = initial ? { ...row } : { ...this.serverRow, ...row };
    const r = this.serverRow;
    const model = r.model as string;
    const idxRaw = r.index;
    const index = Array.isArray(idxRaw)
      ? idxRaw[0] === 'set'
        ? (idxRaw[1] as number[])[0]
        : undefined
      : (idxRaw as number | undefined);
    let why: string | undefined;
    // A different cluster id means a new cluster (e.g. rebuilt from a backup): its indexes start over.
    const cid = Array.isArray(r.cid) && r.cid[0] === 'uuid' ? (r.cid[1] as string) : undefined;
    if (cid && cid !== this.clusterId) {
      this.clusterId = cid;
      this.highestIndex = 0;
    }
    if (model === 'clustered' || model === 'relay') {
      const schema = r.schema;
      if (
        schema === undefined ||
        (Array.isArray(schema) && schema[0] === 'set' && (schema[1] as unknown[]).length === 0)
      ) {
        why = 'has no schema yet (joining the cluster)';
      } else if (r.connected === false) why = 'is not connected to the cluster';
      else if (this.opts.leaderOnly && (model === 'relay' || r.leader !== true)) why = `is not the leader (${model})`;
      else if (typeof index === 'number' && index < this.highestIndex)
        why = `is behind (index ${index} < ${this.highestIndex})`;
      if (!why && typeof index === 'number') this.highestIndex = Math.max(this.highestIndex, index);
    }
    if (!why) return;
    if (initial) throw new UnsuitableServer(`${rpc.remote} ${why}`);
    this.warn(`leaving ${rpc.remote}: it ${why}`);
    rpc.close(new OvsdbConnectionError(`${rpc.remote} ${why}`));
  }

  private monitorRequests(schema: DatabaseSchema): Record<string, unknown[]> {
    const req: Record<string, unknown[]> = {};
    const wanted = this.opts.monitor ?? {};
    for (const [name, spec] of Object.entries(wanted)) {
      const t = schema.tables[name];
      if (!t) {
        this.warn(`table ${name} is not in the server's ${schema.name} schema ${schema.version}: not monitored`);
        continue;
      }
      const all = dataColumns(t);
      const cols = spec.columns ? spec.columns.filter((c) => all.includes(c)) : all;
      for (const c of spec.columns ?? []) {
        if (!all.includes(c)) this.warn(`column ${name}.${c} is not in the server's schema: not monitored`);
      }
      req[name] = [{ columns: cols, ...(spec.where ? { where: spec.where } : {}) }];
    }
    return req;
  }

  private async startMonitor(rpc: RpcConnection, schema: DatabaseSchema): Promise<void> {
    const schemaChanged = !this.dbSchema || JSON.stringify(this.dbSchema) !== JSON.stringify(schema);
    const requests = this.monitorRequests(schema);
    let found = false;
    let updates: unknown;
    let lastId = ZERO_UUID;
    for (;;) {
      try {
        if (this.monitorMethod === 'monitor_cond_since') {
          const since = schemaChanged ? ZERO_UUID : this.lastId;
          const r = (await rpc.request('monitor_cond_since', [
            this.opts.database,
            this.monitorId,
            requests,
            since,
          ])) as [boolean, string, unknown];
          [found, lastId, updates] = r;
        } else {
          updates = await rpc.request(this.monitorMethod, [this.opts.database, this.monitorId, requests]);
        }
        break;
      } catch (e) {
        if (
          e instanceof OvsdbRpcError &&
          /unknown method/.test(JSON.stringify(e.error)) &&
          this.monitorMethod !== 'monitor'
        ) {
          this.monitorMethod = this.monitorMethod === 'monitor_cond_since' ? 'monitor_cond' : 'monitor';
          continue;
        }
        throw e;
      }
    }
    // Everything below is synchronous: no reader can observe a half-applied cache.
    const resumed = found && !schemaChanged && this.dbSchema !== undefined;
    if (resumed) {
      this.stats.resumes++;
      this.applyUpdates(updates, 2);
    } else {
      this.stats.fullDumps++;
      this.replaceCache(schema, requests, updates);
      if (this.stats.connects > 0) this.emit('resync', { remote: rpc.remote });
    }
    this.dbSchema = schema;
    this.lastId = lastId;
    this.emit('connected', { remote: rpc.remote, resumed });
  }

  /** Full dump: builds new tables, emits the differences from the old cache as changes, swaps. */
  private replaceCache(schema: DatabaseSchema, requests: Record<string, unknown[]>, updates: unknown): void {
    const fresh = new Map<string, TableCache>();
    for (const [name, req] of Object.entries(requests)) {
      const cols = (req[0] as { columns: string[] }).columns;
      fresh.set(name, new TableCache(schema.tables[name], cols, this.opts.indexes?.[name] ?? []));
    }
    const v1 = this.monitorMethod === 'monitor';
    for (const [tname, rows] of Object.entries(
      (updates ?? {}) as Record<string, Record<string, Record<string, unknown>>>,
    )) {
      const tc = fresh.get(tname);
      if (!tc) continue;
      for (const [uuid, ru] of Object.entries(rows)) {
        const j = (v1 ? ru.new : (ru.initial ?? ru.insert)) as Record<string, unknown> | undefined;
        if (j) tc.insert(tc.decodeRow(uuid, j));
      }
    }
    const old = new Map(this.tables);
    this.tables.clear();
    for (const [n, t] of fresh) this.tables.set(n, t);
    if (this.listenerCount('change') === 0) return;
    for (const [n, t] of fresh) {
      const before = old.get(n);
      for (const [u, r] of t.rows) {
        const o = before?.rows.get(u);
        if (!o) this.emit('change', { table: n, uuid: u, new: r } as RowChange<T[keyof T]>);
        else if (!sameRow(o, r)) this.emit('change', { table: n, uuid: u, old: o, new: r } as RowChange<T[keyof T]>);
      }
      if (before) {
        for (const [u, o] of before.rows) {
          if (!t.rows.has(u)) this.emit('change', { table: n, uuid: u, old: o } as RowChange<T[keyof T]>);
        }
      }
    }
  }

  private applyUpdates(updates: unknown, version: 1 | 2): void {
    this.stats.updates++;
    const changes: RowChange[] = [];
    for (const [tname, rows] of Object.entries(
      (updates ?? {}) as Record<string, Record<string, Record<string, unknown>>>,
    )) {
      const tc = this.tables.get(tname);
      if (!tc) continue;
      for (const [uuid, ru] of Object.entries(rows)) {
        const ch = version === 2 ? tc.applyUpdate2(uuid, ru) : tc.applyUpdate1(uuid, ru);
        if (ch) changes.push(ch);
      }
    }
    for (const ch of changes) this.emit('change', ch as RowChange<T[keyof T]>);
  }

  private onNotification(rpc: RpcConnection, method: string, params: unknown[]): void {
    try {
      switch (method) {
        case 'update3':
          if (params[0] !== this.monitorId) return;
          this.applyUpdates(params[2], 2);
          this.lastId = params[1] as string;
          return;
        case 'update2':
          if (JSON.stringify(params[0]) === JSON.stringify(['ycloud:_Server'])) {
            const db =
              (params[1] as Record<string, Record<string, Record<string, Record<string, unknown>>>>).Database ?? {};
            for (const ru of Object.values(db)) {
              const row = ru.modify ?? ru.insert ?? ru.initial;
              if (row) this.judgeServer(rpc, row, false);
              else if ('delete' in ru)
                rpc.close(new OvsdbConnectionError(`${rpc.remote}: database ${this.opts.database} removed`));
            }
            return;
          }
          if (params[0] === this.monitorId) this.applyUpdates(params[1], 2);
          return;
        case 'update':
          if (params[0] === this.monitorId) this.applyUpdates(params[1], 1);
          return;
        case 'locked':
          this.emit('locked', params[0] as string);
          return;
        case 'stolen':
          this.emit('stolen', params[0] as string);
          return;
      }
    } catch (e) {
      // A cache that cannot apply an update is out of sync: drop it and resync from scratch.
      this.warn(`cannot apply ${method} from ${rpc.remote}: ${(e as Error).message}; resyncing`);
      this.lastId = ZERO_UUID;
      rpc.close(new OvsdbConnectionError(`${rpc.remote}: bad ${method}: ${(e as Error).message}`));
    }
  }
}

function sameRow(a: Row, b: Row): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object') return false;
    if (JSON.stringify(x, big) !== JSON.stringify(y, big)) return false;
  }
  return true;
}

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}
