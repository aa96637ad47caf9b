import type { RawSchema } from './schema-info';

/**
 * Optional OVN Northbound features ycloud knows about, each detected from the server's NB schema (never assumed
 * from the OVN version ycloud was built against). Where a feature has no schema element of its own, the threshold
 * is the NB schema version of the oldest release on which it was verified here (README, supported versions):
 * 7.0.0 is OVN 23.03, 7.11.0 is OVN 25.03. Releases between them may have some of these too; they are reported off.
 */
export const NB_FEATURES = {
  /** Load_Balancer_Health_Check (TCP/UDP probes of LB backends; YusurService health checks). */
  lb_health_check: { table: 'Load_Balancer_Health_Check' },
  /** Load_Balancer_Group (one LB reaches every switch of a VPC). */
  lb_group: { table: 'Load_Balancer_Group' },
  /** Chassis_Template_Var (template LBs for `externalTrafficPolicy: Local`). */
  lb_template: { table: 'Chassis_Template_Var' },
  /** Load_Balancer options:ct_flush (conntrack entries of a removed backend are flushed). */
  lb_ct_flush: { minSchema: '7.0.0' },
  /** Load_Balancer.selection_fields accepts ipv6_src / ipv6_dst (hash IPv6 services for offload). */
  lb_selection_fields_ipv6: { enumValue: ['Load_Balancer', 'selection_fields', 'ipv6_src'] },
  /** ovn-northd processes Load_Balancer changes incrementally (23.03 recomputes every logical flow). */
  lb_incremental_processing: { minSchema: '7.11.0' },
  /** Logical_Router options:use_stateless_nat (routers with several distributed gateway ports). */
  use_stateless_nat: { minSchema: '7.11.0' },
  /** NAT.match and NAT.priority (NAT rules limited by a match expression). */
  nat_match: { column: ['NAT', 'match'] },
} as const satisfies Record<string, FeatureRule>;

export type NorthboundFeature = keyof typeof NB_FEATURES;

type FeatureRule =
  | { table: string }
  | { column: readonly [string, string] }
  | { enumValue: readonly [string, string, string] }
  | { minSchema: string };

export interface NorthboundFeatures {
  /** The server's NB schema version ('7.0.0' on OVN 23.03). */
  schemaVersion: string;
  /** Every known feature and whether this server has it. */
  features: Record<NorthboundFeature, boolean>;
}

/** Which optional features an NB server with `schema` has (pure; the schema is what `get_schema` returned). */
export function northboundFeatures(schema: RawSchema): NorthboundFeatures {
  const version = schema.version ?? '0.0.0';
  const has = (rule: FeatureRule): boolean => {
    if ('table' in rule) return rule.table in schema.tables;
    if ('column' in rule) return rule.column[1] in (schema.tables[rule.column[0]]?.columns ?? {});
    if ('enumValue' in rule)
      return enumValues(schema, rule.enumValue[0], rule.enumValue[1]).includes(rule.enumValue[2]);
    return compareVersions(version, rule.minSchema) >= 0;
  };
  const features = Object.fromEntries(Object.entries(NB_FEATURES).map(([name, rule]) => [name, has(rule)])) as Record<
    NorthboundFeature,
    boolean
  >;
  return { schemaVersion: version, features };
}

/** Names of the features that are on, for a log line. */
export function enabledFeatures(f: NorthboundFeatures): NorthboundFeature[] {
  return (Object.keys(f.features) as NorthboundFeature[]).filter((k) => f.features[k]);
}

/** The allowed values of an enum-typed column's key, or [] if it has none. */
function enumValues(schema: RawSchema, table: string, column: string): string[] {
  const type = schema.tables[table]?.columns[column]?.type;
  const key = typeof type === 'object' ? type.key : undefined;
  const e = typeof key === 'object' ? (key as { enum?: unknown }).enum : undefined;
  // RFC 7047 JSON writes a set as ["set", [...]]; the parsed schema of @ycloud/ovsdb holds the plain list.
  if (Array.isArray(e)) return (e[0] === 'set' && Array.isArray(e[1]) ? (e[1] as unknown[]) : e).map(String);
  return e === undefined ? [] : [String(e)];
}

/** Compares dotted numeric versions ('7.11.0' > '7.3.0'). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
