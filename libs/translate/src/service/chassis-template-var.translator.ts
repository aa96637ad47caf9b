import { OWNER_KINDS } from '@ycloud/api';
import type { DesiredState } from '@ycloud/ovn';
import { chassisTemplateVarKey } from './naming';
import type { ServiceNode } from './service-context';

/**
 * The Chassis_Template_Var row of a node's chassis, owned by the Node. Only `chassis` is managed: `variables`
 * is left out so apply never compares or overwrites it; Services add their own keys there via DesiredMapEntries.
 */
export function translateChassisTemplateVar(node: ServiceNode): DesiredState {
  const owner = { kind: OWNER_KINDS.Node, name: node.name };
  const chassis = node.chassis ?? node.name;
  return {
    owner,
    rows: [{ table: 'Chassis_Template_Var', key: chassisTemplateVarKey(chassis), owner, columns: { chassis } }],
    memberships: [],
  };
}
