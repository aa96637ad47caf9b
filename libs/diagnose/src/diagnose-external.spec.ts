import { diagnose } from './diagnose';
import { DiagnoseFacts, NodeFacts, NorthboundFacts, SouthboundFacts } from './facts';
import { parseNodePortRules } from './collect/nodeport.collector';
import { collectEipPath, NbRow } from './collect/northbound.collector';
import { exitCodeOf } from './hop';

const EIP = '172.16.0.50';
const BACKENDS = ['10.16.0.5:8080', '10.16.0.6:8080'];

const node = (name: string, groups: Array<{ id: number; backends: string[] }>): NodeFacts => ({
  node: name,
  ovnController: { running: true, connected: true, detail: 'SB connected' },
  datapath: { reachable: true, detail: 'br-int answers' },
  groups: groups.map((g) => ({ id: g.id, buckets: g.backends.map((backend) => ({ backend, packets: 1, bytes: 60 })) })),
});

/** The Kubernetes side of a LoadBalancer Service web/api with backends a (node-1) and b (node-2). */
function kube(type: string): DiagnoseFacts['kube'] {
  return {
    target: { kind: 'Service', namespace: 'web', name: 'api' },
    service: {
      type,
      clusterIPs: ['10.96.0.10'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
      selector: { app: 'api' },
      labels: {},
      ingressIPs: type === 'LoadBalancer' ? [EIP] : [],
    },
    selectedPods: [
      { namespace: 'web', name: 'a', ip: '10.16.0.5', node: 'node-1', ready: true, logicalSwitchPort: 'web.a' },
      { namespace: 'web', name: 'b', ip: '10.16.0.6', node: 'node-2', ready: true, logicalSwitchPort: 'web.b' },
    ],
    endpointSlices: [
      {
        name: 'api-x',
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [
          { addresses: ['10.16.0.5'], ready: true, nodeName: 'node-1', podName: 'a' },
          { addresses: ['10.16.0.6'], ready: true, nodeName: 'node-2', podName: 'b' },
        ],
      },
    ],
    events: [],
    probes: [],
    nodes: [
      { name: 'node-1', ready: true, externalIPs: ['172.16.0.11'] },
      { name: 'node-2', ready: true, externalIPs: [] },
    ],
  };
}

/** A healthy external -> EIP path: pool ext, gateway node node-1, default VPC. */
function healthyEip(): DiagnoseFacts {
  const k = kube('LoadBalancer');
  k.eip = {
    name: 'svc-web-api',
    pool: 'ext',
    address: EIP,
    binding: { kind: 'Service', namespace: 'web', name: 'api' },
    vpc: 'default',
    ready: { type: 'Ready', status: 'True', reason: 'Ready' },
  };
  k.eipPool = { name: 'ext', networkName: 'external', gatewayNodes: ['node-1'], activeGatewayNode: 'node-1' };
  const nb: NorthboundFacts = {
    connected: true,
    loadBalancers: [
      {
        uuid: 'r1',
        name: 'Service_web/api_TCP_router',
        protocol: 'tcp',
        vips: { [`${EIP}:80`]: BACKENDS.join(',') },
        options: {},
        selectionFields: [],
        externalIds: {},
        owned: false,
        groups: [],
        switches: [],
        routers: ['vpc-default'],
      },
    ],
    groups: [],
    vpcSwitches: {},
    eipPath: {
      address: EIP,
      pool: 'ext',
      vpc: 'default',
      poolRouter: {
        name: 'eip-ext-gw',
        chassis: 'node-1',
        ports: ['eip-ext-gw-to-external', 'eip-ext-gw-to-transit'],
        routes: [
          { prefix: '0.0.0.0/0', nexthop: '172.16.0.254', outputPort: 'eip-ext-gw-to-external' },
          { prefix: `${EIP}/32`, nexthop: '100.65.255.254', outputPort: 'eip-ext-gw-to-transit' },
        ],
        nats: [{ type: 'dnat_and_snat', externalIp: EIP, logicalIp: EIP, stateless: true }],
      },
      externalSwitch: {
        name: 'eip-ext-external',
        ports: ['eip-ext-localnet', 'eip-ext-external-to-gw'],
        localnetNetwork: 'external',
      },
      transitSwitch: { name: 'eip-ext-transit', ports: ['eip-ext-transit-to-gw', 'eip-ext-transit-to-vpc-default'] },
      vpcRouter: {
        name: 'vpc-default',
        routes: [],
        gatewayPort: {
          name: 'vpc-default-to-eip-ext',
          networks: ['100.65.255.254/16'],
          gatewayChassis: [{ chassis: 'node-1', priority: 1 }],
        },
      },
    },
  };
  const sb: SouthboundFacts = {
    nbCfg: 0,
    lflows: [{ vip: `${EIP}:80`, stage: 'lr_in_dnat', datapaths: ['vpc-default'], actions: 'ct_lb_mark(...)' }],
    portBindings: [
      { logicalPort: 'web.a', chassis: 'node-1', up: true },
      { logicalPort: 'web.b', chassis: 'node-2', up: true },
      { logicalPort: 'eip-ext-gw-to-external', chassis: 'node-1', type: 'l3gateway' },
      { logicalPort: 'eip-ext-gw-to-transit', chassis: 'node-1', type: 'l3gateway' },
      { logicalPort: 'cr-vpc-default-to-eip-ext', chassis: 'node-1', type: 'chassisredirect' },
    ],
    chassis: [
      { name: 'node-1', hostname: 'node-1', nbCfg: 0 },
      { name: 'node-2', hostname: 'node-2', nbCfg: 0 },
    ],
  };
  return {
    source: { kind: 'external' },
    kube: k,
    northbound: nb,
    southbound: sb,
    sourceNode: node('node-1', [{ id: 4, backends: BACKENDS }]),
    backendNodes: { 'node-2': node('node-2', []) },
  };
}

/** The first broken hop, with every hop before it ok. */
function firstBroken(f: DiagnoseFacts): string | undefined {
  const d = diagnose(f);
  const i = d.hops.findIndex((h) => h.status !== 'ok');
  if (i < 0) return undefined;
  expect(d.hops[i].status).toBe('broken');
  expect(d.verdict.firstBroken).toBe(d.hops[i].id);
  return d.hops[i].id;
}
const evidenceOf = (f: DiagnoseFacts, id: string) => diagnose(f).hops.find((h) => h.id === id)?.evidence;
const nbOf = (f: DiagnoseFacts) => f.northbound as NorthboundFacts;
const sbOf = (f: DiagnoseFacts) => f.southbound as SouthboundFacts;

describe('diagnose (external -> EIP of a LoadBalancer Service)', () => {
  it('reports a healthy path ok on every hop, in the order a packet meets them', () => {
    const d = diagnose(healthyEip());
    expect(d.hops.filter((h) => h.status !== 'ok')).toEqual([]);
    expect(d.vips).toEqual([`${EIP}:80/tcp`]);
    expect(d.source).toBe('external');
    expect(d.hops.map((h) => h.id)).toEqual([
      'kubernetes/object',
      'kubernetes/proxy-labels',
      'kubernetes/port',
      'kubernetes/selector',
      'kubernetes/endpoints',
      'kubernetes/events',
      'kubernetes/network-probes',
      'kubernetes/eip',
      'kubernetes/eip-pool',
      'northbound/eip-gateway-router',
      'northbound/eip-nat',
      'northbound/eip-route',
      'northbound/vpc-gateway-port',
      'northbound/router-lb',
      'southbound/eip-gateway',
      'southbound/router-lb-flows',
      'southbound/port-bindings',
      'southbound/chassis',
      'node/node-1/ovn-controller',
      'node/node-1/datapath',
      'node/node-1/vip-groups',
      'node/node-2/backend-node',
    ]);
    expect(exitCodeOf(d)).toBe(0);
    const f = healthyEip();
    expect(evidenceOf(f, 'kubernetes/eip')).toBe(
      `Eip svc-web-api ${EIP} from pool ext, bound to Service web/api, VPC default`,
    );
    expect(evidenceOf(f, 'kubernetes/eip-pool')).toBe(
      'EipPool ext: network external, active gateway node node-1 (Ready) of [node-1]',
    );
    expect(evidenceOf(f, 'southbound/eip-gateway')).toBe(
      'chassis node-1 holds eip-ext-gw-to-external, eip-ext-gw-to-transit, cr-vpc-default-to-eip-ext',
    );
    expect(evidenceOf(f, 'node/node-1/vip-groups')).toBe(
      `${EIP}:80: group 4 (10.16.0.5:8080 1 pkt, 10.16.0.6:8080 1 pkt)`,
    );
  });

  it('an Eip asked by name is diagnosed as its Service, from outside', () => {
    const f = healthyEip();
    f.kube.eipAsked = 'svc-web-api';
    const d = diagnose(f);
    expect(d.target).toBe('Eip svc-web-api (Service web/api)');
    expect(d.verdict).toEqual({ status: 'ok', unknown: 0 });
  });

  it("a YusurService's EIP is checked in Kubernetes only, the rest is unknown (not a false verdict)", () => {
    const f = healthyEip();
    f.kube.target = { kind: 'YusurService', namespace: 'web', name: 'api' };
    f.kube.eip!.binding = { kind: 'YusurService', namespace: 'web', name: 'api' };
    const d = diagnose(f);
    expect(d.verdict).toEqual({ status: 'ok', unknown: 1 });
    expect(d.hops.map((h) => h.id).slice(-3)).toEqual(['kubernetes/eip', 'kubernetes/eip-pool', 'northbound/scenario']);
  });

  it('an Eip that does not exist, or is bound to nothing', () => {
    const f = healthyEip();
    f.kube = { ...f.kube, service: undefined, eip: undefined, eipAsked: 'nope', eipError: 'Eip nope not found' };
    expect(firstBroken(f)).toBe('kubernetes/eip');
    expect(diagnose(f).hops).toHaveLength(1);
    const g = healthyEip();
    g.kube = {
      ...g.kube,
      service: undefined,
      eipAsked: 'svc-web-api',
      eipError: 'Eip svc-web-api is bound to nothing',
    };
    expect(firstBroken(g)).toBe('kubernetes/eip');
    expect(diagnose(g).hops[0].fix).toBe('bind it: annotate the Service ycloud.io/eip=svc-web-api');
  });

  it('no Eip for the Service, or one without an address', () => {
    const f = healthyEip();
    f.kube.eip = undefined;
    f.kube.service!.ingressIPs = [];
    expect(firstBroken(f)).toBe('kubernetes/eip');
    expect(evidenceOf(f, 'kubernetes/eip')).toBe('no Eip is bound to Service web/api (ingress: none)');
    const g = healthyEip();
    g.kube.eip!.address = undefined;
    g.kube.eip!.ready = { type: 'Ready', status: 'False', reason: 'PoolExhausted', message: 'no free address' };
    expect(firstBroken(g)).toBe('kubernetes/eip');
    expect(evidenceOf(g, 'kubernetes/eip')).toBe(
      'Eip svc-web-api has no address (Ready=False PoolExhausted: no free address)',
    );
  });

  it("the Service's ingress not showing the Eip's address", () => {
    const f = healthyEip();
    f.kube.service!.ingressIPs = [];
    f.kube.eip!.binding = { kind: 'Service', namespace: 'web', name: 'api' };
    expect(firstBroken(f)).toBe('kubernetes/eip');
  });

  it('the gateway node not Ready, with no other candidate', () => {
    const f = healthyEip();
    f.kube.nodes![0].ready = false;
    expect(firstBroken(f)).toBe('kubernetes/eip-pool');
    expect(evidenceOf(f, 'kubernetes/eip-pool')).toBe(
      'EipPool ext: active gateway node node-1 is not Ready; Ready candidates: none',
    );
  });

  it('the gateway router pinned to another chassis', () => {
    const f = healthyEip();
    nbOf(f).eipPath!.poolRouter!.chassis = 'node-2';
    expect(firstBroken(f)).toBe('northbound/eip-gateway-router');
    expect(evidenceOf(f, 'northbound/eip-gateway-router')).toBe(
      "eip-ext-gw: pinned to chassis node-2, the pool's active node is node-1",
    );
  });

  it('the identity NAT (ARP for the EIP) removed', () => {
    const f = healthyEip();
    nbOf(f).eipPath!.poolRouter!.nats = [];
    expect(firstBroken(f)).toBe('northbound/eip-nat');
  });

  it('the /32 route missing or pointing elsewhere', () => {
    const f = healthyEip();
    nbOf(f).eipPath!.poolRouter!.routes.pop();
    expect(firstBroken(f)).toBe('northbound/eip-route');
    const g = healthyEip();
    nbOf(g).eipPath!.poolRouter!.routes[1].nexthop = '100.65.0.9';
    expect(evidenceOf(g, 'northbound/eip-route')).toBe(
      `eip-ext-gw routes ${EIP} to 100.65.0.9, VPC default's gateway port is 100.65.255.254`,
    );
  });

  it("the VPC router's gateway port on another chassis", () => {
    const f = healthyEip();
    nbOf(f).eipPath!.vpcRouter!.gatewayPort!.gatewayChassis = [{ chassis: 'node-2', priority: 1 }];
    expect(firstBroken(f)).toBe('northbound/vpc-gateway-port');
  });

  it('the EIP VIP removed from the router load balancer by hand, or its backends edited', () => {
    const f = healthyEip();
    nbOf(f).loadBalancers[0].vips = {};
    expect(firstBroken(f)).toBe('northbound/router-lb');
    expect(evidenceOf(f, 'northbound/router-lb')).toBe(`no load balancer on vpc-default has VIP ${EIP}:80/tcp`);
    const g = healthyEip();
    nbOf(g).loadBalancers[0].vips[`${EIP}:80`] = '10.16.0.5:8080';
    expect(firstBroken(g)).toBe('northbound/router-lb');
  });

  it('the gateway chassis gone from Southbound', () => {
    const f = healthyEip();
    sbOf(f).chassis = sbOf(f).chassis.filter((c) => c.name !== 'node-1');
    for (const pb of sbOf(f).portBindings) if (pb.chassis === 'node-1') delete pb.chassis;
    expect(firstBroken(f)).toBe('southbound/eip-gateway');
    expect(evidenceOf(f, 'southbound/eip-gateway')).toMatch(/^gateway node node-1 has no Chassis in Southbound/);
  });

  it('the gateway chassis behind on nb_cfg (its ovn-controller dead, NB changed since)', () => {
    const f = healthyEip();
    sbOf(f).nbCfg = 5;
    sbOf(f).chassis = [
      { name: 'node-1', nbCfg: 3 },
      { name: 'node-2', nbCfg: 5 },
    ];
    expect(firstBroken(f)).toBe('southbound/eip-gateway');
    expect(evidenceOf(f, 'southbound/eip-gateway')).toBe(
      'gateway chassis node-1 applied nb_cfg 3 < 5 (its ovn-controller is down or behind)',
    );
  });

  it('no router load-balancing flow', () => {
    const f = healthyEip();
    sbOf(f).lflows = [];
    expect(firstBroken(f)).toBe('southbound/router-lb-flows');
  });

  it("the gateway node's ovn-controller and datapath dead", () => {
    const f = healthyEip();
    f.sourceNode = {
      node: 'node-1',
      ovnController: { running: false, detail: 'pid 7 does not answer' },
      datapath: { reachable: false, detail: 'connection refused' },
      groups: [],
    };
    expect(firstBroken(f)).toBe('node/node-1/ovn-controller');
  });
});

describe('diagnose (external -> NodePort)', () => {
  function healthyNodePort(): DiagnoseFacts {
    const nb: NorthboundFacts = {
      connected: true,
      loadBalancers: [
        {
          uuid: 'u1',
          name: 'Service_web/api_TCP',
          protocol: 'tcp',
          vips: { '10.96.0.10:80': BACKENDS.join(',') },
          options: {},
          selectionFields: [],
          externalIds: { 'ycloud.io/vpc': 'default' },
          owned: true,
          groups: ['g'],
          switches: [],
          routers: [],
        },
      ],
      groups: [{ name: 'g', switches: ['subnet-default', 'subnet-join'], routers: [] }],
      vpcSwitches: { default: ['subnet-default', 'subnet-join'] },
    };
    const sb: SouthboundFacts = {
      nbCfg: 0,
      lflows: [{ vip: '10.96.0.10:80', stage: 'ls_in_lb', datapaths: ['subnet-default', 'subnet-join'], actions: '' }],
      portBindings: [
        { logicalPort: 'web.a', chassis: 'node-1', up: true },
        { logicalPort: 'web.b', chassis: 'node-2', up: true },
      ],
      chassis: [
        { name: 'node-1', nbCfg: 0 },
        { name: 'node-2', nbCfg: 0 },
      ],
    };
    return {
      source: { kind: 'external' },
      kube: kube('NodePort'),
      northbound: nb,
      southbound: sb,
      sourceNode: node('node-1', [{ id: 1, backends: BACKENDS }]),
      backendNodes: { 'node-2': node('node-2', []) },
      nodePorts: {
        node: 'node-1',
        table: true,
        rules: [{ protocol: 'tcp', nodePort: 30080, dnatTo: '10.96.0.10:80' }],
        ipForward: true,
        detail: 'table ip ycloud',
      },
    };
  }

  it('reports a healthy path ok: the node with an ExternalIP, its DNAT rule, then the ClusterIP path from it', () => {
    const d = diagnose(healthyNodePort());
    expect(d.hops.filter((h) => h.status !== 'ok')).toEqual([]);
    expect(d.vips).toEqual(['10.96.0.10:80/tcp']);
    const ids = d.hops.map((h) => h.id);
    expect(ids.slice(7, 10)).toEqual(['kubernetes/nodeport', 'node/node-1/nodeport-rules', 'northbound/load-balancer']);
    expect(ids.slice(-4)).toEqual([
      'node/node-1/ovn-controller',
      'node/node-1/datapath',
      'node/node-1/vip-groups',
      'node/node-2/backend-node',
    ]);
    expect(d.hops[7].evidence).toBe('30080/TCP->80 on node node-1 (ExternalIP 172.16.0.11)');
    expect(d.hops[8].evidence).toBe('node-1: tcp/30080 -> 10.96.0.10:80, forwarding on');
  });

  it("the node's DNAT rule missing, the table gone, forwarding off", () => {
    const f = healthyNodePort();
    (f.nodePorts as { rules: unknown[] }).rules = [];
    expect(firstBroken(f)).toBe('node/node-1/nodeport-rules');
    expect(evidenceOf(f, 'node/node-1/nodeport-rules')).toBe('node-1: no rule for tcp dport 30080');
    const g = healthyNodePort();
    g.nodePorts = { ...(g.nodePorts as object), table: false, rules: [], detail: 'no table ip ycloud: x' } as never;
    expect(firstBroken(g)).toBe('node/node-1/nodeport-rules');
    const h = healthyNodePort();
    (h.nodePorts as { ipForward: boolean }).ipForward = false;
    expect(firstBroken(h)).toBe('node/node-1/nodeport-rules');
  });

  it('a ClusterIP Service from outside is broken: nothing publishes it', () => {
    const f = healthyNodePort();
    f.kube.service!.type = 'ClusterIP';
    expect(firstBroken(f)).toBe('kubernetes/scenario');
  });
});

describe('external-path collectors', () => {
  it("reads the nodeports chain of the agent's table", () => {
    const text = [
      'table ip ycloud {',
      '\tchain nodeports {',
      '\t\ttcp dport 30080 dnat to 10.96.0.20:80 comment "ns/web:http"',
      '\t\tudp dport 30053 dnat to 10.96.0.20:53 comment "ns/web:dns"',
      '\t\ttcp dport 30090 jump np-local-0 comment "ns/local:http"',
      '\t}',
      '\tchain prerouting {',
      '\t\ttype nat hook prerouting priority dstnat; policy accept;',
      '\t\tfib daddr type local jump nodeports',
      '\t}',
      '}',
    ].join('\n');
    expect(parseNodePortRules(text)).toEqual([
      { protocol: 'tcp', nodePort: 30080, dnatTo: '10.96.0.20:80' },
      { protocol: 'udp', nodePort: 30053, dnatTo: '10.96.0.20:53' },
      { protocol: 'tcp', nodePort: 30090 },
    ]);
  });

  it("finds the EIP path's rows by ycloud's names", () => {
    const rows: Record<string, NbRow[]> = {
      Logical_Router: [
        {
          _uuid: 'r1',
          name: 'eip-ext-gw',
          options: { chassis: 'node-1' },
          ports: ['p1', 'p2'],
          static_routes: ['s1'],
          nat: ['n1'],
        },
        { _uuid: 'r2', name: 'vpc-default', ports: ['p3'], static_routes: [] },
      ],
      Logical_Router_Port: [
        { _uuid: 'p1', name: 'eip-ext-gw-to-external' },
        { _uuid: 'p2', name: 'eip-ext-gw-to-transit' },
        { _uuid: 'p3', name: 'vpc-default-to-eip-ext', networks: '100.65.255.254/16', gateway_chassis: ['g1'] },
      ],
      Gateway_Chassis: [{ _uuid: 'g1', chassis_name: 'node-1', priority: 1 }],
      Logical_Router_Static_Route: [
        { _uuid: 's1', ip_prefix: `${EIP}/32`, nexthop: '100.65.255.254', output_port: 'eip-ext-gw-to-transit' },
      ],
      NAT: [
        {
          _uuid: 'n1',
          type: 'dnat_and_snat',
          external_ip: EIP,
          logical_ip: EIP,
          options: { stateless: 'true' },
        },
      ],
      Logical_Switch: [
        { _uuid: 'w1', name: 'eip-ext-external', ports: ['l1'] },
        { _uuid: 'w2', name: 'eip-ext-transit', ports: ['l2'] },
      ],
      Logical_Switch_Port: [
        { _uuid: 'l1', name: 'eip-ext-localnet', type: 'localnet', options: { network_name: 'external' } },
        { _uuid: 'l2', name: 'eip-ext-transit-to-vpc-default', type: 'router' },
      ],
    };
    const path = collectEipPath({ rows: (t) => rows[t] ?? [] }, { address: EIP, pool: 'ext', vpc: 'default' });
    expect(path).toEqual({
      address: EIP,
      pool: 'ext',
      vpc: 'default',
      poolRouter: {
        name: 'eip-ext-gw',
        chassis: 'node-1',
        ports: ['eip-ext-gw-to-external', 'eip-ext-gw-to-transit'],
        routes: [{ prefix: `${EIP}/32`, nexthop: '100.65.255.254', outputPort: 'eip-ext-gw-to-transit' }],
        nats: [{ type: 'dnat_and_snat', externalIp: EIP, logicalIp: EIP, stateless: true }],
      },
      externalSwitch: { name: 'eip-ext-external', ports: ['eip-ext-localnet'], localnetNetwork: 'external' },
      transitSwitch: { name: 'eip-ext-transit', ports: ['eip-ext-transit-to-vpc-default'] },
      vpcRouter: {
        name: 'vpc-default',
        routes: [],
        gatewayPort: {
          name: 'vpc-default-to-eip-ext',
          networks: ['100.65.255.254/16'],
          gatewayChassis: [{ chassis: 'node-1', priority: 1 }],
        },
      },
    });
  });
});
