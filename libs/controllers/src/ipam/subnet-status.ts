import type { AddressCounts, Subnet, SubnetStatus } from '@ycloud/api';
import { isNotFound, type Informer, type KubeClient, type KubeObject, type Logger } from '@ycloud/k8s';
import type { ObjectCache } from '../common/ports';
import { TOPOLOGY_RESOURCES } from '../topology/topology-objects.controller';
import type { SubnetIpam } from './subnet-ipam';

export interface SubnetStatusWriterDeps {
  ipam: SubnetIpam;
  /** Subnet resources (the built-in subnets have no object and are never written). */
  subnets: ObjectCache<Subnet>;
  /** Writes `status` fields of a Subnet (a merge patch of the status subresource). */
  patchStatus(name: string, status: Pick<SubnetStatus, 'v4' | 'v6'>): Promise<void>;
  /** Called before counting: the IPAM must hold what the cluster holds (pod annotations) first. */
  beforeCount?: () => void;
  log: Logger;
  /** At most one write per Subnet per interval (default 1 s). */
  intervalMs?: number;
}

type Counts = Pick<SubnetStatus, 'v4' | 'v6'>;

/**
 * Subnet `status.v4/v6 {used, available}` from the pod IPAM, coalesced: a Subnet whose addresses changed is written
 * at most once per interval, and never when the counts equal what its status already says. `available` is capped
 * to Number.MAX_SAFE_INTEGER (IPv6 subnets are larger than a JSON number holds exactly).
 */
export class SubnetStatusWriter {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lastWrite = new Map<string, number>();
  private readonly written = new Map<string, string>();
  private stopped = false;

  constructor(private readonly deps: SubnetStatusWriterDeps) {}

  /** The Subnet's addresses may have changed: schedule a write (coalesced). */
  touched(name: string): void {
    if (this.stopped || this.timers.has(name)) return;
    const interval = this.deps.intervalMs ?? 1000;
    const wait = Math.max(0, (this.lastWrite.get(name) ?? 0) + interval - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(name);
      void this.flush(name);
    }, wait);
    timer.unref?.();
    this.timers.set(name, timer);
  }

  /** Cancels pending writes. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async flush(name: string): Promise<void> {
    const subnet = this.deps.subnets.get(name);
    if (!subnet || this.stopped) {
      this.written.delete(name);
      return;
    }
    this.deps.beforeCount?.();
    const counts = subnetCounts(this.deps.ipam, subnet);
    const text = countsText(counts);
    // The cache may lag behind our own last write: compare with both.
    if (text === this.written.get(name) || text === countsText(subnet.status ?? {})) return;
    this.lastWrite.set(name, Date.now());
    try {
      await this.deps.patchStatus(name, counts);
      this.written.set(name, text);
    } catch (err) {
      this.deps.log.warn('writing Subnet status counts failed; retrying', { subnet: name, err: err as Error });
      this.touched(name);
    }
  }
}

/** A Subnet's counts per family, as its status carries them (families it has no CIDR of are absent). */
export function subnetCounts(ipam: SubnetIpam, subnet: Subnet): Counts {
  const c = ipam.counts(subnet);
  const out: Counts = {};
  const conv = (f: { used: number; available: bigint }): AddressCounts => ({
    used: f.used,
    available: f.available > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(f.available),
  });
  if (c.v4) out.v4 = conv(c.v4);
  if (c.v6) out.v6 = conv(c.v6);
  return out;
}

function countsText(c: Counts): string {
  return [c.v4, c.v6].map((f) => (f ? `${f.used}/${f.available}` : '-')).join(' ');
}

/** What wireSubnetStatus needs from the manager. */
export interface SubnetStatusWiring {
  ipam: SubnetIpam;
  /** The Subnet informer (its events schedule a write: a new Subnet shows its counts before any pod). */
  informer: Pick<Informer<Subnet & KubeObject>, 'store' | 'addHandler'>;
  kube: KubeClient;
  /** Names of the built-in subnets: a Subnet resource of that name is not the IPAM's subnet. */
  builtin: string[];
  beforeCount?: () => void;
  log: Logger;
}

/** Creates the writer, hooks it to the IPAM and the Subnet informer. */
export function wireSubnetStatus(w: SubnetStatusWiring): SubnetStatusWriter {
  const subnets: ObjectCache<Subnet> = {
    get: (name) => (w.builtin.includes(name) ? undefined : w.informer.store.get(name)),
    list: () => w.informer.store.list().filter((s) => !w.builtin.includes(s.metadata.name)),
  };
  const writer = new SubnetStatusWriter({
    ipam: w.ipam,
    subnets,
    beforeCount: w.beforeCount,
    log: w.log,
    patchStatus: async (name, status) => {
      try {
        await w.kube.mergePatch(TOPOLOGY_RESOURCES.Subnet, undefined, name, { status }, 'status');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  });
  w.ipam.onTouched = (name) => writer.touched(name);
  const touch = (s: Subnet & KubeObject): void => writer.touched(s.metadata.name);
  w.informer.addHandler({ onAdd: touch, onUpdate: (_, s) => touch(s) });
  return writer;
}
