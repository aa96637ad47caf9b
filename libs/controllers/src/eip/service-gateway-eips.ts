import { EXTERNAL_IDS, SERVICE_GATEWAY_ROLE } from '@ycloud/api';
/** An EIP a YusurService's service-gateway serves (docs/adr/0004-service-gateway.md). */
export interface ServiceGatewayEip {
  /** The YusurService, `namespace/name`. */
  service: string;
  pool: string;
  address: string;
}

/** A NB row as the view holds it (only what seeding reads). */
type NbRow = Record<string, unknown>;

/**
 * Which EIPs are served by a service-gateway, shared by the YusurService controller (which writes it when it
 * translates a service) and the topology controller (the EipPool translator answers ARP for them statelessly, and
 * their Eip objects translate to nothing). Every change calls the listener with the pool and address it concerns,
 * so the manager queues that pool and its Eips. Seeded at start from the service-gateway routers in NB, so a
 * restarted controller does not briefly take these EIPs back to the pool's ordinary path.
 */
export class ServiceGatewayEips {
  private readonly byService = new Map<string, ServiceGatewayEip>();
  private listener?: (pool: string, address: string) => void;

  /** Called on every change, once per pool and address involved. */
  onChange(listener: (pool: string, address: string) => void): void {
    this.listener = listener;
  }

  /** The service's EIP (undefined: it serves none through a service-gateway). */
  set(service: string, eip: { pool: string; address: string } | undefined): void {
    const old = this.byService.get(service);
    if (old?.pool === eip?.pool && old?.address === eip?.address) return;
    if (eip) this.byService.set(service, { service, ...eip });
    else this.byService.delete(service);
    if (old) this.listener?.(old.pool, old.address);
    if (eip) this.listener?.(eip.pool, eip.address);
  }

  list(): ServiceGatewayEip[] {
    return [...this.byService.values()];
  }

  /** Seeds from the service-gateway routers' external_ids (EIP address and pool). */
  seed(routers: Iterable<NbRow>): void {
    for (const r of routers) {
      const ids = (r.external_ids ?? {}) as Record<string, string>;
      const [service, pool, address] = [ids[EXTERNAL_IDS.service], ids[EXTERNAL_IDS.eipPool], ids[EXTERNAL_IDS.eip]];
      if (ids[EXTERNAL_IDS.role] !== SERVICE_GATEWAY_ROLE || !service || !pool || !address) continue;
      if (!this.byService.has(service)) this.byService.set(service, { service, pool, address });
    }
  }
}
