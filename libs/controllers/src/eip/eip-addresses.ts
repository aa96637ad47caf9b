import {
  Eip,
  EipPool,
  IpAllocator,
  Vpc,
  checkIpRange,
  describeIpamProblem,
  firstHost,
  formatIp,
  parseCidr,
  parseIp,
} from '@ycloud/api';
import { defaultRouterAddress } from '@ycloud/translate/topology';

/** The addresses a pool hands out: its `spec.ranges`, else all of `spec.cidr`. */
export function poolRanges(pool: EipPool): string[] {
  return pool.spec.ranges?.length ? pool.spec.ranges : [pool.spec.cidr];
}

/**
 * Whether `ip` lies outside every range of the pool. False when the pool's ranges cannot be read (the EipPool's
 * own condition reports that) or `ip` is no address (the apiserver's schema refuses it).
 */
export function outsidePool(pool: EipPool, ip: string): boolean {
  const addr = parseIp(ip);
  const ranges = poolRanges(pool).map(checkIpRange);
  if (!addr || ranges.some((r) => !r.ok)) return false;
  return !ranges.some(
    (r) => r.ok && r.range.family === addr.family && r.range.start <= addr.value && addr.value <= r.range.end,
  );
}

export type Allocation = { ok: true; address: string } | { ok: false; reason: string; message: string };

/**
 * The controller's memory of which EIP and transit addresses are taken. Seeded from the status of the objects in
 * the cache (so a restarted controller hands out nothing twice), then updated before each status write, so two
 * reconciles never get the same address even while the cache lags behind the writes.
 */
export class EipAddressBook {
  private readonly pools = new Map<string, { spec: string; ipam: IpAllocator }>();
  private transit?: { cidr: string; ipam: IpAllocator };

  /** The pool's allocator, rebuilt from every Eip's status when first used or when the pool's spec changed. */
  private pool(pool: EipPool, eips: Eip[]): IpAllocator {
    const spec = JSON.stringify([pool.spec.cidr, pool.spec.ranges, pool.spec.gateway, pool.spec.routerAddress]);
    const cached = this.pools.get(pool.metadata.name);
    if (cached && cached.spec === spec) return cached.ipam;
    const router = pool.spec.routerAddress ?? defaultRouterAddress(pool);
    const ipam = new IpAllocator({
      cidrs: [pool.spec.cidr],
      gateways: [pool.spec.gateway, router],
      ranges: pool.spec.ranges,
    });
    for (const e of eips) {
      if (e.spec.pool === pool.metadata.name && e.status?.address) ipam.restore(e.metadata.name, [e.status.address]);
    }
    this.pools.set(pool.metadata.name, { spec, ipam });
    return ipam;
  }

  /** The Eip's address: the one it has, its fixed spec.address, or the next free one of its pool. */
  allocateEip(eip: Eip, pool: EipPool, eips: Eip[]): Allocation {
    const ipam = this.pool(pool, eips);
    if (ipam.problem) {
      const why = describeIpamProblem(ipam.problem, 'spec.');
      return { ok: false, reason: 'InvalidEipPool', message: `EipPool ${pool.metadata.name}: ${why}` };
    }
    const name = eip.metadata.name;
    const held = ipam.addressesOf(name);
    const want = eip.status?.address ?? eip.spec.address;
    if (held.length && (!want || held[0] === want)) return { ok: true, address: held[0] };
    if (held.length) ipam.release(name);
    if (want) {
      const r = ipam.restore(name, [want]);
      if (!r.ok) {
        const c = r.conflicts[0];
        const other = ipam.ownerOf(want);
        return {
          ok: false,
          reason: c.reason === 'InUse' ? 'AddressInUse' : 'InvalidAddress',
          message: other ? `${want} is used by Eip ${other}` : `${want}: ${c.message}`,
        };
      }
      return { ok: true, address: want };
    }
    const r = ipam.allocate(name);
    return r.ok ? { ok: true, address: r.ips[0] } : { ok: false, reason: 'PoolExhausted', message: r.message };
  }

  releaseEip(name: string): void {
    for (const { ipam } of this.pools.values()) ipam.release(name);
  }

  /** Why the pool's spec cannot be used for allocation (`spec.ranges[1]: ... is reversed ...`), if it cannot. */
  poolProblem(pool: EipPool, eips: Eip[]): { field: string; message: string } | undefined {
    const p = this.pool(pool, eips).problem;
    if (!p) return undefined;
    const field =
      p.option === 'ranges'
        ? `spec.ranges${p.index >= 0 ? `[${p.index}]` : ''}`
        : p.option === 'gateways'
          ? p.index === 1
            ? 'spec.routerAddress'
            : 'spec.gateway'
          : 'spec.cidr';
    return { field, message: p.message };
  }

  /** used/free of a pool (free capped to a JS number: pools are IPv4). */
  counts(pool: EipPool, eips: Eip[]): { used: number; free: number } {
    const c = this.pool(pool, eips).counts().v4;
    return { used: c?.used ?? 0, free: Number(c?.available ?? 0n) };
  }

  /** The transit allocator, rebuilt from the Vpcs' status when first used or when the CIDR changed. */
  private transitIpam(vpcs: Vpc[], transitCIDR: string): IpAllocator | undefined {
    if (!this.transit || this.transit.cidr !== transitCIDR) {
      const cidr = parseCidr(transitCIDR);
      if (!cidr) return undefined;
      const ipam = new IpAllocator({ cidrs: [transitCIDR], gateways: [formatIp(firstHost(cidr))] });
      if (ipam.problem) return undefined;
      for (const v of vpcs) if (v.status?.transitAddress) ipam.restore(v.metadata.name, [v.status.transitAddress]);
      this.transit = { cidr: transitCIDR, ipam };
    }
    return this.transit.ipam;
  }

  /** A Vpc's address on the transit switches (first host = the pool gateway routers). */
  allocateTransit(vpc: Vpc, vpcs: Vpc[], transitCIDR: string): Allocation {
    const ipam = this.transitIpam(vpcs, transitCIDR);
    if (!ipam) return { ok: false, reason: 'InvalidConfig', message: `transit CIDR ${transitCIDR} is invalid` };
    const name = vpc.metadata.name;
    const held = ipam.addressesOf(name);
    if (held.length) return { ok: true, address: held[0] };
    const r = ipam.allocate(name, vpc.status?.transitAddress ? [vpc.status.transitAddress] : []);
    return r.ok ? { ok: true, address: r.ips[0] } : { ok: false, reason: 'TransitExhausted', message: r.message };
  }

  /**
   * Records a fixed transit address (the default VPC's, derived from the config) so no Vpc is given it. Vpcs whose
   * status already holds it keep it: then this fails with AddressInUse.
   */
  reserveTransit(name: string, address: string, vpcs: Vpc[], transitCIDR: string): Allocation {
    const ipam = this.transitIpam(vpcs, transitCIDR);
    if (!ipam) return { ok: false, reason: 'InvalidConfig', message: `transit CIDR ${transitCIDR} is invalid` };
    const held = ipam.addressesOf(name);
    if (held[0] === address) return { ok: true, address };
    if (held.length) ipam.release(name);
    const r = ipam.restore(name, [address]);
    if (r.ok) return { ok: true, address };
    const other = ipam.ownerOf(address);
    return {
      ok: false,
      reason: 'AddressInUse',
      message: other ? `transit address ${address} is used by Vpc ${other}` : r.conflicts[0].message,
    };
  }

  releaseTransit(name: string): void {
    this.transit?.ipam.release(name);
  }
}
