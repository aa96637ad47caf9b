import { IP_ALLOCATION_ANNOTATION, NODE_ALLOCATION_ANNOTATION } from '@ycloud/api';
import { CniError, CniErrorCode } from '../protocol/cni-error';

/**
 * The controller's allocation for a pod (or a node's port into the VPC). The one place in the agent that knows
 * the annotation's name and shape; the contract is `IpAllocationAnnotation` in `@ycloud/api`.
 */
export const POD_ALLOCATION_ANNOTATION = IP_ALLOCATION_ANNOTATION;
/** Same JSON shape on the Node, for its port `ycloud0` into the join subnet (LSP `node-<nodeName>`). */
export { NODE_ALLOCATION_ANNOTATION };

export interface AllocatedAddress {
  /** Address with prefix, `10.16.0.5/16` or `fd00:10:16::5/64`. */
  cidr: string;
  gateway?: string;
  family: 4 | 6;
}

/** What the agent plumbs: the annotation validated and normalised. */
export interface IpAllocation {
  /** Primary address with prefix (IPv4 when the subnet has IPv4). */
  ip: string;
  /** Primary gateway. */
  gateway: string;
  /** Every address (dual stack: IPv4 first), each with its family's gateway. */
  addresses: AllocatedAddress[];
  mac: string;
  logicalSwitch: string;
  logicalSwitchPort: string;
  mtu: number;
}

const IP4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IP6 = /^[0-9a-f:.]+$/i;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function familyOf(ip: string): 4 | 6 | undefined {
  if (IP4.test(ip)) return 4;
  if (ip.includes(':') && IP6.test(ip)) return 6;
  return undefined;
}

function cidrFamily(cidr: unknown): 4 | 6 | undefined {
  if (typeof cidr !== 'string') return undefined;
  const [ip, len, extra] = cidr.split('/');
  const fam = familyOf(ip);
  const n = Number(len);
  if (!fam || extra !== undefined || !/^\d+$/.test(len ?? '') || n > (fam === 4 ? 32 : 128)) return undefined;
  return fam;
}

interface RawAllocation {
  ip?: unknown;
  ips?: unknown;
  gateway?: unknown;
  gateways?: unknown;
  /** Earlier draft of the contract: a second family beside `ip`. */
  ipv6?: unknown;
  gatewayV6?: unknown;
  mac?: unknown;
  logicalSwitch?: unknown;
  logicalSwitchPort?: unknown;
  mtu?: unknown;
}

/** Parses and validates the annotation value; throws CniError(InvalidNetworkConfig) saying what is wrong. */
export function parseIpAllocation(raw: string, where: string): IpAllocation {
  let v: RawAllocation;
  try {
    v = JSON.parse(raw) as RawAllocation;
  } catch {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `${where}: allocation annotation is not JSON`);
  }
  const bad = (what: string): never => {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `${where}: allocation annotation has ${what}`);
  };
  if (!cidrFamily(v.ip)) bad(`no valid "ip" (got ${JSON.stringify(v.ip)})`);
  if (typeof v.gateway !== 'string' || !familyOf(v.gateway)) bad('no valid "gateway"');
  if (typeof v.mac !== 'string' || !MAC.test(v.mac)) bad(`no valid "mac" (got ${JSON.stringify(v.mac)})`);
  if (typeof v.logicalSwitchPort !== 'string' || !v.logicalSwitchPort) bad('no "logicalSwitchPort"');
  const ips = Array.isArray(v.ips) && v.ips.length ? (v.ips as unknown[]) : [v.ip, ...(v.ipv6 ? [v.ipv6] : [])];
  const gws = Array.isArray(v.gateways) && v.gateways.length ? (v.gateways as unknown[]) : [v.gateway, v.gatewayV6];
  const addresses: AllocatedAddress[] = ips.map((cidr, i) => {
    const family = cidrFamily(cidr) ?? bad(`an invalid address ${JSON.stringify(cidr)}`);
    const gw = gws[i];
    if (gw !== undefined && gw !== null && gw !== '' && (typeof gw !== 'string' || familyOf(gw) !== family)) {
      bad(`gateway ${JSON.stringify(gw)} that does not match ${String(cidr)}`);
    }
    return { cidr: cidr as string, gateway: (gw as string) || undefined, family };
  });
  if (!addresses.some((a) => a.cidr === v.ip)) bad(`"ip" ${String(v.ip)} missing from "ips"`);
  const mtu = v.mtu ?? 1400;
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 576 || mtu > 9216)
    bad(`an invalid "mtu" ${String(mtu)}`);
  return {
    ip: v.ip as string,
    gateway: v.gateway as string,
    addresses,
    mac: (v.mac as string).toLowerCase(),
    logicalSwitch: typeof v.logicalSwitch === 'string' ? v.logicalSwitch : '',
    logicalSwitchPort: v.logicalSwitchPort as string,
    mtu: mtu as number,
  };
}
