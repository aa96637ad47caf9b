import { CommandRunner } from '../ovs/command-runner';
import { OvsVsctl } from '../ovs/ovs-vsctl';
import { KubeApi, pollUntil } from '../k8s/kube-api';
import { readLinkInNetns } from '../plumbing/netns-config';
import { plugAndAwaitOvnInstalled } from '../plumbing/ovs-port.plumber';
import { PlumbRequest, PlumbResult, PodPlumber, podExternalIds } from '../plumbing/pod-plumber';
import { CniError, CniErrorCode } from '../protocol/cni-error';
import { CniRequest } from '../protocol/cni-types';
import {
  DPU_CONNECTION_DETAILS_ANNOTATION,
  DPU_CONNECTION_STATUS_ANNOTATION,
  DpuConnectionDetails,
  DpuConnectionStatus,
  dpuLeaseName,
  parseJsonAnnotation,
} from './dpu-annotations';
import { SriovSysfs, findRepresentor, pfIndexOf } from './sriov-sysfs';
import { VfPool } from './vf-pool';
import { plugVfIntoPod, returnVfFromPod } from './vf-netns';

function deviceIdOf(req: CniRequest): string | undefined {
  return req.conf.runtimeConfig?.deviceID ?? req.conf.deviceID;
}

async function checkVfInPod(p: PlumbRequest, runner: CommandRunner): Promise<void> {
  const link = await readLinkInNetns(runner, p.req.netns, p.req.ifname);
  if (!link) throw new CniError(CniErrorCode.PlumbingFailed, `CHECK: no ${p.req.ifname} in ${p.req.netns}`);
  if (link.mac !== p.alloc.mac || !link.addresses.includes(p.alloc.ip)) {
    throw new CniError(
      CniErrorCode.PlumbingFailed,
      `CHECK: ${p.req.ifname} has ${link.mac} ${link.addresses.join(',')}`,
    );
  }
}

/**
 * Mode `smartnic`: the VF goes into the pod, its representor into br-int (OVS with other_config:hw-offload=true
 * pushes the flows into the NIC's eswitch through TC).
 */
export class SmartNicPlumber implements PodPlumber {
  readonly mode = 'smartnic';

  constructor(
    private readonly runner: CommandRunner,
    private readonly ovs: OvsVsctl,
    private readonly sysfs: SriovSysfs,
    private readonly pool: VfPool,
    private readonly bridge: string,
    private readonly hostNetnsPath: string,
    /** OVS-DPDK representors (port type dpdk) instead of kernel netdevs. */
    private readonly dpdk = false,
  ) {}

  async add(p: PlumbRequest): Promise<PlumbResult> {
    const lease = this.pool.acquire(p.req.containerId, deviceIdOf(p.req));
    try {
      const rep = findRepresentor(this.sysfs, pfIndexOf(lease.pf.portName) ?? 0, lease.vf.index, {
        switchId: lease.pf.switchId,
        dpdkPfPci: this.dpdk ? lease.pf.pciAddress : undefined,
      });
      if (!rep) {
        throw new CniError(
          CniErrorCode.PlumbingFailed,
          `no representor for VF ${lease.vf.index} of ${lease.pf.netdev} (is the eswitch in switchdev mode?)`,
        );
      }
      await this.ovs.delPort(rep.portName);
      await this.ovs.addPort({
        bridge: this.bridge,
        name: rep.portName,
        type: rep.type,
        options: rep.options,
        externalIds: { ...podExternalIds(p), 'ycloud-vf-pci': lease.vf.pciAddress },
      });
      await plugAndAwaitOvnInstalled(this.ovs, rep.portName, p.deadline, () =>
        plugVfIntoPod(this.runner, lease.vf.netdev, p.req.netns, p.req.ifname, p.alloc),
      );
      return {
        interfaces: [
          { name: rep.portName },
          { name: p.req.ifname, mac: p.alloc.mac, mtu: p.alloc.mtu, sandbox: p.req.netns, pciID: lease.vf.pciAddress },
        ],
        containerIndex: 1,
      };
    } catch (err) {
      await this.del(p.req, p.hostIfName).catch(() => undefined);
      throw err instanceof CniError ? err : new CniError(CniErrorCode.PlumbingFailed, (err as Error).message);
    } finally {
      this.pool.release(lease.vf.pciAddress);
    }
  }

  async del(req: CniRequest, _hostIfName?: string): Promise<void> {
    for (const i of await this.ovs.findInterfaces({ 'ycloud-sandbox': req.containerId, 'ycloud-ifname': req.ifname })) {
      await this.ovs.delPort(i.name);
    }
    await returnVfFromPod(this.runner, req.netns, req.ifname, this.hostNetnsPath);
  }

  async check(p: PlumbRequest): Promise<void> {
    const [i] = await this.ovs.findInterfaces({ 'ycloud-sandbox': p.req.containerId, 'ycloud-ifname': p.req.ifname });
    if (i?.externalIds['ovn-installed'] !== 'true')
      throw new CniError(CniErrorCode.PlumbingFailed, 'CHECK: representor not installed');
    await checkVfInPod(p, this.runner);
  }
}

