/**
 * The EIP paths of `ycloud bench datapath` (test bed): the objects that put the benchmark's servers behind an EIP.
 * - `eip-external`: a LoadBalancer Service of the default VPC gets an EIP from a pool on the sandbox's external
 *   network; an outside client reaches it through the pool's gateway router on node-1. kube-proxy's counterpart is
 *   the same LoadBalancer Service with an ingress address routed to node-1 (as a BGP or ARP load-balancer provider
 *   would), so both are "from outside to a LoadBalancer address".
 * - `eip-service-gateway`: a YusurService publishes backends in two VPCs (one on each node) on one EIP through a
 *   service-gateway router (ADR 0004). kube-proxy has no counterpart (it knows no VPCs).
 * Pure manifests here; datapath-testbed.ts applies them.
 */
import type { V1Service } from '@kubernetes/client-node';
import { API_VERSION } from '@ycloud/api';
import { testEipPoolSpec } from '@ycloud/testbed';
import { DATAPATH_PORTS } from './datapath-tools';

/** The pool on the sandbox's external network (172.16.0.0/24, the outside client is 172.16.0.100). */
export const BENCH_EIP_POOL = 'bench-ext';
/** The LoadBalancer address kube-proxy's routed network gets (routed to node-1 from the outside namespace). */
export const KUBE_PROXY_LB_ADDRESS = '198.51.100.10';
/** The service-gateway's VPCs: a namespace and a subnet each; the YusurService lives in the first. */
export const SGW_VPCS = [
  { vpc: 'dp-blue', namespace: 'dp-blue', cidr: '10.1.0.0/24', node: 'node-1' },
  { vpc: 'dp-green', namespace: 'dp-green', cidr: '10.2.0.0/24', node: 'node-2' },
] as const;
/** Label on the service-gateway's namespaces (the YusurService's namespaceSelector) and on its backend pods. */
export const SGW_NAMESPACE_LABEL = { 'ycloud.io/bench': 'service-gateway' } as const;
export const SGW_POD_LABEL = { app: 'dp-sgw-server' } as const;

/** The benchmark's ports as a Service or YusurService lists them: iperf3 TCP and UDP, sockperf, HTTP on 80. */
export function benchPorts(): Array<{ name: string; protocol: 'TCP' | 'UDP'; port: number; targetPort: number }> {
  return [
    { name: 'iperf-tcp', protocol: 'TCP', port: DATAPATH_PORTS.iperf, targetPort: DATAPATH_PORTS.iperf },
    { name: 'iperf-udp', protocol: 'UDP', port: DATAPATH_PORTS.iperf, targetPort: DATAPATH_PORTS.iperf },
    { name: 'sockperf', protocol: 'TCP', port: DATAPATH_PORTS.sockperf, targetPort: DATAPATH_PORTS.sockperf },
    { name: 'http', protocol: 'TCP', port: 80, targetPort: DATAPATH_PORTS.http },
  ];
}

/** The EipPool: gateway router on `gatewayNode`, addresses .50-.59 of the external network. */
export function benchEipPool(gatewayNode: string): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'EipPool',
    metadata: { name: BENCH_EIP_POOL },
    spec: testEipPoolSpec([gatewayNode]),
  };
}

/** A LoadBalancer Service in front of the benchmark's server (selector) or of a hand-made EndpointSlice (none). */
export function benchLoadBalancerService(namespace: string, selector?: Record<string, string>): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'dp-lb', namespace, labels: { 'app.kubernetes.io/name': 'ycloud-bench' } },
    spec: {
      type: 'LoadBalancer',
      ...(selector ? { selector } : {}),
      ports: benchPorts().map((p) => ({ ...p, targetPort: p.targetPort as never })),
    },
  };
}

/** The two VPCs of the service-gateway path, each with one subnet bound to its namespace. */
export function serviceGatewayTopology(): Array<{ kind: 'Vpc' | 'Subnet'; name: string; spec: unknown }> {
  return SGW_VPCS.flatMap((v) => [
    { kind: 'Vpc' as const, name: v.vpc, spec: { namespaces: [v.namespace] } },
    {
      kind: 'Subnet' as const,
      name: v.vpc,
      spec: { vpc: v.vpc, cidrBlocks: [v.cidr], namespaces: [v.namespace] },
    },
  ]);
}

/** The YusurService: the benchmark's server pods of both VPCs on one EIP from the pool (no ClusterIP). */
export function serviceGatewayYusurService(): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'YusurService',
    metadata: { name: 'dp-sgw', namespace: SGW_VPCS[0].namespace },
    spec: {
      backends: [
        {
          kind: 'Pod',
          selector: { matchLabels: { ...SGW_POD_LABEL } },
          namespaceSelector: { matchLabels: { ...SGW_NAMESPACE_LABEL } },
        },
      ],
      ports: benchPorts(),
      // iperf3's control and data connections must reach the same server: ClientIP affinity of 3 h or more is a
      // client-address hash in ycloud (no affinity timeout, no first-connection drop), so one client sticks to one
      // of the two VPCs' backends for every test.
      sessionAffinity: 'ClientIP',
      sessionAffinityTimeoutSeconds: 10800,
      // EIP only: a ClusterIP never crosses VPCs, so it would leave the other VPC's backend out.
      scenarios: { eip: { pool: BENCH_EIP_POOL } },
    },
  };
}
