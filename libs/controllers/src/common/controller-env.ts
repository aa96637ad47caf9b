import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Subnet, Vpc } from '@ycloud/api';
import {
  Resources,
  SERVICE_NAME_LABEL,
  indexByLabel,
  type Informer,
  type KubeObject,
  type SharedInformers,
} from '@ycloud/k8s';
import { defaultTopologyObjects } from '@ycloud/translate/topology';
import { EipAddressBook } from '../eip/eip-addresses';
import { ServiceGatewayEips } from '../eip/service-gateway-eips';
import { SubnetIpam } from '../ipam/subnet-ipam';
import { TOPOLOGY_RESOURCES, vpcForNamespace } from '../topology/topology-objects.controller';
import type { ControllerEnv } from './registration';

/** The caches nearly every controller reads; the manager starts them before anything else. */
export interface CoreCaches {
  services: Informer<V1Service & KubeObject>;
  /** Indexed by `service` (`namespace/name` of the owning Service). */
  endpointSlices: Informer<V1EndpointSlice & KubeObject>;
  nodes: Informer<V1Node & KubeObject>;
  pods: Informer<V1Pod & KubeObject>;
}

/** Creates the core caches in the shared informers (they start with the others). */
export function coreCaches(informers: SharedInformers): CoreCaches {
  return {
    services: informers.get(Resources.services),
    endpointSlices: informers.get(Resources.endpointSlices, {
      indexers: { service: indexByLabel(SERVICE_NAME_LABEL) },
    }),
    nodes: informers.get(Resources.nodes),
    pods: informers.get(Resources.pods),
  };
}

/** The EndpointSlices of a Service, from the core cache's index. */
export function endpointSlicesFor(caches: CoreCaches): (namespace: string, name: string) => V1EndpointSlice[] {
  return (ns, name) => caches.endpointSlices.store.byIndex('service', `${ns}/${name}`);
}

/**
 * The environment every controller shares. The Vpc and Subnet caches back the namespace → VPC map and the pod
 * subnets when their CRDs are served (clusters and tests without them still run Services and pods).
 */
export async function buildControllerEnv(
  base: Omit<
    ControllerEnv,
    'vpcForNamespace' | 'ipam' | 'builtinSubnets' | 'subnets' | 'serviceGatewayEips' | 'eipAddresses' | 'caches'
  > & { caches: CoreCaches },
): Promise<ControllerEnv> {
  const { informers, config } = base;
  const vpcs = (await informers.served(TOPOLOGY_RESOURCES.Vpc))
    ? informers.get<Vpc & KubeObject>(TOPOLOGY_RESOURCES.Vpc)
    : undefined;
  const subnetObjects = (await informers.served(TOPOLOGY_RESOURCES.Subnet))
    ? informers.get<Subnet & KubeObject>(TOPOLOGY_RESOURCES.Subnet)
    : undefined;
  await Promise.all([vpcs?.waitForSync(), subnetObjects?.waitForSync()]);
  const builtinSubnets = defaultTopologyObjects(config).subnets;
  const ready = (s: Subnet) => s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  return {
    ...base,
    vpcForNamespace: (ns) => vpcForNamespace(vpcs?.store.list() ?? [], ns, config.defaultVpc),
    ipam: new SubnetIpam(),
    builtinSubnets,
    // Pods may use any Subnet whose topology is in place (Ready), not only the built-in ones.
    subnets: () => [...builtinSubnets, ...(subnetObjects?.store.list() ?? []).filter(ready)],
    serviceGatewayEips: new ServiceGatewayEips(),
    eipAddresses: new EipAddressBook(),
  };
}
