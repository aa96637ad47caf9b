import { KubeClient } from '@ycloud/k8s';
import { collectKube } from './collect/kube.collector';
import { OpsEndpoints } from './collect/ops-endpoints';
import { sourceNodeName } from './checks/southbound.checks';
import {
  DiagnoseFacts,
  DiagnoseRequest,
  DiagnoseSource,
  Maybe,
  NodeFacts,
  NodePortFacts,
  NorthboundFacts,
  SouthboundFacts,
  TraceFacts,
  isUnavailable,
} from './facts';
import { DIAGNOSE_QUERY as Q, DIAGNOSE_ROUTES } from './routes';
import { backendPods, expectedVips, scenarioOf } from './service-path';
import { eipGatewayPorts, eipPathQuery } from './checks/eip.checks';

const reason = (e: unknown): { unavailable: string } => ({ unavailable: e instanceof Error ? e.message : String(e) });

async function maybe<T>(p: Promise<unknown>): Promise<Maybe<T>> {
  return p.then(
    (v) => v as T,
    (e) => reason(e),
  );
}

/**
 * Gathers every fact of one diagnosis: Kubernetes with the kubeconfig, then in parallel the Northbound view of the
 * controller, Southbound and the source node from the source node's agent, and each backend node from its agent.
 */
export async function gatherFacts(
  kube: KubeClient,
  endpoints: OpsEndpoints,
  request: DiagnoseRequest,
  source: DiagnoseSource,
  port?: string,
  opts: { trace?: boolean; connect?: boolean } = {},
): Promise<DiagnoseFacts> {
  const kubeFacts = await collectKube(kube, request, source);
  const target = kubeFacts.target;
  const facts: DiagnoseFacts = {
    source,
    port,
    kube: kubeFacts,
    northbound: { unavailable: 'not asked' },
    southbound: { unavailable: 'not asked' },
    backendNodes: {},
  };
  const vips = expectedVips(facts);
  const scenario = scenarioOf(facts);
  if (!kubeFacts.service || !vips.length || scenario === 'none') return facts;
  if (scenario === 'eip' && !eipPathQuery(facts)) return facts; // the Kubernetes hops say what is missing
  const backends = backendPods(kubeFacts);
  const backendNodes = [...new Set([...backends.values()].map((b) => b.node).filter((n): n is string => !!n))].sort();
  const srcNode = sourceNodeName(facts);
  const eipQuery = eipPathQuery(facts);
  // The EIP path's gateway ports, whose binding to the gateway chassis Southbound shows.
  const lsps = [
    ...[...backends.values()].map((b) => b.lsp).filter((l): l is string => !!l),
    ...(eipQuery ? eipGatewayPorts(eipQuery.pool, eipQuery.vpc) : []),
  ];
  const nodeQuery = { [Q.vips]: vips.map((v) => `${v.key}/${v.protocol}`).join(',') };
  const sbQuery = { [Q.vips]: vips.map((v) => v.key).join(','), [Q.ports]: lsps.join(',') };
  // Southbound is the same from any node: ask the source (or entry) node's agent, else a backend node's.
  const sbNodes = [...new Set([srcNode, ...backendNodes].filter((n): n is string => !!n))];
  // When none answers, the first one's reason is the one to report (the source or entry node's agent).
  const southbound = async (): Promise<Maybe<SouthboundFacts>> => {
    let first: Maybe<SouthboundFacts> | undefined;
    for (const n of sbNodes) {
      const r = await maybe<SouthboundFacts>(endpoints.agent(n, DIAGNOSE_ROUTES.southbound, sbQuery));
      if (!isUnavailable(r)) return r;
      first ??= r;
    }
    return first ?? { unavailable: 'no node to ask' };
  };
  const [nb, sb, sourceNode, nodePorts, ...others] = await Promise.all([
    maybe<NorthboundFacts>(
      endpoints.controller(DIAGNOSE_ROUTES.northbound, {
        [Q.kind]: target.kind,
        [Q.namespace]: target.namespace,
        [Q.name]: target.name,
        [Q.vips]: vips.map((v) => v.key).join(','),
        ...(eipQuery ? { [Q.eip]: eipQuery.address, [Q.pool]: eipQuery.pool, [Q.vpc]: eipQuery.vpc } : {}),
      }),
    ),
    southbound(),
    srcNode ? maybe<NodeFacts>(endpoints.agent(srcNode, DIAGNOSE_ROUTES.node, nodeQuery)) : Promise.resolve(undefined),
    scenario === 'nodeport' && srcNode
      ? maybe<NodePortFacts>(endpoints.agent(srcNode, DIAGNOSE_ROUTES.nodePort, {}))
      : Promise.resolve(undefined),
    ...backendNodes
      .filter((n) => n !== srcNode)
      .map((n) => maybe<NodeFacts>(endpoints.agent(n, DIAGNOSE_ROUTES.node, nodeQuery))),
  ]);
  facts.northbound = nb;
  facts.southbound = sb;
  if (sourceNode) facts.sourceNode = sourceNode;
  if (nodePorts) facts.nodePorts = nodePorts;
  backendNodes.filter((n) => n !== srcNode).forEach((n, i) => (facts.backendNodes[n] = others[i]));
  if (opts.trace) facts.trace = await traces(endpoints, facts, vips);
  if (opts.connect) facts.connect = await connects(endpoints, facts, vips);
  return facts;
}

