import type { ReconcileContext } from '@ycloud/k8s';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import {
  cidrContains,
  formatIp,
  parseCidr,
  parseIp,
  type BareMetalServer,
  type ControllerConfig,
  type IpamFailure,
  type Subnet,
  type VNic,
} from '@ycloud/api';
import { setCondition, type Condition } from '@ycloud/k8s';
import type { ApplyRecord, NorthboundApplier } from '@ycloud/ovn';
import {
  attachmentOwner,
  attachmentPortName,
  portAllocation,
  translateAttachmentPort,
  type AttachmentKind,
  type AttachmentRef,
} from '@ycloud/translate/topology';
import type { ObjectCache } from '../common/ports';
import type { SubnetIpam } from '../ipam/subnet-ipam';

/** Status fields the controller writes (a merge patch of the status subresource; null removes a field). */
export interface AttachmentStatusPatch {
  observedGeneration?: number;
  conditions: Condition[];
  ip?: string | null;
  mac?: string | null;
  logicalSwitchPort?: string | null;
}

export interface NetworkAttachmentDeps {
  bareMetalServers: ObjectCache<BareMetalServer>;
  /** Keyed `namespace/name`. */
  vnics: ObjectCache<VNic>;
  /** A VNic attached to a pod is bound to the pod's node. Keyed `namespace/name`. */
  pods?: ObjectCache<V1Pod>;
  /** A BareMetalServer's `spec.node` must name one of these. */
  nodes?: ObjectCache<V1Node>;
  /** Every Subnet whose switch exists (built-in and Ready Subnet resources). */
  subnets(): Subnet[];
  /** The same SubnetIpam pods allocate from: an attached address is never handed to a pod. */
  ipam: SubnetIpam;
  applier: NorthboundApplier;
  config: Pick<ControllerConfig, 'mtu'>;
  /** Writes the object's status (merge patch); a vanished object is not an error. */
  writeStatus(
    kind: AttachmentKind,
    namespace: string | undefined,
    name: string,
    status: AttachmentStatusPatch,
  ): Promise<void>;
}

/** Why an attachment is (not) in place: the Ready condition's reason. */
export type AttachmentReason =
  | 'Attached'
  | 'SubnetNotFound'
  | 'NodeNotFound'
  | 'PodNotFound'
  | 'VpcMismatch'
  | 'AddressOutOfRange'
  | 'AddressConflict'
  | 'AddressExhausted'
  | 'InvalidAddress';

type Refusal = { ok: false; reason: AttachmentReason; message: string };
/** `waiting`: attached, but not Ready until the object it is attached to exists. */
type Plan =
  { ok: true; subnet: Subnet; ips: string[]; mac?: string; node?: string; waiting?: Omit<Refusal, 'ok'> } | Refusal;
type Held = { ok: true; ips: string[] } | Refusal;

/** IPAM owner key of an attachment (Kubernetes names are lowercase, so these never equal a pod's `ns/name`). */
export const attachmentIpamOwner = (ref: Pick<AttachmentRef, 'kind' | 'namespace' | 'name'>): string =>
  ref.kind === 'BareMetalServer' ? `BareMetalServer/${ref.name}` : `VNic/${ref.namespace}/${ref.name}`;

/**
 * The controller key of an attachment is its NB owner name: `name` for a BareMetalServer (cluster-scoped),
 * `namespace/name` for a VNic, so start-up repair can queue owners found in NB as they are.
 */
export function attachmentRefOfKey(key: string): Pick<AttachmentRef, 'kind' | 'namespace' | 'name'> {
  const i = key.indexOf('/');
  return i < 0
    ? { kind: 'BareMetalServer', name: key }
    : { kind: 'VNic', namespace: key.slice(0, i), name: key.slice(i + 1) };
}

const REASON_OF: Record<IpamFailure, AttachmentReason> = {
  InUse: 'AddressConflict',
  Excluded: 'AddressConflict',
  OutOfRange: 'AddressOutOfRange',
  Invalid: 'InvalidAddress',
  Exhausted: 'AddressExhausted',
};

/**
 * Network attachments of BareMetalServers and VNics: each gets one Logical_Switch_Port on its subnet's switch
 * (`bms.<name>`, `vnic.<namespace>.<name>`; addresses and port security like a pod's), which OVN binds wherever
 * an OVS interface with that `iface-id` appears (a DPU representor, the OVS port the server is cabled to), or only
 * on `spec.node` when set. The address is held in the pods' SubnetIpam. Bad input (no such subnet, an address
 * outside it or taken, a `spec.node` that is no Node) is reported in the Ready condition and leaves no port; it never fails the reconcile.
 */
export class NetworkAttachmentController {
  private restored = false;
  /** The last status written per key (compared besides the cache, which may lag behind our own write). */
  private readonly written = new Map<string, string>();
  /** Keys currently refused for an address conflict: retried when addresses are freed. */
  private readonly conflicted = new Set<string>();

  constructor(private readonly deps: NetworkAttachmentDeps) {}

