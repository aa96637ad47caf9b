import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakePf {
  netdev: string;
  pci: string;
  portName?: string;
  switchId?: string;
  /** VF netdev names in index order (undefined = VF without a netdev here). */
  vfs: (string | undefined)[];
  /** Representors: netdev name -> phys_port_name. */
  representors?: Record<string, string>;
}

/** Builds a sysfs-shaped tree (class/net, bus/pci/devices, virtfn links) in a temp dir. */
export class FakeSysfs {
  readonly root = mkdtempSync(join(tmpdir(), 'ycloud-sysfs-'));

  addPf(pf: FakePf): this {
    const dev = join(this.root, 'bus/pci/devices', pf.pci);
    mkdirSync(join(dev, 'net', pf.netdev), { recursive: true });
    writeFileSync(join(dev, 'sriov_totalvfs'), `${Math.max(8, pf.vfs.length)}\n`);
    writeFileSync(join(dev, 'sriov_numvfs'), `${pf.vfs.length}\n`);
    this.netdev(pf.netdev, { device: dev, portName: pf.portName, switchId: pf.switchId });
    const [bus, devfn] = [pf.pci.slice(0, 8), Number(pf.pci.slice(8, 10))];
    pf.vfs.forEach((vfName, i) => {
      const vfPci = `${bus}${String(devfn + 1).padStart(2, '0')}.${i}`;
      const vfDev = join(this.root, 'bus/pci/devices', vfPci);
      mkdirSync(join(vfDev, 'net'), { recursive: true });
      if (vfName) {
        mkdirSync(join(vfDev, 'net', vfName));
        this.netdev(vfName, { device: vfDev });
      }
      symlinkSync(`../${vfPci}`, join(dev, `virtfn${i}`));
    });
    for (const [name, port] of Object.entries(pf.representors ?? {}))
      this.netdev(name, { portName: port, switchId: pf.switchId });
    return this;
  }

  /** A plain netdev (optionally a representor: phys_port_name / phys_switch_id). */
  netdev(name: string, o: { device?: string; portName?: string; switchId?: string } = {}): this {
    const d = join(this.root, 'class/net', name);
    mkdirSync(d, { recursive: true });
    if (o.device) symlinkSync(o.device, join(d, 'device'));
    if (o.portName) writeFileSync(join(d, 'phys_port_name'), `${o.portName}\n`);
    if (o.switchId) writeFileSync(join(d, 'phys_switch_id'), `${o.switchId}\n`);
    return this;
  }

  /** A VF netdev leaves this namespace (moved into a pod): sysfs no longer lists it. */
  hideVf(pfPci: string, index: number, vfName: string): void {
    const bus = pfPci.slice(0, 8);
    const vfPci = `${bus}${String(Number(pfPci.slice(8, 10)) + 1).padStart(2, '0')}.${index}`;
    rmSync(join(this.root, 'bus/pci/devices', vfPci, 'net', vfName), { recursive: true });
    rmSync(join(this.root, 'class/net', vfName), { recursive: true });
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
