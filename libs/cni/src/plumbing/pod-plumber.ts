import { IpAllocation } from '../k8s/allocation-annotation';
import { CniInterface, CniRequest } from '../protocol/cni-types';

/** Everything a plumber needs to attach one pod interface. */
export interface PlumbRequest {
  req: CniRequest;
  alloc: IpAllocation;
  /** `namespace/name` of the pod. */
  podKey: string;
  podNamespace: string;
  podName: string;
  /** Host-side name (see hostInterfaceName). */
  hostIfName: string;
  /** Bound on waits inside the plumber (ovn-installed, DPU status). */
  deadline: number;
}

export interface PlumbResult {
  /** Result `interfaces`; `containerIndex` points at the pod's one. */
  interfaces: CniInterface[];
  containerIndex: number;
}

/**
 * One way of attaching a pod: OVS internal port or veth (mode none), VF + representor (smartnic), VF only
 * (dpu-host), representor only (dpu, driven by annotations rather than CNI). ADD returns once traffic can flow.
 */
export interface PodPlumber {
  readonly mode: string;
  add(p: PlumbRequest): Promise<PlumbResult>;
  /** Idempotent: a missing port, interface or namespace is not an error. */
  del(req: CniRequest, hostIfName: string): Promise<void>;
  /** Throws CniError describing the first thing that differs from `p`. */
  check(p: PlumbRequest): Promise<void>;
}

/** Standard external_ids ycloud puts on a pod's OVS interface (ovn-controller reads iface-id). */
export function podExternalIds(p: PlumbRequest): Record<string, string> {
  return {
    'iface-id': p.alloc.logicalSwitchPort,
    'attached-mac': p.alloc.mac,
    'iface-status': 'active',
    'ycloud-sandbox': p.req.containerId,
    'ycloud-ifname': p.req.ifname,
    'ycloud-netns': p.req.netns,
    'ycloud-pod': p.podKey,
    'ycloud-network': p.req.conf.name,
  };
}
