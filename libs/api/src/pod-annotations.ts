/** JSON of IP_ALLOCATION_ANNOTATION (names.ts): where the pod's interface goes and what it is configured with. */
export interface IpAllocationAnnotation {
  /** Primary address with prefix, e.g. `10.16.0.5/16` (IPv4 when the subnet has IPv4). */
  ip: string;
  /** All addresses with prefix (dual stack: IPv4 first). */
  ips: string[];
  /** Primary default gateway, e.g. `10.16.0.1`. */
  gateway: string;
  /** Gateways per family, in the order of `ips`. */
  gateways: string[];
  /** Interface MAC, lower case. */
  mac: string;
  /** OVN Logical_Switch name. */
  logicalSwitch: string;
  /** OVN Logical_Switch_Port name: the OVS interface's `external_ids:iface-id`. */
  logicalSwitchPort: string;
  mtu: number;
  /** Subnet and Vpc names, for humans and metrics. */
  subnet: string;
  vpc: string;
}

/** Parses the annotation value; undefined when absent or malformed (the CNI then waits / fails the ADD). */
export function parseIpAllocationAnnotation(value: string | undefined): IpAllocationAnnotation | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value) as Partial<IpAllocationAnnotation>;
    const strs = ['ip', 'gateway', 'mac', 'logicalSwitch', 'logicalSwitchPort', 'subnet', 'vpc'] as const;
    if (strs.some((k) => typeof v[k] !== 'string') || typeof v.mtu !== 'number') return undefined;
    if (!Array.isArray(v.ips) || !Array.isArray(v.gateways)) return undefined;
    return v as IpAllocationAnnotation;
  } catch {
    return undefined;
  }
}
