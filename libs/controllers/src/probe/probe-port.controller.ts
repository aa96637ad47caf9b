import type { ReconcileContext } from '@ycloud/k8s';
import { cidrContains, OWNER_KINDS, parseCidr, parseIp, type ControllerConfig, type Subnet } from '@ycloud/api';
import type { ApplyRecord, NorthboundApplier } from '@ycloud/ovn';
import { probeLspName, type ProbePortPlug } from '@ycloud/probe';
import { portAllocation, translatePodPort } from '@ycloud/translate/topology';
import type { SubnetIpam } from '../ipam/subnet-ipam';

export interface ProbePortControllerDeps {
  subnets(): Subnet[];
  /** The same SubnetIpam pods allocate from (addresses never collide). */
  ipam: SubnetIpam;
  applier: NorthboundApplier;
  config: Pick<ControllerConfig, 'mtu'>;
  /** Node (chassis) the probe ports are bound to: where the prober runs. */
  nodeName: string;
  /** VPCs that currently have probe targets. */
  wantedVpcs(): Set<string>;
  /** Where the VPC's probe port must be plugged (undefined: unplug). */
  publish(vpc: string, plug: ProbePortPlug | undefined): Promise<void> | void;
}

/** IPAM owner key of a VPC's probe port. */
export const probePortOwner = (vpc: string): string => `probe/${vpc}`;

/**
 * One probe port per VPC with probe targets: an address from a pod subnet of that VPC (the pods' IPAM), the
 * Logical_Switch_Port `probe.<vpc>` (addresses and port security like a pod's, requested-chassis = the prober's
 * node), then `publish` tells the plug side (plugProbePort) what to plug. VPCs without targets lose the port.
 */
export class ProbePortController {
  /** MAC and first address each restored port had in NB (kept while the address is). */
  private readonly restored = new Map<string, { mac: string; ip: string }>();

  constructor(private readonly deps: ProbePortControllerDeps) {}

  /**
   * Re-records the address a VPC's probe port already has in NB (its LSP's `addresses`, "MAC IP [IP6]"), before
   * anything allocates after a restart: the same address comes back and no pod gets it. Returns why it could not
   * (no pod subnet of the VPC holds the address, or it is taken), or undefined.
   */
  restore(vpc: string, lspAddresses: string[]): string | undefined {
    const [mac, ...ips] = (lspAddresses[0] ?? '').split(/\s+/).filter(Boolean);
    const first = parseIp(ips[0] ?? '');
    if (!first) return `no address in ${JSON.stringify(lspAddresses)}`;
    const subnet = this.podSubnets(vpc).find((s) =>
      s.spec.cidrBlocks.some((c) => {
        const cidr = parseCidr(c);
        return !!cidr && cidrContains(cidr, first);
      }),
    );
    if (!subnet) return `${ips[0]} is in no pod subnet of VPC ${vpc}`;
    const result = this.deps.ipam.allocator(subnet).restore(probePortOwner(vpc), ips);
    if (!result.ok) return result.conflicts.map((c) => c.message).join('; ');
    this.restored.set(vpc, { mac, ip: ips[0] });
    return undefined;
  }

  /** The VPC's pod subnets by name; the probe port lives on the first. */
  private podSubnets(vpc: string): Subnet[] {
    return this.deps
      .subnets()
      .filter((s) => s.spec.vpc === vpc && (s.spec.role ?? 'pod') === 'pod')
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  /** Key: the VPC name. */
  async reconcile(vpc: string, { reason }: ReconcileContext): Promise<ApplyRecord> {
    const owner = { kind: OWNER_KINDS.ProbePort, name: vpc };
    const subnet = this.podSubnets(vpc)[0];
    if (!this.deps.wantedVpcs().has(vpc) || !subnet) {
      this.deps.ipam.release(probePortOwner(vpc));
      this.restored.delete(vpc);
      const record = await this.deps.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, reason);
      await this.deps.publish(vpc, undefined);
      return record;
    }
    const key = probePortOwner(vpc);
    // Moved to another subnet of the VPC: give the old address back first (allocate is idempotent otherwise).
    const previous = this.deps.ipam.subnetOf(key);
    if (previous && previous !== subnet.metadata.name) this.deps.ipam.release(key);
    const result = this.deps.ipam.allocator(subnet).allocate(key);
    if (!result.ok) throw new Error(`probe port of VPC ${vpc}: ${result.message}`);
    const kept = this.restored.get(vpc);
    const mac = kept && result.ips[0]?.split('/')[0] === kept.ip ? kept.mac : undefined;
    const allocation = portAllocation(subnet, result.ips, { mtu: this.deps.config.mtu, mac });
    // A pod-like port; only its name (the plug side's iface-id) and its owner differ.
    const { state } = translatePodPort(
      { namespace: 'ycloud-probe', name: vpc, nodeName: this.deps.nodeName },
      allocation,
    );
    state.owner = owner;
    for (const row of state.rows) {
      row.owner = owner;
      row.columns = { ...row.columns, name: probeLspName(vpc) };
    }
    const record = await this.deps.applier.apply(state, reason);
    await this.deps.publish(vpc, {
      vpc,
      mac: allocation.mac,
      ipCidr: allocation.ips[0],
      gateway: allocation.gateways[0],
      mtu: allocation.mtu,
    });
    return record;
  }
}
