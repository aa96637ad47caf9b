import { Cidr, IpFamily, IpRange, checkIpRange, cidrSize, formatIp, parseCidr, parseIp } from './ip';

/** Why an allocation or restore was refused. */
export type IpamFailure = 'Exhausted' | 'InUse' | 'Excluded' | 'OutOfRange' | 'Invalid';

export type AllocateResult = { ok: true; ips: string[] } | { ok: false; reason: IpamFailure; message: string };

export type RestoreResult =
  { ok: true; ips: string[] } | { ok: false; conflicts: Array<{ ip: string; reason: IpamFailure; message: string }> };

export interface IpAllocatorOptions {
  /** One CIDR per family. */
  cidrs: string[];
  /** Gateways (always excluded); default: the first host of each CIDR. Pass [] for none. */
  gateways?: string[];
  /** IPs, `a..b` / `a-b` ranges or CIDRs never handed out. */
  excludeIps?: string[];
  /** If given, only these ranges (IPs, ranges, CIDRs) are allocatable (EipPool ranges). */
  ranges?: string[];
}

export interface FamilyCounts {
  used: number;
  /** Free addresses (bigint: an IPv6 /64 has 2^64). */
  available: bigint;
}

/** Sorted, merged, inclusive intervals. */
class IntervalSet {
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];

  constructor(intervals: Array<[bigint, bigint]>) {
    const sorted = [...intervals].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [s, e] of sorted) {
      const n = this.ends.length;
      if (n && s <= this.ends[n - 1] + 1n) {
        if (e > this.ends[n - 1]) this.ends[n - 1] = e;
      } else {
        this.starts.push(s);
        this.ends.push(e);
      }
    }
  }

  /** The interval containing v, as its end, or undefined. */
  endOf(v: bigint): bigint | undefined {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (v < this.starts[mid]) hi = mid - 1;
      else if (v > this.ends[mid]) lo = mid + 1;
      else return this.ends[mid];
    }
    return undefined;
  }

  count(): bigint {
    return this.starts.reduce((acc, s, i) => acc + this.ends[i] - s + 1n, 0n);
  }
}

/** One family: a CIDR with reserved intervals and the addresses in use. Never materialises the block. */
class FamilyPool {
  readonly used = new Map<bigint, string>();
  private cursor: bigint;
  private readonly size: bigint;
  private readonly reservedCount: bigint;

  constructor(
    readonly cidr: Cidr,
    private readonly reserved: IntervalSet,
  ) {
    this.cursor = cidr.network;
    this.size = cidrSize(cidr);
    this.reservedCount = reserved.count();
  }

  available(): bigint {
    return this.size - this.reservedCount - BigInt(this.used.size);
  }

  check(v: bigint, owner: string): IpamFailure | undefined {
    if (v < this.cidr.network || v > this.cidr.last) return 'OutOfRange';
    if (this.reserved.endOf(v) !== undefined) return 'Excluded';
    const holder = this.used.get(v);
    if (holder !== undefined && holder !== owner) return 'InUse';
    return undefined;
  }

  /** Next-fit from the cursor, jumping over reserved intervals; O(1) amortised while the block is sparse. */
  next(): bigint | undefined {
    if (this.available() <= 0n) return undefined;
    let v = this.cursor;
    for (;;) {
      if (v > this.cidr.last) v = this.cidr.network;
      const end = this.reserved.endOf(v);
      if (end !== undefined) v = end + 1n;
      else if (this.used.has(v)) v += 1n;
      else {
        this.cursor = v + 1n;
        return v;
      }
    }
  }
}

/** Which option of an IpAllocator is invalid (user input: reported, never thrown). */
export interface IpamOptionProblem {
  option: 'cidrs' | 'gateways' | 'excludeIps' | 'ranges';
  /** Index in that list (-1: the list as a whole). */
  index: number;
  value?: string;
  message: string;
}

/** `excludeIps[2]: "10.0.0.9..10.0.0.1" is reversed: ...` */
export function describeIpamProblem(p: IpamOptionProblem, prefix = ''): string {
  return `${prefix}${p.option}${p.index >= 0 ? `[${p.index}]` : ''}: ${p.message}`;
}

/**
 * IPAM for one Subnet (or EipPool): one address per family per owner. Pure and synchronous; the controller
 * rebuilds it after a restart with `restore` from what the cluster records (pod annotations, Eip status).
 */
export class IpAllocator {
  private readonly pools = new Map<IpFamily, FamilyPool>();
  private readonly byOwner = new Map<string, Map<IpFamily, bigint>>();
  /**
   * Set when the options are invalid (user input such as a reversed excludeIps range): the allocator then holds no
   * address and refuses every allocation and restore with this reason. It never throws.
   */
  readonly problem?: IpamOptionProblem;

  constructor(opts: IpAllocatorOptions) {
    this.problem = this.build(opts);
    if (this.problem) this.pools.clear();
  }

