/**
 * IPv4/IPv6 address arithmetic on bigints. Pure, no dependencies; used by IPAM, validation and translation.
 */

export type IpFamily = 4 | 6;

/** An address as a number plus its family. */
export interface IpAddr {
  family: IpFamily;
  value: bigint;
}

/** A parsed CIDR: the network address (host bits cleared), the prefix length and the family. */
export interface Cidr {
  family: IpFamily;
  network: bigint;
  prefix: number;
  /** Last address of the block (the IPv4 broadcast address). */
  last: bigint;
  /** Canonical text, e.g. `10.16.0.0/16`, `fd00:10::/64`. */
  text: string;
}

const V4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function bits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Parses an IPv4 or IPv6 address (no prefix, no zone); undefined when it is not one. */
export function parseIp(text: string): IpAddr | undefined {
  if (V4_RE.test(text)) {
    // One BigInt per address: translation parses every endpoint of every Service.
    const [a, b, c, d] = text.split('.').map(Number);
    return { family: 4, value: BigInt(a * 0x1000000 + b * 0x10000 + c * 0x100 + d) };
  }
  return parseIpv6(text);
}

function parseIpv6(text: string): IpAddr | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length < 2 || !text.includes(':')) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const tail = text.slice(lastColon + 1);
    const v4 = V4_RE.test(tail) ? parseIp(tail) : undefined;
    if (!v4) return undefined;
    tailV4 = v4.value;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return groups.map((g) => parseInt(g, 16));
  };
  const left = parseGroups(halves[0]);
  const right = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!left || !right) return undefined;
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...right];
  let v = groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return { family: 6, value: v };
}

/** An address with its canonical text (RFC 5952 for IPv6), the form OVN columns and the apiserver hold. */
export interface ParsedIp extends IpAddr {
  address: string;
}

/**
 * Parses user input that should be one IP address: undefined for anything else (non-strings, CIDRs, zones, host
 * names, surrounding space, IPv4 octets with leading zeros, which some parsers read as octal).
 */
export function parseIpAddress(text: unknown): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  const addr = parseIp(text);
  if (!addr) return undefined;
  // A valid IPv4 literal is already canonical; skip formatting it (translation parses every endpoint).
  return { family: addr.family, value: addr.value, address: addr.family === 4 ? text : formatIp(addr) };
}

/** Numeric order: IPv4 before IPv6, then by address. */
export function compareIp(a: IpAddr, b: IpAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** The family of a Kubernetes `IPv4`/`IPv6` (spec.ipFamilies, EndpointSlice addressType); undefined otherwise. */
export function ipFamilyOf(kubernetesName: unknown): IpFamily | undefined {
  return kubernetesName === 'IPv4' ? 4 : kubernetesName === 'IPv6' ? 6 : undefined;
}

/** Formats an address canonically (RFC 5952 for IPv6: lower case, longest zero run compressed). */
export function formatIp(addr: IpAddr): string {
  if (addr.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((addr.value >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr.value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses `addr/prefix`; with `strict`, host bits must be zero. Undefined when invalid. */
export function parseCidr(text: string, strict = false): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const width = bits(addr.family);
  if (prefix > width) return undefined;
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  if (strict && (addr.value & hostMask) !== 0n) return undefined;
  const network = addr.value & ~hostMask & ((1n << BigInt(width)) - 1n);
  return {
    family: addr.family,
    network,
    prefix,
    last: network | hostMask,
    text: `${formatIp({ family: addr.family, value: network })}/${prefix}`,
  };
}

export function cidrContains(cidr: Cidr, addr: IpAddr): boolean {
  return cidr.family === addr.family && addr.value >= cidr.network && addr.value <= cidr.last;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network <= b.last && b.network <= a.last;
}

/** Number of addresses in the block. */
export function cidrSize(cidr: Cidr): bigint {
  return cidr.last - cidr.network + 1n;
}

/** The first usable host address: network + 1 (for /31, /32, /127, /128 the network address itself). */
export function firstHost(cidr: Cidr): IpAddr {
  const tiny = bits(cidr.family) - cidr.prefix <= 1;
  return { family: cidr.family, value: tiny ? cidr.network : cidr.network + 1n };
}

/** An inclusive address range `start..end` of one family. */
export interface IpRange {
  family: IpFamily;
  start: bigint;
  end: bigint;
}

/**
 * Parses `a.b.c.d`, `a.b.c.d..e.f.g.h` (OVN's exclude_ips syntax), `start-end`, or a CIDR into a range.
 */
export function parseIpRange(text: string): IpRange | undefined {
  const r = checkIpRange(text);
  return r.ok ? r.range : undefined;
}

/**
 * Like parseIpRange, but says what is wrong (a reversed range, mixed families, host bits set, not an address), so
 * that user input can be reported as the field's problem rather than as "invalid".
 */
export function checkIpRange(text: unknown): { ok: true; range: IpRange } | { ok: false; message: string } {
  if (typeof text !== 'string') return { ok: false, message: `${JSON.stringify(text)} is not a string` };
  const shown = JSON.stringify(text);
  if (text.includes('/')) {
    const c = parseCidr(text, true);
    if (c) return { ok: true, range: { family: c.family, start: c.network, end: c.last } };
    return {
      ok: false,
      message: parseCidr(text) ? `${shown} has host bits set` : `${shown} is not a CIDR`,
    };
  }
  const sep = text.includes('..') ? '..' : text.includes('-') ? '-' : undefined;
  if (!sep) {
    const a = parseIp(text);
    if (a) return { ok: true, range: { family: a.family, start: a.value, end: a.value } };
    return { ok: false, message: `${shown} is not an IP, range or CIDR` };
  }
  const [s, e, ...rest] = text.split(sep);
  const a = parseIp(s);
  const b = e === undefined ? undefined : parseIp(e);
  if (rest.length || !a || !b) return { ok: false, message: `${shown} is not an IP, range or CIDR` };
  if (a.family !== b.family) return { ok: false, message: `${shown} mixes IPv4 and IPv6` };
  if (a.value > b.value) return { ok: false, message: `${shown} is reversed: ${s} comes after ${e}` };
  return { ok: true, range: { family: a.family, start: a.value, end: b.value } };
}

/** `ip/prefix` text for an address inside a CIDR, e.g. `10.16.0.5/16`. */
export function withPrefix(addr: IpAddr, cidr: Cidr): string {
  return `${formatIp(addr)}/${cidr.prefix}`;
}
