import { IpAllocation } from '../k8s/allocation-annotation';
import { CommandRunner } from '../ovs/command-runner';
import { ipBatchInNetns, moveLinkToNetns, podInterfaceBatch } from '../plumbing/netns-config';

/**
 * Moves a VF netdev into the pod and configures it. The VF's original name is kept in the interface's alias
 * so DEL can give it back its name without any state of ours.
 */
export async function plugVfIntoPod(
  runner: CommandRunner,
  vfNetdev: string,
  netns: string,
  ifname: string,
  alloc: IpAllocation,
): Promise<void> {
  await moveLinkToNetns(runner, vfNetdev, netns);
  await ipBatchInNetns(runner, netns, [
    `link set dev ${vfNetdev} alias ${vfNetdev}`,
    ...podInterfaceBatch(vfNetdev, ifname, alloc),
  ]);
}

/** Returns the VF in the pod (if any) to `hostNetnsPath` under its original name; a vanished pod netns is fine. */
export async function returnVfFromPod(
  runner: CommandRunner,
  netns: string,
  ifname: string,
  hostNetnsPath: string,
): Promise<void> {
  if (!netns) return;
  const r = await runner.run('nsenter', [`--net=${netns}`, 'ip', '-j', '-d', 'link', 'show', 'dev', ifname]);
  if (r.code !== 0) return;
  const [link] = JSON.parse(r.stdout) as { ifalias?: string }[];
  const original = link?.ifalias;
  if (!original) return; // not a VF we plugged
  await ipBatchInNetns(runner, netns, [
    `addr flush dev ${ifname}`,
    `link set dev ${ifname} down`,
    `link set dev ${ifname} name ${original}`,
    `link set dev ${original} netns ${hostNetnsPath}`,
  ]);
}
