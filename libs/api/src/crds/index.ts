import { GROUP, VERSION } from '../common.types';
import { CrdDefinition, Schema, crdObject } from './schema-builder';
import { bareMetalServerCrd, networkProbeCrd, vnicCrd, yusurServiceCrd } from './service.crds';
import { eipCrd, eipPoolCrd, subnetCrd, vpcCrd } from './topology.crds';

/** Every ycloud CRD definition; `crds/<plural>.yaml` is generated from these (generate-crds.ts). */
export const crdDefinitions: CrdDefinition[] = [
  vpcCrd,
  subnetCrd,
  eipPoolCrd,
  eipCrd,
  yusurServiceCrd,
  networkProbeCrd,
  bareMetalServerCrd,
  vnicCrd,
];

/** The CustomResourceDefinition objects. */
export function crdObjects(): Schema[] {
  return crdDefinitions.map((d) => crdObject(d, GROUP, VERSION));
}

export { undocumented } from './schema-builder';
export type { CrdDefinition } from './schema-builder';
