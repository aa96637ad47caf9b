import { GROUP, VERSION } from './common.types';

/** A Kubernetes API verb a component uses. */
export type AccessVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** One resource (or subresource) a component reads or writes, with the verbs it uses and why. */
export interface ResourceAccess {
  /** API group ('' = core). */
  group: string;
  /** Plural resource name. */
  resource: string;
  subresource?: string;
  verbs: readonly AccessVerb[];
  /** `cluster`: in every namespace (or cluster-scoped); `own`: only in the component's own namespace. */
  scope: 'cluster' | 'own';
  /** Objects the grant is limited to (RBAC resourceNames; not possible for create/list/watch). */
  names?: readonly string[];
  why: string;
}

const sdn = (resource: string, verbs: readonly AccessVerb[], why: string, subresource?: string): ResourceAccess => ({
  group: GROUP,
  resource,
  subresource,
  verbs,
  scope: 'cluster',
  why,
});

/** API version of ycloud's own resources (the RBAC rules name the group only). */
export const ACCESS_SDN_VERSION = VERSION;

/**
 * Everything ycloud-controller does with the Kubernetes API. deploy/ grants exactly this (a unit test compares
 * the RBAC rules with it, another scans the controller's code for the resources it touches, and an integration
 * test asks the apiserver, as the controller's ServiceAccount, for every entry).
 */
export const CONTROLLER_ACCESS: readonly ResourceAccess[] = [
  {
    group: '',
    resource: 'services',
    verbs: ['get', 'list', 'watch'],
    scope: 'cluster',
    why: 'Services become OVN LBs (get: re-read the ingress status before withdrawing an EIP)',
  },
  {
    group: '',
    resource: 'services',
    subresource: 'status',
    verbs: ['patch'],
    scope: 'cluster',
    why: "a LoadBalancer Service's ingress address (its EIP)",
  },
  {
    group: 'discovery.k8s.io',
    resource: 'endpointslices',
    verbs: ['list', 'watch'],
    scope: 'cluster',
    why: "a Service's backends",
  },
  {
    group: '',
    resource: 'nodes',
    verbs: ['list', 'watch', 'patch'],
    scope: 'cluster',
    why: 'node subnets and gateways; annotates each Node with its join address',
  },
  {
    group: '',
    resource: 'pods',
    verbs: ['list', 'watch', 'patch'],
    scope: 'cluster',
    why: 'pod ports and YusurService backends; annotates a Pod with the addresses it allocated',
  },
  {
    group: '',
    resource: 'namespaces',
    verbs: ['list', 'watch'],
    scope: 'cluster',
    why: "a namespace's VPC (label) for YusurServices",
  },
  sdn('vpcs', ['list', 'watch'], 'VPCs become logical routers'),
  sdn('subnets', ['list', 'watch'], 'Subnets become logical switches'),
  sdn('eippools', ['list', 'watch'], 'EIP pools'),
  sdn('eips', ['list', 'watch', 'create', 'patch', 'delete'], 'creates and removes the Eips of LoadBalancer Services'),
  sdn('vpcs', ['patch'], 'Ready condition', 'status'),
  sdn('subnets', ['patch'], 'Ready condition, address usage', 'status'),
  sdn('eippools', ['patch'], 'Ready condition, usage', 'status'),
  sdn('eips', ['patch'], 'Ready condition, bound address', 'status'),
  sdn('yusurservices', ['list', 'watch'], 'YusurServices become OVN LBs'),
  sdn('yusurservices', ['patch'], 'ClusterIPs, EIPs and backend health', 'status'),
  sdn('networkprobes', ['list', 'watch', 'create', 'patch', 'delete'], "a YusurService's backend probe"),
  sdn('networkprobes', ['patch'], 'probe results', 'status'),
  sdn('baremetalservers', ['list', 'watch'], 'bare-metal backends'),
  sdn('baremetalservers', ['patch'], 'allocated address', 'status'),
  sdn('vnics', ['list', 'watch'], 'VNic backends'),
  sdn('vnics', ['patch'], 'allocated address', 'status'),
  {
    group: 'kubevirt.io',
    resource: 'virtualmachineinstances',
    verbs: ['list', 'watch'],
    scope: 'cluster',
    why: 'VM backends of YusurServices, when KubeVirt is served',
  },
  {
    group: 'networking.k8s.io',
    resource: 'ipaddresses',
    verbs: ['get', 'list', 'create', 'delete'],
    scope: 'cluster',
    why: "reserves default-VPC YusurService ClusterIPs in the apiserver's own allocator",
  },
  {
    group: 'events.k8s.io',
    resource: 'events',
    verbs: ['create', 'patch'],
    scope: 'cluster',
    why: 'Events on the objects it reconciles',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['create'],
    scope: 'own',
    why: 'leader election (create cannot be limited by name)',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['get', 'update'],
    scope: 'own',
    names: ['ycloud-controller'],
    why: 'leader election: read and renew its Lease',
  },
];

/** Everything ycloud-agent (the per-node CNI agent) does with the Kubernetes API; see CONTROLLER_ACCESS. */
export const AGENT_ACCESS: readonly ResourceAccess[] = [
  {
    group: '',
    resource: 'pods',
    verbs: ['get', 'list', 'patch'],
    scope: 'cluster',
    why: "reads a pod's addresses (annotation) at CNI ADD; DPU modes list the host's pods and annotate them",
  },
  {
    group: '',
    resource: 'nodes',
    verbs: ['get', 'list', 'watch', 'patch'],
    scope: 'cluster',
    why:
      'reports its offload mode and VF usage as a label and an annotation on its Node; watches its own Node ' +
      '(field selector) for the health-check node ports',
  },
  {
    group: '',
    resource: 'nodes',
    subresource: 'status',
    verbs: ['patch'],
    scope: 'cluster',
    why: "reports its node's datapath health (ovs-vswitchd, ovn-controller) as the YcloudDatapathReady condition",
  },
  {
    group: 'events.k8s.io',
    resource: 'events',
    verbs: ['create', 'patch'],
    scope: 'cluster',
    why: 'Events on its Node when the datapath goes down or comes back',
  },
  {
    group: '',
    resource: 'services',
    verbs: ['list', 'watch'],
    scope: 'cluster',
    why: "NodePort programmer: the node's NodePort rules",
  },
  {
    group: 'discovery.k8s.io',
    resource: 'endpointslices',
    verbs: ['list', 'watch'],
    scope: 'cluster',
    why: 'NodePort programmer: Local traffic policy needs the endpoints',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['get', 'create', 'update'],
    scope: 'own',
    why: 'DPU modes: the DPU side renews a Lease per host the host side checks',
  },
];

/** ServiceAccount name (in the install namespace) of each component, as deploy/ names them. */
export const COMPONENT_ACCESS = {
  'ycloud-controller': CONTROLLER_ACCESS,
  'ycloud-agent': AGENT_ACCESS,
} as const;
