import { CommonStatus, CustomObject } from './common.types';

export const VNIC_KIND = 'VNic';
export const VNIC_PLURAL = 'vnics';

export interface VNicSpec {
  subnet: string;
  ip?: string;
  mac?: string;
  attachedTo?: { kind: 'Pod' | 'VM'; name: string };
}

export interface VNicStatus extends CommonStatus {
  ip?: string;
  mac?: string;
  logicalSwitchPort?: string;
}

export type VNic = CustomObject<typeof VNIC_KIND, VNicSpec, VNicStatus>;
