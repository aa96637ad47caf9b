import type { V1Pod } from '@kubernetes/client-node';
import {
  IP_ALLOCATION_ANNOTATION,
  parseIpAllocationAnnotation,
  type BareMetalServer,
  type NetworkProbe,
  type NetworkProbeStatus,
  type ProbeTarget,
  type ProbeTargetStatus,
  type VNic,
} from '@ycloud/api';
import { setCondition, type Condition } from '@ycloud/k8s';
import type { ProbeRequest, ProbeResultEvent, ProbeTargetSpec, TargetHealth } from '@ycloud/probe';
import type { ObjectCache } from '../common/ports';

/** Defaults of a NetworkProbe spec (Kubernetes-probe-like). */
export const PROBE_DEFAULTS = { intervalSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

/** The part of Prober the controller uses (tests pass a fake). */
export interface ProberPort {
  upsert(spec: ProbeTargetSpec): void;
  remove(id: string): void;
  ids(): string[];
  health(id: string): Readonly<TargetHealth> | undefined;
  onResult(f: (e: ProbeResultEvent) => void): void;
}

/** A backend's address and VPC, or why it has none. */
export type ResolvedTarget = { address: string; vpc?: string } | { error: string };

export interface BackendCaches {
  pods: ObjectCache<V1Pod>;
  bareMetalServers?: ObjectCache<BareMetalServer>;
  vnics?: ObjectCache<VNic>;
}

/** Address of a probe target: the address itself, a pod's allocation annotation, a BareMetalServer or VNic. */
export function resolveTarget(caches: BackendCaches, target: ProbeTarget, namespace: string): ResolvedTarget {
  if (target.address) return { address: target.address };
  const ref = target.backendRef;
  if (!ref) return { error: 'target has neither address nor backendRef' };
  const ns = ref.namespace ?? namespace;
  switch (ref.kind) {
    case 'Pod':
    case 'VM': {
      const pod = caches.pods.get(`${ns}/${ref.name}`);
      const ann = parseIpAllocationAnnotation(pod?.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION]);
      if (!ann) return { error: `${ref.kind} ${ns}/${ref.name} has no address yet` };
      return { address: ann.ips[0].split('/')[0], vpc: ann.vpc };
    }
    case 'BareMetal': {
      const bm = caches.bareMetalServers?.get(ref.name);
      return bm ? { address: bm.spec.ip, vpc: bm.spec.vpc } : { error: `BareMetalServer ${ref.name} not found` };
    }
    case 'VNicIP': {
      const v = caches.vnics?.get(`${ns}/${ref.name}`);
      const ip = v?.status?.ip ?? v?.spec.ip;
      return ip ? { address: ip } : { error: `VNic ${ns}/${ref.name} has no address yet` };
    }
    default:
      return { error: `unsupported backend kind ${String(ref.kind)}` };
  }
}

export interface NetworkProbeControllerDeps {
  probes: ObjectCache<NetworkProbe>;
  resolve(target: ProbeTarget, namespace: string): ResolvedTarget;
  vpcForNamespace(namespace: string): string;
  /** Namespace the VPC's probe port is plugged in on this node; undefined while it is not (yet). */
  probeNetns(vpc: string): string | undefined;
  prober: ProberPort;
  patchStatus(namespace: string, name: string, status: NetworkProbeStatus): Promise<void>;
  /** Called when a status write failed (the write is retried). */
  onError?(key: string, err: unknown): void;
  now?: () => number;
  /** Transitions of one NetworkProbe within this window are written together. Default 200 ms. */
  coalesceMs?: number;
  /** Unchanged statuses are rewritten (fresh lastProbeTime, counts) at most this often. Default 30 s. */
  refreshMs?: number;
}

/** Why a NetworkProbe is not Ready (`status.conditions[type=Ready].reason`), most important first. */
export const NOT_READY_REASONS = ['TargetUnresolved', 'InvalidSpec', 'ProbePortNotReady', 'NotProbedYet'] as const;
type NotReadyReason = (typeof NOT_READY_REASONS)[number];

