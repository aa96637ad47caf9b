import type { V1Node } from '@kubernetes/client-node';
import { API_VERSION, parseControllerConfig, type Eip, type EipPool, type Subnet, type Vpc } from '@ycloud/api';
import { Logger, reconcileContext, type KubeObject } from '@ycloud/k8s';
import { MapCache, RecordingApplier, RecordingEvents, RecordingKube } from '../common/testing';
import { EipAddressBook } from '../eip/eip-addresses';
import { TopologyObjectsController } from './topology-objects.controller';

const config = parseControllerConfig({});
const meta = (name: string) => ({ name, generation: 1 });
const vpc = (name: string, namespaces: string[]): Vpc & KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'Vpc',
  metadata: meta(name),
  spec: { namespaces },
});
const subnet = (name: string, vpcName: string, cidr: string): Subnet & KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'Subnet',
  metadata: meta(name),
  spec: { vpc: vpcName, cidrBlocks: [cidr] },
});

function setup() {
  const vpcs = new MapCache<Vpc & KubeObject>();
  const subnets = new MapCache<Subnet & KubeObject>();
  const applier = new RecordingApplier();
  const kube = new RecordingKube();
  const controller = new TopologyObjectsController({
    caches: {
      vpcs,
      subnets,
      eipPools: new MapCache<EipPool & KubeObject>(),
      eips: new MapCache<Eip & KubeObject>(),
      nodes: new MapCache<V1Node & KubeObject>(),
    },
    config,
    applier,
    kube,
    events: new RecordingEvents(),
    addresses: new EipAddressBook(),
    log: Logger.silent(),
  });
  /** The Ready condition last written for an object. */
  const ready = (name: string) => {
    const patch = kube.patches.filter((p) => p.name === name && p.subresource === 'status').at(-1)?.patch as
      { status: { conditions?: Array<{ type: string; status: string; reason: string }> } } | undefined;
    return patch?.status.conditions?.find((c) => c.type === 'Ready');
  };
  return { vpcs, subnets, applier, kube, controller, ready };
}

describe('TopologyObjectsController', () => {
  it('turns a Vpc into its router rows under the reason given, and reports it Ready', async () => {
    const t = setup();
    t.vpcs.put(vpc('blue', ['blue']));
    await t.controller.reconcile('Vpc/blue', reconcileContext('Vpc/blue', { reason: 'topology changed' }));
    const { state, reason } = t.applier.applied[0];
    expect([state.owner, reason]).toEqual([{ kind: 'Vpc', name: 'blue' }, 'topology changed']);
    expect(state.rows.some((r) => r.table === 'Logical_Router')).toBe(true);
    expect(t.ready('blue')).toMatchObject({ status: 'True', reason: 'Ready' });
  });

  it('gives a Subnet of a missing Vpc no rows and Ready=False VpcNotFound', async () => {
    const t = setup();
    t.subnets.put(subnet('orphan', 'nope', '10.9.0.0/24'));
    await t.controller.reconcile('Subnet/orphan', reconcileContext('Subnet/orphan'));
    expect(t.applier.lastFor('orphan')).toMatchObject({ owner: { kind: 'Subnet', name: 'orphan' }, rows: [] });
    expect(t.ready('orphan')).toMatchObject({ status: 'False', reason: 'VpcNotFound' });
  });

  it('leaves the built-in default VPC subnets to the default topology (no write at all)', async () => {
    const t = setup();
    await t.controller.reconcile('Subnet/default', reconcileContext('Subnet/default'));
    expect(t.applier.applied).toEqual([]);
    expect(t.kube.patches).toEqual([]);
  });

  it('lists every object key plus the default VPC (whose external gateway it reconciles)', () => {
    const t = setup();
    t.vpcs.put(vpc('blue', ['blue']));
    t.subnets.put(subnet('blue', 'blue', '10.1.0.0/24'));
    expect(t.controller.allKeys()).toEqual(['Vpc/default', 'Vpc/blue', 'Subnet/blue']);
    expect(t.controller.vpcForNamespace('blue')).toBe('blue');
    expect(t.controller.vpcForNamespace('other')).toBe('default');
  });
});
