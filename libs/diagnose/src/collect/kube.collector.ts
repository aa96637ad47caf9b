import { crdResources, IP_ALLOCATION_ANNOTATION, parseIpAllocationAnnotation, SERVICE_NAME_LABEL } from '@ycloud/api';
import { KubeClient, KubeObject, Resources, isNotFound, resourceType } from '@ycloud/k8s';
import {
  ConditionFact,
  DiagnoseRequest,
  DiagnoseSource,
  DiagnoseTarget,
  EipFact,
  EndpointSliceFact,
  EventFact,
  KubeFacts,
  PodFact,
  ProbeResultFact,
  ServiceFact,
} from '../facts';

/* Wire shapes, only the fields read here. */
interface PodObj extends KubeObject {
  spec?: { nodeName?: string };
  status?: { podIP?: string; phase?: string; conditions?: Array<{ type: string; status: string }> };
}
interface ServiceObj extends KubeObject {
  spec?: {
    type?: string;
    clusterIPs?: string[];
    clusterIP?: string;
    ports?: Array<{ name?: string; protocol?: string; port: number; targetPort?: number | string; nodePort?: number }>;
    selector?: Record<string, string>;
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    publishNotReadyAddresses?: boolean;
    externalTrafficPolicy?: string;
  };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}
interface EipObj extends KubeObject {
  spec?: { pool?: string; address?: string; binding?: { kind: string; namespace: string; name: string } };
  status?: { address?: string; vpc?: string; conditions?: ConditionFact[] };
}
interface EipPoolObj extends KubeObject {
  spec?: { networkName?: string; gatewayNodes?: string[] };
  status?: { activeGatewayNode?: string; conditions?: ConditionFact[] };
}
interface NodeObj extends KubeObject {
  status?: {
    addresses?: Array<{ type: string; address: string }>;
    conditions?: Array<{ type: string; status: string }>;
  };
}
interface YusurServiceObj extends KubeObject {
  spec?: {
    backends?: Array<{ kind: string; selector?: { matchLabels?: Record<string, string> } }>;
    ports?: Array<{ name?: string; protocol?: string; port: number; targetPort?: number | string }>;
    sessionAffinity?: string;
    sessionAffinityTimeoutSeconds?: number;
  };
  status?: { clusterIPs?: string[]; conditions?: ConditionFact[] };
}
interface SliceObj extends KubeObject {
  addressType?: string;
  ports?: Array<{ name?: string; port?: number; protocol?: string }>;
  endpoints?: Array<{
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    nodeName?: string;
    targetRef?: { kind?: string; name?: string };
  }>;
}
interface EventObj extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  series?: { count?: number };
  lastTimestamp?: string;
  eventTime?: string;
  reportingComponent?: string;
  source?: { component?: string };
}
interface ProbeObj extends KubeObject {
  status?: { targets?: Array<{ target: string; address?: string; healthy: boolean; message?: string }> };
}

function podFact(p: PodObj): PodFact {
  const alloc = parseIpAllocationAnnotation(p.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION]);
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    ip: p.status?.podIP,
    node: p.spec?.nodeName,
    phase: p.status?.phase,
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    logicalSwitchPort: alloc?.logicalSwitchPort,
    logicalSwitch: alloc?.logicalSwitch,
    mac: alloc?.mac,
  };
}

const selectorQuery = (sel: Record<string, string>) =>
  Object.entries(sel)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

function crd(kind: 'YusurService' | 'NetworkProbe' | 'Eip' | 'EipPool') {
  const r = crdResources[kind];
  return resourceType(r.group, r.version, r.plural, r.kind, r.namespaced);
}

const readyOf = (conditions?: ConditionFact[]) => conditions?.find((c) => c.type === 'Ready');

function eipFact(e: EipObj): EipFact {
  const ready = readyOf(e.status?.conditions);
  return {
    name: e.metadata?.name ?? '',
    pool: e.spec?.pool ?? '',
    ...(e.status?.address ? { address: e.status.address } : {}),
    ...(e.spec?.binding ? { binding: e.spec.binding } : {}),
    ...(e.status?.vpc ? { vpc: e.status.vpc } : {}),
    ...(ready ? { ready } : {}),
  };
}

/**
 * Reads what Kubernetes says about a target (and the source pod) with the user's kubeconfig. An Eip asked by name
 * is diagnosed as the Service it is bound to, from outside; from outside, the Eip, its pool and the Nodes are read
 * too.
 */
