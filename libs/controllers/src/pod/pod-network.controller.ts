import type { ReconcileContext } from '@ycloud/k8s';
import type { V1Pod } from '@kubernetes/client-node';
import {
  IP_ALLOCATION_ANNOTATION,
  OWNER_KINDS,
  POD_SUBNET_ANNOTATION,
  parseIpAllocationAnnotation,
  type ControllerConfig,
  type Subnet,
} from '@ycloud/api';
import { KubeClient, Resources, TerminalError } from '@ycloud/k8s';
import type { ApplyRecord, NorthboundApplier } from '@ycloud/ovn';
import { portAllocation, translatePodPort } from '@ycloud/translate/topology';
import type { EventSink, ObjectCache } from '../common/ports';
import type { SubnetIpam } from '../ipam/subnet-ipam';

export interface PodNetworkControllerDeps {
  pods: ObjectCache<V1Pod>;
  /** Every Subnet known: the built-in ones from the config and the Subnet resources. */
  subnets(): Subnet[];
  ipam: SubnetIpam;
  applier: NorthboundApplier;
  kube: KubeClient;
  events: EventSink;
  config: Pick<ControllerConfig, 'defaultSubnet' | 'mtu' | 'defaultVpc'>;
  /** The VPC a namespace belongs to (a Vpc's spec.namespaces, else the default VPC). */
  vpcForNamespace?(namespace: string): string;
}

/**
 * Gives each pod an address in its Subnet, its Logical_Switch_Port (bound to the pod's node), and the
 * `ycloud.io/ip-allocation` annotation the CNI agent configures the interface from. Addresses are released
 * when the pod is gone or has finished; the annotation is the record IPAM is rebuilt from after a restart.
 */
export class PodNetworkController {
  private restored = false;

  constructor(private readonly deps: PodNetworkControllerDeps) {}

  /** Re-records every annotated pod's addresses before the first allocation (after the caches synced). */
  restoreAll(): void {
    if (this.restored) return;
    this.restored = true;
    for (const pod of this.deps.pods.list()) {
      if (!needsNetwork(pod)) continue;
      const ann = parseIpAllocationAnnotation(pod.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION]);
      const subnet = ann && this.deps.subnets().find((s) => s.metadata.name === ann.subnet);
      if (!ann || !subnet) continue;
      const result = this.deps.ipam.allocator(subnet).restore(podKey(pod), ann.ips);
      if (!result.ok) {
        this.deps.events.warning(podRef(pod), 'AddressConflict', result.conflicts.map((c) => c.message).join('; '));
      }
    }
  }

  async reconcile(key: string, { reason }: ReconcileContext): Promise<ApplyRecord> {
    this.restoreAll();
    const owner = { kind: OWNER_KINDS.Pod, name: key };
    const pod = this.deps.pods.get(key);
    if (!pod || !needsNetwork(pod)) {
      this.deps.ipam.release(key);
      return this.deps.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, reason);
    }
    const subnet = this.subnetFor(pod);
    const ann = parseIpAllocationAnnotation(pod.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION]);
    const allocator = this.deps.ipam.allocator(subnet);
    const keep = ann && ann.subnet === subnet.metadata.name ? ann.ips.map((ip) => ip.split('/')[0]) : [];
    // Moved to another subnet: its old addresses go. A pod without the annotation that already holds addresses in
    // this subnet is one whose annotation the cache has not shown yet (the informer lags the patch): it keeps them,
    // since the CNI may already have configured them (a new address here would leave the pod on a port whose
    // addresses are not its own).
    if (!keep.length && this.deps.ipam.subnetOf(key) !== subnet.metadata.name) this.deps.ipam.release(key);
    const result = allocator.allocate(key, keep);
    if (!result.ok) {
      this.deps.events.warning(
        podRef(pod),
        'AddressAllocationFailed',
        `Subnet ${subnet.metadata.name}: ${result.message}`,
      );
      // Exhaustion may clear when other pods go: retry with backoff, but do not spin on a permanent conflict.
      if (result.reason === 'Exhausted') throw new Error(result.message);
      throw new TerminalError(result.message);
    }
    const allocation = portAllocation(subnet, result.ips, {
      mtu: this.deps.config.mtu,
      mac: keep.length ? ann?.mac : undefined,
    });
    const { state, annotation } = translatePodPort(
      { namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, nodeName: pod.spec?.nodeName },
      allocation,
    );
    // The port first, so the CNI agent never waits on a port that does not exist yet.
    const record = await this.deps.applier.apply(state, reason);
    const value = JSON.stringify(annotation);
    if (pod.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION] !== value) {
      await this.deps.kube.mergePatch(Resources.pods, pod.metadata!.namespace!, pod.metadata!.name!, {
        metadata: { annotations: { [IP_ALLOCATION_ANNOTATION]: value } },
      });
    }
    return record;
  }

  private subnetFor(pod: V1Pod): Subnet {
    const subnets = this.deps.subnets().filter((s) => (s.spec.role ?? 'pod') === 'pod');
    const wanted = pod.metadata?.annotations?.[POD_SUBNET_ANNOTATION];
    if (wanted) {
      const s = subnets.find((x) => x.metadata.name === wanted);
      if (!s) {
        // Only Ready subnets hand out addresses; the Subnet's own condition says why it is not.
        const message = `Subnet ${wanted} named by the pod's ${POD_SUBNET_ANNOTATION} annotation does not exist or is not Ready`;
        this.deps.events.warning(podRef(pod), 'SubnetNotReady', message);
        throw new Error(message);
      }
      return s;
    }
    const ns = pod.metadata?.namespace ?? '';
    const byNamespace = subnets.find((s) => s.spec.namespaces?.includes(ns));
    if (byNamespace) return byNamespace;
    // A namespace of another VPC never falls back to the default subnet: that would put the pod in the default
    // VPC. It takes a subnet of its VPC that names no namespaces, or waits (retried) until one exists.
    const vpc = this.deps.vpcForNamespace?.(ns) ?? this.deps.config.defaultVpc;
    if (vpc !== this.deps.config.defaultVpc) {
      const open = subnets.find((s) => s.spec.vpc === vpc && !s.spec.namespaces?.length);
      if (open) return open;
      const message = `namespace ${ns} belongs to Vpc ${vpc}, which has no Subnet for it yet`;
      this.deps.events.warning(podRef(pod), 'NoSubnet', message);
      throw new Error(message);
    }
    const fallback = subnets.find((s) => s.metadata.name === this.deps.config.defaultSubnet.name);
    if (!fallback) throw new Error(`default Subnet ${this.deps.config.defaultSubnet.name} is not known`);
    return fallback;
  }
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata!.namespace}/${pod.metadata!.name}`;
}

function podRef(pod: V1Pod) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    namespace: pod.metadata?.namespace,
    name: pod.metadata!.name!,
    uid: pod.metadata?.uid,
  };
}

/** Host-network pods use the node's network; finished pods give their address back. */
function needsNetwork(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return !pod.spec?.hostNetwork && phase !== 'Succeeded' && phase !== 'Failed';
}