/** ovn-trace of a first packet from the source pod to each VIP, through the source node's agent. */
async function traces(
  endpoints: OpsEndpoints,
  facts: DiagnoseFacts,
  vips: ReturnType<typeof expectedVips>,
): Promise<Record<string, Maybe<TraceFacts>>> {
  const out: Record<string, Maybe<TraceFacts>> = {};
  const pod = facts.kube.sourcePod;
  const nb = isUnavailable(facts.northbound) ? undefined : facts.northbound;
  const gwMac = pod?.logicalSwitch ? nb?.routerMacs?.[pod.logicalSwitch] : undefined;
  for (const v of vips) {
    if (facts.source.kind !== 'pod' || !pod?.node) {
      out[v.key] = { unavailable: 'ovn-trace runs from a pod source only' };
    } else if (!pod.mac || !pod.logicalSwitchPort || !pod.logicalSwitch || !pod.ip || !gwMac) {
      out[v.key] = { unavailable: "the source pod's port, MAC or gateway MAC is unknown" };
    } else {
      const query: Record<string, string> = {
        datapath: pod.logicalSwitch,
        inport: pod.logicalSwitchPort,
        ethSrc: pod.mac,
        ethDst: gwMac,
        ipSrc: pod.ip,
        vip: v.key,
        protocol: v.protocol,
      };
      out[v.key] = await maybe<TraceFacts>(endpoints.agent(pod.node, DIAGNOSE_ROUTES.trace, query));
    }
  }
  return out;
}

/** One TCP connection to each TCP VIP from the source node, or from inside the source pod, made by that node's agent. */
async function connects(
  endpoints: OpsEndpoints,
  facts: DiagnoseFacts,
  vips: ReturnType<typeof expectedVips>,
): Promise<NonNullable<DiagnoseFacts['connect']>> {
  const out: NonNullable<DiagnoseFacts['connect']> = {};
  const pod = facts.kube.sourcePod;
  for (const v of vips) {
    if (v.protocol !== 'tcp') out[v.key] = { unavailable: `${v.protocol}: only TCP is tried` };
    else if (facts.source.kind === 'node')
      out[v.key] = await maybe(endpoints.agent(facts.source.name, DIAGNOSE_ROUTES.connect, { [Q.vips]: v.key }));
    else if (facts.source.kind === 'pod' && pod?.node && pod.logicalSwitchPort)
      out[v.key] = await maybe(
        endpoints.agent(pod.node, DIAGNOSE_ROUTES.connect, { [Q.vips]: v.key, [Q.pod]: pod.logicalSwitchPort }),
      );
    else
      out[v.key] = { unavailable: 'no node agent can connect from this source (a pod with a ycloud port, or a node)' };
  }
  return out;
}