  private build(opts: IpAllocatorOptions): IpamOptionProblem | undefined {
    const parse = (
      texts: unknown,
      option: 'excludeIps' | 'ranges',
    ): { ranges: IpRange[] } | { problem: IpamOptionProblem } => {
      if (texts !== undefined && !Array.isArray(texts))
        return { problem: { option, index: -1, message: 'not a list' } };
      const out: IpRange[] = [];
      for (const [index, t] of ((texts ?? []) as unknown[]).entries()) {
        const r = checkIpRange(t);
        if (!r.ok) return { problem: { option, index, value: String(t), message: r.message } };
        out.push(r.range);
      }
      return { ranges: out };
    };
    const ex = parse(opts.excludeIps, 'excludeIps');
    if ('problem' in ex) return ex.problem;
    const excludes = ex.ranges;
    let ranges: IpRange[] | undefined;
    if (opts.ranges) {
      const rr = parse(opts.ranges, 'ranges');
      if ('problem' in rr) return rr.problem;
      ranges = rr.ranges;
    }
    if (!Array.isArray(opts.cidrs) || opts.cidrs.length === 0)
      return { option: 'cidrs', index: -1, message: 'no CIDR' };
    for (const [index, text] of opts.cidrs.entries()) {
      const cidr = typeof text === 'string' ? parseCidr(text, true) : undefined;
      if (!cidr)
        return {
          option: 'cidrs',
          index,
          value: String(text),
          message: `${JSON.stringify(text)} is not a CIDR with host bits zero`,
        };
      if (this.pools.has(cidr.family))
        return { option: 'cidrs', index, value: text, message: `second IPv${cidr.family} CIDR ${text}` };
      const reserved: Array<[bigint, bigint]> = [];
      const hostBits = (cidr.family === 4 ? 32 : 128) - cidr.prefix;
      if (hostBits > 1) {
        reserved.push([cidr.network, cidr.network]);
        if (cidr.family === 4) reserved.push([cidr.last, cidr.last]);
      }
      const gateways = opts.gateways ?? [
        formatIp({ family: cidr.family, value: cidr.network + (hostBits > 1 ? 1n : 0n) }),
      ];
      for (const [gi, g] of gateways.entries()) {
        const ip = typeof g === 'string' ? parseIp(g) : undefined;
        if (!ip)
          return { option: 'gateways', index: gi, value: String(g), message: `${JSON.stringify(g)} is not an IP` };
        if (ip.family === cidr.family) reserved.push([ip.value, ip.value]);
      }
      for (const r of excludes) if (r.family === cidr.family) reserved.push([r.start, r.end]);
      if (ranges) reserved.push(...outside(cidr, ranges));
      const clipped = reserved
        .map(([s, e]): [bigint, bigint] => [s < cidr.network ? cidr.network : s, e > cidr.last ? cidr.last : e])
        .filter(([s, e]) => s <= e);
      this.pools.set(cidr.family, new FamilyPool(cidr, new IntervalSet(clipped)));
    }
    return undefined;
  }

  /**
   * One address per family for `owner`. `preferred` pins addresses (per family; others are picked). Idempotent:
   * an owner that already has addresses gets them back. All-or-nothing across families.
   */
  allocate(owner: string, preferred: string[] = []): AllocateResult {
    if (this.problem) return { ok: false, reason: 'Invalid', message: describeIpamProblem(this.problem) };
    const existing = this.byOwner.get(owner);
    const want = new Map<IpFamily, bigint>();
    for (const p of preferred) {
      const ip = parseIp(p);
      if (!ip) return { ok: false, reason: 'Invalid', message: `${p} is not an IP address` };
      const pool = this.pools.get(ip.family);
      if (!pool) return { ok: false, reason: 'OutOfRange', message: `no IPv${ip.family} CIDR here for ${p}` };
      if (want.has(ip.family))
        return { ok: false, reason: 'Invalid', message: `two IPv${ip.family} addresses requested` };
      const had = existing?.get(ip.family);
      if (had !== undefined && had !== ip.value) {
        return {
          ok: false,
          reason: 'InUse',
          message: `${owner} already has ${formatIp({ family: ip.family, value: had })}`,
        };
      }
      const bad = pool.check(ip.value, owner);
      if (bad) return { ok: false, reason: bad, message: failureText(bad, p, pool.used.get(ip.value)) };
      want.set(ip.family, ip.value);
    }
    const picked = new Map<IpFamily, bigint>();
    for (const [family, pool] of this.pools) {
      const v = want.get(family) ?? existing?.get(family) ?? pool.next();
      if (v === undefined) {
        for (const [f, pv] of picked) if (existing?.get(f) === undefined) this.pools.get(f)!.used.delete(pv);
        return { ok: false, reason: 'Exhausted', message: `no free IPv${family} address in ${pool.cidr.text}` };
      }
      pool.used.set(v, owner);
      picked.set(family, v);
    }
    this.byOwner.set(owner, picked);
    return { ok: true, ips: this.render(picked) };
  }

