import { CniError, CniErrorCode } from '../protocol/cni-error';
import { PhysicalFunction, SriovSysfs, VirtualFunction } from './sriov-sysfs';

export interface VfLease {
  pf: PhysicalFunction;
  vf: VirtualFunction & { netdev: string };
}

/**
 * Hands out VFs of the configured PF. With a `deviceID` (the SR-IOV device plugin allocated the VF; from the
 * CNI config or runtimeConfig) that VF is used; otherwise the agent picks a free one. A VF is free when its
 * netdev is visible in the agent's namespace (sysfs is namespace-aware: a VF inside a pod is not) and no
 * ongoing ADD holds it, so the pool needs no state that could go stale across agent restarts.
 */
export class VfPool {
  private readonly held = new Map<string, string>(); // vf pci -> container id

  constructor(
    private readonly sysfs: SriovSysfs,
    private readonly pfNetdev: string,
  ) {}

  acquire(containerId: string, deviceId?: string): VfLease {
    if (deviceId) {
      const found = this.sysfs.vfByPciAddress(deviceId);
      if (!found)
        throw new CniError(CniErrorCode.InvalidNetworkConfig, `deviceID ${deviceId} is not a VF on this node`);
      if (!found.vf.netdev) {
        throw new CniError(
          CniErrorCode.PlumbingFailed,
          `VF ${deviceId} has no netdev here (bound to another driver or in use)`,
        );
      }
      this.held.set(found.vf.pciAddress, containerId);
      return { pf: found.pf, vf: found.vf as VfLease['vf'] };
    }
    const pf = this.sysfs.physicalFunction(this.pfNetdev);
    if (!pf) throw new CniError(CniErrorCode.PlumbingFailed, `PF ${this.pfNetdev} has no SR-IOV on this node`);
    const vf = this.sysfs.virtualFunctions(pf.netdev).find((v) => v.netdev && !this.held.has(v.pciAddress));
    if (!vf) throw new CniError(CniErrorCode.NoFreeVf, `no free VF on ${pf.netdev} (${pf.numVfs} VFs)`);
    this.held.set(vf.pciAddress, containerId);
    return { pf, vf: vf as VfLease['vf'] };
  }

  /** Forgets the hold of an ADD once the VF sits in the pod (it is then invisible, hence used). */
  release(vfPci: string): void {
    this.held.delete(vfPci);
  }

  /** Free and used VF counts of the PF, for the Node report and metrics. */
  usage(): { pf: string; total: number; free: number; used: number } {
    const vfs = this.sysfs.virtualFunctions(this.pfNetdev);
    const free = vfs.filter((v) => v.netdev && !this.held.has(v.pciAddress)).length;
    return { pf: this.pfNetdev, total: vfs.length, free, used: vfs.length - free };
  }
}
