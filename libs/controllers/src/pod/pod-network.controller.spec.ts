import { reconcileContext } from '@ycloud/k8s';
import type { V1Pod } from '@kubernetes/client-node';
import { IP_ALLOCATION_ANNOTATION, parseIpAllocationAnnotation, type Subnet } from '@ycloud/api';
import type { KubeClient } from '@ycloud/k8s';
import type { ApplyRecord, DesiredState, NorthboundApplier } from '@ycloud/ovn';
import { SubnetIpam } from '../ipam/subnet-ipam';
import { PodNetworkController } from './pod-network.controller';

const subnet = (name: string, vpc: string, cidr: string, namespaces?: string[]): Subnet =>
  ({
    apiVersion: 'sdn.ycloud.io/v1alpha1',
    kind: 'Subnet',
    metadata: { name },
    spec: { vpc, cidrBlocks: [cidr], gateway: cidr.replace(/0\/\d+$/, '1'), ...(namespaces ? { namespaces } : {}) },
  }) as Subnet;

const pod = (namespace: string, name: string): V1Pod => ({
  metadata: { namespace, name, annotations: {} },
  spec: { nodeName: 'node-1', containers: [] },
});

/** The controller over plain in-memory stand-ins: which subnet a pod's address comes from. */
function controller(subnets: Subnet[], vpcOfNamespace: Record<string, string>) {
  const pods = new Map<string, V1Pod>();
  const annotations = new Map<string, string>();
  const applied: DesiredState[] = [];
  const c = new PodNetworkController({
    pods: { get: (k) => pods.get(k), list: () => [...pods.values()] },
    subnets: () => subnets,
    ipam: new SubnetIpam(),
    applier: {
      apply: (s: DesiredState) => {
        applied.push(s);
        return Promise.resolve({ written: true } as ApplyRecord);
      },
    } as unknown as NorthboundApplier,
    kube: {
      mergePatch: (
        _rt: unknown,
        ns: string,
        name: string,
        body: { metadata: { annotations: Record<string, string> } },
      ) => {
        annotations.set(`${ns}/${name}`, body.metadata.annotations[IP_ALLOCATION_ANNOTATION]);
        return Promise.resolve({});
      },
    } as unknown as KubeClient,
    events: { warning: () => undefined, normal: () => undefined } as never,
    config: { defaultSubnet: { name: 'default' } as never, mtu: 1400, defaultVpc: 'default' },
    vpcForNamespace: (ns) => vpcOfNamespace[ns] ?? 'default',
  });
  const add = (p: V1Pod) => pods.set(`${p.metadata!.namespace}/${p.metadata!.name}`, p);
  const subnetOf = (key: string) => parseIpAllocationAnnotation(annotations.get(key))?.subnet;
  const ipsOf = (key: string) => parseIpAllocationAnnotation(annotations.get(key))?.ips;
  return { c, add, subnetOf, ipsOf, applied };
}

describe('PodNetworkController subnet choice', () => {
  const base = [subnet('default', 'default', '10.16.0.0/16')];

  it('puts a pod of an unclaimed namespace in the default subnet', async () => {
    const t = controller(base, {});
    t.add(pod('web', 'a'));
    await t.c.reconcile('web/a', reconcileContext('web/a', { reason: 'test' }));
    expect(t.subnetOf('web/a')).toBe('default');
  });

  it('never puts a pod of another VPC in the default subnet: it waits until that VPC has a subnet for it', async () => {
    const subnets = [...base];
    const t = controller(subnets, { shop: 'shop' });
    t.add(pod('shop', 'a'));
    await expect(t.c.reconcile('shop/a', reconcileContext('shop/a', { reason: 'test' }))).rejects.toThrow(
      'namespace shop belongs to Vpc shop, which has no Subnet for it yet',
    );
    expect(t.subnetOf('shop/a')).toBeUndefined();
    expect(t.applied).toEqual([]);

    subnets.push(subnet('shop', 'shop', '10.3.0.0/24', ['shop']));
    await t.c.reconcile('shop/a', reconcileContext('shop/a', { reason: 'retry' }));
    expect(t.subnetOf('shop/a')).toBe('shop');
  });

  it("takes a subnet of the namespace's VPC that names no namespaces", async () => {
    const t = controller([...base, subnet('shop-any', 'shop', '10.3.0.0/24')], { shop: 'shop' });
    t.add(pod('shop', 'a'));
    await t.c.reconcile('shop/a', reconcileContext('shop/a', { reason: 'test' }));
    expect(t.subnetOf('shop/a')).toBe('shop-any');
  });
});

describe('PodNetworkController address stability', () => {
  it('keeps a pod its address when a reconcile sees the pod before its annotation (a lagging cache)', async () => {
    const t = controller([subnet('default', 'default', '10.16.0.0/16')], {});
    t.add(pod('web', 'a'));
    // The cache never shows the annotation the first reconcile patched: the second reconciles the same stale pod.
    await t.c.reconcile('web/a', reconcileContext('web/a', { reason: 'created' }));
    const first = t.ipsOf('web/a');
    await t.c.reconcile('web/a', reconcileContext('web/a', { reason: 'status changed' }));
    expect(first).toHaveLength(1);
    expect(t.ipsOf('web/a')).toEqual(first);
  });
});
