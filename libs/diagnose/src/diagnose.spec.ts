import { diagnose } from './diagnose';
import { DiagnoseFacts, NodeFacts, NorthboundFacts, SouthboundFacts } from './facts';
import { exitCodeOf } from './hop';
import { renderTable } from './render';

/** A healthy pod -> ClusterIP path: client on node-1, backends a (node-1) and b (node-2). */
function healthy(): DiagnoseFacts {
  const node = (name: string, backends: string[]): NodeFacts => ({
    node: name,
    ovnController: { running: true, connected: true, detail: 'SB connected' },
    datapath: { reachable: true, detail: 'br-int answers' },
    groups: [{ id: 1, buckets: backends.map((backend, i) => ({ backend, packets: 10 + i, bytes: 600 })) }],
  });
  const nb: NorthboundFacts = {
    connected: true,
    loadBalancers: [
      {
        uuid: 'u1',
        name: 'Service_web/api_TCP',
        protocol: 'tcp',
        vips: { '10.96.0.10:80': '10.16.0.5:8080,10.16.0.6:8080' },
        options: {},
        selectionFields: [],
        externalIds: { 'ycloud.io/vpc': 'default' },
        owned: true,
        groups: ['vpc-default-lbs'],
        switches: [],
        routers: [],
      },
    ],
    groups: [{ name: 'vpc-default-lbs', switches: ['subnet-default', 'subnet-join'], routers: [] }],
    vpcSwitches: { default: ['subnet-default', 'subnet-join'] },
  };
  const sb: SouthboundFacts = {
    nbCfg: 3,
    lflows: [
      {
        vip: '10.96.0.10:80',
        stage: 'ls_in_lb',
        datapaths: ['subnet-default', 'subnet-join'],
        actions: 'ct_lb_mark(...)',
      },
    ],
    portBindings: [
      { logicalPort: 'web.a', chassis: 'node-1', up: true },
      { logicalPort: 'web.b', chassis: 'node-2', up: true },
    ],
    chassis: [
      { name: 'node-1', hostname: 'node-1', nbCfg: 3 },
      { name: 'node-2', hostname: 'node-2', nbCfg: 3 },
    ],
  };
  return {
    source: { kind: 'pod', namespace: 'web', name: 'client' },
    kube: {
      target: { kind: 'Service', namespace: 'web', name: 'api' },
      service: {
        type: 'ClusterIP',
        clusterIPs: ['10.96.0.10'],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
        selector: { app: 'api' },
        labels: {},
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
            {
              addresses: ['10.16.0.5'],
              ready: true,
              serving: true,
              terminating: false,
              nodeName: 'node-1',
              podName: 'a',
            },
            {
              addresses: ['10.16.0.6'],
              ready: true,
              serving: true,
              terminating: false,
              nodeName: 'node-2',
              podName: 'b',
            },
          ],
        },
      ],
      events: [{ type: 'Normal', reason: 'Synced', message: 'ok', count: 1, source: 'ycloud.io/ycloud-controller' }],
      probes: [],
      sourcePod: { namespace: 'web', name: 'client', ip: '10.16.0.9', node: 'node-1', ready: true },
    },
    northbound: nb,
    southbound: sb,
    sourceNode: node('node-1', ['10.16.0.5:8080', '10.16.0.6:8080']),
    backendNodes: { 'node-2': node('node-2', ['10.16.0.5:8080', '10.16.0.6:8080']) },
  };
}

const nbOf = (f: DiagnoseFacts) => f.northbound as NorthboundFacts;
const sbOf = (f: DiagnoseFacts) => f.southbound as SouthboundFacts;

/** The first broken hop, and that every hop before it is ok. */
function firstBroken(f: DiagnoseFacts): string | undefined {
  const d = diagnose(f);
  const i = d.hops.findIndex((h) => h.status === 'broken');
  if (i >= 0) expect(d.hops.slice(0, i).map((h) => h.status)).toEqual(d.hops.slice(0, i).map(() => 'ok'));
  expect(d.verdict.firstBroken).toBe(i >= 0 ? d.hops[i].id : undefined);
  return d.verdict.firstBroken;
}