  /** Frees the owner's addresses; returns them (empty when it had none). */
  release(owner: string): string[] {
    const had = this.byOwner.get(owner);
    if (!had) return [];
    for (const [family, v] of had) this.pools.get(family)!.used.delete(v);
    this.byOwner.delete(owner);
    return this.render(had);
  }

  /**
   * Re-records addresses an owner already holds in the cluster (after a restart). A conflict (address held by
   * another owner, excluded, outside the CIDRs) is reported and nothing of this owner is recorded.
   */
  restore(owner: string, ips: string[]): RestoreResult {
    if (this.problem) {
      const message = describeIpamProblem(this.problem);
      return {
        ok: false,
        conflicts: (ips.length ? ips : ['']).map((ip) => ({ ip, reason: 'Invalid' as const, message })),
      };
    }
    const conflicts: Array<{ ip: string; reason: IpamFailure; message: string }> = [];
    const want = new Map<IpFamily, bigint>();
    for (const text of ips) {
      const bare = text.split('/')[0];
      const ip = parseIp(bare);
      const pool = ip && this.pools.get(ip.family);
      if (!ip) conflicts.push({ ip: text, reason: 'Invalid', message: `${text} is not an IP address` });
      else if (!pool)
        conflicts.push({ ip: text, reason: 'OutOfRange', message: `no IPv${ip.family} CIDR here for ${text}` });
      else if (want.has(ip.family))
        conflicts.push({ ip: text, reason: 'Invalid', message: `second IPv${ip.family} address ${text}` });
      else {
        const bad = pool.check(ip.value, owner);
        const had = this.byOwner.get(owner)?.get(ip.family);
        if (bad) conflicts.push({ ip: text, reason: bad, message: failureText(bad, bare, pool.used.get(ip.value)) });
        else if (had !== undefined && had !== ip.value)
          conflicts.push({
            ip: text,
            reason: 'InUse',
            message: `${owner} already holds ${formatIp({ family: ip.family, value: had })}`,
          });
        else want.set(ip.family, ip.value);
      }
    }
    if (conflicts.length) return { ok: false, conflicts };
    const rec = this.byOwner.get(owner) ?? new Map<IpFamily, bigint>();
    for (const [family, v] of want) {
      this.pools.get(family)!.used.set(v, owner);
      rec.set(family, v);
    }
    this.byOwner.set(owner, rec);
    return { ok: true, ips: this.render(want) };
  }

  /** The owner's addresses (IPv4 first), empty when none. */
  addressesOf(owner: string): string[] {
    const had = this.byOwner.get(owner);
    return had ? this.render(had) : [];
  }

  /** Who holds an address, if anyone. */
  ownerOf(ip: string): string | undefined {
    const a = parseIp(ip);
    return a && this.pools.get(a.family)?.used.get(a.value);
  }

  counts(): { v4?: FamilyCounts; v6?: FamilyCounts } {
    const out: { v4?: FamilyCounts; v6?: FamilyCounts } = {};
    for (const [family, pool] of this.pools)
      out[family === 4 ? 'v4' : 'v6'] = { used: pool.used.size, available: pool.available() };
    return out;
  }

  private render(m: Map<IpFamily, bigint>): string[] {
    return [4, 6].flatMap((f) => {
      const v = m.get(f as IpFamily);
      return v === undefined ? [] : [formatIp({ family: f as IpFamily, value: v })];
    });
  }
}

/** Everything of the block outside the allowed ranges: the complement of their union within it. */
function outside(cidr: Cidr, ranges: IpRange[]): Array<[bigint, bigint]> {
  const own = ranges.filter((r) => r.family === cidr.family);
  const allowed = new IntervalSet(own.map((r): [bigint, bigint] => [r.start, r.end]));
  const out: Array<[bigint, bigint]> = [];
  let v = cidr.network;
  while (v <= cidr.last) {
    const end = allowed.endOf(v);
    if (end !== undefined) {
      v = end + 1n;
      continue;
    }
    const nextStart = own
      .filter((r) => r.start > v)
      .reduce<bigint | undefined>((m, r) => (m === undefined || r.start < m ? r.start : m), undefined);
    const stop = nextStart === undefined || nextStart > cidr.last ? cidr.last : nextStart - 1n;
    out.push([v, stop]);
    v = stop + 1n;
  }
  return out;
}

function failureText(reason: IpamFailure, ip: string, holder?: string): string {
  switch (reason) {
    case 'InUse':
      return `${ip} is in use by ${holder ?? 'another owner'}`;
    case 'Excluded':
      return `${ip} is excluded (network, broadcast, gateway or excludeIps)`;
    case 'OutOfRange':
      return `${ip} is outside the CIDRs`;
    default:
      return `${ip} cannot be allocated`;
  }
}
