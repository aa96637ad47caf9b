import {
  Cidr,
  IpAddr,
  IpRange,
  Subnet,
  Vpc,
  cidrContains,
  cidrsOverlap,
  firstHost,
  formatIp,
  parseCidr,
  parseIp,
  checkIpRange,
} from '@ycloud/api';
import { TranslationIssue } from '../translation-issue';

/** One family of a Subnet, parsed. */
export interface SubnetFamily {
  cidr: Cidr;
  gateway: IpAddr;
}

/** A Subnet with every address parsed and checked. */
export interface SubnetModel {
  name: string;
  vpc: string;
  role: 'pod' | 'join';
  v4?: SubnetFamily;
  v6?: SubnetFamily;
  /** User exclusions (gateway, network, broadcast are implicit). */
  excludes: IpRange[];
  /** User exclusions as given, for OVN `other_config:exclude_ips` (IPv4 only there). */
  excludeTexts: string[];
  mtu?: number;
}

/** Parses a Subnet's spec on its own (no other objects needed). */
export function parseSubnet(subnet: Subnet): { model?: SubnetModel; errors: TranslationIssue[] } {
  const errors: TranslationIssue[] = [];
  const spec = subnet.spec;
  const fams: { 4?: SubnetFamily; 6?: SubnetFamily } = {};
  const blocks = spec.cidrBlocks ?? [];
  if (blocks.length < 1 || blocks.length > 2) {
    errors.push({ reason: 'InvalidCidr', field: 'spec.cidrBlocks', message: 'give one IPv4 and/or one IPv6 CIDR' });
  }
  blocks.forEach((text, i) => {
    const cidr = parseCidr(text, true);
    const field = `spec.cidrBlocks[${i}]`;
    if (!cidr)
      return void errors.push({ reason: 'InvalidCidr', field, message: `${text} is not a CIDR with host bits zero` });
    if (fams[cidr.family])
      return void errors.push({ reason: 'InvalidCidr', field, message: `second IPv${cidr.family} CIDR ${text}` });
    const maxPrefix = cidr.family === 4 ? 30 : 126;
    if (cidr.prefix > maxPrefix)
      return void errors.push({ reason: 'InvalidCidr', field, message: `${text} leaves no address for pods` });
    fams[cidr.family] = { cidr, gateway: firstHost(cidr) };
  });
  (spec.gateways ?? []).forEach((text, i) => {
    const field = `spec.gateways[${i}]`;
    const gw = parseIp(text);
    const fam = gw && fams[gw.family];
    if (!gw || !fam || !cidrContains(fam.cidr, gw)) {
      return void errors.push({
        reason: 'InvalidGateway',
        field,
        message: `${text} is not an address inside cidrBlocks`,
      });
    }
    if (gw.value === fam.cidr.network || (gw.family === 4 && gw.value === fam.cidr.last)) {
      return void errors.push({
        reason: 'InvalidGateway',
        field,
        message: `${text} is the network or broadcast address`,
      });
    }
    fam.gateway = gw;
  });
  const excludes: IpRange[] = [];
  (spec.excludeIps ?? []).forEach((text, i) => {
    const checked = checkIpRange(text);
    const r = checked.ok ? checked.range : undefined;
    const fam = r && fams[r.family];
    if (!r || !fam || r.start < fam.cidr.network || r.end > fam.cidr.last) {
      return void errors.push({
        reason: 'InvalidExcludeIps',
        field: `spec.excludeIps[${i}]`,
        message: checked.ok ? `${text} is not inside cidrBlocks` : checked.message,
      });
    }
    excludes.push(r);
  });
  if (errors.length) return { errors };
  return {
    errors,
    model: {
      name: subnet.metadata.name,
      vpc: spec.vpc,
      role: spec.role ?? 'pod',
      v4: fams[4],
      v6: fams[6],
      excludes,
      excludeTexts: spec.excludeIps ?? [],
      mtu: spec.mtu,
    },
  };
}

