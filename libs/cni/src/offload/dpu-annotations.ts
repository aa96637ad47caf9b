export { DPU_CONNECTION_DETAILS_ANNOTATION, DPU_CONNECTION_STATUS_ANNOTATION } from '@ycloud/api';

export interface DpuConnectionDetails {
  pfId: number;
  vfId: number;
  sandboxId: string;
  vfNetdev: string;
}

export interface DpuConnectionStatus {
  status: 'Ready' | 'Error';
  error?: string;
  /** The sandbox this status answers (a status of an earlier sandbox is ignored). */
  sandboxId: string;
}

/** Health lease the DPU side renews (10 s) for its host; ADD on the host fails fast when it is expired (40 s). */
export function dpuLeaseName(hostNodeName: string): string {
  return `ycloud-dpu-${hostNodeName}`;
}
export const DPU_LEASE_RENEW_SECONDS = 10;
export const DPU_LEASE_DURATION_SECONDS = 40;

export function parseJsonAnnotation<T>(raw: string | undefined): T | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}
