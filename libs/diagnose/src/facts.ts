/**
 * Snapshots diagnose judges: plain data gathered from Kubernetes, OVN Northbound/Southbound and a node's Open
 * vSwitch. The checks are pure functions of these, so every verdict can be unit-tested from a literal.
 */

export type TargetKind = 'Service' | 'YusurService';

export interface DiagnoseTarget {
  kind: TargetKind;
  namespace: string;
  name: string;
}

/** What the user asked to diagnose: a service, or an Eip (diagnosed as the service it is bound to, from outside). */
export type DiagnoseRequest = DiagnoseTarget | { kind: 'Eip'; name: string };

/** Where the traffic comes from. */
export type DiagnoseSource =
  { kind: 'pod'; namespace: string; name: string } | { kind: 'node'; name: string } | { kind: 'external' };

export interface ServicePortFact {
  name?: string;
  protocol: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

/** The Service (or YusurService, normalised to the same shape). */
export interface ServiceFact {
  type: string;
  clusterIPs: string[];
  ports: ServicePortFact[];
  /** Undefined: no selector (endpoints managed by hand). */
  selector?: Record<string, string>;
  labels: Record<string, string>;
  sessionAffinity?: string;
  affinityTimeoutSeconds?: number;
  publishNotReadyAddresses?: boolean;
  /** YusurService status conditions (type, status, reason, message). */
  conditions?: ConditionFact[];
  /** status.loadBalancer.ingress addresses (a LoadBalancer Service's EIP). */
  ingressIPs?: string[];
  externalTrafficPolicy?: string;
}

/** An Eip object (cluster-scoped) as diagnose reads it. */
export interface EipFact {
  name: string;
  pool: string;
  address?: string;
  binding?: { kind: string; namespace: string; name: string };
  /** The Vpc of the bound service (status.vpc). */
  vpc?: string;
  ready?: ConditionFact;
}

export interface EipPoolFact {
  name: string;
  networkName: string;
  gatewayNodes: string[];
  activeGatewayNode?: string;
  ready?: ConditionFact;
}

export interface NodeObjectFact {
  name: string;
  /** The Ready condition is True. */
  ready: boolean;
  externalIPs: string[];
}

export interface ConditionFact {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface PodFact {
  namespace: string;
  name: string;
  ip?: string;
  node?: string;
  ready: boolean;
  phase?: string;
  /** OVN logical switch port, switch and MAC (from ycloud's ip-allocation annotation). */
  logicalSwitchPort?: string;
  logicalSwitch?: string;
  mac?: string;
}

export interface EndpointFact {
  addresses: string[];
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  nodeName?: string;
  /** Pod name when the endpoint is a pod. */
  podName?: string;
}

export interface EndpointSliceFact {
  name: string;
  addressType: string;
  ports: Array<{ name?: string; port?: number; protocol?: string }>;
  endpoints: EndpointFact[];
}

export interface EventFact {
  type: string;
  reason: string;
  message: string;
  count: number;
  /** ISO time of the last occurrence. */
  time?: string;
  source?: string;
}

export interface ProbeResultFact {
  probe: string;
  target: string;
  address?: string;
  healthy: boolean;
  message?: string;
}

export interface KubeFacts {
  target: DiagnoseTarget;
  /** Undefined when the object does not exist (see `error`). */
  service?: ServiceFact;
  error?: string;
  /** Pods the selector matches (same namespace). */
  selectedPods: PodFact[];
  endpointSlices: EndpointSliceFact[];
  /** Events about the object, newest last. */
  events: EventFact[];
  probes: ProbeResultFact[];
  /** The client pod, when the source is a pod. */
  sourcePod?: PodFact;
  sourceError?: string;
  /** The Eip the user asked to diagnose by name (`eip NAME`). */
  eipAsked?: string;
  /** External source: the Eip of the target (asked by name, or bound to the Service) and its pool. */
  eip?: EipFact;
  /** Why no Eip was found (asked by name). */
  eipError?: string;
  eipPool?: EipPoolFact;
  /** External source: the cluster's Nodes (gateway node readiness, NodePort addresses). */
  nodes?: NodeObjectFact[];
}

export interface NbLoadBalancerFact {
  uuid: string;
  name: string;
  protocol?: string;
  vips: Record<string, string>;
  options: Record<string, string>;
  selectionFields: string[];
  externalIds: Record<string, string>;
  /** Owned by ycloud for this target (external_ids owner). */
  owned: boolean;
  groups: string[];
  switches: string[];
  routers: string[];
}

export interface NbGroupFact {
  name: string;
  switches: string[];
  routers: string[];
}

export interface NorthboundFacts {
  /** The replica answering is not the leader (has no NB connection). */
  standby?: boolean;
  connected: boolean;
  /** Load balancers owned by the target or holding one of the asked VIPs. */
  loadBalancers: NbLoadBalancerFact[];
  /** Groups holding one of those load balancers, with the switches and routers they are attached to. */
  groups: NbGroupFact[];
  /** VPC name -> every logical switch of the VPC (attached to its router). */
  vpcSwitches: Record<string, string[]>;
  /** Switch name -> MAC of its VPC router port (the first hop's eth.dst, for ovn-trace). */
  routerMacs?: Record<string, string>;
  /** The journal's last change for the target, when the controller keeps a journal. */
  lastChange?: { time: string; summary: string };
  /** The rows of an EIP path, when asked (query eip, pool, vpc). */
  eipPath?: NbEipPathFacts;
}

export interface NbRouteFact {
  prefix: string;
  nexthop: string;
  outputPort?: string;
}

export interface NbNatFact {
  type: string;
  externalIp: string;
  logicalIp: string;
  stateless: boolean;
}

/** The Northbound rows an EIP's traffic crosses (docs/adr/0001-eip-gateway.md), looked up by ycloud's names. */
export interface NbEipPathFacts {
  address: string;
  pool: string;
  vpc: string;
  /** The pool's gateway router `eip-<pool>-gw`. */
  poolRouter?: { name: string; chassis?: string; ports: string[]; routes: NbRouteFact[]; nats: NbNatFact[] };
  /** Logical switch ports on the pool's external switch (with the localnet's network_name) and transit switch. */
  externalSwitch?: { name: string; ports: string[]; localnetNetwork?: string };
  transitSwitch?: { name: string; ports: string[] };
  /** The VPC router and its gateway port towards the pool (the DGP). */
  vpcRouter?: {
    name: string;
    gatewayPort?: { name: string; networks: string[]; gatewayChassis: Array<{ chassis: string; priority: number }> };
    routes: NbRouteFact[];
  };
}

export interface SbLogicalFlowFact {
  /** `ip:port` or `ip` the match names. */
  vip: string;
  stage: string;
  datapaths: string[];
  actions: string;
}

export interface SbPortBindingFact {
  logicalPort: string;
  chassis?: string;
  up?: boolean;
  type?: string;
}

export interface SbChassisFact {
  name: string;
  hostname?: string;
  /** Chassis_Private.nb_cfg: the last NB configuration this chassis applied. */
  nbCfg?: number;
}

export interface SouthboundFacts {
  /** SB_Global.nb_cfg: the configuration northd has propagated. */
  nbCfg: number;
  lflows: SbLogicalFlowFact[];
  portBindings: SbPortBindingFact[];
  chassis: SbChassisFact[];
}

export interface OfGroupBucketFact {
  /** `ip:port` the bucket sends to (from its nat(dst=...)). */
  backend: string;
  packets: number;
  bytes: number;
}

export interface OfGroupFact {
  id: number;
  buckets: OfGroupBucketFact[];
}

export interface NodeFacts {
  node: string;
  ovnController: { running: boolean; connected?: boolean; detail: string };
  datapath: { reachable: boolean; detail: string };
  groups: OfGroupFact[];
  /** SmartNIC / DPU mode only: whether the VIPs' datapath flows are offloaded, as OVS reports it. */
  offload?: OffloadFacts | Unavailable;
}

/** What the node's Open vSwitch says about offloading the VIPs' datapath flows (smartnic / dpu mode). */
export interface OffloadFacts {
  /** The agent's mode (smartnic, dpu). */
  mode: string;
  /** other_config:hw-offload ('' when unset). */
  hwOffload: string;
  /** The datapath `dpctl/show` names: `netdev@ovs-netdev` (userspace) or `system@ovs-system` (kernel). */
  datapath: string;
  /** Datapath flows `dpctl/dump-flows type=offloaded` lists, all VIPs together. */
  offloadedFlows: number;
  /** Per VIP key: its datapath flows offloaded (type=offloaded) and in software (type=ovs). */
  vips: Record<string, { offloaded: number; software: number }>;
}

/** A node's NodePort programming (the agent's `table ip ycloud`, docs/adr/0005-nodeport-from-outside.md). */
export interface NodePortFacts {
  node: string;
  /** The table exists in the node's host namespace. */
  table: boolean;
  /** The rules of its `nodeports` chain. */
  rules: Array<{ protocol: string; nodePort: number; dnatTo?: string }>;
  /** net.ipv4.ip_forward is 1. */
  ipForward: boolean;
  detail: string;
}

/** What `ovn-trace` made of a synthetic packet from the source to the VIP (summarised). */
export interface TraceFacts {
  /** Backends of the load-balancing action the packet hit, if any. */
  lbBackends?: string[];
  /** Logical ports the packet (or what replaced it) was output to, in trace order. */
  outputs: string[];
  /** The VIF (logical port of type "") the packet itself reached last. */
  delivered?: string;
  dropped: boolean;
  /** Where the packet was first dropped: the logical datapath and the pipeline stage (`lr_in_ip_routing`). */
  dropAt?: { datapath: string; stage?: string };
  /** The packet was replaced there by another (an ARP or ND request, an ICMP error, a TCP reset). */
  replacedBy?: { action: string; datapath: string; stage?: string };
  rejected: boolean;
  /** The microflow traced. */
  microflow: string;
  /** What ovn-trace warned about on stderr (e.g. flows it could not parse). */
  warnings?: string[];
}

/** A fact source that could not be read: the reason becomes an `unknown` hop. */
export interface Unavailable {
  unavailable: string;
}

export function isUnavailable(x: unknown): x is Unavailable {
  return typeof x === 'object' && x !== null && 'unavailable' in x;
}

export type Maybe<T> = T | Unavailable;

/** Everything one diagnosis looked at. */
export interface DiagnoseFacts {
  source: DiagnoseSource;
  /** Only this Service port (number or name), when asked. */
  port?: string;
  kube: KubeFacts;
  northbound: Maybe<NorthboundFacts>;
  southbound: Maybe<SouthboundFacts>;
  /** The node the client is on (pod's node or the node itself). */
  sourceNode?: Maybe<NodeFacts>;
  /** Nodes of the ready backends (other than the source node). */
  backendNodes: Record<string, Maybe<NodeFacts>>;
  /** Only with --trace, per VIP key. */
  trace?: Record<string, Maybe<TraceFacts>>;
  /** NodePort from outside: the entry node's NodePort rules. */
  nodePorts?: Maybe<NodePortFacts>;
  /** Only with --connect, per VIP key: a real TCP connection from the source node. */
  connect?: Record<string, Maybe<{ connected: boolean; ms: number; detail: string }>>;
}
