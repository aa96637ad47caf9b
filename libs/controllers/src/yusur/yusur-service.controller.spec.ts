import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import {
  API_VERSION,
  IP_ALLOCATION_ANNOTATION,
  parseControllerConfig,
  type BareMetalServer,
  type Eip,
  type EipPool,
  type NetworkProbe,
  type VNic,
  type Vpc,
  type YusurService,
} from '@ycloud/api';
import { reconcileContext, type KubeObject } from '@ycloud/k8s';
import { MapCache, RecordingApplier, RecordingEvents, RecordingKube } from '../common/testing';
import { ClusterIpBook } from './cluster-ip-book';
import { ServiceGatewayLinkBook } from './service-gateway-links';
import { YusurEips } from './yusur-eips';
import { YusurServiceController } from './yusur-service.controller';

type Svc = YusurService & KubeObject;
const config = parseControllerConfig({ serviceCIDRs: ['10.96.0.0/16'] });

const alloc = (ip: string) =>
  JSON.stringify({
    ...{ ip: `${ip}/16`, ips: [`${ip}/16`], gateway: '10.16.0.1', gateways: ['10.16.0.1'] },
    ...{ mac: '0e:79:00:00:00:01', logicalSwitch: 'default', logicalSwitchPort: 'x', mtu: 1400 },
    ...{ subnet: 'default', vpc: 'default' },
  });
const pod = (name: string, ip: string): V1Pod & KubeObject => ({
  metadata: { namespace: 'shop', name, labels: { app: 'web' }, annotations: { [IP_ALLOCATION_ANNOTATION]: alloc(ip) } },
  spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
});
const service = (spec: Partial<YusurService['spec']> = {}): Svc => ({
  apiVersion: API_VERSION,
  kind: 'YusurService',
  metadata: { name: 'web', namespace: 'shop', generation: 1 },
  spec: {
    backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
    ports: [{ port: 80, targetPort: 'http' }],
    scenarios: { clusterIP: {} },
    ...spec,
  },
});

function setup(pods: Array<V1Pod & KubeObject>) {
  const services = new MapCache<Svc>();
  const vpcs = new MapCache<Vpc & KubeObject>();
  const eips = new MapCache<Eip & KubeObject>();
  const applier = new RecordingApplier();
  const kube = new RecordingKube();
  const controller = new YusurServiceController({
    services,
    probes: new MapCache<NetworkProbe & KubeObject>(),
    vpcs,
    eipPools: new MapCache<EipPool & KubeObject>(),
    eips: new YusurEips({ eips, vpcs, config, kube }),
    sources: {
      pods: new MapCache(pods),
      namespaces: new MapCache<V1Namespace & KubeObject>(),
      vmis: () => [],
      bareMetalServers: new MapCache<BareMetalServer & KubeObject>(),
      vnics: new MapCache<VNic & KubeObject>(),
      subnets: () => [],
      vpcForNamespace: () => 'default',
    },
    config,
    applier,
    kube,
    events: new RecordingEvents(),
    clusterIps: new ClusterIpBook(),
    links: new ServiceGatewayLinkBook(config.serviceGateway.linkCIDR, () => []),
  });
  /** The status last written for the service. */
  const status = () =>
    (kube.patches.filter((p) => p.subresource === 'status').at(-1)?.patch as { status: YusurService['status'] })
      ?.status;
  return { services, applier, kube, controller, status };
}

describe('YusurServiceController', () => {
  it('resolves Pod backends, allocates a ClusterIP and applies the LB under the reason it was given', async () => {
    const t = setup([pod('p1', '10.16.0.5'), pod('p2', '10.16.0.6')]);
    t.services.put(service());
    await t.controller.reconcile('shop/web', reconcileContext('shop/web', { reason: 'Pod changed' }));
    const { state, reason } = t.applier.applied[0];
    expect([state.owner, reason]).toEqual([{ kind: 'YusurService', name: 'shop/web' }, 'Pod changed']);
    const st = t.status();
    expect(st?.clusterIPs).toHaveLength(1);
    const lb = state.rows.find((r) => r.table === 'Load_Balancer');
    expect(lb?.columns.vips).toEqual({ [`${st!.clusterIPs![0]}:80`]: '10.16.0.5:8080,10.16.0.6:8080' });
    expect(st?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  });

  it('owns no rows and says why in Ready=False when its VPC does not exist', async () => {
    const t = setup([pod('p1', '10.16.0.5')]);
    t.services.put(service({ scenarios: { clusterIP: { vpc: 'missing' } } }));
    await t.controller.reconcile('shop/web', reconcileContext('shop/web'));
    expect(t.applier.lastFor('shop/web')?.rows).toEqual([]);
    expect(t.status()?.conditions?.find((c) => c.type === 'AddressesAllocated')).toMatchObject({
      status: 'False',
      reason: 'VpcNotFound',
    });
  });

  it('applies an empty state for a service that is gone, so its rows are deleted', async () => {
    const t = setup([]);
    await t.controller.reconcile('shop/gone', reconcileContext('shop/gone', { reason: 'startup repair' }));
    expect(t.applier.applied).toEqual([
      {
        state: { owner: { kind: 'YusurService', name: 'shop/gone' }, rows: [], memberships: [], mapEntries: [] },
        reason: 'startup repair',
      },
    ]);
  });
});