  /** Every BareMetalServer and VNic key in the caches. */
  allKeys(): string[] {
    return [
      ...this.deps.bareMetalServers.list().map((b) => b.metadata.name),
      ...this.deps.vnics.list().map((v) => `${v.metadata.namespace ?? 'default'}/${v.metadata.name}`),
    ];
  }

  /** Keys refused for an address conflict (to retry when an address is freed). */
  conflictedKeys(): string[] {
    return [...this.conflicted];
  }

  /**
   * Re-records the addresses attachments hold (BareMetalServer spec.ip, VNic spec.ip or status.ip) in the IPAM.
   * Call after the caches synced and before pods allocate, so no pod is handed one of them after a restart.
   */
  restoreAll(): void {
    if (this.restored) return;
    this.restored = true;
    const subnets = this.deps.subnets();
    const restore = (ref: AttachmentRef, subnetName: string, ip: string | undefined) => {
      const subnet = subnets.find((s) => s.metadata.name === subnetName);
      if (subnet && ip) this.deps.ipam.allocator(subnet).restore(attachmentIpamOwner(ref), [ip]);
    };
    for (const b of this.deps.bareMetalServers.list())
      restore({ kind: 'BareMetalServer', name: b.metadata.name }, b.spec?.subnet, b.spec?.ip);
    for (const v of this.deps.vnics.list()) {
      const ref: AttachmentRef = { kind: 'VNic', namespace: v.metadata.namespace ?? 'default', name: v.metadata.name };
      restore(ref, v.spec?.subnet, v.spec?.ip ?? v.status?.ip);
    }
  }

