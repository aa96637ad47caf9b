import { formatIp, parseCidr, type Cidr } from '@ycloud/api';

/** One link network as recorded on its link switch (external_ids), for rebuilding after a restart. */
export interface LinkRecord {
  /** The YusurService, `namespace/name`. */
  service: string;
  /** `eip` or `vpc/<name>` (translator's EIP_LINK / vpcLinkId). */
  link: string;
  cidr: string;
}

export type LinkAllocation =
  { ok: true; cidrs: Record<string, string> } | { ok: false; reason: string; message: string };

/** Every link is a /30: the service-gateway's side, the peer's, network and broadcast. */
const LINK_PREFIX = 30;
const BLOCK = 4n;

/**
 * Service-gateway link networks (docs/adr/0004-service-gateway.md): one /30 per (YusurService, link) from the
 * controller's `serviceGateway.linkCIDR`, lowest free block first. A link keeps its block while the service needs
 * it, so its addresses never change under traffic. Before the first allocation the book is rebuilt from the link
 * switches in NB (`seed`, their external_ids name service, link and network), so a restarted controller neither
 * moves a link nor hands out one already in use. Blocks are released only after the rows using them are gone
 * (the caller releases after its apply), so two links never share a network even for one transaction.
 */
export class ServiceGatewayLinkBook {
  private readonly range?: Cidr;
  private readonly count: number;
  /** Block index → `service\0link`. */
  private readonly used = new Map<number, string>();
  private readonly byService = new Map<string, Map<string, number>>();
  private seeded = false;

  constructor(
    linkCIDR: string,
    private readonly seed: () => LinkRecord[],
  ) {
    const r = parseCidr(linkCIDR, true);
    this.range = r && r.family === 4 && r.prefix <= LINK_PREFIX ? r : undefined;
    this.count = this.range ? 2 ** (LINK_PREFIX - this.range.prefix) : 0;
  }

  /** The service's links' networks (keeping those it holds); `links` are link ids. */
  allocate(service: string, links: string[]): LinkAllocation {
    this.restore();
    if (!this.range) {
      return { ok: false, reason: 'InvalidConfig', message: 'serviceGateway.linkCIDR is not an IPv4 CIDR of /30+' };
    }
    const held = this.byService.get(service) ?? new Map<string, number>();
    this.byService.set(service, held);
    const cidrs: Record<string, string> = {};
    let next = 0;
    for (const link of [...links].sort()) {
      let index = held.get(link);
      if (index === undefined) {
        while (next < this.count && this.used.has(next)) next++;
        if (next >= this.count) {
          return {
            ok: false,
            reason: 'LinkCIDRExhausted',
            message: `serviceGateway.linkCIDR ${this.range.text} has no free /${LINK_PREFIX} for a service-gateway link`,
          };
        }
        index = next;
        this.take(service, link, index);
      }
      cidrs[link] = this.cidrOf(index);
    }
    return { ok: true, cidrs };
  }

  /** Frees the service's links other than `keep` (call once the rows using them are gone). */
  release(service: string, keep: string[] = []): void {
    const held = this.byService.get(service);
    if (!held) return;
    for (const [link, index] of held) {
      if (keep.includes(link)) continue;
      held.delete(link);
      this.used.delete(index);
    }
    if (!held.size) this.byService.delete(service);
  }

  /** The networks the service holds now, by link id. */
  held(service: string): Record<string, string> {
    const held = this.byService.get(service);
    return Object.fromEntries([...(held ?? new Map<string, number>())].map(([l, i]) => [l, this.cidrOf(i)]));
  }

  private take(service: string, link: string, index: number): void {
    this.used.set(index, `${service}\0${link}`);
    let held = this.byService.get(service);
    if (!held) this.byService.set(service, (held = new Map()));
    held.set(link, index);
  }

  private cidrOf(index: number): string {
    return `${formatIp({ family: 4, value: this.range!.network + BigInt(index) * BLOCK })}/${LINK_PREFIX}`;
  }

  /** Rebuilds from NB once; records outside the range or clashing with an earlier one are dropped (reallocated). */
  private restore(): void {
    if (this.seeded) return;
    this.seeded = true;
    if (!this.range) return;
    const records = [...this.seed()].sort((a, b) => (a.service + a.link < b.service + b.link ? -1 : 1));
    for (const r of records) {
      const c = parseCidr(r.cidr, true);
      if (!c || c.family !== 4 || c.prefix !== LINK_PREFIX) continue;
      if (c.network < this.range.network || c.last > this.range.last) continue;
      const index = Number((c.network - this.range.network) / BLOCK);
      if (this.used.has(index) || this.byService.get(r.service)?.has(r.link)) continue;
      this.take(r.service, r.link, index);
    }
  }
}
