import { FakeSysfs } from '../../test/fake-sysfs';
import { MemoryKubeApi } from '../k8s/kube-api';
import { RecordedCommandRunner } from '../ovs/command-runner';
import { OvsVsctl } from '../ovs/ovs-vsctl';
import { PlumbRequest } from '../plumbing/pod-plumber';
import { CniErrorCode } from '../protocol/cni-error';
import { DPU_CONNECTION_DETAILS_ANNOTATION, DPU_CONNECTION_STATUS_ANNOTATION } from './dpu-annotations';
import { DpuHostPlumber, SmartNicPlumber } from './offload-plumbers';
import { SriovSysfs } from './sriov-sysfs';
import { VfPool } from './vf-pool';

function plumbRequest(overrides: Partial<PlumbRequest['req']['conf']> = {}): PlumbRequest {
  return {
    req: {
      command: 'ADD',
      containerId: 'c0ffee',
      netns: '/var/run/netns/pod1',
      ifname: 'eth0',
      args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'p1' },
      path: '',
      conf: { cniVersion: '1.1.0', name: 'ycloud', type: 'ycloud', ...overrides },
    },
    alloc: {
      ip: '10.16.0.9/16',
      mac: '0a:58:0a:10:00:09',
      gateway: '10.16.0.1',
      logicalSwitch: 'ls',
      logicalSwitchPort: 'default_p1',
      addresses: [{ cidr: '10.16.0.9/16', gateway: '10.16.0.1', family: 4 }],
      mtu: 1400,
    },
    podKey: 'default/p1',
    podNamespace: 'default',
    podName: 'p1',
    hostIfName: 'ycabc',
    deadline: Date.now() + 5000,
  };
}