interface Static {
  target: string;
  address?: string;
  /** Set when the target is not probed (unresolved, no probe port): reported as is. */
  fixed?: { healthy: boolean; message: string; reason: NotReadyReason };
  id: string;
}

/**
 * Runs NetworkProbes: resolves targets, hands them to the prober in the probe namespace of the target's VPC,
 * and writes `status.targets[]` — at once (coalesced per object) when health or a message changes, otherwise at
 * most every `refreshMs`; nothing when nothing changed. Unresolvable targets are reported unhealthy; targets
 * whose VPC has no probe port yet are reported healthy with a message (no backend is withdrawn because the
 * prober is not ready). Condition Ready: True once every target has a result from a plugged probe port, else False
 * with the most important reason (NOT_READY_REASONS) and the first such target's message.
 */
export class NetworkProbeController {
  private readonly targets = new Map<string, Static[]>();
  private readonly written = new Map<string, { sig: string; at: number; conditions: Condition[] }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;

  constructor(private readonly deps: NetworkProbeControllerDeps) {
    this.now = deps.now ?? Date.now;
    deps.prober.onResult((e) => this.schedule(e.id.slice(0, e.id.indexOf('|'))));
  }

  /** Key `<namespace>/<name>`. */
  async reconcile(key: string): Promise<void> {
    const probe = this.deps.probes.get(key);
    const want = probe ? this.desired(key, probe) : [];
    const keep = new Set(want.filter((t) => !t.fixed).map((t) => t.id));
    for (const id of this.deps.prober.ids()) if (id.startsWith(`${key}|`) && !keep.has(id)) this.deps.prober.remove(id);
    if (!probe) {
      this.targets.delete(key);
      this.written.delete(key);
      clearTimeout(this.timers.get(key));
      this.timers.delete(key);
      return;
    }
    this.targets.set(key, want);
    await this.flush(key);
  }

