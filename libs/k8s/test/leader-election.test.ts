import { KubeControlPlane } from '@ycloud/testbed/k8s';
import { KubeClient, KubeObject, LeaderElector, Resources } from '@ycloud/k8s';
import { ensureNamespace, eventually, startControlPlane, testLogger } from './helpers';
import { TcpProxy } from './tcp-proxy';

const NS = 'election-test';
// Short timings so the test is quick; the ratios match the 15 s / 10 s / 2 s defaults.
const TIMING = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 400 };

interface Term {
  who: string;
  start: number;
  end?: number;
}

describe('LeaderElector against a real apiserver', () => {
  let cp: KubeControlPlane;
  let client: KubeClient;
  const stops: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    ({ cp, client } = await startControlPlane());
    await ensureNamespace(client, NS);
  });
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });
  afterAll(async () => {
    client?.close();
    await cp?.stop();
  });

  function candidate(c: KubeClient, lease: string, who: string, terms: Term[]): LeaderElector {
    const e = new LeaderElector(c, {
      namespace: NS,
      name: lease,
      identity: who,
      ...TIMING,
      logger: testLogger(),
      onStartedLeading: () => terms.push({ who, start: Date.now() }),
      onStoppedLeading: () => {
        const t = terms.findLast((x) => x.who === who && x.end === undefined);
        if (t) t.end = Date.now();
      },
    });
    stops.push(() => e.stop());
    return e;
  }

  function overlaps(terms: Term[]): number {
    let n = 0;
    for (const a of terms)
      for (const b of terms)
        if (a !== b && a.who !== b.who && a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity)) n++;
    return n;
  }

  it('elects exactly one of two candidates and hands over on stop within the lease duration', async () => {
    const terms: Term[] = [];
    const a = candidate(client, 'handover', 'a', terms);
    const b = candidate(client, 'handover', 'b', terms);
    a.start();
    b.start();
    await eventually(() => expect(terms).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 1500)); // several renew rounds
    expect(terms).toHaveLength(1);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];

    const stoppedAt = Date.now();
    await leader.stop();
    await eventually(() => expect(standby.isLeader()).toBe(true), TIMING.leaseDurationMs);
    expect(Date.now() - stoppedAt).toBeLessThan(TIMING.leaseDurationMs);
    expect(overlaps(terms)).toBe(0);
    const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string; leaseTransitions?: number } }>(
      Resources.leases,
      NS,
      'handover',
    );
    expect(lease.spec?.holderIdentity).toBe(standby === a ? 'a' : 'b');
  });

  it('a released lease is taken over within 2 s even with a slow retry period (the standby watches the Lease)', async () => {
    // retryPeriod 5 s: polling alone would take 0-6 s; the watch on the Lease wakes the standby at once.
    const slow = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 5_000 };
    const terms: Term[] = [];
    const make = (who: string) => {
      const e = new LeaderElector(client, {
        namespace: NS,
        name: 'released',
        identity: who,
        ...slow,
        logger: testLogger(),
        onStartedLeading: () => terms.push({ who, start: Date.now() }),
        onStoppedLeading: () => {
          const t = terms.findLast((x) => x.who === who && x.end === undefined);
          if (t) t.end = Date.now();
        },
      });
      stops.push(() => e.stop());
      return e;
    };
    const a = make('a');
    a.start();
    await eventually(() => expect(a.isLeader()).toBe(true));
    const b = make('b');
    b.start();
    await new Promise((r) => setTimeout(r, 6000)); // b has made an attempt and is sleeping its retry period
    expect(b.isLeader()).toBe(false);

    const stoppingAt = Date.now();
    await a.stop();
    const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string | null } }>(
      Resources.leases,
      NS,
      'released',
    );
    expect(lease.spec?.holderIdentity ?? '').toMatch(/^(|b)$/); // released (or already taken by b)
    await eventually(() => expect(b.isLeader()).toBe(true), 5000);
    // Well under b's 5 s retry period: b took the released Lease at once, not at its next retry.
    expect(Date.now() - stoppingAt).toBeLessThan(4000);
    expect(overlaps(terms)).toBe(0);
  });

  it('a leader cut off from the apiserver stops leading before the other takes over', async () => {
    const proxy = await TcpProxy.start(new URL(cp.server));
    const cutOff = new KubeClient({ ...client.config, server: proxy.url });
    stops.push(
      () => proxy.close(),
      () => cutOff.close(),
    );
    const terms: Term[] = [];
    const a = candidate(cutOff, 'partition', 'a', terms);
    a.start();
    await eventually(() => expect(a.isLeader()).toBe(true));
    const b = candidate(client, 'partition', 'b', terms);
    b.start();
    await new Promise((r) => setTimeout(r, 1000));
    expect(b.isLeader()).toBe(false);

    proxy.refuse = true;
    proxy.freezeExisting();
    await eventually(() => expect(b.isLeader()).toBe(true), 10_000);
    expect(a.isLeader()).toBe(false);
    const aTerm = terms.find((t) => t.who === 'a')!;
    const bTerm = terms.find((t) => t.who === 'b')!;
    expect(aTerm.end).toBeDefined();
    expect(aTerm.end!).toBeLessThan(bTerm.start); // never two leaders at once
    expect(overlaps(terms)).toBe(0);
  });

  it('many candidates racing for one lease: one leader', async () => {
    const terms: Term[] = [];
    const es = ['c1', 'c2', 'c3', 'c4'].map((w) => candidate(client, 'race', w, terms));
    for (const e of es) e.start();
    await eventually(() => expect(terms.length).toBeGreaterThan(0));
    await new Promise((r) => setTimeout(r, 1500));
    expect(es.filter((e) => e.isLeader())).toHaveLength(1);
    expect(terms).toHaveLength(1);
  });
});
