import type { DesiredState } from '@ycloud/ovn';
import type { IpFamily } from '@ycloud/api';
import type { V1Node } from '@kubernetes/client-node';
import type { KubeObject } from './manifest-loader';

/** How `ycloud translate` prints a TranslationIssue: the object, the field, and the reason in the message. */
export interface ManifestWarning {
  object: string;
  field: string;
  message: string;
}

/**
 * What translators share when translating a set of manifests. Built with defaults, then adjusted by every
 * translator's `prepare` (a Vpc translator maps namespaces to VPCs, a Node translator adds nodes), then read.
 */
export interface ManifestContext {
  /** VPC of each namespace that does not use `defaultVpc`. */
  namespaceVpc: Map<string, string>;
  defaultVpc: string;
  /** Families each VPC serves; a VPC not listed serves both. */
  vpcFamilies: Map<string, IpFamily[]>;
  /** Key of a VPC's Load_Balancer_Group row. */
  lbGroupKey: (vpc: string) => string;
  /** Nodes in the manifests (NodePort addresses, chassis). */
  nodes: V1Node[];
  offloadSelectionFields: boolean;
  /** The CIDRs of each VPC's Subnets (the topology translator fills it). */
  vpcCidrs: Map<string, string[]>;
  /** The CIDRs of each VPC's join Subnet (the topology translator fills it). */
  joinCidrs: Map<string, string[]>;
  /** As the controller with `eip.defaultPool`: the default VPC has an IPv4 default route (no IPv4 reply gateway). */
  eipDefaultPool: boolean;
}

export interface ManifestContextOptions {
  defaultVpc?: string;
  /** Families the default VPC serves (default both). */
  defaultVpcFamilies?: IpFamily[];
  offloadSelectionFields?: boolean;
  /** As the controller with `eip.defaultPool`: Local replies use its default route (no IPv4 reply gateway). */
  eipDefaultPool?: boolean;
}

export function createManifestContext(options: ManifestContextOptions = {}): ManifestContext {
  const defaultVpc = options.defaultVpc ?? 'default';
  return {
    namespaceVpc: new Map(),
    defaultVpc,
    vpcFamilies: new Map(options.defaultVpcFamilies ? [[defaultVpc, options.defaultVpcFamilies]] : []),
    // Placeholder until the topology translator registers its own: only needs to be stable and unique.
    lbGroupKey: (vpc) => `lbg:Vpc:${vpc}`,
    nodes: [],
    offloadSelectionFields: options.offloadSelectionFields ?? false,
    vpcCidrs: new Map(),
    joinCidrs: new Map(),
    eipDefaultPool: options.eipDefaultPool ?? false,
  };
}

export function vpcOfNamespace(ctx: ManifestContext, namespace: string): string {
  return ctx.namespaceVpc.get(namespace) ?? ctx.defaultVpc;
}

/** The result of translating one owner. */
export interface ManifestTranslation {
  state: DesiredState;
  warnings: ManifestWarning[];
}

/**
 * A pure translator plugged into `ycloud translate`. `kinds` are `apiVersion/kind` strings without version
 * (`Service`, `discovery.k8s.io/EndpointSlice`, `ycloud.io/Vpc`): the objects it receives.
 */
export interface ManifestTranslator {
  name: string;
  kinds: string[];
  /** Adjusts the shared context from its objects; runs for every translator before any `translate`. */
  prepare?(objects: KubeObject[], ctx: ManifestContext): void;
  translate(objects: KubeObject[], ctx: ManifestContext): ManifestTranslation[];
}

/** `Service`, `discovery.k8s.io/EndpointSlice`: apiVersion's group (none for core) and kind. */
export function kindOf(o: KubeObject): string {
  return o.apiVersion.includes('/') ? `${o.apiVersion.split('/')[0]}/${o.kind}` : o.kind;
}
