import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import {
  IP_ALLOCATION_ANNOTATION,
  parseIpAllocationAnnotation,
  type BackendKind,
  type BareMetalServer,
  type NetworkProbe,
  type Subnet,
  type VNic,
  type YusurService,
  type YusurServiceBackend,
} from '@ycloud/api';
import type { YusurBackend } from '@ycloud/translate';
import type { ObjectCache } from '../common/ports';
import { labelSelectorMatches } from './label-selector';

/** The fields of a KubeVirt VirtualMachineInstance (`kubevirt.io/v1`) the controller reads. */
export interface VirtualMachineInstance {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    [k: string]: unknown;
  };
  status?: { phase?: string; interfaces?: Array<{ name?: string; ipAddress?: string; ipAddresses?: string[] }> };
}

/** Where backends come from (informer caches). VMs are absent while KubeVirt is not installed. */
export interface BackendSources {
  pods: ObjectCache<V1Pod>;
  namespaces: ObjectCache<V1Namespace>;
  vmis(): VirtualMachineInstance[];
  bareMetalServers: ObjectCache<BareMetalServer>;
  vnics: ObjectCache<VNic>;
  /** Every Subnet (built-in and custom), for a VNic's Vpc. */
  subnets(): Subnet[];
  vpcForNamespace(namespace: string): string;
}

/** A resolved backend with the probe target naming it (`Kind/namespace/name`, `BareMetal/name`). */
export interface ResolvedBackend extends YusurBackend {
  ref: { kind: BackendKind; name: string; namespace?: string };
  target: string;
  /** Pods: the Pod's Ready condition, as the EndpointSlice controller reads it. Other kinds have no readiness. */
  ready?: boolean;
}

/** A Pod serves only when its Ready condition is True (what a Kubernetes Service's endpoints follow). */
export function podReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The probe target string of a backend reference (NetworkProbe status `targets[].target`). */
export function targetName(ref: { kind: BackendKind; name: string; namespace?: string }): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}

type Labelled = { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };

function namespaceOk(sel: YusurServiceBackend, svcNs: string, objNs: string | undefined, src: BackendSources): boolean {
  if (!objNs) return false;
  if (!sel.namespaceSelector) return objNs === svcNs;
  const ns = src.namespaces.get(objNs);
  return labelSelectorMatches(sel.namespaceSelector, ns?.metadata?.labels, true);
}

/** Whether `obj` of `kind` is selected by one of the service's backend entries. */
export function selects(svc: YusurService, kind: BackendKind, obj: Labelled, src: BackendSources): boolean {
  const svcNs = svc.metadata.namespace ?? 'default';
  return (svc.spec.backends ?? []).some(
    (b) =>
      b.kind === kind &&
      labelSelectorMatches(b.selector, obj.metadata?.labels, false) &&
      (kind === 'BareMetal' || namespaceOk(b, svcNs, obj.metadata?.namespace, src)),
  );
}

function podBackend(pod: V1Pod): Omit<ResolvedBackend, 'target'> | undefined {
  const phase = pod.status?.phase;
  if (pod.metadata?.deletionTimestamp || pod.spec?.hostNetwork || phase === 'Succeeded' || phase === 'Failed') {
    return undefined;
  }
  const ann = parseIpAllocationAnnotation(pod.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION]);
  if (!ann) return undefined;
  const namedPorts: Record<string, number> = {};
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.name && !(p.name in namedPorts)) namedPorts[p.name] = p.containerPort;
  const ns = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  return {
    kind: 'Pod',
    name: `${ns}/${name}`,
    vpc: ann.vpc,
    address: ann.ip.split('/')[0],
    namedPorts,
    ref: { kind: 'Pod', name, namespace: ns },
    ready: podReady(pod),
  };
}

function vmBackend(vmi: VirtualMachineInstance, src: BackendSources): Omit<ResolvedBackend, 'target'> | undefined {
  if (vmi.metadata.deletionTimestamp) return undefined;
  const address = (vmi.status?.interfaces ?? []).map((i) => i.ipAddress).find((a) => !!a);
  if (!address) return undefined;
  const ns = vmi.metadata.namespace ?? 'default';
  return {
    kind: 'VM',
    name: `${ns}/${vmi.metadata.name}`,
    vpc: src.vpcForNamespace(ns),
    address: address.split('/')[0],
    ref: { kind: 'VM', name: vmi.metadata.name, namespace: ns },
  };
}

function bareMetalBackend(bms: BareMetalServer): Omit<ResolvedBackend, 'target'> | undefined {
  if (!bms.spec?.ip || !bms.spec.vpc) return undefined;
  const name = bms.metadata.name;
  return { kind: 'BareMetal', name, vpc: bms.spec.vpc, address: bms.spec.ip, ref: { kind: 'BareMetal', name } };
}

function vnicBackend(vnic: VNic, src: BackendSources): Omit<ResolvedBackend, 'target'> | undefined {
  const address = vnic.spec?.ip ?? vnic.status?.ip;
  const subnet = src.subnets().find((s) => s.metadata.name === vnic.spec?.subnet);
  if (!address || !subnet) return undefined;
  const ns = vnic.metadata.namespace ?? 'default';
  return {
    kind: 'VNicIP',
    name: `${ns}/${vnic.metadata.name}`,
    vpc: subnet.spec.vpc,
    address: address.split('/')[0],
    ref: { kind: 'VNicIP', name: vnic.metadata.name, namespace: ns },
  };
}

/**
 * The service's backends of the four kinds, by selector (and namespaceSelector; default the service's
 * namespace). Objects without an address yet (a pod before IPAM, a VMI before its agent reports) are left out.
 */
export function resolveBackends(svc: YusurService, src: BackendSources): ResolvedBackend[] {
  const out: Array<Omit<ResolvedBackend, 'target'> | undefined> = [];
  const kinds = new Set((svc.spec.backends ?? []).map((b) => b.kind));
  if (kinds.has('Pod')) for (const p of src.pods.list()) if (selects(svc, 'Pod', p, src)) out.push(podBackend(p));
  if (kinds.has('VM')) for (const v of src.vmis()) if (selects(svc, 'VM', v, src)) out.push(vmBackend(v, src));
  if (kinds.has('BareMetal'))
    for (const b of src.bareMetalServers.list()) if (selects(svc, 'BareMetal', b, src)) out.push(bareMetalBackend(b));
  if (kinds.has('VNicIP'))
    for (const v of src.vnics.list()) if (selects(svc, 'VNicIP', v, src)) out.push(vnicBackend(v, src));
  return out
    .filter((b): b is Omit<ResolvedBackend, 'target'> => !!b)
    .map((b) => ({ ...b, target: targetName(b.ref) }))
    .sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

/**
 * Marks backends healthy or not: a Pod that is not Ready is not (as a Service leaves it out of its endpoints);
 * otherwise a target the NetworkProbe reports unhealthy (by target name or address) is not; a target without a
 * result yet counts as healthy (a new backend is not held back).
 */
export function applyProbeHealth(backends: ResolvedBackend[], probe: NetworkProbe | undefined): ResolvedBackend[] {
  const results = probe?.status?.targets ?? [];
  const byTarget = new Map(results.map((t) => [t.target, t.healthy]));
  const byAddress = new Map(results.filter((t) => t.address).map((t) => [t.address!, t.healthy]));
  return backends.map((b) => ({
    ...b,
    healthy: b.ready !== false && (byTarget.get(b.target) ?? byAddress.get(b.address) ?? true),
  }));
}
