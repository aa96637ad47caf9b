/**
 * Names that cross a process boundary: annotations and labels on Kubernetes objects, external_ids keys on the
 * Northbound rows ycloud owns, and the owner kinds recorded there. One writes them and another reads them (often
 * another process, or the same one after a restart), so each is defined here once, with who writes and who reads
 * it. The row-ownership keys themselves (`ycloud.io/controller`, `ycloud.io/owner`...) are the applier's contract
 * and live with it (OWNERSHIP in @ycloud/ovn).
 */

// Annotations.

/** Pod. The controller (pod network) writes the pod's addresses, MAC and gateway; the CNI agent plumbs them. */
export const IP_ALLOCATION_ANNOTATION = 'ycloud.io/ip-allocation';
/**
 * Node. The controller (node network) writes the node's join-subnet allocation (same JSON as
 * IP_ALLOCATION_ANNOTATION); the CNI agent plugs the node's port `ycloud0` from it.
 */
export const NODE_ALLOCATION_ANNOTATION = 'ycloud.io/node-allocation';
/** Pod. Users write the Subnet to allocate from; the controller (pod network) reads it. */
export const POD_SUBNET_ANNOTATION = 'ycloud.io/subnet';
/**
 * Node. The operator (or the node's installer) writes the node's OVN chassis name (its OVS system-id) when it is
 * not the node name; the controller (node network, Services) and `ycloud translate` key Chassis_Template_Var by it.
 */
export const CHASSIS_ANNOTATION = 'ycloud.io/chassis';
/** Service of type LoadBalancer. Users name an existing Eip; the controller (Service EIP) binds it. */
export const EIP_ANNOTATION = 'ycloud.io/eip';
/** Service of type LoadBalancer. Users name the EipPool to allocate from; the controller (Service EIP) reads it. */
export const EIP_POOL_ANNOTATION = 'ycloud.io/eip-pool';
/** Node. The CNI agent writes its offload capability (JSON); operators and `ycloud` tooling read it. */
export const OFFLOAD_ANNOTATION = 'ycloud.io/offload';
/** Pod. The host's CNI agent (dpu-host mode) writes which VF it gave the pod; the DPU's agent reads it. */
export const DPU_CONNECTION_DETAILS_ANNOTATION = 'ycloud.io/dpu-connection-details';
/** Pod. The DPU's agent writes whether the representor is plugged; the host's CNI agent waits for it. */
export const DPU_CONNECTION_STATUS_ANNOTATION = 'ycloud.io/dpu-connection-status';

// Labels.

/** EndpointSlice. Kubernetes' own: the endpoint-slice controller (or a user) writes it; every Service reader matches slices by it. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Node. Operators mark EIP gateway candidates; the CNI agent bridges the external network on them. */
export const EIP_GATEWAY_LABEL = 'ycloud.io/eip-gateway';
/** Node. The CNI agent writes its offload mode; operators select nodes by it. */
export const OFFLOAD_MODE_LABEL = 'ycloud.io/offload-mode';
/** Eip. The controller (Service EIP) marks Eips it created for a Service (`<namespace>.<name>`), to delete them with it. */
export const SERVICE_EIP_LABEL = 'ycloud.io/service';
/** Eip. The controller (YusurService) marks Eips it created for a YusurService, to delete them with it. */
export const YUSUR_SERVICE_EIP_LABEL = 'ycloud.io/yusur-service';
/** Vpc, Subnet. The controller marks the objects of the default topology it created; it alone deletes them. */
export const BUILTIN_LABEL = 'sdn.ycloud.io/builtin';
/**
 * Service. Kubernetes' own: a Service carrying it (any value) belongs to another service proxy. The controller and
 * the CNI agent (NodePorts, health checks) leave such Services alone, as kube-proxy does.
 */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
/** Service. Kubernetes' own: a Service carrying it gets no VIPs from a proxy (kube-proxy's informer filter). */
export const SERVICE_HEADLESS_LABEL = 'service.kubernetes.io/headless';
/**
 * The label selector of the Services a proxy serves (kube-proxy's): neither label present. On the controller's and
 * the CNI agent's Service informers, so a Service that gains a label looks deleted and one that loses it, added.
 */
export const PROXIED_SERVICES_SELECTOR = `!${SERVICE_PROXY_NAME_LABEL},!${SERVICE_HEADLESS_LABEL}`;

// Other names.

/**
 * Service `spec.loadBalancerClass`. Users set it; the controller (Service EIP) gives EIPs to Services with no class
 * or this one (the default of the config's `eip.loadBalancerClass`) and leaves every other class alone.
 */
export const DEFAULT_LOAD_BALANCER_CLASS = 'ycloud.io/eip';

/**
 * external_ids keys on Northbound rows ycloud owns, beyond ownership. Translators write them; the controller reads
 * them back after a restart, and operators and `ycloud` tooling read them to tell rows apart.
 */
