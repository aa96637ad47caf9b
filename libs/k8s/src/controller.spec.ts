import { Registry } from 'prom-client';
import { Controller, ReconcileContext, TerminalError } from './controller';
import { Logger } from './logger';
import { ItemExponentialFailureRateLimiter } from './rate-limiter';
import type { EventHandler } from './event-handlers';
import type { KubeObject } from './resource';

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: new Logger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l)) }) };
}

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
}

describe('Controller', () => {
  it('pre-registers its metrics at zero', async () => {
    const registry = new Registry();
    new Controller({ name: 'svc', reconcile: async () => ({}), registry, logger: Logger.silent() });
    const text = await registry.metrics();
    expect(text).toContain('ycloud_controller_reconcile_total{controller="svc",result="error"} 0');
    expect(text).toContain('ycloud_workqueue_retry_cap_drops_total{name="svc"} 0');
    expect(text).toContain('ycloud_workqueue_depth{name="svc"} 0');
    expect(text).toContain('ycloud_controller_reconcile_duration_seconds_count{controller="svc"} 0');
  });

  it('two controllers can share one registry', () => {
    const registry = new Registry();
    new Controller({ name: 'a', reconcile: async () => ({}), registry, logger: Logger.silent() });
    expect(
      () => new Controller({ name: 'b', reconcile: async () => ({}), registry, logger: Logger.silent() }),
    ).not.toThrow();
  });

  it('retries an ordinary error with backoff, and forgets the key on success', async () => {
    const registry = new Registry();
    let calls = 0;
    const c = new Controller({
      name: 'retry',
      registry,
      logger: Logger.silent(),
      rateLimiter: new ItemExponentialFailureRateLimiter(1, 10),
      reconcile: async () => {
        calls++;
        if (calls < 3) throw new Error('transient');
        return {};
      },
    });
    await c.start();
    c.enqueue('ns/a');
    await waitUntil(() => calls === 3 && c.queue.inFlight() === 0);
    expect(c.queue.numRequeues('ns/a')).toBe(0);
    expect(await metricValue(registry, 'ycloud_controller_reconcile_total', { result: 'error' })).toBe(2);
    expect(await metricValue(registry, 'ycloud_controller_reconcile_total', { result: 'success' })).toBe(1);
    expect(await metricValue(registry, 'ycloud_workqueue_retries_total', { name: 'retry' })).toBe(2);
    await c.stop();
  });

  it('does not retry a TerminalError', async () => {
    const { logger, lines } = capture();
    const c = new Controller({
      name: 't',
      logger,
      reconcile: async () => Promise.reject(new TerminalError('bad spec')),
    });
    expect(await c.processKey('ns/a')).toBe('terminal_error');
    expect(c.queue.numRequeues('ns/a')).toBe(0);
    expect(c.queue.delayed()).toBe(0);
    expect(lines.some((l) => l.level === 'error' && (l.err as { message: string }).message === 'bad spec')).toBe(true);
  });

  it('drops a key after maxRetries and counts the drop', async () => {
    const registry = new Registry();
    const c = new Controller({
      name: 'cap',
      registry,
      maxRetries: 2,
      logger: Logger.silent(),
      reconcile: async () => Promise.reject(new Error('always')),
    });
    expect(await c.processKey('k')).toBe('error');
    expect(await c.processKey('k')).toBe('error');
    expect(await c.processKey('k')).toBe('dropped');
    expect(c.queue.numRequeues('k')).toBe(0);
    expect(await metricValue(registry, 'ycloud_workqueue_retry_cap_drops_total', { name: 'cap' })).toBe(1);
    await c.stop({ drain: false });
  });

  it('requeues after the requested delay without counting a failure', async () => {
    jest.useFakeTimers();
    try {
      const c = new Controller({ name: 'r', logger: Logger.silent(), reconcile: async () => ({ requeueAfter: 5000 }) });
      expect(await c.processKey('k')).toBe('requeue_after');
      expect(c.queue.numRequeues('k')).toBe(0);
      expect(c.queue.len()).toBe(0);
      jest.advanceTimersByTime(5000);
      expect(c.queue.len()).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('gives every log line of a reconcile the same reconcile id, and only the key', async () => {
    const { logger, lines } = capture();
    const seen: Array<[string, ReconcileContext]> = [];
    const c = new Controller({
      name: 'ids',
      logger,
      reconcile: async (key, ctx) => {
        seen.push([key, ctx]);
        ctx.log.info('one');
        ctx.log.info('two');
        return {};
      },
    });
    await c.processKey('ns/x');
    const mine = lines.filter((l) => l.msg === 'one' || l.msg === 'two' || l.msg === 'reconciled');
    expect(mine).toHaveLength(3);
    expect(new Set(mine.map((l) => l.reconcileId)).size).toBe(1);
    expect(mine[0]).toMatchObject({ controller: 'ids', key: 'ns/x', reconcileId: seen[0][1].reconcileId });
  });

  it('passes key, attempt and the first reason queued since the last reconcile; a retry keeps the reason', async () => {
    const seen: ReconcileContext[] = [];
    let fail = true;
    const c = new Controller({
      name: 'reasons',
      logger: Logger.silent(),
      reconcile: async (_key, ctx) => {
        seen.push(ctx);
        if (fail) throw new Error('once');
        return {};
      },
    });
    c.enqueue('ns/a', 'Service changed');
    c.enqueue('ns/a', 'EndpointSlice changed');
    await c.processKey('ns/a');
    fail = false;
    await c.processKey('ns/a');
    await c.processKey('ns/a');
    expect(seen.map((x) => [x.key, x.attempt, x.reason])).toEqual([
      ['ns/a', 1, 'Service changed'],
      ['ns/a', 2, 'Service changed'],
      ['ns/a', 1, 'resync'],
    ]);
    expect(seen[0].signal.aborted).toBe(false);
  });

  it('keeps reasons per controller: two controllers queuing the same key each see their own', async () => {
    const got: string[] = [];
    const mk = (name: string) =>
      new Controller({
        name,
        logger: Logger.silent(),
        reconcile: async (_key, ctx) => {
          got.push(`${name}:${ctx.reason}`);
          return {};
        },
      });
    const a = mk('service');
    const b = mk('service-eip');
    a.enqueue('ns/x', 'Service changed');
    b.enqueue('ns/x', 'Eip changed');
    await b.processKey('ns/x');
    await a.processKey('ns/x');
    expect(got).toEqual(['service-eip:Eip changed', 'service:Service changed']);
  });

  it('never runs one key on two workers at once, and bounds concurrency', async () => {
    let active = 0;
    let maxActive = 0;
    const perKey = new Map<string, number>();
    let violations = 0;
    const c = new Controller({
      name: 'conc',
      workers: 3,
      logger: Logger.silent(),
      reconcile: async (key) => {
        active++;
        maxActive = Math.max(maxActive, active);
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
        if (perKey.get(key)! > 1) violations++;
        await new Promise((r) => setTimeout(r, 5));
        perKey.set(key, perKey.get(key)! - 1);
        active--;
        return {};
      },
    });
    await c.start();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 6; i++) c.enqueue(`k${i}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    await c.stop();
    expect(violations).toBe(0);
    expect(maxActive).toBeLessThanOrEqual(3);
    expect(maxActive).toBeGreaterThan(1);
  });

  it('reconciles an event key queued behind a full resync before the resync keys, for the event reason', async () => {
    const order: Array<[string, string]> = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new Controller({
      name: 'prio',
      workers: 1,
      logger: Logger.silent(),
      reconcile: async (key, ctx) => {
        if (key === 'first') await gate; // holds the only worker while the queue fills
        order.push([key, ctx.reason]);
        return {};
      },
    });
    await c.start();
    c.enqueue('first', 'Service changed');
    await waitUntil(() => c.queue.inFlight() === 1);
    for (let i = 0; i < 20_000; i++) c.enqueue(`ns/s${i}`, 'periodic resync', 'resync');
    c.enqueue('ns/s7', 'EndpointSlice changed'); // promoted: reconciled once, for the change
    c.enqueue('ns/changed', 'Service changed');
    release();
    await waitUntil(() => order.length === 20_002, 10_000);
    await c.stop();
    expect(order.slice(0, 4)).toEqual([
      ['first', 'Service changed'],
      ['ns/s7', 'EndpointSlice changed'],
      ['ns/changed', 'Service changed'],
      ['ns/s0', 'periodic resync'],
    ]);
    expect(order.filter(([k]) => k === 'ns/s7')).toHaveLength(1);
  });

  it('reconciles a change made while the initial list waits before the listed keys (watch wiring)', async () => {
    const handlers: Array<EventHandler<KubeObject>> = [];
    const source = {
      hasSynced: () => true,
      waitForSync: async () => undefined,
      addHandler: (h: EventHandler<KubeObject>) => (handlers.push(h), () => undefined),
    };
    const order: Array<[string, string]> = [];
    const c = new Controller({
      name: 'initial',
      workers: 1,
      logger: Logger.silent(),
      reconcile: async (key, ctx) => (order.push([key, ctx.reason]), {}),
    }).watchWithReason(source, 'Service changed');
    const svc = (name: string): KubeObject => ({ metadata: { namespace: 'ns', name } });
    for (let i = 0; i < 1000; i++) handlers[0].onAdd!(svc(`s${i}`), true);
    handlers[0].onUpdate!(svc('s500'), svc('s500'));
    handlers[0].onAdd!(svc('new'));
    expect([c.queue.lenOf('event'), c.queue.lenOf('resync')]).toEqual([2, 999]);
    await c.start();
    await waitUntil(() => order.length === 1001);
    await c.stop();
    expect(order.slice(0, 3)).toEqual([
      ['ns/s500', 'Service changed'],
      ['ns/new', 'Service changed'],
      ['ns/s0', 'Service changed'],
    ]);
  });

  it('waits for caches to sync before running workers', async () => {
    let synced = false;
    let release!: () => void;
    const source = { hasSynced: () => synced, waitForSync: () => new Promise<void>((r) => (release = r)) };
    const calls: string[] = [];
    const c = new Controller({
      name: 's',
      logger: Logger.silent(),
      reconcile: async (k) => (calls.push(k), {}),
    }).waitFor(source);
    c.enqueue('a');
    const started = c.start();
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([]);
    synced = true;
    release();
    await started;
    await waitUntil(() => calls.length === 1);
    await c.stop();
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}
