// Not '@ycloud/cni': its index loads @kubernetes/client-node, about 0.3 s of CPU at the controller's start.
import { runChecked, type CommandRunner } from '@ycloud/cni/ovs/command-runner';
import type { ProbePortHost } from '@ycloud/probe';

/**
 * The node's OVS (ovs-vsctl against `ovsDb`, failing on a non-zero exit) and the runner for `ip`. `datapathNetns`:
 * where ovs-vswitchd creates internal ports, when that is not this process's namespace (the sandbox's nodes).
 */
export function probePortHost(ovsDb: string, runner: CommandRunner, datapathNetns?: string): ProbePortHost {
  return {
    runner,
    vsctl: (args) => runChecked(runner, 'ovs-vsctl', [`--db=${ovsDb}`, '--timeout=30', ...args]),
    ...(datapathNetns ? { datapathNetns } : {}),
  };
}
