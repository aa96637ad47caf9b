import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { reconcileContext, type KubeObject } from '@ycloud/k8s';
import { MapCache, RecordingApplier, RecordingEvents } from '../common/testing';
import { ServiceLoadBalancerController } from './service-load-balancer.controller';

type Svc = V1Service & KubeObject;

const service = (name: string, spec: Partial<NonNullable<V1Service['spec']>> = {}): Svc => ({
  metadata: { name, namespace: 'shop', uid: `uid-${name}` },
  spec: {
    clusterIP: '10.96.0.10',
    clusterIPs: ['10.96.0.10'],
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 as never }],
    ...spec,
  },
});
const slice = (svc: string, ips: string[]): V1EndpointSlice => ({
  metadata: { name: `${svc}-a`, namespace: 'shop', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
});

function setup(opts: { replyRoutes?: boolean } = {}) {
  const patches: Array<{ name: string; patch: { status: object } }> = [];
  const kube = {
    mergePatch: async (_r: unknown, _ns: unknown, name: string, patch: unknown) => {
      patches.push({ name, patch: patch as { status: object } });
      return {} as never;
    },
  };
  const services = new MapCache<Svc>();
  const slices = new Map<string, V1EndpointSlice[]>();
  const applier = new RecordingApplier();
  const events = new RecordingEvents();
  const controller = new ServiceLoadBalancerController({
    services,
    endpointSlicesFor: (ns, name) => slices.get(`${ns}/${name}`) ?? [],
    nodes: new MapCache<V1Node & KubeObject>(),
    topology: { vpcForNamespace: (ns) => (ns === 'shop' ? 'vpc-shop' : 'default') },
    applier,
    events,
    offloadSelectionFields: false,
    kube,
    nodeReplyRoutesOf: (vpc) =>
      opts.replyRoutes && vpc === 'vpc-shop'
        ? { router: 'vpc/vpc-shop/router', vpcCidrs: ['10.16.0.0/16'] }
        : undefined,
  });
  return { services, slices, applier, events, controller, patches };
}

const lbRows = (t: ReturnType<typeof setup>, owner: string) =>
  (t.applier.lastFor(owner)?.rows ?? []).filter((r) => r.table === 'Load_Balancer');

describe('ServiceLoadBalancerController', () => {
  it('applies one LB per protocol with the ClusterIP VIP and the ready endpoints, under the reason it was given', async () => {
    const t = setup();
    t.services.put(service('web'));
    t.slices.set('shop/web', [slice('web', ['10.16.0.5', '10.16.0.6'])]);
    await t.controller.reconcile('shop/web', reconcileContext('shop/web', { reason: 'EndpointSlice changed' }));
    expect(t.applier.applied.map((a) => [a.state.owner, a.reason])).toEqual([
      [{ kind: 'Service', name: 'shop/web' }, 'EndpointSlice changed'],
    ]);
    const lbs = lbRows(t, 'shop/web');
    expect(lbs).toHaveLength(1);
    expect(lbs[0].columns.vips).toEqual({ '10.96.0.10:80': '10.16.0.5:8080,10.16.0.6:8080' });
  });

  it('attaches the LB to the LB group of the VPC serving the namespace', async () => {
    const t = setup();
    t.services.put(service('web'));
    await t.controller.reconcile('shop/web', reconcileContext('shop/web'));
    const memberships = t.applier.lastFor('shop/web')!.memberships;
    expect(memberships.length).toBeGreaterThan(0);
    expect(JSON.stringify(memberships)).toContain('vpc-shop');
  });

  it('applies an empty state for a Service that is gone, so its rows are deleted', async () => {
    const t = setup();
    await t.controller.reconcile('shop/gone', reconcileContext('shop/gone', { reason: 'startup repair' }));
    expect(t.applier.applied).toEqual([
      {
        state: { owner: { kind: 'Service', name: 'shop/gone' }, rows: [], memberships: [], mapEntries: [] },
        reason: 'startup repair',
      },
    ]);
  });

  it('reports what it cannot translate as a Warning Event on the Service and still applies the rest', async () => {
    const t = setup();
    t.services.put(service('web', { externalIPs: ['not-an-ip'] }));
    await t.controller.reconcile('shop/web', reconcileContext('shop/web'));
    expect(t.events.events).toEqual([expect.stringMatching(/^Warning InvalidServiceSpec Service\/web: .*not-an-ip/)]);
    expect(lbRows(t, 'shop/web')).toHaveLength(1);
  });

  it('says on the Service (status condition) when a Local NodePort keeps the client address, and only then', async () => {
    const t = setup({ replyRoutes: true });
    const local = service('web', { type: 'NodePort', externalTrafficPolicy: 'Local' });
    t.services.put(local);
    await t.controller.reconcile('shop/web', reconcileContext('shop/web'));
    expect(t.patches).toEqual([
      {
        name: 'web',
        patch: {
          status: { conditions: [expect.objectContaining({ type: 'ycloud.io/ClientAddressKept', status: 'True' })] },
        },
      },
    ]);
    // Already said: nothing written.
    t.services.put({ ...local, status: t.patches[0].patch.status as never });
    await t.controller.reconcile('shop/web', reconcileContext('shop/web'));
    expect(t.patches).toHaveLength(1);
    // Back to Cluster: the condition goes.
    t.services.put({
      ...local,
      spec: { ...local.spec, externalTrafficPolicy: 'Cluster' },
      status: t.patches[0].patch.status as never,
    });
    await t.controller.reconcile('shop/web', reconcileContext('shop/web'));
    expect(t.patches[1]).toEqual({ name: 'web', patch: { status: { conditions: [] } } });
  });

  it('never sets the condition where replies cannot be routed (a VPC other than the default one)', async () => {
    const t = setup({ replyRoutes: false });
    t.services.put(service('web', { type: 'NodePort', externalTrafficPolicy: 'Local' }));
    await t.controller.reconcile('shop/web', reconcileContext('shop/web'));
    expect(t.patches).toEqual([]);
  });
});
