import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { API_VERSION, EIP_ANNOTATION, parseControllerConfig, type Eip, type EipPool, type Vpc } from '@ycloud/api';
import { reconcileContext, type KubeObject } from '@ycloud/k8s';
import { MapCache, RecordingApplier, RecordingEvents, RecordingKube } from '../common/testing';
import { ServiceEipController } from './service-eip.controller';

type Svc = V1Service & KubeObject;
const config = parseControllerConfig({ eip: { transitCIDR: '100.65.0.0/16' } });

const lbService = (name: string, annotations: Record<string, string> = {}): Svc => ({
  metadata: { name, namespace: 'blue', annotations },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.96.0.20',
    clusterIPs: ['10.96.0.20'],
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 as never }],
  },
});
const eip = (name: string, address: string, binding?: Eip['spec']['binding']): Eip & KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'Eip',
  metadata: { name },
  spec: { pool: 'ext', binding },
  status: { address },
});
const ext: EipPool & KubeObject = {
  apiVersion: API_VERSION,
  kind: 'EipPool',
  metadata: { name: 'ext' },
  spec: {
    networkName: 'ext',
    cidr: '172.16.0.0/24',
    ranges: ['172.16.0.50-172.16.0.99'],
    gateway: '172.16.0.254',
    gatewayNodes: ['node-1'],
  },
};
const blue: Vpc & KubeObject = {
  apiVersion: API_VERSION,
  kind: 'Vpc',
  metadata: { name: 'blue' },
  spec: { namespaces: ['blue'], externalGateway: { eipPool: 'ext' } },
  status: { transitAddress: '100.65.0.2' },
};
const slice: V1EndpointSlice = {
  metadata: { name: 'web-a', namespace: 'blue', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true } }],
};

const zoneNode = (name: string, zone: string): V1Node & KubeObject => ({
  metadata: { name, labels: { 'topology.kubernetes.io/zone': zone } },
});

function setup(
  eips: Array<Eip & KubeObject>,
  opts: { slices?: V1EndpointSlice[]; pools?: Array<EipPool & KubeObject>; nodes?: Array<V1Node & KubeObject> } = {},
) {
  const services = new MapCache<Svc>();
  const applier = new RecordingApplier();
  const kube = new RecordingKube();
  const events = new RecordingEvents();
  const controller = new ServiceEipController({
    services,
    endpointSlicesFor: (ns, name) => (ns === 'blue' && name === 'web' ? (opts.slices ?? [slice]) : []),
    eips: new MapCache(eips),
    eipPools: new MapCache(opts.pools ?? [ext]),
    nodes: new MapCache(opts.nodes ?? []),
    vpcs: new MapCache([blue]),
    vpcForNamespace: () => 'blue',
    config,
    applier,
    kube,
    events,
  });
  return { services, applier, kube, events, controller };
}

