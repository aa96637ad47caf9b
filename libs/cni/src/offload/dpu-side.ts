import { POD_ALLOCATION_ANNOTATION, parseIpAllocation } from '../k8s/allocation-annotation';
import { KubeApi } from '../k8s/kube-api';
import { OvsVsctl } from '../ovs/ovs-vsctl';
import {
  DPU_CONNECTION_DETAILS_ANNOTATION,
  DPU_CONNECTION_STATUS_ANNOTATION,
  DPU_LEASE_DURATION_SECONDS,
  DpuConnectionDetails,
  DpuConnectionStatus,
  dpuLeaseName,
  parseJsonAnnotation,
} from './dpu-annotations';
import { SriovSysfs, findRepresentor } from './sriov-sysfs';

export interface DpuSideOptions {
  /** The host node whose pods this DPU serves. */
  hostNodeName: string;
  leaseNamespace: string;
  bridge: string;
  /** phys_switch_id of the DPU's eswitch, to pick the right representors ('' = any). */
  switchId: string;
  ovnInstallTimeoutMs: number;
  log?: (line: string) => void;
}

/**
 * Mode `dpu` (runs on the DPU): for each pod of the host that carries connection details, plugs the VF's
 * representor into br-int with the pod's iface-id, waits for ovn-installed, then writes the status annotation;
 * unplugs representors whose pod or details are gone. Renews the DPU health lease.
 */
export class DpuSideReconciler {
  constructor(
    private readonly kube: KubeApi,
    private readonly ovs: OvsVsctl,
    private readonly sysfs: SriovSysfs,
    private readonly opts: DpuSideOptions,
  ) {}

  renewLease(): Promise<void> {
    return this.kube.renewLease(
      this.opts.leaseNamespace,
      dpuLeaseName(this.opts.hostNodeName),
      `dpu-${this.opts.hostNodeName}`,
      DPU_LEASE_DURATION_SECONDS,
    );
  }

  /** One pass over the host's pods. */
  async reconcile(): Promise<void> {
    const pods = await this.kube.listPodsOnNode(this.opts.hostNodeName);
    const wanted = new Set<string>();
    for (const pod of pods) {
      const key = `${pod.namespace}/${pod.name}`;
      const details = parseJsonAnnotation<DpuConnectionDetails>(pod.annotations[DPU_CONNECTION_DETAILS_ANNOTATION]);
      if (!details) continue;
      wanted.add(`${key}#${details.sandboxId}`);
      const status = parseJsonAnnotation<DpuConnectionStatus>(pod.annotations[DPU_CONNECTION_STATUS_ANNOTATION]);
      if (status?.sandboxId === details.sandboxId) continue;
      let answer: DpuConnectionStatus;
      try {
        await this.plug(key, details, pod.annotations[POD_ALLOCATION_ANNOTATION]);
        answer = { status: 'Ready', sandboxId: details.sandboxId };
      } catch (err) {
        answer = { status: 'Error', error: (err as Error).message, sandboxId: details.sandboxId };
      }
      this.opts.log?.(
        `dpu: pod ${key} sandbox ${details.sandboxId.slice(0, 12)}: ${answer.status} ${answer.error ?? ''}`,
      );
      await this.kube.patchPodAnnotations(pod.namespace, pod.name, {
        [DPU_CONNECTION_STATUS_ANNOTATION]: JSON.stringify(answer),
      });
    }
    for (const i of await this.ovs.findInterfaces({ 'ycloud-dpu-host': this.opts.hostNodeName })) {
      if (!wanted.has(`${i.externalIds['ycloud-pod']}#${i.externalIds['ycloud-sandbox']}`)) {
        this.opts.log?.(`dpu: unplug ${i.name} (${i.externalIds['ycloud-pod']})`);
        await this.ovs.delPort(i.name);
      }
    }
  }

  private async plug(podKey: string, d: DpuConnectionDetails, rawAlloc: string | undefined): Promise<void> {
    if (!rawAlloc) throw new Error(`pod has no ${POD_ALLOCATION_ANNOTATION}`);
    const alloc = parseIpAllocation(rawAlloc, `pod ${podKey}`);
    const rep = findRepresentor(this.sysfs, d.pfId, d.vfId, { switchId: this.opts.switchId });
    if (!rep) throw new Error(`no representor for pf${d.pfId}vf${d.vfId} on the DPU`);
    await this.ovs.delPort(rep.portName);
    await this.ovs.addPort({
      bridge: this.opts.bridge,
      name: rep.portName,
      type: rep.type,
      options: rep.options,
      externalIds: {
        'iface-id': alloc.logicalSwitchPort,
        'attached-mac': alloc.mac,
        'iface-status': 'active',
        'ycloud-pod': podKey,
        'ycloud-sandbox': d.sandboxId,
        'ycloud-dpu-host': this.opts.hostNodeName,
      },
    });
    if (!(await this.ovs.waitOvnInstalled(rep.portName, this.opts.ovnInstallTimeoutMs))) {
      throw new Error(`ovn-controller did not install ${rep.portName} within ${this.opts.ovnInstallTimeoutMs / 1000}s`);
    }
  }
}
