import { parseIp } from './ip';

/**
 * Locally administered, unicast prefix of every MAC ycloud generates (0x0e: bit 1 set = local, bit 0 clear =
 * unicast), so generated MACs never collide with vendor-assigned ones.
 */
export const MAC_PREFIX = '0e:79';

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/**
 * A stable MAC derived from an address: the prefix plus the low 32 bits of the IP. Within one L2 domain
 * (a subnet) IPv4 addresses, and IPv6 addresses of a /96 or longer, give distinct MACs; restarts give the same
 * MAC back, so ARP caches of peers stay valid.
 */
export function macFromIp(ip: string, prefix = MAC_PREFIX): string {
  const addr = parseIp(ip);
  if (!addr) throw new Error(`macFromIp: ${JSON.stringify(ip)} is not an IP address`);
  const low = Number(addr.value & 0xffffffffn);
  return [
    prefix,
    hex2((low >>> 24) & 0xff),
    hex2((low >>> 16) & 0xff),
    hex2((low >>> 8) & 0xff),
    hex2(low & 0xff),
  ].join(':');
}

/** A random MAC with `prefix` (default the ycloud prefix); `random` is injectable for tests. */
export function randomMac(prefix = MAC_PREFIX, random: () => number = Math.random): string {
  const parts = prefix.split(':');
  if (parts.length < 1 || parts.length > 5 || parts.some((p) => !/^[0-9a-f]{2}$/i.test(p))) {
    throw new Error(`randomMac: bad prefix ${JSON.stringify(prefix)}`);
  }
  const first = parseInt(parts[0], 16);
  if ((first & 0x01) !== 0 || (first & 0x02) === 0)
    throw new Error(`randomMac: prefix ${prefix} is not locally administered unicast`);
  while (parts.length < 6) parts.push(hex2(Math.floor(random() * 256) & 0xff));
  return parts.map((p) => p.toLowerCase()).join(':');
}

export function isMac(text: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text);
}
