import { OWNER_KINDS, IpAllocationAnnotation, Subnet, cidrContains, formatIp, macFromIp, parseIp } from '@ycloud/api';
import { DesiredRow, DesiredState } from '@ycloud/ovn';
import { keys, names } from './keys';
import { parseSubnet } from './subnet-model';

/** The pod (or node) a port is for. */
export interface PortOwnerRef {
  namespace: string;
  name: string;
  /** Node the pod is scheduled to: OVN binds the port only there (`options:requested-chassis`). */
  nodeName?: string;
}

/** What IPAM decided for one port, with everything the CNI needs. Build it with `portAllocation`. */
export interface PortAllocation {
  subnet: string;
  vpc: string;
  /** Addresses with prefix, IPv4 first, e.g. `["10.16.0.5/16", "fd00:10:16::5/64"]`. */
  ips: string[];
  /** Gateways per family, in the order of `ips`. */
  gateways: string[];
  mac: string;
  mtu: number;
}

/**
 * Combines a Subnet and the bare addresses IPAM allocated into a PortAllocation. The MAC defaults to one
 * derived from the first address. Throws when an address is not inside the subnet (an IPAM bug).
 */
export function portAllocation(subnet: Subnet, ips: string[], opts: { mtu: number; mac?: string }): PortAllocation {
  const { model, errors } = parseSubnet(subnet);
  if (!model) throw new Error(`Subnet ${subnet.metadata.name} is invalid: ${errors.map((e) => e.message).join('; ')}`);
  const withFam = ips.map((text) => {
    const ip = parseIp(text);
    const fam = ip && (ip.family === 4 ? model.v4 : model.v6);
    if (!ip || !fam || !cidrContains(fam.cidr, ip)) throw new Error(`${text} is not inside Subnet ${model.name}`);
    return { ip, fam };
  });
  withFam.sort((a, b) => a.ip.family - b.ip.family);
  return {
    subnet: model.name,
    vpc: model.vpc,
    ips: withFam.map(({ ip, fam }) => `${formatIp(ip)}/${fam.cidr.prefix}`),
    gateways: withFam.map(({ fam }) => formatIp(fam.gateway)),
    mac: (opts.mac ?? macFromIp(formatIp(withFam[0].ip))).toLowerCase(),
    mtu: model.mtu ?? opts.mtu,
  };
}

/**
 * A pod's Logical_Switch_Port on its subnet's switch (addresses and port_security "MAC IP [IP6]", so the pod
 * cannot spoof), and the `ycloud.io/ip-allocation` annotation value the CNI agent configures the interface from.
 */
export function translatePodPort(
  pod: PortOwnerRef,
  allocation: PortAllocation,
): { state: DesiredState; annotation: IpAllocationAnnotation } {
  const portName = names.podPort(pod.namespace, pod.name);
  return portState(
    { kind: OWNER_KINDS.Pod, name: `${pod.namespace}/${pod.name}` },
    keys.podPort(pod.namespace, pod.name),
    portName,
    pod.nodeName,
    allocation,
  );
}

/**
 * A node's port on the join subnet (the node agent's `ovn0`-style interface), like a pod port except that its port
 * security is the MAC alone: the node's host forwards NodePort clients into OVN with their own source address
 * (`externalTrafficPolicy: Local`) and gets the replies to them back (docs/adr/0005), so IP port security would drop
 * both.
 */
export function translateNodePort(
  nodeName: string,
  allocation: PortAllocation,
): { state: DesiredState; annotation: IpAllocationAnnotation } {
  return portState(
    { kind: OWNER_KINDS.Node, name: nodeName },
    keys.nodePort(nodeName),
    names.nodePort(nodeName),
    nodeName,
    allocation,
    'mac',
  );
}

/**
 * Pure: the VPC router's routes to a node's own addresses (its InternalIPs) through its join port, so pods reach
 * the node's host network: host-network pods, whose address is the node's, serve Services (kube-proxy DNATs to them
 * like to any endpoint) and answer pods directly. Without them the VPC router has no route to node addresses (or
 * sends them to its default route, the EIP gateway). Per family, one /32 (/128) per node address to the node's
 * join address of that family (none without one); the node's host answers from that address through ycloud0, its
 * route to the pod and Service CIDRs. The reply gateway's drops (docs/adr/0011, 0012) take only what its sink
 * routes took, so these longer routes need no policy of their own.
 */
export function nodeHostRoutes(
  nodeName: string,
  nodeAddresses: string[],
  joinAddresses: string[],
  vpc: string,
): DesiredRow[] {
  const owner = { kind: OWNER_KINDS.Node, name: nodeName };
  const router = keys.vpcRouter(vpc);
  const joins = joinAddresses.map((a) => parseIp(a.split('/')[0])).filter((ip) => !!ip);
  const rows: DesiredRow[] = [];
  for (const family of [4, 6] as const) {
    const nexthop = joins.find((ip) => ip.family === family);
    if (!nexthop) continue;
    const addresses = new Set(
      nodeAddresses
        .map((a) => parseIp(a))
        .filter((ip) => ip?.family === family)
        .map((ip) => formatIp(ip!)),
    );
    addresses.delete(formatIp(nexthop));
    for (const address of [...addresses].sort()) {
      rows.push({
        table: 'Logical_Router_Static_Route',
        key: keys.nodeHostRoute(nodeName, address),
        owner,
        parent: { table: 'Logical_Router', key: router, column: 'static_routes' },
        columns: {
          ip_prefix: `${address}/${family === 4 ? 32 : 128}`,
          nexthop: formatIp(nexthop),
          policy: 'dst-ip',
          output_port: [],
        },
      });
    }
  }
  return rows;
}

function portState(
  owner: { kind: string; name: string },
  key: string,
  portName: string,
  nodeName: string | undefined,
  a: PortAllocation,
  security: 'mac-and-ip' | 'mac' = 'mac-and-ip',
): { state: DesiredState; annotation: IpAllocationAnnotation } {
  const address = [a.mac, ...a.ips.map((ip) => ip.split('/')[0])].join(' ');
  const state: DesiredState = {
    owner,
    memberships: [],
    rows: [
      {
        table: 'Logical_Switch_Port',
        key,
        owner,
        parent: { table: 'Logical_Switch', key: keys.subnetSwitch(a.subnet), column: 'ports' },
        columns: {
          name: portName,
          addresses: [address],
          port_security: [security === 'mac' ? a.mac : address],
          options: nodeName ? { 'requested-chassis': nodeName } : {},
        },
      },
    ],
  };
  const annotation: IpAllocationAnnotation = {
    ip: a.ips[0],
    ips: a.ips,
    gateway: a.gateways[0],
    gateways: a.gateways,
    mac: a.mac,
    logicalSwitch: names.subnetSwitch(a.subnet),
    logicalSwitchPort: portName,
    mtu: a.mtu,
    subnet: a.subnet,
    vpc: a.vpc,
  };
  return { state, annotation };
}
