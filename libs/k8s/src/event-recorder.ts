import { randomBytes } from 'node:crypto';
import { isNotFound, KubeClient } from './kube-client';
import { microTime } from './leader-election';
import { Logger } from './logger';
import { Resources } from './resource';

/** What an Event is about. */
export interface ObjectReference {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** e.g. `ycloud.io/service-controller`. */
  reportingController: string;
  /** e.g. the pod name. */
  reportingInstance: string;
  /** Repeats within this window increment the existing Event's series count. Default 10 min. */
  aggregateWindowMs?: number;
  /** Distinct events remembered for aggregation. Default 4096. */
  maxCached?: number;
  logger?: Logger;
}

interface Entry {
  namespace: string;
  name?: string;
  count: number;
  lastSeen: number;
  chain: Promise<void>;
}

/**
 * Writes events.k8s.io/v1 Events. Identical repeats (same object, type, reason, message) within the window
 * are aggregated into one Event whose `series.count` grows. Writes happen in the background, one at a time
 * per distinct event, and never throw into the caller: failures are logged.
 */
export class EventRecorder {
  private readonly cache = new Map<string, Entry>();
  private readonly log: Logger;
  private readonly windowMs: number;
  private readonly maxCached: number;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly client: KubeClient,
    private readonly options: EventRecorderOptions,
  ) {
    this.windowMs = options.aggregateWindowMs ?? 600_000;
    this.maxCached = options.maxCached ?? 4096;
    this.log = (options.logger ?? new Logger()).child({ component: 'event-recorder' });
  }

  /** Records an event about `ref`. `action` says what the controller was doing (default `Reconcile`). */
  event(ref: ObjectReference, type: EventType, reason: string, message: string, action = 'Reconcile'): void {
    try {
      const note = message.length > 1024 ? message.slice(0, 1021) + '...' : message;
      const key = [ref.kind, ref.namespace ?? '', ref.name, ref.uid ?? '', type, reason, note, action].join('\u0000');
      const now = Date.now();
      let entry = this.cache.get(key);
      if (entry && now - entry.lastSeen > this.windowMs) entry = undefined;
      if (!entry) {
        entry = { namespace: ref.namespace || 'default', count: 0, lastSeen: now, chain: Promise.resolve() };
        this.remember(key, entry);
      }
      const e = entry;
      e.count++;
      e.lastSeen = now;
      const run = e.chain.then(() => this.write(e, ref, type, reason, note, action));
      e.chain = run;
      this.pending.add(run);
      void run.finally(() => this.pending.delete(run));
    } catch (err) {
      this.log.error('could not record event', { err, reason });
    }
  }

  /** Waits for writes in flight (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private remember(key: string, entry: Entry): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    // Map iteration order is insertion order: drop the oldest.
    while (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
  }

  private async write(
    e: Entry,
    ref: ObjectReference,
    type: EventType,
    reason: string,
    note: string,
    action: string,
  ): Promise<void> {
    const count = e.count;
    try {
      if (e.name && count > 1) {
        try {
          await this.client.mergePatch(Resources.events, e.namespace, e.name, {
            series: { count, lastObservedTime: microTime(new Date()) },
          });
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // The Event expired (TTL): start a new one.
        }
      }
      const name = `${ref.name}.${randomBytes(8).toString('hex')}`;
      await this.client.create(Resources.events, e.namespace, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace: e.namespace },
        eventTime: microTime(new Date()),
        reportingController: this.options.reportingController,
        reportingInstance: this.options.reportingInstance,
        action,
        reason,
        note,
        type,
        regarding: ref,
      } as never);
      e.name = name;
    } catch (err) {
      this.log.warn('could not write event', { err, reason, object: `${ref.kind} ${ref.namespace ?? ''}/${ref.name}` });
    }
  }
}
