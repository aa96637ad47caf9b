import { parseControllerConfig } from '@ycloud/api';
import {
  BENCH_EIP_POOL,
  SGW_NAMESPACE_LABEL,
  SGW_VPCS,
  benchEipPool,
  benchLoadBalancerService,
  benchPorts,
  serviceGatewayTopology,
  serviceGatewayYusurService,
} from './datapath-eip';
import { DATAPATH_PATH_DESCRIPTIONS } from './datapath.report';
import { DATAPATH_PATHS, benchService } from './datapath-testbed';

describe('data-path EIP objects', () => {
  it('the LoadBalancer Service and the YusurService serve the ports the ClusterIP Service serves', () => {
    const clusterIp = benchService(undefined).spec!.ports!.map((p) => [p.name, p.protocol, p.port, p.targetPort]);
    const lb = benchLoadBalancerService('ns', { app: 'x' });
    expect(lb.spec!.type).toBe('LoadBalancer');
    expect(lb.spec!.selector).toEqual({ app: 'x' });
    expect(lb.spec!.ports!.map((p) => [p.name, p.protocol, p.port, p.targetPort])).toEqual(clusterIp);
    const ys = serviceGatewayYusurService() as { spec: { ports: ReturnType<typeof benchPorts> } };
    expect(ys.spec.ports.map((p) => [p.name, p.protocol, p.port, p.targetPort])).toEqual(clusterIp);
    // kube-proxy's LoadBalancer has no selector: a hand-made EndpointSlice feeds it.
    expect(benchLoadBalancerService('ns').spec!.selector).toBeUndefined();
  });

  it('the YusurService takes its EIP from the pool and selects server pods in every VPC namespace', () => {
    const ys = serviceGatewayYusurService() as {
      metadata: { namespace: string };
      spec: { scenarios: unknown; backends: Array<{ namespaceSelector: { matchLabels: unknown } }> };
    };
    expect(ys.spec.scenarios).toEqual({ eip: { pool: BENCH_EIP_POOL } });
    expect(ys.spec.backends[0].namespaceSelector.matchLabels).toEqual(SGW_NAMESPACE_LABEL);
    expect(ys.metadata.namespace).toBe(SGW_VPCS[0].namespace);
    // Backends on both nodes, so the path crosses the tunnel for one of them.
    expect(new Set(SGW_VPCS.map((v) => v.node)).size).toBe(2);
  });

  it('the topology is a Vpc and a Subnet per VPC, each subnet bound to its namespace, CIDRs apart from the defaults', () => {
    const t = serviceGatewayTopology();
    expect(t.map((x) => `${x.kind}/${x.name}`)).toEqual([
      'Vpc/dp-blue',
      'Subnet/dp-blue',
      'Vpc/dp-green',
      'Subnet/dp-green',
    ]);
    expect(t[1].spec).toEqual({ vpc: 'dp-blue', cidrBlocks: ['10.1.0.0/24'], namespaces: ['dp-blue'] });
    // The controller config the sandbox runs with accepts the pool as the default VPC's.
    expect(parseControllerConfig({ eip: { defaultPool: BENCH_EIP_POOL } }).eip.defaultPool).toBe(BENCH_EIP_POOL);
    const pool = benchEipPool('node-1') as { spec: { gatewayNodes: string[]; cidr: string } };
    expect(pool.spec.gatewayNodes).toEqual(['node-1']);
    expect(pool.spec.cidr).toBe('172.16.0.0/24');
  });

  it('every path has a description in the report', () => {
    for (const p of DATAPATH_PATHS) expect(DATAPATH_PATH_DESCRIPTIONS[p]).toBeTruthy();
  });
});
