import type { V1Node } from '@kubernetes/client-node';
import { NODE_ALLOCATION_ANNOTATION, parseControllerConfig, parseIpAllocationAnnotation } from '@ycloud/api';
import { reconcileContext, type KubeObject } from '@ycloud/k8s';
import { defaultTopologyObjects } from '@ycloud/translate/topology';
import { MapCache, RecordingApplier, RecordingEvents, RecordingKube } from '../common/testing';
import { SubnetIpam } from '../ipam/subnet-ipam';
import { NodeNetworkController } from './node-network.controller';

type Node = V1Node & KubeObject;
const config = parseControllerConfig({ joinSubnet: { name: 'join', cidrBlocks: ['100.64.0.0/29'] } });
const join = defaultTopologyObjects(config).subnets.find((s) => s.spec.role === 'join')!;
const node = (name: string, annotations: Record<string, string> = {}): Node => ({
  metadata: { name, annotations },
  status: { addresses: [{ type: 'InternalIP', address: '192.168.0.1' }] },
});

function setup(nodes: Node[] = [], joinSubnet = join) {
  const cache = new MapCache<Node>(nodes);
  const applier = new RecordingApplier();
  const kube = new RecordingKube();
  const events = new RecordingEvents();
  const controller = new NodeNetworkController({
    nodes: cache,
    joinSubnet: () => joinSubnet,
    ipam: new SubnetIpam(),
    applier,
    kube,
    events,
    config,
  });
  /** The annotation value the controller last patched onto a node. */
  const annotation = (name: string) => {
    const patch = kube.patches.filter((p) => p.name === name).at(-1)?.patch as
      { metadata: { annotations: Record<string, string> } } | undefined;
    return patch?.metadata.annotations[NODE_ALLOCATION_ANNOTATION];
  };
  const annotated = (name: string) => parseIpAllocationAnnotation(annotation(name));
  return { cache, applier, kube, events, controller, annotation, annotated };
}

describe('NodeNetworkController', () => {
  it('gives a node a join-subnet port, a route to its InternalIP and Chassis_Template_Var, and annotates the address for the agent', async () => {
    const t = setup([node('n1')]);
    await t.controller.reconcile('n1', reconcileContext('n1', { reason: 'Node changed' }));
    const { state, reason } = t.applier.applied[0];
    expect(reason).toBe('Node changed');
    expect(state.owner).toEqual({ kind: 'Node', name: 'n1' });
    expect(state.rows.map((r) => r.table).sort()).toEqual([
      'Chassis_Template_Var',
      'Logical_Router_Static_Route',
      'Logical_Switch_Port',
    ]);
    const ann = t.annotated('n1');
    expect(ann?.subnet).toBe('join');
    expect(ann?.ips[0]).toMatch(/^100\.64\.0\.\d+\/29$/);
    // Pods reach the node's host network (host-network endpoints) through its join port.
    const route = state.rows.find((r) => r.table === 'Logical_Router_Static_Route')!;
    expect(route.columns).toMatchObject({ ip_prefix: '192.168.0.1/32', nexthop: ann!.ips[0].split('/')[0] });
    expect(route.parent).toEqual({
      table: 'Logical_Router',
      key: `vpc/${join.spec.vpc}/router`,
      column: 'static_routes',
    });
  });

  it("routes a node's IPv6 InternalIP to its IPv6 join address, the one the annotation gives the agent", async () => {
    const dual = parseControllerConfig({
      joinSubnet: { name: 'join', cidrBlocks: ['100.64.0.0/29', 'fd00:100:64::/120'] },
    });
    const dualJoin = defaultTopologyObjects(dual).subnets.find((s) => s.spec.role === 'join')!;
    const n1: Node = {
      metadata: { name: 'n1', annotations: {} },
      status: {
        addresses: [
          { type: 'InternalIP', address: '192.168.0.1' },
          { type: 'InternalIP', address: 'fd00:192:168::1' },
        ],
      },
    };
    const t = setup([n1], dualJoin);
    await t.controller.reconcile('n1', reconcileContext('n1'));
    const joinIPv6 = t
      .annotated('n1')!
      .ips.find((ip) => ip.includes(':'))!
      .split('/')[0];
    expect(joinIPv6).toMatch(/^fd00:100:64::/);
    const rows = t.applier.applied[0].state.rows;
    expect(rows.find((r) => r.key === 'node/n1/host-route/fd00:192:168::1')?.columns).toMatchObject({
      ip_prefix: 'fd00:192:168::1/128',
      nexthop: joinIPv6,
    });
    // No policy beside it: the reply gateway's IPv6 drop takes only what its sink route took (docs/adr/0011).
    expect(rows.filter((r) => r.table === 'Logical_Router_Policy')).toEqual([]);
  });

  it('keeps the annotated address after a restart, and does not rewrite an annotation that is right', async () => {
    const first = setup([node('n1')]);
    await first.controller.reconcile('n1', reconcileContext('n1'));
    const value = first.annotation('n1')!;
    const second = setup([node('n2'), node('n1', { [NODE_ALLOCATION_ANNOTATION]: value })]);
    await second.controller.reconcile('n2', reconcileContext('n2'));
    await second.controller.reconcile('n1', reconcileContext('n1'));
    expect(second.kube.patches.map((p) => p.name)).toEqual(['n2']);
    expect(second.annotated('n2')?.ips).not.toEqual(first.annotated('n1')?.ips);
  });

  it('reports an exhausted join subnet as a Warning Event on the Node and fails the reconcile (retried)', async () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const t = setup(names.map((n) => node(n)));
    const results = await Promise.allSettled(names.map((n) => t.controller.reconcile(n, reconcileContext(n))));
    expect(results.some((r) => r.status === 'rejected')).toBe(true);
    expect(t.events.events.some((e) => e.startsWith('Warning JoinAddressAllocationFailed Node/'))).toBe(true);
  });

  it('applies an empty state for a node that is gone, so its rows are deleted', async () => {
    const t = setup([node('n1')]);
    await t.controller.reconcile('n1', reconcileContext('n1'));
    t.cache.remove('n1');
    await t.controller.reconcile('n1', reconcileContext('n1', { reason: 'startup repair' }));
    expect(t.applier.applied.at(-1)).toEqual({
      state: { owner: { kind: 'Node', name: 'n1' }, rows: [], memberships: [], mapEntries: [] },
      reason: 'startup repair',
    });
  });
});