  /** The status the object should show now (conditions: the Ready condition set on the last written ones). */
  statusOf(key: string): NetworkProbeStatus {
    const iso = (t?: number) => (t === undefined ? undefined : new Date(t).toISOString());
    const probe = this.deps.probes.get(key);
    const notReady: Array<{ reason: NotReadyReason; target: string; message: string }> = [];
    const targets: ProbeTargetStatus[] = (this.targets.get(key) ?? []).map((t) => {
      const h = t.fixed ? undefined : this.deps.prober.health(t.id);
      if (!h || !h.probed) {
        const fixed = t.fixed ?? { healthy: true, message: 'not probed yet', reason: 'NotProbedYet' as const };
        notReady.push({ reason: fixed.reason, target: t.target, message: fixed.message });
        return { target: t.target, address: t.address, healthy: fixed.healthy, message: fixed.message };
      }
      return {
        target: t.target,
        address: t.address,
        healthy: h.healthy,
        lastProbeTime: iso(h.lastProbeTime),
        lastTransitionTime: iso(h.lastTransitionTime),
        consecutiveFailures: h.consecutiveFailures,
        consecutiveSuccesses: h.consecutiveSuccesses,
        message: h.message,
      };
    });
    const healthyTargets = targets.filter((t) => t.healthy).length;
    const generation = probe?.metadata.generation;
    const ready = readyCondition(notReady, healthyTargets, targets.length, generation);
    const previous = this.written.get(key)?.conditions ?? (probe?.status?.conditions as Condition[] | undefined);
    const { conditions } = setCondition(previous, ready, new Date(this.now()));
    return { observedGeneration: generation, conditions, healthyTargets, targets };
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private desired(key: string, probe: NetworkProbe): Static[] {
    const ns = probe.metadata.namespace ?? '';
    const s = { ...PROBE_DEFAULTS, ...probe.spec };
    const out: Static[] = [];
    for (const target of probe.spec.targets ?? []) {
      const name =
        target.address ?? `${target.backendRef?.kind}/${target.backendRef?.namespace ?? ns}/${target.backendRef?.name}`;
      const id = `${key}|${name}`;
      const r = this.deps.resolve(target, ns);
      if ('error' in r) {
        out.push({ id, target: name, fixed: { healthy: false, message: r.error, reason: 'TargetUnresolved' } });
        continue;
      }
      const vpc = r.vpc ?? this.deps.vpcForNamespace(ns);
      const netns = this.deps.probeNetns(vpc);
      if (!netns) {
        out.push({
          id,
          target: name,
          address: r.address,
          fixed: { healthy: true, message: `VPC ${vpc} has no probe port yet`, reason: 'ProbePortNotReady' },
        });
        continue;
      }
      if (s.type !== 'icmp' && !s.port) {
        out.push({
          id,
          target: name,
          address: r.address,
          fixed: { healthy: false, message: `${s.type} probe needs spec.port`, reason: 'InvalidSpec' },
        });
        continue;
      }
      const request: ProbeRequest = {
        type: s.type,
        host: r.address,
        port: s.port,
        path: s.type === 'http' ? (s.path ?? '/') : undefined,
        expectedStatus: s.type === 'http' ? s.expectedStatus : undefined,
        timeoutMs: s.timeoutSeconds * 1000,
      };
      this.deps.prober.upsert({
        id,
        netns,
        request,
        intervalMs: s.intervalSeconds * 1000,
        successThreshold: s.successThreshold,
        failureThreshold: s.failureThreshold,
      });
      out.push({ id, target: name, address: r.address });
    }
    return out;
  }

  private schedule(key: string, delay = this.deps.coalesceMs ?? 200): void {
    if (this.timers.has(key) || !this.targets.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      void this.flush(key);
    }, delay);
    t.unref?.();
    this.timers.set(key, t);
  }

  /** Writes the status if something a reader acts on changed, or the last write is older than refreshMs. */
  private async flush(key: string): Promise<void> {
    const probe = this.deps.probes.get(key);
    if (!probe) return;
    const status = this.statusOf(key);
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    const sig = JSON.stringify([
      status.targets!.map((t) => [t.target, t.address, t.healthy, t.lastTransitionTime, t.message]),
      [status.observedGeneration, ready?.status, ready?.reason, ready?.message],
    ]);
    const last = this.written.get(key);
    const now = this.now();
    if (last && last.sig === sig && now - last.at < (this.deps.refreshMs ?? 30_000)) return;
    try {
      await this.deps.patchStatus(probe.metadata.namespace ?? '', probe.metadata.name, status);
      this.written.set(key, { sig, at: now, conditions: status.conditions as Condition[] });
    } catch (err) {
      this.deps.onError?.(key, err);
      this.schedule(key, 1_000);
    }
  }
}

/** The Ready condition from the targets that are not (yet) probed, by their most important reason. */
function readyCondition(
  notReady: Array<{ reason: NotReadyReason; target: string; message: string }>,
  healthy: number,
  total: number,
  observedGeneration: number | undefined,
): Omit<Condition, 'lastTransitionTime'> {
  const rank = (r: NotReadyReason) => NOT_READY_REASONS.indexOf(r);
  const worst = [...notReady].sort((a, b) => rank(a.reason) - rank(b.reason))[0];
  if (!worst) {
    return {
      type: 'Ready',
      status: 'True',
      reason: 'Probed',
      message: `${healthy}/${total} targets healthy`,
      observedGeneration,
    };
  }
  const same = notReady.filter((n) => n.reason === worst.reason).length;
  const more = same > 1 ? ` (and ${same - 1} more)` : '';
  return {
    type: 'Ready',
    status: 'False',
    reason: worst.reason,
    message: `${worst.target}: ${worst.message}${more}`,
    observedGeneration,
  };
}
