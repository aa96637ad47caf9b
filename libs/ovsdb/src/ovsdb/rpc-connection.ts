/** One JSON-RPC 1.0 session with ovsdb-server over a socket (framing, requests, echo, inactivity probe). */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { OvsdbConnectionError, OvsdbRpcError } from './errors';
import { JsonSplitter, stringifyJson } from './json-splitter';

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Message {
  id?: unknown;
  method?: string;
  params?: unknown[];
  result?: unknown;
  error?: unknown;
}

/**
 * Events: `notification` (method, params), `close` (error | undefined), `request` (method, params) for server
 * requests other than echo. Messages are dispatched synchronously in arrival order.
 */
export class RpcConnection extends EventEmitter {
  private readonly splitter = new JsonSplitter();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private closeError: Error | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probeMs = 0;
  private lastRx = Date.now();
  private probeSent = false;
  /** Bytes received, for statistics. */
  rxBytes = 0;

  constructor(
    private readonly socket: Socket,
    readonly remote: string,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.shutdown(new OvsdbConnectionError(`${remote}: ${err.message}`)));
    socket.on('close', () =>
      this.shutdown(this.closeError ?? new OvsdbConnectionError(`${remote}: connection closed`)),
    );
  }

  /** Milliseconds since the last byte was received. */
  get idleMs(): number {
    return Date.now() - this.lastRx;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a request; resolves with its result, rejects with OvsdbRpcError or OvsdbConnectionError. */
  request(method: string, params: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closeError ?? new OvsdbConnectionError(`${this.remote}: closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.write({ method, params, id });
    });
  }

  notify(method: string, params: unknown[]): void {
    this.write({ method, params, id: null });
  }

  /**
   * Sends an echo after `ms` without receiving anything, and drops the connection if nothing arrives for
   * another `ms`. 0 disables. Any received byte counts as activity.
   */
  setInactivityProbe(ms: number): void {
    this.probeMs = ms;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.lastRx = Date.now();
    this.probeSent = false;
    if (ms > 0 && !this.closed) {
      this.probeTimer = setInterval(() => this.checkProbe(), Math.max(50, Math.floor(ms / 4)));
      this.probeTimer.unref();
    }
  }

  private checkProbe(): void {
    const idle = Date.now() - this.lastRx;
    if (idle < this.probeMs) return;
    if (!this.probeSent) {
      this.probeSent = true;
      this.write({ method: 'echo', params: ['ycloud-probe'], id: 'echo' });
      this.lastRx = Date.now();
      return;
    }
    this.close(new OvsdbConnectionError(`${this.remote}: no reply to inactivity probe for ${this.probeMs} ms`));
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closeError = err ?? new OvsdbConnectionError(`${this.remote}: closed by client`);
    this.socket.destroy();
    this.shutdown(this.closeError);
  }

  private write(msg: Message): void {
    if (this.closed) return;
    this.socket.write(stringifyJson(msg));
  }

  private shutdown(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError ??= err;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.socket.destroy();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(this.closeError);
    this.emit('close', this.closeError);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastRx = Date.now();
    this.probeSent = false;
    this.rxBytes += chunk.length;
    let msgs: unknown[];
    try {
      msgs = this.splitter.push(chunk);
    } catch (e) {
      this.close(new OvsdbConnectionError(`${this.remote}: protocol error: ${(e as Error).message}`));
      return;
    }
    for (const m of msgs) {
      if (this.closed) return;
      try {
        this.dispatch(m as Message);
      } catch (e) {
        this.close(new OvsdbConnectionError(`${this.remote}: ${(e as Error).message}`));
        return;
      }
    }
  }

  private dispatch(m: Message): void {
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      throw new Error('protocol error: message is not an object');
    if (typeof m.method === 'string') {
      const params = Array.isArray(m.params) ? m.params : [];
      if (m.id === null || m.id === undefined) {
        this.emit('notification', m.method, params);
      } else if (m.method === 'echo') {
        this.write({ result: params, error: null, id: m.id });
      } else {
        this.write({ result: null, error: { error: 'unknown method' }, id: m.id });
        this.emit('request', m.method, params);
      }
      return;
    }
    if (!('id' in m)) throw new Error('protocol error: message is neither request nor response');
    if (m.id === 'echo') return; // reply to our probe
    const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
    if (!p) throw new Error(`protocol error: reply to unknown request id ${JSON.stringify(m.id)}`);
    this.pending.delete(m.id as number);
    if (m.error !== null && m.error !== undefined) p.reject(new OvsdbRpcError(p.method, m.error));
    else p.resolve(m.result);
  }
}
