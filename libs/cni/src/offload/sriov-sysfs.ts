import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';

/** A physical function with SR-IOV, as sysfs shows it. */
export interface PhysicalFunction {
  netdev: string;
  pciAddress: string;
  numVfs: number;
  totalVfs: number;
  /** `phys_switch_id` (same for the PF and its representors in switchdev mode), '' if none. */
  switchId: string;
  /** `phys_port_name` of the PF (`p0`), '' if none. */
  portName: string;
}

export interface VirtualFunction {
  index: number;
  pciAddress: string;
  /** The VF's netdev as seen from this network namespace; undefined when it is elsewhere (in a pod) or unbound. */
  netdev?: string;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/**
 * Reads SR-IOV topology from sysfs under `root` (`/sys` on a node; a fake tree in tests):
 * `class/net/<dev>/device/sriov_numvfs`, `virtfn<N>` links, `phys_port_name`, `phys_switch_id`.
 */
export class SriovSysfs {
  constructor(private readonly root = '/sys') {}

  private net(...p: string[]): string {
    return join(this.root, 'class/net', ...p);
  }

  netdevs(): string[] {
    return list(this.net());
  }

  physPortName(netdev: string): string {
    return read(this.net(netdev, 'phys_port_name'));
  }

  physSwitchId(netdev: string): string {
    return read(this.net(netdev, 'phys_switch_id'));
  }

  /** PFs: netdevs whose device has `sriov_totalvfs`. */
  physicalFunctions(): PhysicalFunction[] {
    const out: PhysicalFunction[] = [];
    for (const netdev of this.netdevs()) {
      const dev = this.net(netdev, 'device');
      if (!existsSync(join(dev, 'sriov_totalvfs'))) continue;
      out.push({
        netdev,
        pciAddress: basename(realpathSync(dev)),
        numVfs: Number(read(join(dev, 'sriov_numvfs')) || 0),
        totalVfs: Number(read(join(dev, 'sriov_totalvfs')) || 0),
        switchId: this.physSwitchId(netdev),
        portName: this.physPortName(netdev),
      });
    }
    return out;
  }

  physicalFunction(netdev: string): PhysicalFunction | undefined {
    return this.physicalFunctions().find((p) => p.netdev === netdev);
  }

  /** VFs of a PF in index order, each with its netdev when visible here. */
  virtualFunctions(pfNetdev: string): VirtualFunction[] {
    const dev = this.net(pfNetdev, 'device');
    return list(dev)
      .filter((n) => /^virtfn\d+$/.test(n))
      .map((n) => {
        const vfDir = realpathSync(join(dev, n));
        const [netdev] = list(join(vfDir, 'net'));
        return { index: Number(n.slice(6)), pciAddress: basename(vfDir), netdev };
      })
      .sort((a, b) => a.index - b.index);
  }

  /** The PF and VF index of a VF PCI address (the SR-IOV device plugin's `deviceID`). */
  vfByPciAddress(pci: string): { pf: PhysicalFunction; vf: VirtualFunction } | undefined {
    for (const pf of this.physicalFunctions()) {
      const vf = this.virtualFunctions(pf.netdev).find((v) => v.pciAddress === pci);
      if (vf) return { pf, vf };
    }
    return undefined;
  }
}

/** Parses a representor's `phys_port_name`: `pf0vf3` or `c1pf0vf3` (controller 1, an external host / DPU). */
export function parseRepresentorPortName(name: string): { controller?: number; pf: number; vf: number } | undefined {
  const m = /^(?:c(\d+))?pf(\d+)vf(\d+)$/.exec(name);
  if (!m) return undefined;
  return { controller: m[1] === undefined ? undefined : Number(m[1]), pf: Number(m[2]), vf: Number(m[3]) };
}

/** PF index from a PF's own `phys_port_name` (`p0` -> 0, `pf1` -> 1), else undefined. */
export function pfIndexOf(portName: string): number | undefined {
  const m = /^p(?:f)?(\d+)$/.exec(portName);
  return m ? Number(m[1]) : undefined;
}

export interface Representor {
  /** The OVS port to add: a netdev name, or for DPDK a name of our choosing. */
  portName: string;
  /** `dpdk` for OVS-DPDK representors, undefined for a kernel netdev. */
  type?: 'dpdk';
  options?: Record<string, string>;
}

/**
 * Finds the representor of VF `vf` of PF index `pf`:
 * 1. switchdev netdevs sharing the PF's `phys_switch_id` whose `phys_port_name` is `pf<pf>vf<vf>` (or
 *    `c<N>pf<pf>vf<vf>` on a DPU, where the host is an external controller);
 * 2. vendor naming `pf<pf>vf<vf>rep` (as a netdev name);
 * 3. OVS-DPDK: no netdev; port type dpdk with `dpdk-devargs=<pf pci>,representor=[<vf>]` when `dpdkPfPci` given.
 */
export function findRepresentor(
  sysfs: SriovSysfs,
  pfIndex: number,
  vf: number,
  opts: { switchId?: string; dpdkPfPci?: string } = {},
): Representor | undefined {
  for (const netdev of sysfs.netdevs()) {
    const parsed = parseRepresentorPortName(sysfs.physPortName(netdev));
    if (!parsed || parsed.pf !== pfIndex || parsed.vf !== vf) continue;
    if (opts.switchId && sysfs.physSwitchId(netdev) !== opts.switchId) continue;
    return { portName: netdev };
  }
  const vendor = `pf${pfIndex}vf${vf}rep`;
  if (sysfs.netdevs().includes(vendor)) return { portName: vendor };
  if (opts.dpdkPfPci) {
    return { portName: vendor, type: 'dpdk', options: { 'dpdk-devargs': `${opts.dpdkPfPci},representor=[${vf}]` } };
  }
  return undefined;
}
