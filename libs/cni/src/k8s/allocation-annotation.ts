import { CniError, CniErrorCode } from '../protocol/cni-error';

/**
 * The controller's allocation for a pod (or a node's port into the VPC). The one place that knows the
 * annotation's name and shape: align here when `@ycloud/api` publishes its definition.
 */
export const POD_ALLOCATION_ANNOTATION = 'ycloud.io/ip-allocation';
export const NODE_ALLOCATION_ANNOTATION = 'ycloud.io/node-allocation';

export interface IpAllocation {
  /** IPv4 with prefix, `10.16.0.5/16`. */
  ip: string;
  /** Optional IPv6 with prefix. */
  ipv6?: string;
  mac: string;
  /** IPv4 gateway (and optional IPv6 one). */
  gateway: string;
  gatewayV6?: string;
  logicalSwitch: string;
  logicalSwitchPort: string;
  mtu: number;
}

const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IP4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Parses and validates the annotation value; throws CniError(InvalidNetworkConfig) with what is wrong. */
export function parseIpAllocation(raw: string, where: string): IpAllocation {
  let v: Partial<IpAllocation>;
  try {
    v = JSON.parse(raw) as Partial<IpAllocation>;
  } catch {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `${where}: allocation annotation is not JSON`);
  }
  const bad = (what: string): never => {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `${where}: allocation annotation has ${what}`);
  };
  if (typeof v.ip !== 'string' || !CIDR4.test(v.ip)) bad(`no valid "ip" (got ${JSON.stringify(v.ip)})`);
  if (typeof v.mac !== 'string' || !MAC.test(v.mac)) bad(`no valid "mac" (got ${JSON.stringify(v.mac)})`);
  if (typeof v.gateway !== 'string' || !IP4.test(v.gateway)) bad(`no valid "gateway"`);
  if (typeof v.logicalSwitchPort !== 'string' || !v.logicalSwitchPort) bad('no "logicalSwitchPort"');
  if (v.ipv6 !== undefined && (typeof v.ipv6 !== 'string' || !v.ipv6.includes('/'))) bad('an invalid "ipv6"');
  const mtu = v.mtu ?? 1400;
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9216) bad(`an invalid "mtu" ${String(mtu)}`);
  return {
    ip: v.ip!,
    ipv6: v.ipv6,
    mac: v.mac!.toLowerCase(),
    gateway: v.gateway!,
    gatewayV6: v.gatewayV6,
    logicalSwitch: v.logicalSwitch ?? '',
    logicalSwitchPort: v.logicalSwitchPort!,
    mtu,
  };
}