/**
 * Mode `dpu-host`: no OVS on the host. ADD hands a VF to the pod once the DPU has plugged its representor:
 * details annotation -> wait for the DPU's status annotation (bounded), failing fast when the DPU's health
 * lease has expired.
 */
export class DpuHostPlumber implements PodPlumber {
  readonly mode = 'dpu-host';

  constructor(
    private readonly runner: CommandRunner,
    private readonly kube: KubeApi,
    private readonly pool: VfPool,
    private readonly nodeName: string,
    private readonly leaseNamespace: string,
    private readonly statusTimeoutMs: number,
    private readonly hostNetnsPath: string,
  ) {}

  /** Throws DpuUnavailable unless the DPU renewed its lease within the lease duration. */
  async assertDpuHealthy(): Promise<void> {
    const name = dpuLeaseName(this.nodeName);
    const lease = await this.kube.getLease(this.leaseNamespace, name).catch(() => undefined);
    if (!lease?.renewTime) {
      throw new CniError(
        CniErrorCode.DpuUnavailable,
        `the DPU of node ${this.nodeName} is not running: no lease ${this.leaseNamespace}/${name}`,
      );
    }
    const age = (Date.now() - lease.renewTime.getTime()) / 1000;
    if (age > lease.durationSeconds) {
      throw new CniError(
        CniErrorCode.DpuUnavailable,
        `the DPU of node ${this.nodeName} is gone: lease ${name} last renewed ${age.toFixed(0)}s ago (duration ${lease.durationSeconds}s)`,
      );
    }
  }

  async add(p: PlumbRequest): Promise<PlumbResult> {
    await this.assertDpuHealthy();
    const lease = this.pool.acquire(p.req.containerId, deviceIdOf(p.req));
    try {
      const details: DpuConnectionDetails = {
        pfId: pfIndexOf(lease.pf.portName) ?? 0,
        vfId: lease.vf.index,
        sandboxId: p.req.containerId,
        vfNetdev: lease.vf.netdev,
      };
      await this.kube.patchPodAnnotations(p.podNamespace, p.podName, {
        [DPU_CONNECTION_DETAILS_ANNOTATION]: JSON.stringify(details),
        [DPU_CONNECTION_STATUS_ANNOTATION]: null,
      });
      const deadline = Math.min(p.deadline, Date.now() + this.statusTimeoutMs);
      let lastLeaseCheck = Date.now();
      const status = await pollUntil(async () => {
        if (Date.now() - lastLeaseCheck > 2000) {
          lastLeaseCheck = Date.now();
          await this.assertDpuHealthy().catch((e: CniError) => {
            throw Object.assign(e, { fatal: true });
          });
        }
        const pod = await this.kube.getPod(p.podNamespace, p.podName);
        const s = parseJsonAnnotation<DpuConnectionStatus>(pod?.annotations[DPU_CONNECTION_STATUS_ANNOTATION]);
        return s?.sandboxId === p.req.containerId ? s : undefined;
      }, deadline);
      if (!status) {
        await this.assertDpuHealthy();
        throw new CniError(
          CniErrorCode.DpuUnavailable,
          `the DPU did not report ${DPU_CONNECTION_STATUS_ANNOTATION} for pod ${p.podKey} within ${((deadline - Date.now() + this.statusTimeoutMs) / 1000).toFixed(0)}s`,
        );
      }
      if (status.status !== 'Ready') {
        throw new CniError(
          CniErrorCode.DpuUnavailable,
          `the DPU could not plug pod ${p.podKey}: ${status.error ?? status.status}`,
        );
      }
      await plugVfIntoPod(this.runner, lease.vf.netdev, p.req.netns, p.req.ifname, p.alloc);
      return {
        interfaces: [
          { name: p.req.ifname, mac: p.alloc.mac, mtu: p.alloc.mtu, sandbox: p.req.netns, pciID: lease.vf.pciAddress },
        ],
        containerIndex: 0,
      };
    } catch (err) {
      await returnVfFromPod(this.runner, p.req.netns, p.req.ifname, this.hostNetnsPath).catch(() => undefined);
      throw err instanceof CniError ? err : new CniError(CniErrorCode.PlumbingFailed, (err as Error).message);
    } finally {
      this.pool.release(lease.vf.pciAddress);
    }
  }

  async del(req: CniRequest, _hostIfName?: string): Promise<void> {
    await returnVfFromPod(this.runner, req.netns, req.ifname, this.hostNetnsPath);
    const ns = req.args.K8S_POD_NAMESPACE;
    const name = req.args.K8S_POD_NAME;
    if (ns && name) {
      // Tells the DPU to unplug the representor; a pod already gone is fine.
      await this.kube
        .patchPodAnnotations(ns, name, {
          [DPU_CONNECTION_DETAILS_ANNOTATION]: null,
          [DPU_CONNECTION_STATUS_ANNOTATION]: null,
        })
        .catch(() => undefined);
    }
  }

  async check(p: PlumbRequest): Promise<void> {
    await this.assertDpuHealthy();
    await checkVfInPod(p, this.runner);
  }
}
