import { OffloadMode } from '../agent/agent-config';
import { CommandRunner } from '../ovs/command-runner';
import { SriovSysfs } from './sriov-sysfs';

export { OFFLOAD_ANNOTATION, OFFLOAD_MODE_LABEL } from '@ycloud/api';

export interface OffloadReport {
  mode: OffloadMode;
  pf?: string;
  pciAddress?: string;
  eswitchMode?: string;
  vfsTotal: number;
  vfsFree: number;
  vfsUsed: number;
  hwOffload: boolean;
}

/** `devlink dev eswitch show pci/<addr> -j` -> `switchdev` / `legacy`, '' when unknown. */
export async function eswitchMode(runner: CommandRunner, pciAddress: string): Promise<string> {
  const r = await runner.run('devlink', ['-j', 'dev', 'eswitch', 'show', `pci/${pciAddress}`]);
  if (r.code !== 0) return '';
  try {
    const parsed = JSON.parse(r.stdout) as { dev: Record<string, { mode?: string }> };
    return parsed.dev[`pci/${pciAddress}`]?.mode ?? '';
  } catch {
    return '';
  }
}

/** Discovers what the node can offload: PF, eswitch mode, VFs free/used. */
export async function buildOffloadReport(
  mode: OffloadMode,
  sysfs: SriovSysfs,
  runner: CommandRunner,
  pfNetdev: string,
  usage?: { free: number; used: number; total: number },
): Promise<OffloadReport> {
  const hwOffload = mode === 'smartnic' || mode === 'dpu';
  if (mode === 'none' || !pfNetdev) return { mode, vfsTotal: 0, vfsFree: 0, vfsUsed: 0, hwOffload };
  const pf = sysfs.physicalFunction(pfNetdev);
  if (!pf) return { mode, pf: pfNetdev, vfsTotal: 0, vfsFree: 0, vfsUsed: 0, hwOffload };
  const vfs = sysfs.virtualFunctions(pf.netdev);
  const free = usage?.free ?? vfs.filter((v) => v.netdev).length;
  return {
    mode,
    pf: pf.netdev,
    pciAddress: pf.pciAddress,
    eswitchMode: await eswitchMode(runner, pf.pciAddress),
    vfsTotal: usage?.total ?? vfs.length,
    vfsFree: free,
    vfsUsed: (usage?.total ?? vfs.length) - free,
    hwOffload,
  };
}
