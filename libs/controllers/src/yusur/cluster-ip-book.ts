import { IpAllocator, describeIpamProblem, parseCidr } from '@ycloud/api';

export type ClusterIpAllocation = { ok: true; addresses: string[] } | { ok: false; reason: string; message: string };

/** A service that may hold ClusterIPs (from its status), for seeding after a restart. */
export interface ClusterIpHolder {
  key: string;
  vpc: string;
  addresses: string[];
}

/**
 * YusurService ClusterIPs per VPC (one address per family of the VPC's service CIDRs: the first CIDR of each
 * family). Seeded from every service's `status.clusterIPs` when a VPC's allocator is first built or its CIDRs
 * changed, so a restarted controller never hands out an address twice; updated before status is written, so two
 * reconciles never get the same address while the cache lags.
 */
export class ClusterIpBook {
  private readonly vpcs = new Map<string, { cidrs: string; ipam: IpAllocator }>();

  private allocator(vpc: string, cidrs: string[], holders: () => ClusterIpHolder[]): IpAllocator | string {
    const first = [4, 6]
      .map((f) => cidrs.find((c) => parseCidr(c, true)?.family === f))
      .filter((c): c is string => !!c);
    const spec = first.join(',');
    const cached = this.vpcs.get(vpc);
    if (cached && cached.cidrs === spec) return cached.ipam;
    if (!first.length) return `Vpc ${vpc} has no valid service CIDR (${cidrs.join(', ') || 'none'})`;
    const ipam = new IpAllocator({ cidrs: first });
    if (ipam.problem) return describeIpamProblem(ipam.problem, 'service CIDR ');
    for (const h of holders()) if (h.vpc === vpc && h.addresses.length) ipam.restore(h.key, h.addresses);
    this.vpcs.set(vpc, { cidrs: spec, ipam });
    return ipam;
  }

  /** The service's ClusterIPs in `vpc`: the ones it holds, the requested `want`, or the next free ones. */
  allocate(
    key: string,
    vpc: string,
    cidrs: string[],
    want: string | undefined,
    holders: () => ClusterIpHolder[],
  ): ClusterIpAllocation {
    for (const [name, v] of this.vpcs) if (name !== vpc) v.ipam.release(key); // moved to another VPC
    const ipam = this.allocator(vpc, cidrs, holders);
    if (typeof ipam === 'string') return { ok: false, reason: 'InvalidServiceCIDR', message: ipam };
    const held = ipam.addressesOf(key);
    if (held.length && (!want || (held.length === 1 && held[0] === want))) return { ok: true, addresses: held };
    if (held.length) ipam.release(key);
    if (want) {
      const r = ipam.restore(key, [want]);
      if (r.ok) return { ok: true, addresses: r.ips };
      const c = r.conflicts[0];
      const other = ipam.ownerOf(want);
      return {
        ok: false,
        reason: c.reason === 'InUse' ? 'AddressInUse' : 'InvalidAddress',
        message: other
          ? `${want} is used by YusurService ${other}`
          : `${want} is not allocatable from Vpc ${vpc}'s service CIDRs (${cidrs.join(', ')}): ${c.message}`,
      };
    }
    const r = ipam.allocate(key);
    return r.ok
      ? { ok: true, addresses: r.ips }
      : { ok: false, reason: 'ServiceCIDRExhausted', message: `Vpc ${vpc}: ${r.message}` };
  }

  /**
   * Someone outside this book holds `address` in `vpc` (a Kubernetes Service, found through its IPAddress): take
   * it from whichever service got it here and never hand it out again in this process.
   */
  block(vpc: string, address: string): void {
    const ipam = this.vpcs.get(vpc)?.ipam;
    if (!ipam) return;
    const owner = ipam.ownerOf(address);
    if (owner) ipam.release(owner);
    ipam.restore(`outside:${address}`, [address]);
  }

  release(key: string): void {
    for (const v of this.vpcs.values()) v.ipam.release(key);
  }
}
