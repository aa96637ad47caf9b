import { CniAgentConfig } from '../agent/agent-config';
import { IpAllocation, NODE_ALLOCATION_ANNOTATION, parseIpAllocation } from '../k8s/allocation-annotation';
import { KubeApi } from '../k8s/kube-api';
import { CommandRunner, runChecked } from '../ovs/command-runner';
import { OvsVsctl } from '../ovs/ovs-vsctl';

/** Name of the node's own port into the VPC (an OVS internal port on br-int). */
export const NODE_PORT_NAME = 'ycloud0';

/** The logical switch port the controller creates for a node in the join subnet. */
export function nodeLogicalSwitchPort(nodeName: string): string {
  return `node-${nodeName}`;
}

/**
 * Pure: `ip -batch` lines for ycloud0: MAC, MTU, its join address of each family (IPv6 without duplicate address
 * detection, which would hold the address back for seconds), up, and a route per Service / pod CIDR via the join
 * gateway of the CIDR's family; a CIDR of a family the join subnet has no address in gets no route.
 */
export function nodePortBatch(alloc: IpAllocation, cidrs: string[]): string[] {
  const dev = NODE_PORT_NAME;
  const familyOf = (cidr: string): 4 | 6 => (cidr.includes(':') ? 6 : 4);
  const addresses = alloc.addresses.length ? alloc.addresses : [{ cidr: alloc.ip, gateway: alloc.gateway, family: 4 }];
  const gateway = (family: 4 | 6): string | undefined => addresses.find((a) => a.family === family)?.gateway;
  return [
    `link set dev ${dev} address ${alloc.mac} mtu ${alloc.mtu}`,
    ...addresses.map((a) => `addr replace ${a.cidr} dev ${dev}${a.family === 6 ? ' nodad' : ''}`),
    `link set dev ${dev} up`,
    ...cidrs
      .filter((c) => gateway(familyOf(c)))
      .map((c) => `route replace ${c} via ${gateway(familyOf(c))} dev ${dev} mtu ${alloc.mtu}`),
  ];
}

/**
 * Scenario 2: the node reaches pods and Services through OVN. Reads the Node's `ycloud.io/node-allocation`
 * (written by the controller, which also creates the LSP `node-<nodeName>`), plugs `ycloud0` into br-int bound
 * to that LSP, addresses it and routes the Service and pod CIDRs through it. Idempotent; call periodically.
 */
export class NodePortManager {
  private applied = '';
  private ipv6 = false;

  constructor(
    private readonly runner: CommandRunner,
    private readonly ovs: OvsVsctl,
    private readonly kube: KubeApi,
    private readonly cfg: CniAgentConfig,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Returns the allocation in force, or undefined while the controller has not allocated one yet. */
  async reconcile(): Promise<IpAllocation | undefined> {
    const node = await this.kube.getNode(this.cfg.nodeName);
    const raw = node?.annotations[NODE_ALLOCATION_ANNOTATION];
    if (!raw) return undefined;
    const alloc = parseIpAllocation(raw, `node ${this.cfg.nodeName}`);
    const ipv6 = alloc.addresses.some((a) => a.family === 6);
    const cidrs = [...this.cfg.nodePort.serviceCidrs, ...this.cfg.nodePort.podCidrs];
    const [iface] = await this.ovs.findInterfaces({ 'iface-id': alloc.logicalSwitchPort });
    const key = JSON.stringify({ alloc, cidrs });
    if (iface?.name === NODE_PORT_NAME && this.applied === key && iface.ofport > 0) {
      this.ipv6 = ipv6;
      return alloc;
    }
    await this.ovs.addPort({
      bridge: this.cfg.bridge,
      name: NODE_PORT_NAME,
      type: 'internal',
      externalIds: {
        'iface-id': alloc.logicalSwitchPort,
        'attached-mac': alloc.mac,
        'iface-status': 'active',
        'ycloud-node-port': 'true',
      },
      mtuRequest: alloc.mtu,
    });
    await runChecked(this.runner, 'ip', ['-batch', '-'], { input: nodePortBatch(alloc, cidrs).join('\n') + '\n' });
    this.applied = key;
    this.ipv6 = ipv6; // only once the address is on ycloud0
    const ips = alloc.addresses.map((a) => a.cidr).join(' ') || alloc.ip;
    this.log(`node port ${NODE_PORT_NAME}: ${ips} on ${alloc.logicalSwitchPort}, routes ${cidrs.join(' ')}`);
    return alloc;
  }

  /** Whether the allocation in force gives ycloud0 an IPv6 join address (the node's IPv6 NodePorts need one). */
  hasIpv6Address(): boolean {
    return this.ipv6;
  }

  async remove(): Promise<void> {
    await this.ovs.delPort(NODE_PORT_NAME);
    this.applied = '';
  }
}