export async function collectKube(
  kube: KubeClient,
  request: DiagnoseRequest,
  source: DiagnoseSource,
): Promise<KubeFacts> {
  if (request.kind !== 'Eip') {
    const facts = await collectService(kube, request, source);
    if (source.kind === 'external' && facts.service) await collectExternal(kube, facts);
    return facts;
  }
  let eip: EipFact;
  try {
    eip = eipFact(await kube.get<EipObj>(crd('Eip'), undefined, request.name));
  } catch (e) {
    const error = isNotFound(e) ? `Eip ${request.name} not found` : (e as Error).message;
    const facts: KubeFacts = {
      target: { kind: 'Service', namespace: '', name: request.name },
      selectedPods: [],
      endpointSlices: [],
      events: [],
      probes: [],
      eipAsked: request.name,
      eipError: error,
    };
    return facts;
  }
  const b = eip.binding;
  const target: DiagnoseTarget =
    b && (b.kind === 'Service' || b.kind === 'YusurService')
      ? { kind: b.kind, namespace: b.namespace, name: b.name }
      : { kind: 'Service', namespace: '', name: '' };
  const facts =
    b && target.name
      ? await collectService(kube, target, source)
      : { target, selectedPods: [], endpointSlices: [], events: [], probes: [] };
  facts.eip = eip;
  facts.eipAsked = request.name;
  if (!b) facts.eipError = `Eip ${eip.name} is bound to nothing (spec.binding is empty)`;
  await collectExternal(kube, facts);
  return facts;
}

