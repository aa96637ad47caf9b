import { DEFAULT_CONTROLLER_CONFIG, Eip, EipPool, GROUP, Subnet, Vpc } from '@ycloud/api';
import type { IpFamily } from '@ycloud/api';
import type { KubeObject } from '../manifests/manifest-loader';
import {
  kindOf,
  type ManifestTranslation,
  type ManifestTranslator,
  type ManifestWarning,
} from '../manifests/manifest-translator';
import { defaultTopologyObjects } from './default-topology';
import { lbGroupKey } from './keys';
import { parseSubnet } from './subnet-model';
import { translateTopology } from './topology.translator';

const kinds = { vpc: `${GROUP}/Vpc`, subnet: `${GROUP}/Subnet`, pool: `${GROUP}/EipPool`, eip: `${GROUP}/Eip` };

function split(objects: KubeObject[], defaultVpc: string) {
  const of = <T>(k: string): T[] => objects.filter((o) => kindOf(o) === k) as unknown as T[];
  const vpcs = of<Vpc>(kinds.vpc);
  const subnets = of<Subnet>(kinds.subnet);
  // The controller always creates the default VPC; add it (with its subnets from the default config) unless given.
  if (!vpcs.some((v) => v.metadata.name === defaultVpc)) {
    const builtin = defaultTopologyObjects({ ...DEFAULT_CONTROLLER_CONFIG, defaultVpc });
    vpcs.push(builtin.vpc);
    for (const s of builtin.subnets) if (!subnets.some((x) => x.metadata.name === s.metadata.name)) subnets.push(s);
  }
  return { vpcs, subnets, eipPools: of<EipPool>(kinds.pool), eips: of<Eip>(kinds.eip) };
}

/**
 * Vpc, Subnet, EipPool and Eip manifests for `ycloud translate`: maps namespaces to VPCs, gives Services the real
 * `lbGroupKey` and each VPC's address families, and translates the topology (plus the default VPC when absent).
 */
export const topologyManifestTranslator: ManifestTranslator = {
  name: 'topology',
  kinds: Object.values(kinds),
  prepare(objects, ctx) {
    ctx.lbGroupKey = lbGroupKey;
    const objs = split(objects, ctx.defaultVpc);
    for (const vpc of objs.vpcs)
      for (const ns of vpc.spec.namespaces ?? []) ctx.namespaceVpc.set(ns, vpc.metadata.name);
    for (const vpc of objs.vpcs) {
      const cidrs = objs.subnets.filter((x) => x.spec.vpc === vpc.metadata.name).flatMap((x) => x.spec.cidrBlocks);
      ctx.vpcCidrs.set(vpc.metadata.name, cidrs);
      const join = objs.subnets.filter((x) => x.spec.vpc === vpc.metadata.name && x.spec.role === 'join');
      ctx.joinCidrs.set(
        vpc.metadata.name,
        join.flatMap((x) => x.spec.cidrBlocks),
      );
      const fams = new Set<IpFamily>();
      for (const s of objs.subnets.filter(
        (x) => x.spec.vpc === vpc.metadata.name && (x.spec.role ?? 'pod') === 'pod',
      )) {
        const m = parseSubnet(s).model;
        if (m?.v4) fams.add(4);
        if (m?.v6) fams.add(6);
      }
      if (fams.size) ctx.vpcFamilies.set(vpc.metadata.name, [...fams].sort());
    }
  },
  translate(objects, ctx): ManifestTranslation[] {
    const result = translateTopology(split(objects, ctx.defaultVpc), DEFAULT_CONTROLLER_CONFIG);
    const warningsOf = (id: string): ManifestWarning[] =>
      [...(result.errors[id] ?? []), ...(result.warnings[id] ?? [])].map((e) => ({
        object: id,
        field: e.field ?? '',
        message: `${e.reason}: ${e.message}`,
      }));
    const out: ManifestTranslation[] = result.states.map((state) => ({
      state,
      warnings: warningsOf(`${state.owner.kind}/${state.owner.name}`),
    }));
    // Objects that failed have no state; report their errors on an empty one so nothing is lost.
    for (const id of Object.keys(result.errors)) {
      const [kind, name] = id.split('/');
      out.push({ state: { owner: { kind, name }, rows: [], memberships: [] }, warnings: warningsOf(id) });
    }
    return out;
  },
};
