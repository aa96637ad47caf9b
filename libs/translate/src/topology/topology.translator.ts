import { ControllerConfig, Eip, EipPool, Subnet, Vpc } from '@ycloud/api';
import { DesiredState } from '@ycloud/ovn';
import { TranslationIssue, TranslateResult } from '../translation-issue';
import { translateEip, translateEipPool } from './eip.translator';
import { translateSubnet } from './subnet.translator';
import { translateVpc } from './vpc.translator';

/** Every topology object of a cluster (or a manifest set). */
export interface TopologyObjects {
  vpcs: Vpc[];
  subnets: Subnet[];
  eipPools: EipPool[];
  eips: Eip[];
}

/** Per object: `Kind/name` → its errors or warnings. */
export type Problems = Record<string, TranslationIssue[]>;

/** The result of translating a whole topology: states of the objects that translated, problems of the rest. */
export interface TopologyTranslation {
  states: DesiredState[];
  errors: Problems;
  warnings: Problems;
}

/**
 * Translates every Vpc, Subnet, EipPool and Eip with the cross-object context each needs. An object with errors
 * contributes no state at all; the others are unaffected.
 */
export function translateTopology(objs: TopologyObjects, config: Pick<ControllerConfig, 'eip'>): TopologyTranslation {
  const out: TopologyTranslation = { states: [], errors: {}, warnings: {} };
  const collect = (id: string, r: TranslateResult): void => {
    if (!r.ok) out.errors[id] = r.errors;
    else {
      out.states.push(r.state);
      if (r.warnings.length) out.warnings[id] = r.warnings;
    }
  };
  const byName = <T extends { metadata: { name: string } }>(xs: T[]): T[] =>
    [...xs].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  for (const vpc of byName(objs.vpcs)) {
    collect(
      `Vpc/${vpc.metadata.name}`,
      translateVpc(vpc, { eipPools: objs.eipPools, transitCIDR: config.eip.transitCIDR }),
    );
  }
  for (const subnet of byName(objs.subnets)) {
    collect(`Subnet/${subnet.metadata.name}`, translateSubnet(subnet, { vpcs: objs.vpcs, subnets: objs.subnets }));
  }
  const eipCtx = { ...objs, transitCIDR: config.eip.transitCIDR };
  for (const pool of byName(objs.eipPools)) collect(`EipPool/${pool.metadata.name}`, translateEipPool(pool, eipCtx));
  for (const eip of byName(objs.eips)) collect(`Eip/${eip.metadata.name}`, translateEip(eip, eipCtx));
  return out;
}
