import { GROUP, VERSION, crdResources, type CrdKind } from '@ycloud/api';
import { resourceType, type ResourceType } from '@ycloud/k8s';

function crd(kind: CrdKind): ResourceType {
  const r = crdResources[kind];
  return resourceType(GROUP, VERSION, r.plural, r.kind, r.namespaced);
}

/** REST types of the resources the YusurService controller reads and writes. */
export const YUSUR_RESOURCES = {
  YusurService: crd('YusurService'),
  NetworkProbe: crd('NetworkProbe'),
  BareMetalServer: crd('BareMetalServer'),
  VNic: crd('VNic'),
  /** KubeVirt's VMIs: read only when the API is served. */
  VirtualMachineInstance: resourceType('kubevirt.io', 'v1', 'virtualmachineinstances', 'VirtualMachineInstance'),
} as const;