  async reconcile(key: string, { reason }: ReconcileContext): Promise<ApplyRecord> {
    this.restoreAll();
    const ref = attachmentRefOfKey(key);
    const owner = attachmentOwner(ref);
    const obj = ref.kind === 'BareMetalServer' ? this.deps.bareMetalServers.get(ref.name) : this.deps.vnics.get(key);
    if (!obj) {
      this.deps.ipam.release(attachmentIpamOwner(ref));
      this.written.delete(key);
      this.conflicted.delete(key);
      return this.deps.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, reason);
    }
    const plan =
      ref.kind === 'BareMetalServer'
        ? this.planBareMetal(obj as BareMetalServer)
        : this.planVNic(obj as VNic, ref.namespace!);
    if (!plan.ok) {
      this.deps.ipam.release(attachmentIpamOwner(ref));
      if (plan.reason === 'AddressConflict') this.conflicted.add(key);
      else this.conflicted.delete(key);
      const record = await this.deps.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, reason);
      const cond = { type: 'Ready', status: 'False' as const, reason: plan.reason, message: plan.message };
      await this.status(key, ref, obj, cond, ref.kind === 'VNic' ? { logicalSwitchPort: null } : {});
      return record;
    }
    this.conflicted.delete(key);
    const allocation = portAllocation(plan.subnet, plan.ips, { mtu: this.deps.config.mtu, mac: plan.mac });
    const state = translateAttachmentPort({ ...ref, nodeName: plan.node }, allocation);
    const record = await this.deps.applier.apply(state, reason);
    const port = attachmentPortName(ref);
    const where = plan.node ? `, bound to node ${plan.node}` : '';
    const attached = `${allocation.ips[0].split('/')[0]} on port ${port} of Subnet ${plan.subnet.metadata.name}${where}`;
    const cond = plan.waiting
      ? {
          type: 'Ready',
          status: 'False' as const,
          reason: plan.waiting.reason,
          message: `${plan.waiting.message}; ${attached}`,
        }
      : { type: 'Ready', status: 'True' as const, reason: 'Attached', message: attached };
    const fields =
      ref.kind === 'VNic' ? { ip: allocation.ips[0].split('/')[0], mac: allocation.mac, logicalSwitchPort: port } : {};
    await this.status(key, ref, obj, cond, fields);
    return record;
  }

  private subnet(name: string | undefined): Subnet | undefined {
    return this.deps.subnets().find((s) => s.metadata.name === name);
  }

  private planBareMetal(bms: BareMetalServer): Plan {
    const subnet = this.subnet(bms.spec?.subnet);
    if (!subnet) return { ok: false, reason: 'SubnetNotFound', message: `Subnet ${bms.spec?.subnet} does not exist` };
    if (subnet.spec.vpc !== bms.spec.vpc) {
      const message = `Subnet ${subnet.metadata.name} is in Vpc ${subnet.spec.vpc}, not ${bms.spec.vpc}`;
      return { ok: false, reason: 'VpcMismatch', message };
    }
    // A port bound to a chassis that does not exist would carry nothing: refused until the Node appears.
    if (bms.spec.node && this.deps.nodes && !this.deps.nodes.get(bms.spec.node)) {
      const message = `spec.node: Node ${bms.spec.node} does not exist; the port is created when it appears`;
      return { ok: false, reason: 'NodeNotFound', message };
    }
    const ref: AttachmentRef = { kind: 'BareMetalServer', name: bms.metadata.name };
    const held = this.hold(ref, subnet, bms.spec.ip);
    return held.ok ? { ok: true, subnet, ips: held.ips, mac: bms.spec.mac, node: bms.spec.node } : held;
  }

  private planVNic(vnic: VNic, namespace: string): Plan {
    const subnet = this.subnet(vnic.spec?.subnet);
    if (!subnet) return { ok: false, reason: 'SubnetNotFound', message: `Subnet ${vnic.spec?.subnet} does not exist` };
    const ref: AttachmentRef = { kind: 'VNic', namespace, name: vnic.metadata.name };
    // A fixed address, else the one allocated before (status.ip) while it is still inside the subnet, else a new one.
    const previous = vnic.status?.ip && insideSubnet(subnet, vnic.status.ip) ? vnic.status.ip : undefined;
    const wanted = vnic.spec.ip ?? previous;
    const held = wanted ? this.hold(ref, subnet, wanted) : this.allocate(ref, subnet);
    if (!held.ok) return held;
    const attached = vnic.spec.attachedTo;
    const pod = attached?.kind === 'Pod' ? this.deps.pods?.get(`${namespace}/${attached.name}`) : undefined;
    // The port and address are kept for a pod that is not there (yet, or between restarts): Ready says so.
    const waiting =
      attached?.kind === 'Pod' && this.deps.pods && !pod
        ? {
            reason: 'PodNotFound' as const,
            message: `spec.attachedTo: Pod ${namespace}/${attached.name} does not exist; the port is bound when it appears`,
          }
        : undefined;
    return { ok: true, subnet, ips: held.ips, mac: vnic.spec.mac, node: pod?.spec?.nodeName, waiting };
  }

  /** Holds exactly `ip` in the subnet for the attachment (giving back what it held elsewhere or before). */
  private hold(ref: AttachmentRef, subnet: Subnet, ip: string): Held {
    const owner = attachmentIpamOwner(ref);
    if (!parseIp(ip)) return { ok: false, reason: 'InvalidAddress', message: `${ip} is not an IP address` };
    if (!insideSubnet(subnet, ip)) {
      const message = `${ip} is not inside Subnet ${subnet.metadata.name} (${subnet.spec.cidrBlocks.join(', ')})`;
      return { ok: false, reason: 'AddressOutOfRange', message };
    }
    const allocator = this.deps.ipam.allocator(subnet);
    const had = allocator.addressesOf(owner);
    if (this.deps.ipam.subnetOf(owner) !== subnet.metadata.name || had.length !== 1 || had[0] !== ip)
      this.deps.ipam.release(owner);
    const result = allocator.restore(owner, [ip]);
    if (result.ok) return { ok: true, ips: [formatIp(parseIp(ip)!)] };
    const c = result.conflicts[0];
    return { ok: false, reason: REASON_OF[c.reason], message: `Subnet ${subnet.metadata.name}: ${c.message}` };
  }

  /** One new address (the first family of the subnet) for a VNic without one. */
  private allocate(ref: AttachmentRef, subnet: Subnet): Held {
    const owner = attachmentIpamOwner(ref);
    this.deps.ipam.release(owner);
    const allocator = this.deps.ipam.allocator(subnet);
    const result = allocator.allocate(owner);
    if (!result.ok)
      return {
        ok: false,
        reason: REASON_OF[result.reason],
        message: `Subnet ${subnet.metadata.name}: ${result.message}`,
      };
    // A VNic has one address (status.ip): a dual-stack subnet's second family goes back.
    const ip = result.ips[0];
    if (result.ips.length > 1) {
      allocator.release(owner);
      allocator.restore(owner, [ip]);
    }
    return { ok: true, ips: [ip] };
  }

  /** Writes the status when it differs from the cached object's and from our last write. */
  private async status(
    key: string,
    ref: AttachmentRef,
    obj: BareMetalServer | VNic,
    cond: Omit<Condition, 'lastTransitionTime'>,
    fields: Pick<AttachmentStatusPatch, 'ip' | 'mac' | 'logicalSwitchPort'>,
  ): Promise<void> {
    const generation = obj.metadata.generation;
    const text = JSON.stringify({ generation, cond, fields });
    const current = (obj.status ?? {}) as Record<string, unknown>;
    const { conditions, changed } = setCondition(obj.status?.conditions as Condition[] | undefined, {
      ...cond,
      observedGeneration: generation,
    });
    const fieldsDiffer = Object.entries(fields).some(([k, v]) => (current[k] ?? null) !== (v ?? null));
    const generationDiffers = (obj.status?.observedGeneration ?? undefined) !== generation;
    if (!changed && !fieldsDiffer && !generationDiffers) {
      this.written.set(key, text);
      return;
    }
    if (this.written.get(key) === text) return; // the cache lags behind our own write
    await this.deps.writeStatus(ref.kind, ref.namespace, ref.name, {
      observedGeneration: generation,
      conditions,
      ...fields,
    });
    this.written.set(key, text);
  }
}

function insideSubnet(subnet: Subnet, ip: string): boolean {
  const addr = parseIp(ip.split('/')[0]);
  return (
    !!addr &&
    subnet.spec.cidrBlocks.some((c) => {
      const cidr = parseCidr(c);
      return !!cidr && cidrContains(cidr, addr);
    })
  );
}
