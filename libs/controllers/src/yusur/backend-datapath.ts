import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { DATAPATH_READY_CONDITION } from '@ycloud/api';
import type { ObjectCache } from '../common/ports';
import type { ResolvedBackend } from './backends';

/** A YusurService condition verdict: whether its backends' nodes have a working datapath. */
export interface BackendDatapathVerdict {
  status: 'True' | 'False';
  reason: string;
  message: string;
  /** Every backend whose node is known sits on a node whose datapath is down. */
  allDown: boolean;
}

/** Where a backend runs: Pods only (other kinds have no node the controller can read cheaply). */
export function backendNode(b: ResolvedBackend, pods: ObjectCache<V1Pod>): string | undefined {
  if (b.ref.kind !== 'Pod') return undefined;
  return pods.get(`${b.ref.namespace ?? 'default'}/${b.ref.name}`)?.spec?.nodeName;
}

/**
 * From each backend's node and that Node's YcloudDatapathReady condition (written by the node's agent) (pure):
 * False `BackendDatapathDown` naming the backends and the agent's reason when any sits on a node whose condition is
 * False; True otherwise (a node without the condition is not judged).
 */
export function backendDatapathVerdict(
  backends: ResolvedBackend[],
  nodeOf: (b: ResolvedBackend) => string | undefined,
  nodes: ObjectCache<V1Node>,
): BackendDatapathVerdict {
  const down: string[] = [];
  let placed = 0;
  for (const b of backends) {
    const node = nodeOf(b);
    if (!node) continue;
    placed++;
    const c = nodes.get(node)?.status?.conditions?.find((x) => x.type === DATAPATH_READY_CONDITION);
    if (c?.status === 'False') down.push(`${b.target} on ${node} (${c.reason ?? 'unknown'})`);
  }
  if (!down.length) {
    return {
      status: 'True',
      reason: 'DatapathReady',
      message: 'no backend on a node whose datapath is down',
      allDown: false,
    };
  }
  return {
    status: 'False',
    reason: 'BackendDatapathDown',
    message: `${down.length} of ${backends.length} backend(s) on a node whose datapath is down: ${down.join(', ')}`,
    allDown: down.length === placed && placed === backends.length,
  };
}

/**
 * A key mapper for Node changes: every service (`all()`) when a Node's YcloudDatapathReady status or reason changed,
 * else none. Nodes change every few seconds (heartbeats), their datapath rarely.
 */
export function onDatapathChange(all: () => string[]): (node: V1Node) => string[] {
  const seen = new Map<string, string>();
  return (n) => {
    const c = n.status?.conditions?.find((x) => x.type === DATAPATH_READY_CONDITION);
    const sig = c ? `${c.status}/${c.reason ?? ''}` : '';
    const name = n.metadata?.name ?? '';
    if ((seen.get(name) ?? '') === sig) return [];
    seen.set(name, sig);
    return all();
  };
}
