import { createHash } from 'node:crypto';
import { IpAllocation } from '../k8s/allocation-annotation';
import { CommandRunner, runChecked } from '../ovs/command-runner';

/** Host-side name for a pod's interface: stable per (container, ifname), at most 15 characters. */
export function hostInterfaceName(containerId: string, ifname: string): string {
  return 'yc' + createHash('sha1').update(`${containerId}/${ifname}`).digest('hex').slice(0, 11);
}

/** Runs `ip -batch -` inside the network namespace at `netnsPath` (a path, as CNI_NETNS is). */
export async function ipBatchInNetns(runner: CommandRunner, netnsPath: string, lines: string[]): Promise<void> {
  await runChecked(runner, 'nsenter', [`--net=${netnsPath}`, 'ip', '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/** Moves a link from the agent's namespace into the pod's. */
export async function moveLinkToNetns(runner: CommandRunner, link: string, netnsPath: string): Promise<void> {
  await runChecked(runner, 'ip', ['link', 'set', 'dev', link, 'netns', netnsPath]);
}

/**
 * The `ip -batch` lines that turn the link `current` (already inside the pod's namespace) into the pod's
 * interface: name, MAC, MTU, addresses, up, default routes via the allocation's gateways.
 */
export function podInterfaceBatch(current: string, ifname: string, alloc: IpAllocation, setMac = true): string[] {
  const lines: string[] = [];
  if (current !== ifname) lines.push(`link set dev ${current} name ${ifname}`);
  lines.push(`link set dev ${ifname}${setMac ? ` address ${alloc.mac}` : ''} mtu ${alloc.mtu}`);
  for (const a of alloc.addresses) lines.push(`addr replace ${a.cidr} dev ${ifname}${a.family === 6 ? ' nodad' : ''}`);
  lines.push('link set dev lo up', `link set dev ${ifname} up`);
  for (const a of alloc.addresses) {
    if (a.gateway) lines.push(`route replace ${a.family === 4 ? 'default' : '::/0'} via ${a.gateway} dev ${ifname}`);
  }
  return lines;
}

/** Deletes `ifname` inside the pod's namespace; a vanished namespace or link is fine (DEL is idempotent). */
export async function deleteLinkInNetns(runner: CommandRunner, netnsPath: string, ifname: string): Promise<void> {
  if (!netnsPath) return;
  await runner.run('nsenter', [`--net=${netnsPath}`, 'ip', 'link', 'del', 'dev', ifname]);
}

/** What `ip -j addr show` reports for one link inside a namespace, or undefined when it is absent. */
export async function readLinkInNetns(
  runner: CommandRunner,
  netnsPath: string,
  ifname: string,
): Promise<{ mac: string; mtu: number; addresses: string[]; up: boolean } | undefined> {
  const r = await runner.run('nsenter', [`--net=${netnsPath}`, 'ip', '-j', 'addr', 'show', 'dev', ifname]);
  if (r.code !== 0) return undefined;
  const [link] = JSON.parse(r.stdout) as {
    address: string;
    mtu: number;
    flags: string[];
    addr_info: { local: string; prefixlen: number }[];
  }[];
  if (!link) return undefined;
  return {
    mac: link.address,
    mtu: link.mtu,
    up: link.flags.includes('UP'),
    addresses: link.addr_info.map((a) => `${a.local}/${a.prefixlen}`),
  };
}