/** The Eip of the target (bound to it, or holding its ingress address), its pool and the Nodes. */
async function collectExternal(kube: KubeClient, facts: KubeFacts): Promise<void> {
  const t = facts.target;
  const nodes = kube
    .list<NodeObj>(Resources.nodes)
    .then((l) =>
      l.items.map((n) => ({
        name: n.metadata?.name ?? '',
        ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
        externalIPs: (n.status?.addresses ?? []).filter((a) => a.type === 'ExternalIP').map((a) => a.address),
      })),
    )
    .catch(() => undefined);
  if (!facts.eip && facts.service?.type === 'LoadBalancer') {
    const ingress = facts.service.ingressIPs ?? [];
    const eips = await kube.list<EipObj>(crd('Eip')).catch(() => ({ items: [] as EipObj[] }));
    const found = eips.items.find((e) => {
      const b = e.spec?.binding;
      if (b) return b.kind === t.kind && b.namespace === t.namespace && b.name === t.name;
      return !!e.status?.address && ingress.includes(e.status.address);
    });
    if (found) facts.eip = eipFact(found);
  }
  if (facts.eip?.pool) {
    try {
      const p = await kube.get<EipPoolObj>(crd('EipPool'), undefined, facts.eip.pool);
      const ready = readyOf(p.status?.conditions);
      facts.eipPool = {
        name: p.metadata?.name ?? '',
        networkName: p.spec?.networkName ?? '',
        gatewayNodes: p.spec?.gatewayNodes ?? [],
        ...(p.status?.activeGatewayNode ? { activeGatewayNode: p.status.activeGatewayNode } : {}),
        ...(ready ? { ready } : {}),
      };
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  const n = await nodes;
  if (n) facts.nodes = n;
}

async function collectService(kube: KubeClient, target: DiagnoseTarget, source: DiagnoseSource): Promise<KubeFacts> {
  const facts: KubeFacts = { target, selectedPods: [], endpointSlices: [], events: [], probes: [] };
  const ns = target.namespace;
  const sourcePod =
    source.kind === 'pod'
      ? kube.get<PodObj>(Resources.pods, source.namespace, source.name).then(podFact, (e: Error) => {
          facts.sourceError = isNotFound(e) ? `pod ${source.namespace}/${source.name} not found` : e.message;
          return undefined;
        })
      : Promise.resolve(undefined);
  let selector: Record<string, string> | undefined;
  try {
    if (target.kind === 'Service') {
      const s = await kube.get<ServiceObj>(Resources.services, ns, target.name);
      selector = s.spec?.selector && Object.keys(s.spec.selector).length ? s.spec.selector : undefined;
      facts.service = serviceFact(s, selector);
    } else {
      const y = await kube.get<YusurServiceObj>(crd('YusurService'), ns, target.name);
      const podBackend = (y.spec?.backends ?? []).find((b) => b.kind === 'Pod');
      selector = podBackend?.selector?.matchLabels;
      facts.service = {
        type: 'ClusterIP',
        clusterIPs: y.status?.clusterIPs ?? [],
        ports: (y.spec?.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
        selector,
        labels: y.metadata?.labels ?? {},
        sessionAffinity: y.spec?.sessionAffinity,
        affinityTimeoutSeconds: y.spec?.sessionAffinityTimeoutSeconds,
        conditions: y.status?.conditions ?? [],
      };
    }
  } catch (e) {
    facts.error = isNotFound(e) ? `${target.kind} ${ns}/${target.name} not found` : (e as Error).message;
    facts.sourcePod = await sourcePod;
    return facts;
  }
  const [pods, slices, events, probes] = await Promise.all([
    selector ? kube.list<PodObj>(Resources.pods, ns, { labelSelector: selectorQuery(selector) }) : { items: [] },
    target.kind === 'Service'
      ? kube.list<SliceObj>(Resources.endpointSlices, ns, { labelSelector: `${SERVICE_NAME_LABEL}=${target.name}` })
      : { items: [] as SliceObj[] },
    kube
      .list<EventObj>(Resources.coreEvents, ns, {
        fieldSelector: `involvedObject.kind=${target.kind},involvedObject.name=${target.name}`,
      })
      .catch(() => ({ items: [] as EventObj[] })),
    kube.list<ProbeObj>(crd('NetworkProbe'), ns).catch(() => ({ items: [] as ProbeObj[] })),
  ]);
  facts.selectedPods = pods.items.filter((p) => !p.metadata?.deletionTimestamp).map(podFact);
  facts.endpointSlices =
    target.kind === 'Service' ? slices.items.map(sliceFact) : [yusurSlice(facts.selectedPods, facts.service!)];
  facts.events = events.items.map(eventFact).sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
  facts.probes = probes.items.flatMap((p): ProbeResultFact[] =>
    (p.status?.targets ?? []).map((t) => ({
      probe: p.metadata?.name ?? '',
      target: t.target,
      address: t.address,
      healthy: t.healthy,
      message: t.message,
    })),
  );
  facts.sourcePod = await sourcePod;
  return facts;
}

function serviceFact(s: ServiceObj, selector: Record<string, string> | undefined): ServiceFact {
  const spec = s.spec ?? {};
  return {
    type: spec.type ?? 'ClusterIP',
    clusterIPs: spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []),
    ports: (spec.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
    selector,
    labels: s.metadata?.labels ?? {},
    sessionAffinity: spec.sessionAffinity,
    affinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds,
    publishNotReadyAddresses: spec.publishNotReadyAddresses,
    ingressIPs: (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip),
    ...(spec.externalTrafficPolicy ? { externalTrafficPolicy: spec.externalTrafficPolicy } : {}),
  };
}

function sliceFact(s: SliceObj): EndpointSliceFact {
  return {
    name: s.metadata?.name ?? '',
    addressType: s.addressType ?? 'IPv4',
    ports: s.ports ?? [],
    endpoints: (s.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      ready: e.conditions?.ready,
      serving: e.conditions?.serving,
      terminating: e.conditions?.terminating,
      nodeName: e.nodeName,
      podName: e.targetRef?.kind === 'Pod' ? e.targetRef.name : undefined,
    })),
  };
}

/** A YusurService has no EndpointSlices: its selected pods, by readiness, stand in for them. */
function yusurSlice(pods: PodFact[], svc: ServiceFact): EndpointSliceFact {
  return {
    name: '(selected pods)',
    addressType: 'IPv4',
    ports: svc.ports.map((p) => ({
      name: p.name,
      protocol: p.protocol,
      port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
    })),
    endpoints: pods
      .filter((p) => p.ip && !p.ip.includes(':'))
      .map((p) => ({
        addresses: [p.ip!],
        ready: p.ready,
        serving: p.ready,
        terminating: false,
        nodeName: p.node,
        podName: p.name,
      })),
  };
}

function eventFact(e: EventObj): EventFact {
  return {
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
    count: e.series?.count ?? e.count ?? 1,
    time: e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp?.toString(),
    source: e.reportingComponent || e.source?.component,
  };
}
