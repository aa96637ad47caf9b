import { isConflict, isNotFound, KubeClient } from './kube-client';
import { Logger } from './logger';
import { resourcePath, Resources } from './resource';

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaderElectorOptions {
  namespace: string;
  name: string;
  /** Unique per replica (e.g. pod name + random suffix). */
  identity: string;
  /** How long a lease is valid after its last renewal, seen by others. Default 15 s. */
  leaseDurationMs?: number;
  /** The leader gives up if it could not renew for this long. Must be < leaseDuration. Default 10 s. */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** Called on becoming leader; `signal` aborts the moment leadership ends. */
  onStartedLeading?: (signal: AbortSignal) => void;
  /** Called synchronously the moment leadership is lost or released: stop writing. */
  onStoppedLeading?: () => void;
  /** Called when a different holder is observed. */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules.
 *
 * Every write is a PUT carrying the resourceVersion that was read (or a create), so of two candidates racing
 * for an expired lease the apiserver accepts one and answers 409 to the other: they never both lead. Expiry is
 * judged on the local clock from when this replica last saw the lease change (not from the renewTime a
 * possibly skewed peer wrote). The leader renews every retryPeriod; if it has not renewed within renewDeadline
 * (< leaseDuration), a watchdog timer ends its leadership even while a request hangs, before any other
 * candidate can consider the lease expired. `stop()` releases the lease (holder cleared, as client-go's
 * ReleaseOnCancel does) and a standby watches the Lease, so it tries at once when the holder is cleared instead of
 * at its next retry: a clean hand-over takes one round trip. A leader that dies without releasing (SIGKILL, node
 * lost) is replaced only after leaseDuration has passed since its last renewal, as seen by the standby.
 */
export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;
  private observed?: { rv?: string; holder: string; durationS: number };
  private observedAt = 0;
  private leading = false;
  private term?: AbortController;
  private watchdog?: NodeJS.Timeout;
  private stopped = true;
  private loop?: Promise<void>;
  private wake?: () => void;
  private lastLease?: Lease;
  private watchAbort?: AbortController;
  private releaseSeen = false;
  private watchLoop?: Promise<void>;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectorOptions,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs)
      throw new Error('leader election: renewDeadline must be < leaseDuration');
    if (this.retryPeriodMs >= this.renewDeadlineMs)
      throw new Error('leader election: retryPeriod must be < renewDeadline');
    this.log = (options.logger ?? new Logger()).child({
      component: 'leader-election',
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen on the lease ('' if none). */
  currentLeader(): string {
    return this.observed?.holder ?? '';
  }

  /** Starts campaigning (idempotent). After losing the lease it campaigns again. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.watchAbort = new AbortController();
    this.watchLoop = this.watchForRelease(this.watchAbort.signal);
    this.loop = this.run();
  }

  /** Stops campaigning; a leader releases the lease (holder cleared) and calls onStoppedLeading. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    this.watchAbort?.abort();
    await Promise.all([this.loop, this.watchLoop]);
    if (this.leading) {
      this.loseLeadership('stopping');
      await this.release();
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.log.warn('lease request failed', { err });
      }
      if (this.stopped) break;
      if (ok && !this.leading) this.becomeLeader();
      if (ok) this.armWatchdog();
      else if (this.leading && this.observed && this.observed.holder !== this.options.identity) {
        this.loseLeadership(`lease taken by ${this.observed.holder}`);
      }
      await this.sleep(this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + 0.2 * Math.random()));
    }
  }

  /**
   * While standing by, wakes the campaign loop the moment the Lease's holder is cleared (a released lease) or the
   * Lease is deleted. Best effort: on any watch error it waits a retry period and watches again; the periodic
   * attempts go on regardless.
   */
  private async watchForRelease(signal: AbortSignal): Promise<void> {
    const { namespace, name } = this.options;
    while (!signal.aborted) {
      try {
        await this.client.watch<Lease>(
          resourcePath(Resources.leases, namespace),
          { fieldSelector: `metadata.name=${name}`, timeoutSeconds: 300, allowWatchBookmarks: false },
          (ev) => {
            const released = ev.type === 'DELETED' || (ev.type !== 'ERROR' && !ev.object.spec?.holderIdentity);
            if (released && !this.leading && !this.stopped) {
              this.releaseSeen = true; // an attempt in flight may have read the lease just before
              this.wake?.();
            }
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) return;
        this.log.debug('lease watch failed; watching again', { err });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.retryPeriodMs);
          signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      }
    }
  }

  private becomeLeader(): void {
    this.leading = true;
    this.term = new AbortController();
    this.log.info('became leader');
    try {
      this.options.onStartedLeading?.(this.term.signal);
    } catch (err) {
      this.log.error('onStartedLeading threw', { err });
    }
  }

  /** (Re)starts the renew deadline: without another successful renew by then, leadership ends. */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => this.loseLeadership('could not renew within the renew deadline'),
      this.renewDeadlineMs,
    );
    this.watchdog.unref?.();
  }

  private loseLeadership(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.watchdog);
    this.log.warn('stopped leading', { why });
    this.term?.abort();
    try {
      this.options.onStoppedLeading?.();
    } catch (err) {
      this.log.error('onStoppedLeading threw', { err });
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.releaseSeen && !this.leading) {
      this.releaseSeen = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private path(): string {
    return resourcePath(Resources.leases, this.options.namespace, this.options.name);
  }

  /** One attempt; true when this replica holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { identity, namespace, name } = this.options;
    // A renew must finish within the deadline, or it is useless.
    const timeoutMs = Math.max(500, Math.min(this.renewDeadlineMs / 2, this.retryPeriodMs * 2));
    const now = new Date();
    const durationS = Math.ceil(this.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>('GET', this.path(), { timeoutMs });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const fresh: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: durationS,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: 0,
        },
      };
      try {
        this.record(
          await this.client.request<Lease>('POST', resourcePath(Resources.leases, namespace), {
            body: fresh,
            timeoutMs,
          }),
        );
        return true;
      } catch (e) {
        if (isConflict(e)) return false;
        throw e;
      }
    }
    this.record(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const validFor = (spec.leaseDurationSeconds ?? durationS) * 1000;
    if (holder && holder !== identity && this.observedAt + validFor > Date.now()) return false;
    const mine = holder === identity;
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationS,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      this.record(await this.client.request<Lease>('PUT', this.path(), { body: next, timeoutMs }));
      return true;
    } catch (err) {
      if (isConflict(err)) return false; // someone wrote in between: re-read next round
      throw err;
    }
  }

  private record(lease: Lease): void {
    this.lastLease = lease;
    const holder = lease.spec?.holderIdentity ?? '';
    const rv = lease.metadata?.resourceVersion;
    if (!this.observed || this.observed.rv !== rv) {
      if (this.observed?.holder !== holder && holder && holder !== this.options.identity) {
        try {
          this.options.onNewLeader?.(holder);
        } catch (err) {
          this.log.error('onNewLeader threw', { err });
        }
      }
      this.observed = { rv, holder, durationS: lease.spec?.leaseDurationSeconds ?? 0 };
      this.observedAt = Date.now();
    }
  }

  /** Clears the holder so a standby need not wait for expiry. Best effort. */
  private async release(): Promise<void> {
    const lease = this.lastLease;
    if (!lease || lease.spec?.holderIdentity !== this.options.identity) return;
    const now = microTime(new Date());
    try {
      await this.client.request<Lease>('PUT', this.path(), {
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
        },
        timeoutMs: 2000,
      });
      this.log.info('released lease');
    } catch (err) {
      this.log.warn('could not release lease; it will expire', { err });
    }
  }
}
