import { FakeSysfs } from '../../test/fake-sysfs';
import { RecordedCommandRunner } from '../ovs/command-runner';
import { CniError, CniErrorCode } from '../protocol/cni-error';
import { buildOffloadReport, eswitchMode } from './offload-report';
import { SriovSysfs, findRepresentor, parseRepresentorPortName, pfIndexOf } from './sriov-sysfs';
import { VfPool } from './vf-pool';

describe('SR-IOV discovery on a fake sysfs', () => {
  let fake: FakeSysfs;
  let sysfs: SriovSysfs;

  beforeEach(() => {
    fake = new FakeSysfs()
      .addPf({
        netdev: 'ens1f0',
        pci: '0000:03:00.0',
        portName: 'p0',
        switchId: 'aabbcc',
        vfs: ['ens1f0v0', 'ens1f0v1', 'ens1f0v2', undefined],
        representors: { eth4: 'pf0vf0', eth5: 'pf0vf1', eth6: 'pf0vf2' },
      })
      .netdev('eth0')
      // A second NIC whose representors must not be confused with the first one's.
      .addPf({
        netdev: 'ens2f0',
        pci: '0000:81:00.0',
        portName: 'p0',
        switchId: 'ddeeff',
        vfs: ['ens2f0v0'],
        representors: { eth9: 'pf0vf0' },
      });
    sysfs = new SriovSysfs(fake.root);
  });
  afterEach(() => fake.cleanup());

  it('finds PFs with their PCI address, VF counts, switch id and port name', () => {
    expect(sysfs.physicalFunctions().sort((a, b) => a.netdev.localeCompare(b.netdev))).toEqual([
      { netdev: 'ens1f0', pciAddress: '0000:03:00.0', numVfs: 4, totalVfs: 8, switchId: 'aabbcc', portName: 'p0' },
      { netdev: 'ens2f0', pciAddress: '0000:81:00.0', numVfs: 1, totalVfs: 8, switchId: 'ddeeff', portName: 'p0' },
    ]);
  });

  it('lists VFs through virtfn links, with netdevs only where sysfs shows one', () => {
    expect(sysfs.virtualFunctions('ens1f0')).toEqual([
      { index: 0, pciAddress: '0000:03:01.0', netdev: 'ens1f0v0' },
      { index: 1, pciAddress: '0000:03:01.1', netdev: 'ens1f0v1' },
      { index: 2, pciAddress: '0000:03:01.2', netdev: 'ens1f0v2' },
      { index: 3, pciAddress: '0000:03:01.3', netdev: undefined },
    ]);
    expect(sysfs.vfByPciAddress('0000:03:01.2')?.vf.index).toBe(2);
  });

  it('finds representors by phys_port_name on the right eswitch, vendor names, and DPDK devargs', () => {
    expect(findRepresentor(sysfs, 0, 1, { switchId: 'aabbcc' })).toEqual({ portName: 'eth5' });
    expect(findRepresentor(sysfs, 0, 0, { switchId: 'ddeeff' })).toEqual({ portName: 'eth9' });
    expect(findRepresentor(sysfs, 0, 7, { switchId: 'aabbcc' })).toBeUndefined();
    fake.netdev('pf0vf7rep');
    expect(findRepresentor(sysfs, 0, 7, { switchId: 'aabbcc' })).toEqual({ portName: 'pf0vf7rep' });
    expect(findRepresentor(sysfs, 1, 3, { dpdkPfPci: '0000:03:00.0' })).toEqual({
      portName: 'pf1vf3rep',
      type: 'dpdk',
      options: { 'dpdk-devargs': '0000:03:00.0,representor=[3]' },
    });
  });

  it('parses representor and PF port names, including a DPU controller prefix', () => {
    expect(parseRepresentorPortName('pf0vf3')).toEqual({ controller: undefined, pf: 0, vf: 3 });
    expect(parseRepresentorPortName('c1pf0vf3')).toEqual({ controller: 1, pf: 0, vf: 3 });
    expect(parseRepresentorPortName('p0')).toBeUndefined();
    expect(pfIndexOf('p1')).toBe(1);
    expect(pfIndexOf('pf0')).toBe(0);
  });

  it('allocates VFs from the pool or by the device plugin deviceID, and runs out cleanly', () => {
    const pool = new VfPool(sysfs, 'ens1f0');
    expect(pool.acquire('c1').vf.netdev).toBe('ens1f0v0');
    expect(pool.acquire('c2', '0000:03:01.2').vf.netdev).toBe('ens1f0v2');
    expect(pool.acquire('c3').vf.netdev).toBe('ens1f0v1');
    expect(pool.usage()).toEqual({ pf: 'ens1f0', total: 4, free: 0, used: 4 });
    const err = (() => {
      try {
        pool.acquire('c4');
      } catch (e) {
        return e as CniError;
      }
    })();
    expect(err?.code).toBe(CniErrorCode.NoFreeVf);
    // Once in the pod the VF vanishes from sysfs: used without any bookkeeping.
    pool.release('0000:03:01.0');
    fake.hideVf('0000:03:00.0', 0, 'ens1f0v0');
    expect(pool.usage().free).toBe(0);
    expect(() => pool.acquire('c5', '0000:09:00.0')).toThrow('not a VF on this node');
  });

  it('reports the eswitch mode from devlink and the capability for the Node', async () => {
    const runner = new RecordedCommandRunner().on(/devlink -j dev eswitch show pci\/0000:03:00.0/, {
      stdout: JSON.stringify({
        dev: { 'pci/0000:03:00.0': { mode: 'switchdev', 'inline-mode': 'none', encap: 'enable' } },
      }),
    });
    expect(await eswitchMode(runner, '0000:03:00.0')).toBe('switchdev');
    expect(await buildOffloadReport('smartnic', sysfs, runner, 'ens1f0')).toEqual({
      mode: 'smartnic',
      pf: 'ens1f0',
      pciAddress: '0000:03:00.0',
      eswitchMode: 'switchdev',
      vfsTotal: 4,
      vfsFree: 3,
      vfsUsed: 1,
      hwOffload: true,
    });
  });
});
