/**
 * The one load-balancer model. Every source of VIPs (Kubernetes Services, YusurServices, the Service EIP on a VPC
 * router, the service-gateway) describes what it wants as LoadBalancerSpecs: frontends (a VIP and where it is
 * attached) with their candidate backends and options. One builder (load-balancer.builder.ts) turns them into
 * Load_Balancer rows, so a change to load-balancing behaviour is made and tested once.
 */
import type { ParsedIp } from '@ycloud/api';

/** Protocols an OVN Load_Balancer balances. */
export type LbProtocol = 'tcp' | 'udp' | 'sctp';

const LB_PROTOCOLS: Readonly<Record<string, LbProtocol>> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/** For messages: the Kubernetes protocol names lbProtocolOf accepts. */
export const SUPPORTED_PROTOCOLS = Object.keys(LB_PROTOCOLS).join(', ');

/** The LB protocol of a Kubernetes protocol name (unset means TCP); undefined for one OVN cannot balance. */
export function lbProtocolOf(protocol: string | null | undefined): LbProtocol | undefined {
  return Object.hasOwn(LB_PROTOCOLS, protocol ?? 'TCP') ? LB_PROTOCOLS[protocol ?? 'TCP'] : undefined;
}

/** Where a VIP takes traffic from (a router LB for north-south traffic is built from the `external` ones). */
export type VipScope = 'cluster' | 'node' | 'external';

/** One candidate backend of a frontend; the builder picks the usable ones (see selectBackends). */
export interface LbBackend {
  address: ParsedIp;
  port: number;
  /** Ready to take new connections (Kubernetes: ready and not terminating). */
  ready: boolean;
  /** Serving: used with `terminating` for the drain fallback when no backend is ready. */
  serving: boolean;
  terminating: boolean;
  /** False when ycloud's own probes say the backend is down: it is never used. Unset means healthy. */
  healthy?: boolean;
  /** Node the backend runs on (node-local traffic policies). */
  node?: string;
  /** Topology zone, for topology-aware routing. */
  zone?: string;
  /**
   * EndpointSlice hints (`hints.forZones` / `forNodes`, set for `trafficDistribution`): the zones and nodes whose
   * traffic this backend should take. Honoured only by `topology` frontends (see selectTopologyBackends).
   */
  hints?: { zones: string[]; nodes: string[] };
}

/** One VIP: address, port and the backends that may serve it. */
export interface LbFrontend {
  address: ParsedIp;
  port: number;
  scope: VipScope;
  backends: LbBackend[];
  /**
   * Only this node's backends serve the VIP (a NodePort VIP of a Service with externalTrafficPolicy Local: the VIP
   * names its node, so no per-chassis template is needed).
   */
  backendNode?: string;
  /**
   * Honour the backends' topology hints per node, as kube-proxy does for cluster traffic; only on per-chassis
   * (template) LBs, whose backends differ per chassis.
   */
  topology?: boolean;
  /**
   * Honour the backends' topology hints as this node would (a NodePort VIP with externalTrafficPolicy Cluster of a
   * hinted Service: the VIP names its node, so the regular LB can hold that node's choice).
   */
  topologyNode?: LbNode;
  /**
   * Every backend serves the VIP (no node-local choice), but on per-chassis (template) LBs: a node's own
   * host-network backends are reached through its join address there (see ownHostBackendsViaJoin).
   */
  hostNetworkBackends?: boolean;
}

/** Where a Load_Balancer row is attached, which decides which traffic it sees. */
export type LbAttachment =
  /** A VPC's Load_Balancer_Group: every logical switch of the VPC (east-west). */
  | { kind: 'switch-group'; key: string }
  /** A VPC's router: traffic arriving through its gateway port (north-south, ADR 0001). */
  | { kind: 'vpc-router'; key: string }
  /** A service-gateway router, whose row (built by its source) references the LB itself (ADR 0004). */
  | { kind: 'service-gateway' };

/** Per-LB options, derived once from the source's policy (see lbOptions). */
export interface LbOptions {
  /** A VIP without backends answers with TCP RST / ICMP unreachable instead of dropping. */
  reject: boolean;
  /** Session affinity by client address, in seconds (OVN keeps it in a 16-bit idle timeout). */
  affinityTimeout?: number;
  /** Load_Balancer.selection_fields: what OVS hashes on to pick a backend; empty means OVS's default dp_hash. */
  selectionFields: string[];
}

/** A Load_Balancer row as a source wants it: identity, attachment, options and frontends of one protocol. */
export interface LoadBalancerSpec {
  /** Stable row key: how apply finds the row again. */
  key: string;
  name: string;
  protocol: LbProtocol;
  attachment: LbAttachment;
  /** Identity of the source (service, vpc, scope...); the builder sorts them. */
  externalIds: Record<string, string>;
  options: LbOptions;
  /**
   * Node-local backends: a template LB whose VIPs and backends are per-chassis variables, so every chassis
   * balances to its own node's backends only (OVN 23.03 applies switch LBs on every chassis; ADR 0002). One
   * address family per template LB (`address-family` is per LB).
   */
  perChassis?: { family: 4 | 6 };
  frontends: LbFrontend[];
}

/** A node as per-chassis LBs need it: its name (matched against backends' `node`) and its OVN chassis. */
export interface LbNode {
  name: string;
  chassis: string;
  /** `topology.kubernetes.io/zone` of the node, for topology hints. */
  zone?: string;
  /** The node's own addresses (InternalIPs): a host-network backend on this node has one of them. */
  addresses?: ParsedIp[];
  /** The node's join addresses (its ycloud0 port), one per family. */
  joinAddresses?: ParsedIp[];
}
