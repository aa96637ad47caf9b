/**
 * The read-only HTTP routes diagnose reads through ycloud's own components. Defined once: the controller and the
 * node agent serve them, the CLI calls them (directly or through the kube-apiserver's proxy).
 */
export const DIAGNOSE_ROUTES = {
  /**
   * Controller: the Northbound rows of one Service or YusurService (query: kind, namespace, name, vips; with eip,
   * pool and vpc also the rows of that EIP's path).
   */
  northbound: '/diagnose/v1/northbound',
  /** Node agent: Southbound rows for VIPs, logical ports and chassis (query: vips, ports, chassis). */
  southbound: '/diagnose/v1/southbound',
  /** Node agent: its node's ovn-controller and the OpenFlow groups of VIPs (query: vips = ip:port/protocol). */
  node: '/diagnose/v1/node',
  /** Node agent: ovn-trace of a synthetic packet to a VIP (query: the TraceQuery fields). */
  trace: '/diagnose/v1/trace',
  /** Node agent: one TCP connection attempt to a VIP from the node, or from a pod on it (query: vips = one ip:port, pod). */
  connect: '/diagnose/v1/connect',
  /** Node agent: its node's NodePort rules (the agent's nftables table) and IPv4 forwarding. */
  nodePort: '/diagnose/v1/nodeport',
} as const;

/** Query parameter names of the routes above (comma-separated lists). */
export const DIAGNOSE_QUERY = {
  kind: 'kind',
  namespace: 'namespace',
  name: 'name',
  vips: 'vips',
  ports: 'ports',
  chassis: 'chassis',
  eip: 'eip',
  pool: 'pool',
  vpc: 'vpc',
  /** The source pod's logical switch port (connect from inside the pod). */
  pod: 'pod',
} as const;

/** Where diagnose finds ycloud's components in a cluster (deploy/base names them so). */
export const DIAGNOSE_DEFAULTS = {
  namespace: 'ycloud-system',
  /** Service in front of the controller's ops port (its metrics port). */
  controllerService: 'ycloud-controller-metrics',
  controllerPort: 'metrics',
  /** Label of the node agent's pods, and the port its ops server listens on when the pod names no `metrics` port. */
  agentSelector: 'app.kubernetes.io/name=ycloud-agent',
  agentPort: 9182,
} as const;

/** Splits a comma-separated query value; empty parts dropped. */
export function queryList(value: string | null | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
