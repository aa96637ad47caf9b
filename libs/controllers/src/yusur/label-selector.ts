import type { LabelSelector } from '@ycloud/api';

/**
 * metav1.LabelSelector semantics (matchLabels AND matchExpressions). An empty or missing selector matches
 * everything when `emptyMatchesAll` (namespaceSelector, as in NetworkPolicy) and nothing otherwise (a backend
 * selector, as a Service's: an empty one must not pull every pod of the cluster into a load balancer).
 */
export function labelSelectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
  emptyMatchesAll: boolean,
): boolean {
  const ml = Object.entries(selector?.matchLabels ?? {});
  const me = selector?.matchExpressions ?? [];
  if (!ml.length && !me.length) return emptyMatchesAll;
  const l = labels ?? {};
  if (ml.some(([k, v]) => l[k] !== v)) return false;
  return me.every((e) => {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(l[e.key]);
      case 'NotIn':
        return !has || !(e.values ?? []).includes(l[e.key]);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}