describe('diagnose (pod -> ClusterIP)', () => {
  it('reports a healthy path ok on every hop, exit code 0', () => {
    const d = diagnose(healthy());
    expect(d.hops.filter((h) => h.status !== 'ok')).toEqual([]);
    expect(d.hops.map((h) => h.id)).toEqual([
      'kubernetes/object',
      'kubernetes/proxy-labels',
      'kubernetes/port',
      'kubernetes/selector',
      'kubernetes/endpoints',
      'kubernetes/events',
      'kubernetes/network-probes',
      'northbound/load-balancer',
      'northbound/vips',
      'northbound/backends',
      'northbound/options',
      'northbound/lb-group',
      'northbound/journal',
      'southbound/logical-flows',
      'southbound/port-bindings',
      'southbound/chassis',
      'node/node-1/ovn-controller',
      'node/node-1/datapath',
      'node/node-1/vip-groups',
      'node/node-2/backend-node',
    ]);
    expect(d.vips).toEqual(['10.96.0.10:80/tcp']);
    expect(exitCodeOf(d)).toBe(0);
    expect(d.hops.find((h) => h.id === 'node/node-1/vip-groups')!.evidence).toBe(
      '10.96.0.10:80: group 1 (10.16.0.5:8080 10 pkt, 10.16.0.6:8080 11 pkt)',
    );
    expect(renderTable(d).trim().split('\n').pop()).toBe('verdict: ok, no broken hop');
  });

  it('missing Service', () => {
    const f = healthy();
    f.kube.service = undefined;
    f.kube.error = 'Service web/api not found';
    const d = diagnose(f);
    expect(d.hops).toHaveLength(1);
    expect(d.verdict).toEqual({ status: 'broken', firstBroken: 'kubernetes/object', unknown: 0 });
    expect(exitCodeOf(d)).toBe(1);
  });

  it('a label for another proxy', () => {
    const f = healthy();
    f.kube.service!.labels['service.kubernetes.io/service-proxy-name'] = 'other';
    expect(firstBroken(f)).toBe('kubernetes/proxy-labels');
  });

  it('a port the Service does not have', () => {
    const f = healthy();
    f.port = '81';
    expect(firstBroken(f)).toBe('kubernetes/port');
  });

  it('a selector matching no pod', () => {
    const f = healthy();
    f.kube.selectedPods = [];
    f.kube.endpointSlices = [];
    expect(firstBroken(f)).toBe('kubernetes/selector');
  });

  it('no endpoints for a selector-less Service', () => {
    const f = healthy();
    f.kube.service!.selector = undefined;
    f.kube.endpointSlices = [];
    expect(firstBroken(f)).toBe('kubernetes/endpoints');
  });

  it('every backend not ready', () => {
    const f = healthy();
    for (const p of f.kube.selectedPods) p.ready = false;
    for (const e of f.kube.endpointSlices[0].endpoints) e.ready = false;
    const d = diagnose(f);
    expect(d.verdict.firstBroken).toBe('kubernetes/endpoints');
    expect(d.hops.find((h) => h.id === 'kubernetes/endpoints')!.evidence).toBe(
      'no usable endpoint for 10.96.0.10:80/tcp (1 EndpointSlice(s), 2 endpoint(s): 0 ready, 2 serving, 0 terminating; not ready: a, b)',
    );
  });

  it('uses serving terminating endpoints when none is ready, as kube-proxy does', () => {
    const f = healthy();
    for (const e of f.kube.endpointSlices[0].endpoints)
      Object.assign(e, { ready: false, serving: true, terminating: true });
    expect(firstBroken(f)).toBeUndefined();
  });

  it('a Warning Event from ycloud', () => {
    const f = healthy();
    f.kube.events.push({
      type: 'Warning',
      reason: 'TranslateFailed',
      message: 'bad port',
      count: 2,
      source: 'ycloud.io/ycloud-controller',
    });
    expect(firstBroken(f)).toBe('kubernetes/events');
  });

  it('a backend failing its NetworkProbe', () => {
    const f = healthy();
    f.kube.probes = [
      { probe: 'p', target: 'Pod/a', address: '10.16.0.5', healthy: true },
      { probe: 'p', target: 'Pod/b', address: '10.16.0.6', healthy: false, message: 'connection refused' },
    ];
    const d = diagnose(f);
    expect(d.verdict.firstBroken).toBe('kubernetes/network-probes');
    expect(d.hops.find((h) => h.id === 'kubernetes/network-probes')!.fix).toMatch(/backend b does not answer/);
  });

  it('no Load_Balancer row', () => {
    const f = healthy();
    nbOf(f).loadBalancers = [];
    expect(firstBroken(f)).toBe('northbound/load-balancer');
  });

  it('a VIP missing from the Load_Balancer', () => {
    const f = healthy();
    nbOf(f).loadBalancers[0].vips = { '10.96.0.10:81': '10.16.0.5:8080' };
    expect(firstBroken(f)).toBe('northbound/vips');
  });

  it('backends edited by hand in NB', () => {
    const f = healthy();
    nbOf(f).loadBalancers[0].vips['10.96.0.10:80'] = '10.16.0.5:8080,10.16.0.99:8080';
    const d = diagnose(f);
    expect(d.verdict.firstBroken).toBe('northbound/backends');
    expect(d.hops.find((h) => h.id === 'northbound/backends')!.evidence).toBe(
      '10.96.0.10:80: NB has [10.16.0.5:8080 10.16.0.99:8080], ready endpoints are [10.16.0.5:8080 10.16.0.6:8080]',
    );
  });

  it('endpoints only for another port', () => {
    const f = healthy();
    f.kube.service!.selector = undefined;
    f.kube.endpointSlices[0].ports = [{ name: 'other', port: 1, protocol: 'TCP' }];
    // endpoints exist but none for this port: the Kubernetes hop names it first.
    expect(firstBroken(f)).toBe('kubernetes/endpoints');
  });

  it('ClientIP affinity without affinity_timeout', () => {
    const f = healthy();
    f.kube.service!.sessionAffinity = 'ClientIP';
    expect(firstBroken(f)).toBe('northbound/options');
    nbOf(f).loadBalancers[0].options.affinity_timeout = '10800';
    expect(firstBroken(f)).toBeUndefined();
  });

  it('the LB group detached from one switch', () => {
    const f = healthy();
    nbOf(f).groups[0].switches = ['subnet-default'];
    const d = diagnose(f);
    expect(d.verdict.firstBroken).toBe('northbound/lb-group');
    expect(d.hops.find((h) => h.id === 'northbound/lb-group')!.evidence).toMatch(
      /does not reach switch\(es\) subnet-join of VPC default/,
    );
  });

  it('no logical flow on a switch', () => {
    const f = healthy();
    sbOf(f).lflows[0].datapaths = ['subnet-default'];
    expect(firstBroken(f)).toBe('southbound/logical-flows');
  });

  it('a backend port not up', () => {
    const f = healthy();
    sbOf(f).portBindings[1].up = false;
    expect(firstBroken(f)).toBe('southbound/port-bindings');
  });

  it('a chassis behind on nb_cfg', () => {
    const f = healthy();
    sbOf(f).chassis[1].nbCfg = 2;
    expect(firstBroken(f)).toBe('southbound/chassis');
  });

  it("the client node's ovn-controller stopped", () => {
    const f = healthy();
    (f.sourceNode as NodeFacts).ovnController = { running: false, detail: 'pid 12 does not answer' };
    expect(firstBroken(f)).toBe('node/node-1/ovn-controller');
  });

  it('no OpenFlow group for the VIP on the client node', () => {
    const f = healthy();
    (f.sourceNode as NodeFacts).groups = [];
    expect(firstBroken(f)).toBe('node/node-1/vip-groups');
  });

  it("a backend node's datapath killed", () => {
    const f = healthy();
    f.backendNodes['node-2'] = {
      node: 'node-2',
      ovnController: { running: false, detail: 'no pidfile' },
      datapath: { reachable: false, detail: 'failed to connect to br-int.mgmt' },
      groups: [],
    };
    expect(firstBroken(f)).toBe('node/node-2/backend-node');
  });

  it('--trace: ok only when the packet reaches a backend port; a drop or a replaced packet names where', () => {
    const f = healthy();
    const lbBackends = ['10.16.0.5:8080', '10.16.0.6:8080'];
    f.trace = {
      '10.96.0.10:80': {
        lbBackends,
        outputs: ['subnet-default-to-router', 'router-to-subnet-default', 'web.b'],
        delivered: 'web.b',
        dropped: false,
        rejected: false,
        microflow: 'm',
      },
    };
    let d = diagnose(f);
    expect(d.hops[d.hops.length - 1]).toEqual({
      layer: 'trace',
      id: 'trace/10.96.0.10:80',
      status: 'ok',
      evidence: 'ovn-trace: load-balanced to 2 backend(s), reached 10.16.0.6:8080 at web.b',
      detail: {
        lbBackends,
        backend: '10.16.0.6:8080',
        deliveredTo: 'web.b',
        outputs: ['subnet-default-to-router', 'router-to-subnet-default', 'web.b'],
      },
    });
    // Load-balanced, then lost in the router: broken, at the stage.
    f.trace['10.96.0.10:80'] = {
      lbBackends,
      outputs: ['subnet-default-to-router'],
      dropped: true,
      dropAt: { datapath: 'vpc-default', stage: 'lr_in_ip_routing' },
      rejected: false,
      microflow: 'm',
    };
    d = diagnose(f);
    expect(d.verdict.firstBroken).toBe('trace/10.96.0.10:80');
    expect(d.hops.pop()!.evidence).toBe(
      'ovn-trace: load-balanced to 2 backend(s), but dropped in vpc-default (lr_in_ip_routing)',
    );
    // The same with ovn-trace warning on stderr (it could not read some flows): not a verdict.
    f.trace['10.96.0.10:80'] = { ...f.trace['10.96.0.10:80'], warnings: ['parsing actions: Syntax error'] };
    expect(diagnose(f).hops.pop()).toMatchObject({ status: 'unknown' });
    // Not load-balanced at all (the VIP's flow missing on the source switch).
    f.trace['10.96.0.10:80'] = {
      outputs: ['subnet-default-to-router'],
      dropped: true,
      dropAt: { datapath: 'vpc-default', stage: 'lr_in_ip_routing' },
      rejected: false,
      microflow: 'm',
    };
    expect(diagnose(f).hops.pop()).toMatchObject({
      status: 'broken',
      evidence:
        "ovn-trace: the packet is not load-balanced on the source's switch: dropped in vpc-default (lr_in_ip_routing)",
      detail: { droppedIn: 'vpc-default (lr_in_ip_routing)', outputs: ['subnet-default-to-router'] },
    });
    f.trace['10.96.0.10:80'] = { unavailable: 'no agent' };
    expect(diagnose(f).hops.pop()!.status).toBe('unknown');
  });

  it('--connect from the source pod: said so in the evidence', () => {
    const f = healthy();
    f.connect = { '10.96.0.10:80': { connected: true, ms: 5, detail: 'connected' } };
    expect(diagnose(f).hops.pop()).toEqual({
      layer: 'connect',
      id: 'connect/10.96.0.10:80',
      status: 'ok',
      evidence: 'TCP connection from the source pod in 5 ms',
    });
  });

  it('--connect: a refused connection is broken, an unreachable agent is unknown', () => {
    const f = healthy();
    f.source = { kind: 'node', name: 'node-1' };
    f.connect = { '10.96.0.10:80': { connected: false, ms: 20, detail: 'Connection refused' } };
    const d = diagnose(f);
    expect(d.hops[d.hops.length - 1]).toMatchObject({
      id: 'connect/10.96.0.10:80',
      status: 'broken',
      evidence: 'TCP connection from the source node failed after 20 ms: Connection refused',
    });
    f.connect = { '10.96.0.10:80': { unavailable: 'the agent connects from its node: use --from node' } };
    expect(diagnose(f).hops.pop()).toMatchObject({ status: 'unknown' });
  });

  it('unreachable components give unknown hops with the reason, not a broken verdict', () => {
    const f = healthy();
    f.northbound = { unavailable: 'HTTP 503: standby' };
    f.backendNodes['node-2'] = { unavailable: 'ECONNREFUSED' };
    const d = diagnose(f);
    expect(d.hops.filter((h) => h.status === 'unknown').map((h) => [h.id, h.evidence])).toEqual([
      ['northbound', 'controller not reachable: HTTP 503: standby'],
      ['node/node-2/backend-node', 'node agent of node-2 not reachable: ECONNREFUSED'],
    ]);
    expect(d.verdict).toEqual({ status: 'ok', unknown: 2 });
    // The SB flow check cannot name the VPC's switches without NB, but still finds the VIP's flow.
    expect(d.hops.find((h) => h.id === 'southbound/logical-flows')!.status).toBe('ok');
  });
});