export const EXTERNAL_IDS = {
  /** Load_Balancer, service-gateway rows: the Service or YusurService (`namespace/name`). */
  service: 'ycloud.io/service',
  /** Load_Balancer: the VPC it serves. */
  vpc: 'ycloud.io/vpc',
  /** Load_Balancer of a Service: tcp, udp or sctp. */
  protocol: 'ycloud.io/protocol',
  /** Load_Balancer of a Service: `Local` on its per-chassis template LBs. */
  trafficPolicy: 'ycloud.io/traffic-policy',
  /** Load_Balancer of a YusurService: `cluster` or `eip`. */
  scope: 'ycloud.io/scope',
  /** Logical_Router: `service-gateway` (SERVICE_GATEWAY_ROLE). */
  role: 'ycloud.io/role',
  /** Router Load_Balancer of a Service EIP, service-gateway router: the EIP address it serves. */
  eip: 'ycloud.io/eip',
  /** Service-gateway router: the EipPool of its EIP (the controller re-seeds EIP bookkeeping from it). */
  eipPool: 'ycloud.io/eip-pool',
  /** Service-gateway link switch: which link (`eip` or `vpc/<name>`); the controller rebuilds its links from it. */
  link: 'ycloud.io/link',
  /** Service-gateway link switch: the link's network. */
  linkCidr: 'ycloud.io/link-cidr',
} as const;

/** EXTERNAL_IDS.role of a service-gateway router. */
export const SERVICE_GATEWAY_ROLE = 'service-gateway';

/**
 * Owner kinds (external_ids `ycloud.io/owner-kind` of every owned row). Translators and controllers write them;
 * start-up repair, the change journal and `ycloud journal` read them.
 */
export const OWNER_KINDS = {
  Service: 'Service',
  /** The router LBs of a LoadBalancer Service's EIP (the Service's own LBs are owned by `Service`). */
  ServiceEip: 'ServiceEip',
  YusurService: 'YusurService',
  Node: 'Node',
  Pod: 'Pod',
  ProbePort: 'ProbePort',
  Vpc: 'Vpc',
  Subnet: 'Subnet',
  EipPool: 'EipPool',
  Eip: 'Eip',
  /** The default VPC's gateway rows (its router port to the EIP pool), owned by no Kubernetes object. */
  VpcGateway: 'VpcGateway',
  /**
   * A VPC's IPv6 route and drop policy that let its IPv6 Local NodePort reply routes be reached (docs/adr/0011),
   * written by the Service controller; named by the VPC.
   */
  NodeReplyGateway: 'NodeReplyGateway',
  BareMetalServer: 'BareMetalServer',
  VNic: 'VNic',
} as const;

/**
 * Node condition type. The CNI agent writes it (status True/False, a DATAPATH_REASONS reason, the evidence in the
 * message) from what it sees of the node's ovs-vswitchd and ovn-controller; `ycloud sandbox status` and the
 * YusurService and NetworkProbe controllers read it.
 */
export const DATAPATH_READY_CONDITION = 'YcloudDatapathReady';

/** Reasons of DATAPATH_READY_CONDITION (also the reasons of the agent's Events on the Node). */
export const DATAPATH_REASONS = {
  /** Both daemons answer, ovn-controller is connected to SB and caught up. */
  ready: 'DatapathReady',
  /** ovs-vswitchd does not answer on its unixctl socket (dead, or no pidfile). */
  vswitchdDown: 'OvsVswitchdDown',
  /** ovn-controller does not answer on its unixctl socket. */
  controllerDown: 'OvnControllerDown',
  /** ovn-controller answers but is not connected to the Southbound database. */
  controllerDisconnected: 'OvnControllerDisconnected',
  /** ovn-controller is connected but has not installed the SB's nb_cfg for longer than the agent's grace. */
  controllerBehind: 'OvnControllerBehind',
} as const;

/**
 * Service status condition the controller sets (True) once it has routed the replies of the Service's Local
 * endpoints back to their nodes (docs/adr/0005); only then do the node agents stop masquerading its NodePort and
 * externalIP connections. Absent: masqueraded (the backend sees the node's join address).
 */
export const CLIENT_ADDRESS_KEPT_CONDITION = 'ycloud.io/ClientAddressKept';

type ServiceLike = {
  spec?: { externalTrafficPolicy?: string; type?: string };
  status?: {
    loadBalancer?: { ingress?: Array<{ ip?: string }> };
    conditions?: Array<{ type?: string; status?: string }>;
  };
};

/**
 * Whether a Service's node rules may keep the client's address (no masquerade): `externalTrafficPolicy: Local`,
 * unless the Service also has a LoadBalancer address, whose replies must go back through the VPC router's load
 * balancer (ADR 0001) and so cannot also be routed back to a node. The controller adds reply routes for these.
 */
export function nodePortMayKeepClientAddress(svc: ServiceLike): boolean {
  if (svc.spec?.externalTrafficPolicy !== 'Local') return false;
  const ingress = svc.spec?.type === 'LoadBalancer' ? (svc.status?.loadBalancer?.ingress ?? []) : [];
  return !ingress.some((i) => !!i.ip);
}

/** Whether the node agent keeps the client's address: it may, and the controller says the replies are routed. */
export function nodePortKeepsClientAddress(svc: ServiceLike): boolean {
  const routed = (svc.status?.conditions ?? []).some(
    (c) => c.type === CLIENT_ADDRESS_KEPT_CONDITION && c.status === 'True',
  );
  return routed && nodePortMayKeepClientAddress(svc);
}
