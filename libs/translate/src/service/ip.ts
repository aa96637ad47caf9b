import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 'IPv4' | 'IPv6';

/** A parsed address in the canonical text form OVN and the apiserver use (IPv6 compressed, lower case). */
export interface ParsedIp {
  family: IpFamily;
  address: string;
}

/** Parses an IP literal; undefined for anything else (CIDRs, zones, host names, leading/trailing space). */
export function parseIp(text: string | undefined): ParsedIp | undefined {
  if (typeof text !== 'string') return undefined;
  if (isIPv4(text)) {
    // Reject leading zeros ("010.0.0.1"): some parsers read them as octal, so their meaning is ambiguous.
    if (text.split('.').some((octet) => octet.length > 1 && octet.startsWith('0'))) return undefined;
    return { family: 'IPv4', address: text };
  }
  if (isIPv6(text) && !text.includes('%')) {
    // WHATWG URL host parsing yields the RFC 5952 canonical form, so equal addresses compare equal as strings.
    return { family: 'IPv6', address: new URL(`http://[${text}]/`).hostname.slice(1, -1) };
  }
  return undefined;
}

/** `"addr:port"`, IPv6 in brackets, as Load_Balancer.vips keys and values need. */
export function hostPort(ip: ParsedIp, port: number): string {
  return ip.family === 'IPv6' ? `[${ip.address}]:${port}` : `${ip.address}:${port}`;
}

function ipBytes(ip: ParsedIp): number[] {
  if (ip.family === 'IPv4') return ip.address.split('.').map(Number);
  const [head, tail = ''] = ip.address.includes('::') ? ip.address.split('::') : [ip.address, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const expand = (groups: string[]): number[] => {
    const out: number[] = [];
    for (const g of groups) {
      if (g.includes('.'))
        out.push(...g.split('.').map(Number)); // embedded IPv4 (::ffff:1.2.3.4)
      else out.push(parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff);
    }
    return out;
  };
  const h = expand(headGroups);
  const t = expand(tailGroups);
  return [...h, ...new Array<number>(16 - h.length - t.length).fill(0), ...t];
}

/** Numeric order: IPv4 before IPv6, then by address bytes. */
export function compareIp(a: ParsedIp, b: ParsedIp): number {
  if (a.family !== b.family) return a.family === 'IPv4' ? -1 : 1;
  const x = ipBytes(a);
  const y = ipBytes(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

export interface IpPort {
  ip: ParsedIp;
  port: number;
}

export function compareIpPort(a: IpPort, b: IpPort): number {
  return compareIp(a.ip, b.ip) || a.port - b.port;
}

export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}
