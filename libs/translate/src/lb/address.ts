import { compareIp, type ParsedIp } from '@ycloud/api';

/** An address and port: a VIP or a backend. */
export interface IpPort {
  ip: ParsedIp;
  port: number;
}

/** `"addr:port"`, IPv6 in brackets, as Load_Balancer.vips keys and values need. */
export function hostPort(ip: ParsedIp, port: number): string {
  return ip.family === 6 ? `[${ip.address}]:${port}` : `${ip.address}:${port}`;
}

export function compareIpPort(a: IpPort, b: IpPort): number {
  return compareIp(a.ip, b.ip) || a.port - b.port;
}

export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}
