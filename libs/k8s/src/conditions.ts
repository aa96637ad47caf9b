import { isConflict, KubeClient } from './kube-client';
import { KubeObject, ResourceType } from './resource';

/** A status condition (metav1.Condition). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** Seconds-precision RFC 3339, as the apiserver stores metav1.Time. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Sets a condition in a list (pure). `lastTransitionTime` changes only when `status` changes; `changed` is
 * false when nothing differs, so callers can skip the write.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionInput,
  now: Date = new Date(),
): { conditions: Condition[]; changed: boolean } {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const existing = i >= 0 ? list[i] : undefined;
  if (
    existing &&
    existing.status === next.status &&
    existing.reason === next.reason &&
    existing.message === next.message &&
    existing.observedGeneration === next.observedGeneration
  ) {
    return { conditions: list, changed: false };
  }
  const lastTransitionTime = existing && existing.status === next.status ? existing.lastTransitionTime : rfc3339(now);
  const cond: Condition = { ...next, lastTransitionTime };
  if (cond.observedGeneration === undefined) delete cond.observedGeneration;
  if (i >= 0) list[i] = cond;
  else list.push(cond);
  return { conditions: list, changed: true };
}

/** Finds a condition by type. */
export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Sets one condition on an object's status subresource with a JSON merge patch; a no-op (no request beyond the
 * read) when unchanged. The patch carries the read resourceVersion, so a concurrent writer gives a conflict,
 * which is retried from a fresh read (up to 5 times) instead of overwriting its conditions.
 * `observedGeneration` defaults to the object's metadata.generation. Returns whether it wrote.
 */
export async function patchStatusCondition(
  client: KubeClient,
  rt: ResourceType,
  namespace: string | undefined,
  name: string,
  condition: Omit<ConditionInput, 'observedGeneration'> & { observedGeneration?: number },
  now: () => Date = () => new Date(),
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const obj = await client.get<KubeObject & { status?: { conditions?: Condition[] } }>(rt, namespace, name);
    const next = { ...condition, observedGeneration: condition.observedGeneration ?? obj.metadata?.generation };
    const { conditions, changed } = setCondition(obj.status?.conditions, next, now());
    if (!changed) return false;
    try {
      await client.mergePatch(
        rt,
        namespace,
        name,
        { metadata: { resourceVersion: obj.metadata?.resourceVersion }, status: { conditions } },
        'status',
      );
      return true;
    } catch (err) {
      if (!isConflict(err) || attempt >= 5) throw err;
    }
  }
}