describe('ServiceEipController', () => {
  it('writes the bound EIP to status.loadBalancer.ingress, then puts the Service VIPs on it in a router LB', async () => {
    const t = setup([eip('fixed', '172.16.0.51', { kind: 'Service', namespace: 'blue', name: 'web' })]);
    const svc = lbService('web', { [EIP_ANNOTATION]: 'fixed' });
    t.services.put(svc);
    await t.controller.reconcile('blue/web', reconcileContext('blue/web', { reason: 'Service changed' }));
    const ingress = [{ ip: '172.16.0.51', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }];
    expect(t.kube.patches).toEqual([
      {
        resource: 'services',
        namespace: 'blue',
        name: 'web',
        subresource: 'status',
        patch: { status: { loadBalancer: { ingress } } },
      },
    ]);
    // The informer brings the Service back with its ingress: the VIP on the EIP goes on the VPC router.
    t.services.put({ ...svc, status: { loadBalancer: { ingress } } });
    await t.controller.reconcile('blue/web', reconcileContext('blue/web', { reason: 'Service changed' }));
    expect(t.kube.patches).toHaveLength(1); // the ingress is right: not written again
    const { state, reason } = t.applier.applied[1];
    expect([state.owner, reason]).toEqual([{ kind: 'ServiceEip', name: 'blue/web' }, 'Service changed']);
    const lb = state.rows.find((r) => r.table === 'Load_Balancer');
    expect(lb?.columns.vips).toEqual({ '172.16.0.51:80': '10.1.0.5:8080' });
  });

  it('refuses a named Eip bound to another Service with a Warning Event, and owns no rows', async () => {
    const t = setup([eip('fixed', '172.16.0.51', { kind: 'Service', namespace: 'blue', name: 'other' })]);
    t.services.put(lbService('web', { [EIP_ANNOTATION]: 'fixed' }));
    await t.controller.reconcile('blue/web', reconcileContext('blue/web'));
    expect(t.events.events).toEqual([expect.stringMatching(/^Warning EipInUse Service\/web: Eip fixed is bound to/)]);
    expect(t.applier.lastFor('blue/web')?.rows).toEqual([]);
  });

  it('refuses a loadBalancerIP outside the pool with a Warning naming field, value and ranges, and makes no Eip', async () => {
    const t = setup([]);
    t.services.put({ ...lbService('web'), spec: { ...lbService('web').spec, loadBalancerIP: '172.16.0.20' } });
    // RecordingKube refuses any create: reconcile resolving proves no Eip was asked for.
    await t.controller.reconcile('blue/web', reconcileContext('blue/web'));
    expect(t.events.events).toEqual([
      'Warning AddressOutsidePool Service/web: spec.loadBalancerIP: 172.16.0.20 is outside EipPool ext ' +
        '(172.16.0.50-172.16.0.99): no EIP',
    ]);
    expect(t.kube.patches).toEqual([]);
    expect(t.applier.lastFor('blue/web')?.rows).toEqual([]);
  });

  it('refuses a named Eip whose spec.address is outside its pool, without binding it', async () => {
    const t = setup([{ ...eip('fixed', '', undefined), spec: { pool: 'ext', address: '10.9.9.9' }, status: {} }]);
    t.services.put(lbService('web', { [EIP_ANNOTATION]: 'fixed' }));
    await t.controller.reconcile('blue/web', reconcileContext('blue/web'));
    expect(t.events.events).toEqual([
      'Warning AddressOutsidePool Service/web: Eip fixed spec.address: 10.9.9.9 is outside EipPool ext ' +
        '(172.16.0.50-172.16.0.99): no EIP',
    ]);
    expect(t.kube.patches).toEqual([]);
  });

  it('applies an empty state for a Service that is not of type LoadBalancer', async () => {
    const t = setup([]);
    t.services.put({ ...lbService('web'), spec: { ...lbService('web').spec, type: 'ClusterIP' } });
    await t.controller.reconcile('blue/web', reconcileContext('blue/web', { reason: 'Service changed' }));
    expect(t.applier.applied).toEqual([
      {
        state: { owner: { kind: 'ServiceEip', name: 'blue/web' }, rows: [], memberships: [], mapEntries: [] },
        reason: 'Service changed',
      },
    ]);
    expect(t.kube.patches).toEqual([]);
  });

  describe('topology hints on the EIP (kube-proxy filters external traffic by the receiving node’s hints)', () => {
    const hinted: V1EndpointSlice = {
      ...slice,
      endpoints: [
        {
          addresses: ['10.1.0.5'],
          conditions: { ready: true },
          zone: 'zone-a',
          hints: { forZones: [{ name: 'zone-a' }] },
        },
        {
          addresses: ['10.1.0.6'],
          conditions: { ready: true },
          zone: 'zone-b',
          hints: { forZones: [{ name: 'zone-b' }] },
        },
      ],
    };
    const activeOn = (node: string): EipPool & KubeObject => ({
      ...ext,
      spec: { ...ext.spec, gatewayNodes: ['gw-a', 'gw-b'] },
      status: { activeGatewayNode: node },
    });
    const nodes = [zoneNode('gw-a', 'zone-a'), zoneNode('gw-b', 'zone-b')];
    const routerVips = async (svc: Svc, pool: EipPool & KubeObject) => {
      const t = setup([eip('fixed', '172.16.0.51', { kind: 'Service', namespace: 'blue', name: 'web' })], {
        slices: [hinted],
        pools: [pool],
        nodes,
      });
      t.services.put({ ...svc, status: { loadBalancer: { ingress: [{ ip: '172.16.0.51' }] } } });
      await t.controller.reconcile('blue/web', reconcileContext('blue/web', { reason: 'Service changed' }));
      return t.applier.lastFor('blue/web')?.rows.find((r) => r.table === 'Load_Balancer')?.columns.vips;
    };

    it('takes the endpoints hinted for the zone of the node running the gateway', async () => {
      const svc = lbService('web', { [EIP_ANNOTATION]: 'fixed' });
      // The other zone's endpoint takes no new connection here; the drain VIP only keeps its replies un-DNATed.
      expect(await routerVips(svc, activeOn('gw-b'))).toEqual({
        '0.0.0.0:80': '10.1.0.5:8080',
        '172.16.0.51:80': '10.1.0.6:8080',
      });
      expect(await routerVips(svc, activeOn('gw-a'))).toEqual({
        '0.0.0.0:80': '10.1.0.6:8080',
        '172.16.0.51:80': '10.1.0.5:8080',
      });
    });

    it('takes every endpoint when the gateway node is unknown, or the Service is Local', async () => {
      const svc = lbService('web', { [EIP_ANNOTATION]: 'fixed' });
      expect(await routerVips(svc, { ...activeOn('gw-b'), status: {} })).toEqual({
        '172.16.0.51:80': '10.1.0.5:8080,10.1.0.6:8080',
      });
      const local = { ...svc, spec: { ...svc.spec, externalTrafficPolicy: 'Local' } };
      expect(await routerVips(local, activeOn('gw-b'))).toEqual({ '172.16.0.51:80': '10.1.0.5:8080,10.1.0.6:8080' });
    });
  });
});
