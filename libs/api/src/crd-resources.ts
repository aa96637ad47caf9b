import { GROUP, VERSION } from './common.types';

/** Where each ycloud kind lives in the API, for informers and clients. */
export interface CrdResource {
  group: typeof GROUP;
  version: typeof VERSION;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const r = (kind: string, plural: string, namespaced: boolean): CrdResource => ({
  group: GROUP,
  version: VERSION,
  kind,
  plural,
  namespaced,
});

export const crdResources = {
  Vpc: r('Vpc', 'vpcs', false),
  Subnet: r('Subnet', 'subnets', false),
  EipPool: r('EipPool', 'eippools', false),
  Eip: r('Eip', 'eips', false),
  YusurService: r('YusurService', 'yusurservices', true),
  NetworkProbe: r('NetworkProbe', 'networkprobes', true),
  BareMetalServer: r('BareMetalServer', 'baremetalservers', false),
  VNic: r('VNic', 'vnics', true),
} as const;

export type CrdKind = keyof typeof crdResources;

/** API path of a collection, e.g. `/apis/sdn.ycloud.io/v1alpha1/namespaces/ns/yusurservices`. */
export function crdPath(res: CrdResource, namespace?: string): string {
  const ns = res.namespaced && namespace ? `/namespaces/${namespace}` : '';
  return `/apis/${res.group}/${res.version}${ns}/${res.plural}`;
}
