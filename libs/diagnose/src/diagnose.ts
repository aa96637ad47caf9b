import { eipKubernetesHops, eipNorthboundHops, eipPathQuery, eipSouthboundHops } from './checks/eip.checks';
import { kubernetesHops } from './checks/kubernetes.checks';
import { nodeHops } from './checks/node.checks';
import { nodePortKubernetesHop, nodePortRulesHop } from './checks/nodeport.checks';
import { northboundHops } from './checks/northbound.checks';
import { chassisHop, portBindingsHop, southboundHops } from './checks/southbound.checks';
import { connectHops, traceHops } from './checks/trace.checks';
import { DiagnoseFacts, DiagnoseSource, isUnavailable } from './facts';
import { Diagnosis, Hop, broken, unknown } from './hop';
import { expectedVips, scenarioOf } from './service-path';

export function describeSource(s: DiagnoseSource): string {
  if (s.kind === 'pod') return `pod ${s.namespace}/${s.name}`;
  if (s.kind === 'node') return `node ${s.name}`;
  return 'external';
}

/** Hops of the scenario's entry, right after the Service's own Kubernetes hops. */
function entryHops(facts: DiagnoseFacts): Hop[] {
  const scenario = scenarioOf(facts);
  const t = facts.kube.target;
  if (scenario === 'eip' && t.kind === 'YusurService') {
    // Its EIP may be served by a service-gateway (docs/adr/0004-service-gateway.md), a path not walked yet.
    return [
      ...eipKubernetesHops(facts),
      unknown(
        'northbound',
        'northbound/scenario',
        "a YusurService's EIP path (VPC router or service-gateway) is not checked beyond Kubernetes yet",
        'diagnose its backends from a pod or node',
      ),
    ];
  }
  if (scenario === 'eip') return eipKubernetesHops(facts);
  if (scenario === 'nodeport') return [nodePortKubernetesHop(facts)];
  if (scenario === 'none') {
    if (t.kind === 'YusurService')
      return [
        unknown(
          'kubernetes',
          'kubernetes/scenario',
          "a YusurService's EIP path is not checked yet",
          `diagnose eip NAME for its Eip, or diagnose from a pod or node`,
        ),
      ];
    return [
      broken(
        'kubernetes',
        'kubernetes/scenario',
        `${t.kind} ${t.namespace}/${t.name} is type ${facts.kube.service?.type}: nothing publishes it outside the cluster`,
        'make it type LoadBalancer (an EIP) or NodePort, or diagnose from a pod or node',
      ),
    ];
  }
  return [];
}

/**
 * Judges one Service path from its facts: every hop in path order (Kubernetes, Northbound, Southbound, node),
 * and the first broken one as the verdict. Pure. From outside, the path is the EIP's (a LoadBalancer Service or
 * an Eip) or the NodePort's, entering OVN on the pool's gateway node or the NodePort's node.
 */
export function diagnose(facts: DiagnoseFacts): Diagnosis {
  const t = facts.kube.target;
  const scenario = scenarioOf(facts);
  const hops: Hop[] = [];
  if (facts.kube.eipAsked && !facts.kube.service) hops.push(...eipKubernetesHops(facts));
  else {
    hops.push(...kubernetesHops(facts));
    if (facts.kube.service && !hops.some((h) => h.status === 'broken' && h.id === 'kubernetes/object'))
      hops.push(...entryHops(facts));
  }
  if (facts.source.kind === 'pod' && !facts.kube.sourcePod) {
    hops.unshift(
      unknown(
        'kubernetes',
        'kubernetes/source',
        facts.kube.sourceError ?? 'source pod not found',
        'check --from pod NS/NAME',
      ),
    );
  }
  const pathKnown =
    scenario === 'cluster' ||
    scenario === 'nodeport' ||
    (scenario === 'eip' && t.kind === 'Service' && !!eipPathQuery(facts));
  const haveService = !!facts.kube.service && expectedVips(facts).length > 0 && pathKnown;
  if (haveService) {
    if (scenario === 'nodeport') hops.push(nodePortRulesHop(facts));
    if (isUnavailable(facts.northbound)) {
      hops.push(
        unknown(
          'northbound',
          'northbound',
          `controller not reachable: ${facts.northbound.unavailable}`,
          'check the ycloud-controller pod (leader) and its ops port',
        ),
      );
    } else if (scenario === 'eip') hops.push(...eipNorthboundHops(facts, facts.northbound));
    else hops.push(...northboundHops(facts, facts.northbound));
    if (isUnavailable(facts.southbound)) {
      hops.push(
        unknown(
          'southbound',
          'southbound',
          `node agent not reachable for Southbound: ${facts.southbound.unavailable}`,
          'check the ycloud agent pod on the source node',
        ),
      );
    } else if (scenario === 'eip') {
      const sb = facts.southbound;
      hops.push(...eipSouthboundHops(facts, sb), portBindingsHop(facts, sb), chassisHop(facts, sb));
    } else hops.push(...southboundHops(facts, facts.southbound));
    hops.push(...nodeHops(facts));
    hops.push(...traceHops(facts));
    hops.push(...connectHops(facts));
  }
  const firstBroken = hops.find((h) => h.status === 'broken');
  const what = `${t.kind} ${t.namespace}/${t.name}`;
  return {
    target: facts.kube.eipAsked ? `Eip ${facts.kube.eipAsked}${t.name ? ` (${what})` : ''}` : what,
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
