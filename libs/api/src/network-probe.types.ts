import { CommonStatus, CustomObject } from './common.types';
import { BackendKind, ProbeSettings } from './yusur-service.types';

export const NETWORK_PROBE_KIND = 'NetworkProbe';
export const NETWORK_PROBE_PLURAL = 'networkprobes';

/** Exactly one of backendRef and address. */
export interface ProbeTarget {
  backendRef?: { kind: BackendKind; name: string; namespace?: string };
  address?: string;
}

export interface NetworkProbeSpec extends ProbeSettings {
  targets: ProbeTarget[];
}

export interface ProbeTargetStatus {
  target: string;
  address?: string;
  healthy: boolean;
  lastProbeTime?: string;
  lastTransitionTime?: string;
  consecutiveFailures?: number;
  consecutiveSuccesses?: number;
  message?: string;
}

export interface NetworkProbeStatus extends CommonStatus {
  healthyTargets?: number;
  targets?: ProbeTargetStatus[];
}

export type NetworkProbe = CustomObject<typeof NETWORK_PROBE_KIND, NetworkProbeSpec, NetworkProbeStatus>;
