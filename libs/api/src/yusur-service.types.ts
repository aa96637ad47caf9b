import { CommonStatus, CustomObject, LabelSelector } from './common.types';

export const YUSUR_SERVICE_KIND = 'YusurService';
export const YUSUR_SERVICE_PLURAL = 'yusurservices';

export type BackendKind = 'Pod' | 'VM' | 'BareMetal' | 'VNicIP';

export interface YusurServiceBackend {
  kind: BackendKind;
  selector: LabelSelector;
  /** Pod, VM, VNicIP only; default: the service's namespace. */
  namespaceSelector?: LabelSelector;
}

export interface YusurServicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port: number;
  /** A number, or a named container port (pods); default `port`. */
  targetPort?: number | string;
}

/** Health probe settings shared by YusurService.spec.probe and NetworkProbe.spec. */
export interface ProbeSettings {
  type: 'tcp' | 'http' | 'icmp' | 'udp';
  port?: number;
  path?: string;
  expectedStatus?: number;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface YusurServiceSpec {
  backends: YusurServiceBackend[];
  ports: YusurServicePort[];
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityTimeoutSeconds?: number;
  scenarios: {
    clusterIP?: { vpc?: string; address?: string };
    /** At most one of eipName, address, pool. */
    eip?: {
      eipName?: string;
      address?: string;
      pool?: string;
      /** Client ranges allowed to reach the EIP (loadBalancerSourceRanges); empty or unset: everyone. */
      sourceRanges?: string[];
    };
  };
  probe?: ProbeSettings;
}

export interface BackendCounts {
  found: number;
  healthy: number;
}

export interface YusurServiceStatus extends CommonStatus {
  clusterIPs?: string[];
  eips?: string[];
  backends?: { pod?: BackendCounts; vm?: BackendCounts; bareMetal?: BackendCounts; vnicIP?: BackendCounts };
  totalBackends?: number;
  healthyBackends?: number;
}

/** Condition types of a YusurService. */
export const YUSUR_SERVICE_CONDITIONS = [
  'Ready',
  'Programmed',
  'BackendsResolved',
  'AddressesAllocated',
  'ProbesHealthy',
] as const;

export type YusurService = CustomObject<typeof YUSUR_SERVICE_KIND, YusurServiceSpec, YusurServiceStatus>;
