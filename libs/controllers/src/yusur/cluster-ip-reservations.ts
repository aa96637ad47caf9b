import { GROUP } from '@ycloud/api';
import { isAlreadyExists, isNotFound, KubeApiError, resourceType, type KubeClient, type Logger } from '@ycloud/k8s';

/** networking.k8s.io/v1 IPAddress: the apiserver's own record of a taken Service ClusterIP (GA in 1.33). */
export const IP_ADDRESSES = resourceType('networking.k8s.io', 'v1', 'ipaddresses', 'IPAddress', false);
/** The label the apiserver's allocator reads to tell its own IPAddresses (it never repairs others). */
export const IP_ADDRESS_MANAGED_BY = 'ipaddress.kubernetes.io/managed-by';
export const YCLOUD_IP_ADDRESS_MANAGER = 'yusur-service.sdn.ycloud.io';

interface ParentRef {
  group?: string;
  resource?: string;
  namespace?: string;
  name?: string;
}
interface IpAddressObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { parentRef?: ParentRef };
}

export type ReserveResult = { ok: true } | { ok: false; address: string; holder: string };

const yusurResource = 'yusurservices';

/** `Service default/web`, `YusurService blue/db`, … for messages. */
function describeParent(p: ParentRef | undefined): string {
  if (!p) return 'an unknown owner';
  const kind =
    p.group === GROUP && p.resource === yusurResource
      ? 'YusurService'
      : p.resource === 'services'
        ? 'Service'
        : `${p.resource}.${p.group}`;
  return `${kind} ${p.namespace ? `${p.namespace}/` : ''}${p.name}`;
}

/**
 * YusurService ClusterIPs of the default VPC share the cluster's service range with Kubernetes Services. The
 * apiserver keeps one `IPAddress` object per taken ClusterIP and refuses a Service an address whose object
 * exists, so reserving ours the same way (parentRef = the YusurService, our own managed-by label, which the
 * apiserver's repair loop leaves alone) keeps both allocators from handing out one address twice.
 *
 * What this process has confirmed is kept in memory (seeded by `start()` from the objects with our label), so a
 * reconcile that changes nothing makes no request. Clusters without the IPAddress API (before 1.33) skip it.
 */
export class ClusterIpReservations {
  private readonly held = new Map<string, Set<string>>();
  private served = true;
  private seeded?: Promise<void>;
  private exists: (key: string) => boolean = () => true;

  constructor(
    private readonly kube: KubeClient,
    private readonly log: Logger,
  ) {}

  /**
   * Reads our IPAddresses; those whose YusurService no longer exists (`exists(key)` false) are deleted. A failed
   * read is retried by the next `reserve`/`release` (which wait for it), so it can only delay reconciles.
   */
  start(exists: (key: string) => boolean): Promise<void> {
    this.exists = exists;
    return this.ensureSeeded();
  }

  private ensureSeeded(): Promise<void> {
    this.seeded ??= this.seed().catch((err: unknown) => {
      this.seeded = undefined;
      throw err;
    });
    return this.seeded;
  }

  /** Makes sure each address has an IPAddress object pointing at `key` (`namespace/name`). */
  async reserve(key: string, addresses: string[]): Promise<ReserveResult> {
    await this.ensureSeeded();
    if (!this.served) return { ok: true };
    const mine = this.held.get(key) ?? new Set<string>();
    for (const address of addresses) {
      if (mine.has(address)) continue;
      const r = await this.claim(key, address);
      if (!r.ok) return r;
      mine.add(address);
      this.held.set(key, mine);
    }
    return { ok: true };
  }

  /** Deletes the IPAddresses of `key` that are not in `keep` (all of them by default). */
  async release(key: string, keep: string[] = []): Promise<void> {
    await this.ensureSeeded();
    const mine = this.held.get(key);
    if (!mine) return;
    for (const address of [...mine]) {
      if (keep.includes(address)) continue;
      await this.ignoreNotFound(this.kube.delete(IP_ADDRESSES, undefined, ipAddressName(address)));
      mine.delete(address);
    }
    if (!mine.size) this.held.delete(key);
  }

  private async claim(key: string, address: string): Promise<ReserveResult> {
    const [namespace, name] = key.split('/');
    const obj: IpAddressObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IPAddress',
      metadata: { name: ipAddressName(address), labels: { [IP_ADDRESS_MANAGED_BY]: YCLOUD_IP_ADDRESS_MANAGER } },
      spec: { parentRef: { group: GROUP, resource: yusurResource, namespace, name } },
    };
    try {
      await this.kube.create(IP_ADDRESSES, undefined, obj);
      return { ok: true };
    } catch (err) {
      if (isAlreadyExists(err)) {
        const existing = await this.kube.get<IpAddressObject>(IP_ADDRESSES, undefined, ipAddressName(address));
        const p = existing.spec?.parentRef;
        if (p?.group === GROUP && p.resource === yusurResource && p.namespace === namespace && p.name === name)
          return { ok: true };
        return { ok: false, address, holder: describeParent(p) };
      }
      // The apiserver validates the address (e.g. outside every ServiceCIDR): then it cannot hand it out either.
      if (err instanceof KubeApiError && err.statusCode === 422) return { ok: true };
      if (isNotFound(err)) {
        this.noApi();
        return { ok: true };
      }
      throw err;
    }
  }

  private async seed(): Promise<void> {
    let items: IpAddressObject[];
    try {
      const list = await this.kube.list<IpAddressObject>(IP_ADDRESSES, undefined, {
        labelSelector: `${IP_ADDRESS_MANAGED_BY}=${YCLOUD_IP_ADDRESS_MANAGER}`,
      });
      items = list.items ?? [];
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.noApi();
      return;
    }
    for (const o of items) {
      const p = o.spec?.parentRef;
      const address = o.metadata?.name;
      if (!p || !address || p.group !== GROUP || p.resource !== yusurResource) continue;
      const key = `${p.namespace}/${p.name}`;
      if (!this.exists(key)) {
        await this.ignoreNotFound(this.kube.delete(IP_ADDRESSES, undefined, address));
        continue;
      }
      const set = this.held.get(key) ?? new Set<string>();
      set.add(address);
      this.held.set(key, set);
    }
  }

  private noApi(): void {
    if (!this.served) return;
    this.served = false;
    this.log.info(
      'networking.k8s.io/v1 IPAddress is not served: default-VPC YusurService ClusterIPs are not reserved with the apiserver',
    );
  }

  private async ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** IPAddress names are the canonical address; IPv6 keeps its colons (the apiserver accepts them). */
export function ipAddressName(address: string): string {
  return address.toLowerCase();
}
