import type { V1Service } from '@kubernetes/client-node';
import { parseCidr, parseIpAddress, type IpFamily } from '@ycloud/api';
import { ref, type DesiredMembership, type DesiredRow, type Owner } from '@ycloud/ovn';

/** The annotation older clients use instead of `spec.loadBalancerSourceRanges` (the field wins when both are set). */
export const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/** One allowed client range, in the canonical `address/prefix` form OVN matches on. */
export interface SourceRange {
  family: IpFamily;
  cidr: string;
}

export interface SourceRangesResult {
  /** Empty: no restriction. */
  ranges: SourceRange[];
  /** One per entry that is not a CIDR, naming the field (`spec.loadBalancerSourceRanges[2]` or the annotation). */
  errors: Array<{ field: string; message: string }>;
}

/**
 * Pure: the Service's LoadBalancer source ranges, from the field or else the annotation (comma separated), as
 * kube-proxy reads them. Host bits are cleared (`10.0.0.1/8` → `10.0.0.0/8`, which the apiserver accepts).
 * Any malformed entry is an error: the caller must not open the Service wider than asked, so it withholds the
 * external address rather than dropping the bad entry.
 */
export function loadBalancerSourceRanges(svc: V1Service): SourceRangesResult {
  const fromSpec = svc.spec?.loadBalancerSourceRanges ?? [];
  const annotation = svc.metadata?.annotations?.[SOURCE_RANGES_ANNOTATION];
  const entries: Array<{ field: string; text: unknown }> = fromSpec.length
    ? fromSpec.map((text, i) => ({ field: `spec.loadBalancerSourceRanges[${i}]`, text }))
    : (annotation ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '')
        .map((text) => ({ field: `metadata.annotations[${SOURCE_RANGES_ANNOTATION}]`, text }));
  return parseSourceRanges(entries);
}

/** Pure: allowed client ranges from `{ field, text }` entries; every entry that is not a CIDR is an error. */
export function parseSourceRanges(entries: Array<{ field: string; text: unknown }>): SourceRangesResult {
  const out: SourceRangesResult = { ranges: [], errors: [] };
  const seen = new Set<string>();
  for (const { field, text } of entries) {
    const r = typeof text === 'string' ? parseCidrText(text.trim()) : undefined;
    if (!r) {
      out.errors.push({ field, message: `${JSON.stringify(text)} is not a CIDR (address/prefix)` });
      continue;
    }
    if (!seen.has(r.cidr)) out.ranges.push(r);
    seen.add(r.cidr);
  }
  return out;
}

function parseCidrText(text: string): SourceRange | undefined {
  const c = parseCidr(text);
  return c && { family: c.family, cidr: c.text };
}

/** What a source-range filter guards: one external address and the ports it serves. */
export interface GuardedAddress {
  address: string;
  ports: Array<{ protocol: 'tcp' | 'udp' | 'sctp'; port: number }>;
}

/**
 * Pure: the OVN ACL matches that drop traffic to `guarded` from outside `ranges`, one per protocol, or none when
 * the ranges let everyone in (no ranges, or a /0 of the address's family). Written for a `from-lport` drop ACL on
 * the switch the traffic crosses before the router load balancer rewrites the destination (the EIP pool's
 * transit switch): router policies come after DNAT in OVN 23.03's pipeline and cannot see the EIP any more.
 */
export function sourceRangeDropMatches(guarded: GuardedAddress, ranges: SourceRange[]): Map<string, string> {
  const out = new Map<string, string>();
  if (ranges.length === 0 || guarded.ports.length === 0) return out;
  const dst = parseIpAddress(guarded.address);
  if (!dst) return out;
  const ipField = dst.family === 4 ? 'ip4' : 'ip6';
  const allowed = ranges.filter((r) => r.family === dst.family).map((r) => r.cidr);
  if (allowed.some((c) => c.endsWith('/0'))) return out;
  const byProtocol = new Map<string, number[]>();
  for (const p of guarded.ports) byProtocol.set(p.protocol, [...(byProtocol.get(p.protocol) ?? []), p.port]);
  for (const [protocol, ports] of [...byProtocol.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const unique = [...new Set(ports)].sort((a, b) => a - b);
    const portMatch = unique.length === 1 ? `${unique[0]}` : `{${unique.join(', ')}}`;
    // No range of this family: nobody of this family may connect.
    const src = allowed.length ? ` && ${ipField}.src != {${allowed.join(', ')}}` : '';
    out.set(protocol, `${ipField}.dst == ${dst.address} && ${protocol}.dst == ${portMatch}${src}`);
  }
  return out;
}

/** Priority of the source-range drop ACLs (ycloud owns no other ACL on the switches it puts them on). */
export const SOURCE_RANGE_ACL_PRIORITY = 2000;

/**
 * Pure: the drop ACLs (one per protocol) keeping clients outside `ranges` away from `guarded`, on the switch
 * `switchKey` that EIP traffic crosses before a router load balancer rewrites its destination, and their
 * membership in that switch's `acls`. Nothing when the ranges let everyone in.
 */
export function sourceRangeAcls(
  owner: Owner,
  switchKey: string,
  guarded: GuardedAddress,
  ranges: SourceRange[],
  externalIds: Record<string, string>,
): { rows: DesiredRow[]; memberships: DesiredMembership[] } {
  const rows: DesiredRow[] = [...sourceRangeDropMatches(guarded, ranges)].map(([protocol, match]) => ({
    table: 'ACL',
    key: `acl:${owner.kind}:${owner.name}:${protocol}`,
    owner,
    columns: {
      name: owner.name.slice(0, 63),
      priority: SOURCE_RANGE_ACL_PRIORITY,
      direction: 'from-lport',
      match,
      action: 'drop',
      external_ids: externalIds,
    },
  }));
  if (!rows.length) return { rows, memberships: [] };
  const members = rows.map((a) => ref('ACL', a.key));
  return { rows, memberships: [{ owner, table: 'Logical_Switch', key: switchKey, column: 'acls', members }] };
}