describe('offload plumbing against a fake sysfs and a recorded command runner', () => {
  let fake: FakeSysfs;
  let sysfs: SriovSysfs;
  beforeEach(() => {
    fake = new FakeSysfs().addPf({
      netdev: 'ens1f0',
      pci: '0000:03:00.0',
      portName: 'p0',
      switchId: 'aabbcc',
      vfs: ['ens1f0v0', 'ens1f0v1'],
      representors: { eth4: 'pf0vf0', eth5: 'pf0vf1' },
    });
    sysfs = new SriovSysfs(fake.root);
  });
  afterEach(() => fake.cleanup());

  it('smartnic: representor of the device plugin VF into br-int, VF into the pod, waits for ovn-installed', async () => {
    const runner = new RecordedCommandRunner();
    const plumber = new SmartNicPlumber(
      runner,
      new OvsVsctl(runner),
      sysfs,
      new VfPool(sysfs, 'ens1f0'),
      'br-int',
      '/proc/1/ns/net',
    );
    const res = await plumber.add(plumbRequest({ runtimeConfig: { deviceID: '0000:03:01.1' } }));
    expect(res.interfaces[1]).toMatchObject({ name: 'eth0', pciID: '0000:03:01.1', sandbox: '/var/run/netns/pod1' });
    const lines = runner.lines();
    expect(lines).toContainEqual(
      expect.stringMatching(
        /ovs-vsctl .*--may-exist add-port br-int eth5 -- set Interface eth5 external_ids:iface-id="default_p1"/,
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/wait-until Interface eth5 external_ids:ovn-installed="true"/));
    expect(lines).toContain('ip link set dev ens1f0v1 netns /var/run/netns/pod1');
    const batch = runner.calls.find((c) => c.cmd === 'nsenter' && c.args.includes('-batch'))!;
    expect(batch.input).toContain('link set dev ens1f0v1 alias ens1f0v1');
    expect(batch.input).toContain('link set dev ens1f0v1 name eth0');
    expect(batch.input).toContain('link set dev eth0 address 0a:58:0a:10:00:09 mtu 1400');
    expect(batch.input).toContain('route replace default via 10.16.0.1 dev eth0');
  });

  it('smartnic: a missing representor is a clear error and nothing stays plugged', async () => {
    fake.cleanup();
    fake = new FakeSysfs().addPf({
      netdev: 'ens1f0',
      pci: '0000:03:00.0',
      portName: 'p0',
      switchId: 'aabbcc',
      vfs: ['ens1f0v0'],
    });
    sysfs = new SriovSysfs(fake.root);
    const runner = new RecordedCommandRunner().on(/find Interface/, { stdout: '{"data":[],"headings":[]}' });
    const plumber = new SmartNicPlumber(
      runner,
      new OvsVsctl(runner),
      sysfs,
      new VfPool(sysfs, 'ens1f0'),
      'br-int',
      '/proc/1/ns/net',
    );
    await expect(plumber.add(plumbRequest())).rejects.toMatchObject({
      code: CniErrorCode.PlumbingFailed,
      message: expect.stringContaining('switchdev'),
    });
    expect(runner.lines().some((l) => l.includes('add-port'))).toBe(false);
  });

  it('dpu-host: fails fast with a clear error when the DPU lease is missing or expired', async () => {
    const kube = new MemoryKubeApi();
    kube.pods.set('default/p1', { labels: {}, annotations: {} });
    const runner = new RecordedCommandRunner();
    const plumber = new DpuHostPlumber(
      runner,
      kube,
      new VfPool(sysfs, 'ens1f0'),
      'node-1',
      'ycloud-system',
      5000,
      '/proc/1/ns/net',
    );
    await expect(plumber.add(plumbRequest())).rejects.toMatchObject({
      code: CniErrorCode.DpuUnavailable,
      message: expect.stringContaining('no lease'),
    });
    kube.leases.set('ycloud-system/ycloud-dpu-node-1', {
      holder: 'dpu',
      durationSeconds: 40,
      renewTime: new Date(Date.now() - 60_000),
    });
    await expect(plumber.add(plumbRequest())).rejects.toMatchObject({
      message: expect.stringContaining('last renewed 60s ago'),
    });
    expect(kube.pods.get('default/p1')!.annotations[DPU_CONNECTION_DETAILS_ANNOTATION]).toBeUndefined();
  });

  it('dpu-host: writes connection details, waits for the DPU status, then moves the VF', async () => {
    const kube = new MemoryKubeApi();
    kube.pods.set('default/p1', { labels: {}, annotations: {} });
    kube.leases.set('ycloud-system/ycloud-dpu-node-1', { holder: 'dpu', durationSeconds: 40, renewTime: new Date() });
    const runner = new RecordedCommandRunner();
    const plumber = new DpuHostPlumber(
      runner,
      kube,
      new VfPool(sysfs, 'ens1f0'),
      'node-1',
      'ycloud-system',
      5000,
      '/proc/1/ns/net',
    );
    const dpu = setInterval(() => {
      const a = kube.pods.get('default/p1')!.annotations;
      if (a[DPU_CONNECTION_DETAILS_ANNOTATION] && !a[DPU_CONNECTION_STATUS_ANNOTATION]) {
        expect(JSON.parse(a[DPU_CONNECTION_DETAILS_ANNOTATION])).toEqual({
          pfId: 0,
          vfId: 0,
          sandboxId: 'c0ffee',
          vfNetdev: 'ens1f0v0',
        });
        a[DPU_CONNECTION_STATUS_ANNOTATION] = JSON.stringify({ status: 'Ready', sandboxId: 'c0ffee' });
      }
    }, 20);
    try {
      const res = await plumber.add(plumbRequest());
      expect(res.interfaces[0]).toMatchObject({ name: 'eth0', pciID: '0000:03:01.0' });
      expect(runner.lines()).toContain('ip link set dev ens1f0v0 netns /var/run/netns/pod1');
    } finally {
      clearInterval(dpu);
    }
  });

  it('dpu-host: a DPU error status and a silent DPU both end ADD with the reason', async () => {
    const kube = new MemoryKubeApi();
    kube.pods.set('default/p1', { labels: {}, annotations: {} });
    kube.leases.set('ycloud-system/ycloud-dpu-node-1', { holder: 'dpu', durationSeconds: 40, renewTime: new Date() });
    const plumber = new DpuHostPlumber(
      new RecordedCommandRunner(),
      kube,
      new VfPool(sysfs, 'ens1f0'),
      'node-1',
      'ycloud-system',
      300,
      '/proc/1/ns/net',
    );
    await expect(plumber.add(plumbRequest())).rejects.toMatchObject({
      code: CniErrorCode.DpuUnavailable,
      message: expect.stringContaining('did not report'),
    });
    const dpu = setInterval(() => {
      const a = kube.pods.get('default/p1')!.annotations;
      a[DPU_CONNECTION_STATUS_ANNOTATION] = JSON.stringify({
        status: 'Error',
        error: 'no representor for pf0vf0',
        sandboxId: 'c0ffee',
      });
    }, 20);
    try {
      await expect(plumber.add(plumbRequest())).rejects.toMatchObject({
        message: expect.stringContaining('no representor for pf0vf0'),
      });
    } finally {
      clearInterval(dpu);
    }
  });
});