/** What Subnet validation needs to know about the rest of the cluster. */
export interface SubnetContext {
  vpcs: Vpc[];
  /** All Subnets (the one validated may be among them; it is skipped). */
  subnets: Subnet[];
  /**
   * Networks from the controller config no Subnet may overlap: the join subnet, Service CIDRs, EIP transit and
   * service-gateway links (`vpc` absent: every VPC), the default subnet (`vpc`: the default VPC only).
   */
  reserved?: Array<{ what: string; cidr: string; vpc?: string }>;
}

function isReady(s: Subnet): boolean {
  return !!s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Which of two overlapping Subnets keeps its claim, deterministically: one already serving (Ready) over one that is
 * not, so a new Subnet never takes down a serving one; then the older (creationTimestamp, one-second resolution);
 * then the smaller name. Only the loser fails, with a CidrOverlap condition naming the winner.
 */
export function subnetPrecedes(a: Subnet, b: Subnet): boolean {
  const ra = isReady(a);
  const rb = isReady(b);
  if (ra !== rb) return ra;
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta !== tb ? ta < tb : a.metadata.name < b.metadata.name;
}

/**
 * Parses and validates a Subnet against the cluster: its Vpc exists, no overlap with the reserved networks or with
 * a Subnet of the VPC that precedes it (subnetPrecedes).
 */
export function validateSubnet(
  subnet: Subnet,
  ctx: SubnetContext,
): { model?: SubnetModel; errors: TranslationIssue[] } {
  const { model, errors } = parseSubnet(subnet);
  if (!ctx.vpcs.some((v) => v.metadata.name === subnet.spec.vpc)) {
    errors.push({ reason: 'VpcNotFound', field: 'spec.vpc', message: `Vpc ${subnet.spec.vpc} does not exist` });
  }
  if (!model) return { errors };
  for (const r of ctx.reserved ?? []) {
    const cidr = parseCidr(r.cidr);
    if (!cidr || (r.vpc !== undefined && r.vpc !== subnet.spec.vpc)) continue;
    const fam = [model.v4, model.v6].find((f) => f && cidrsOverlap(f.cidr, cidr));
    if (fam) {
      errors.push({
        reason: 'CidrOverlap',
        field: 'spec.cidrBlocks',
        message: `${fam.cidr.text} overlaps ${r.what} ${cidr.text}`,
      });
    }
  }
  for (const other of ctx.subnets) {
    if (
      other.metadata.name === subnet.metadata.name ||
      other.spec.vpc !== subnet.spec.vpc ||
      !subnetPrecedes(other, subnet)
    )
      continue;
    const o = parseSubnet(other).model;
    if (!o) continue;
    for (const fam of [model.v4, model.v6]) {
      const clash = fam && [o.v4, o.v6].find((x) => x && cidrsOverlap(x.cidr, fam.cidr));
      if (fam && clash) {
        const why = isReady(other) && !isReady(subnet) ? 'serving' : 'older or first by name';
        errors.push({
          reason: 'CidrOverlap',
          field: 'spec.cidrBlocks',
          message: `${fam.cidr.text} overlaps ${clash.cidr.text} of Subnet ${other.metadata.name} in Vpc ${subnet.spec.vpc}, which keeps it (${why})`,
        });
      }
    }
  }
  return errors.length ? { errors } : { model, errors };
}

/** The families of a subnet in order (IPv4 first). */
export function families(m: SubnetModel): SubnetFamily[] {
  return [m.v4, m.v6].filter((f): f is SubnetFamily => f !== undefined);
}

/** `gateway/prefix` of each family, e.g. `10.16.0.1/16`: the router port's networks. */
export function gatewayNetworks(m: SubnetModel): string[] {
  return families(m).map((f) => `${formatIp(f.gateway)}/${f.cidr.prefix}`);
}
