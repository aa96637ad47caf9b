import { IpAllocator, type Subnet } from '@ycloud/api';

/**
 * One IpAllocator per Subnet, created on first use. Allocation is synchronous, so two pods reconciled at the
 * same time can never get one address; after a restart `restoreAll` re-records what the cluster already holds
 * (pod and node annotations) before anything new is handed out.
 */
export class SubnetIpam {
  private readonly allocators = new Map<string, { allocator: IpAllocator; cidrs: string; spec: string }>();

  /** Told the name of a Subnet whose addresses may have changed (Subnet status counts). */
  onTouched?: (subnet: string) => void;

  /** The Subnet's allocator; the caller may allocate or release with it, so the Subnet counts as touched. */
  allocator(subnet: Subnet): IpAllocator {
    const allocator = this.get(subnet);
    this.onTouched?.(subnet.metadata.name);
    return allocator;
  }

  /** Used and available addresses per family. */
  counts(subnet: Subnet): ReturnType<IpAllocator['counts']> {
    return this.get(subnet).counts();
  }

  private get(subnet: Subnet): IpAllocator {
    const name = subnet.metadata.name!;
    const cidrs = JSON.stringify(subnet.spec.cidrBlocks);
    const spec = JSON.stringify([subnet.spec.cidrBlocks, subnet.spec.gateways, subnet.spec.excludeIps]);
    const known = this.allocators.get(name);
    // An invalid spec (reported on the Subnet by the topology controller) gives an allocator that refuses every
    // address with the reason; it holds nothing, so it is replaced as soon as the spec changes. A valid one is
    // replaced only when the CIDRs change (its allocations are not re-read).
    if (known && (known.allocator.problem ? known.spec === spec : known.cidrs === cidrs)) return known.allocator;
    const allocator = new IpAllocator({
      cidrs: subnet.spec.cidrBlocks,
      gateways: subnet.spec.gateways,
      excludeIps: subnet.spec.excludeIps,
    });
    this.allocators.set(name, { allocator, cidrs, spec });
    return allocator;
  }

  /** Frees the owner's addresses in every subnet (it can hold addresses in one only). */
  release(owner: string): void {
    for (const [name, { allocator }] of this.allocators) {
      if (allocator.release(owner).length) this.onTouched?.(name);
    }
  }

  /** The subnet holding the owner's addresses, if any. */
  subnetOf(owner: string): string | undefined {
    for (const [name, { allocator }] of this.allocators) if (allocator.addressesOf(owner).length) return name;
    return undefined;
  }
}
