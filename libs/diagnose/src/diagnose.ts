import { kubernetesHops } from './checks/kubernetes.checks';
import { nodeHops } from './checks/node.checks';
import { northboundHops } from './checks/northbound.checks';
import { southboundHops } from './checks/southbound.checks';
import { connectHops, traceHops } from './checks/trace.checks';
import { DiagnoseFacts, DiagnoseSource, isUnavailable } from './facts';
import { Diagnosis, Hop, unknown } from './hop';
import { expectedVips } from './service-path';

export function describeSource(s: DiagnoseSource): string {
  if (s.kind === 'pod') return `pod ${s.namespace}/${s.name}`;
  if (s.kind === 'node') return `node ${s.name}`;
  return 'external';
}

/**
 * Judges one Service path from its facts: every hop in path order (Kubernetes, Northbound, Southbound, node),
 * and the first broken one as the verdict. Pure.
 */
export function diagnose(facts: DiagnoseFacts): Diagnosis {
  const t = facts.kube.target;
  const hops: Hop[] = [...kubernetesHops(facts)];
  if (facts.source.kind === 'external') {
    hops.push(
      unknown(
        'northbound',
        'northbound/scenario',
        'the external (EIP, NodePort) path is not checked beyond Kubernetes yet',
        'diagnose from a pod or node',
      ),
    );
  } else if (facts.source.kind === 'pod' && !facts.kube.sourcePod) {
    hops.unshift(
      unknown(
        'kubernetes',
        'kubernetes/source',
        facts.kube.sourceError ?? 'source pod not found',
        'check --from pod NS/NAME',
      ),
    );
  }
  const haveService = !!facts.kube.service && expectedVips(facts).length > 0;
  if (haveService && facts.source.kind !== 'external') {
    if (isUnavailable(facts.northbound)) {
      hops.push(
        unknown(
          'northbound',
          'northbound',
          `controller not reachable: ${facts.northbound.unavailable}`,
          'check the ycloud-controller pod (leader) and its ops port',
        ),
      );
    } else hops.push(...northboundHops(facts, facts.northbound));
    if (isUnavailable(facts.southbound)) {
      hops.push(
        unknown(
          'southbound',
          'southbound',
          `node agent not reachable for Southbound: ${facts.southbound.unavailable}`,
          'check the ycloud agent pod on the source node',
        ),
      );
    } else hops.push(...southboundHops(facts, facts.southbound));
    hops.push(...nodeHops(facts));
    hops.push(...traceHops(facts));
    hops.push(...connectHops(facts));
  }
  const firstBroken = hops.find((h) => h.status === 'broken');
  return {
    target: `${t.kind} ${t.namespace}/${t.name}`,
    source: describeSource(facts.source),
    vips: expectedVips(facts).map((v) => `${v.key}/${v.protocol}`),
    hops,
    verdict: {
      status: firstBroken ? 'broken' : 'ok',
      ...(firstBroken ? { firstBroken: firstBroken.id } : {}),
      unknown: hops.filter((h) => h.status === 'unknown').length,
    },
  };
}
