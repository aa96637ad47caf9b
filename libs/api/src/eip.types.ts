import { CommonStatus, CustomObject } from './common.types';

export const EIP_KIND = 'Eip';
export const EIP_PLURAL = 'eips';

/** What an Eip is bound to. */
export interface EipBinding {
  kind: 'Service' | 'YusurService';
  namespace: string;
  name: string;
}

export interface EipSpec {
  /** EipPool the address comes from. */
  pool: string;
  /** A fixed address from the pool; default: the controller picks one. */
  address?: string;
  /** The Service or YusurService that uses this address; at most one. */
  binding?: EipBinding;
}

export interface EipStatus extends CommonStatus {
  /** The allocated address. */
  address?: string;
  /** `Kind/namespace/name` of the bound service, when bound and resolved. */
  boundTo?: string;
  /** The Vpc of the bound service (resolved by the controller); EIP routes point at its router. */
  vpc?: string;
}

export type Eip = CustomObject<typeof EIP_KIND, EipSpec, EipStatus>;
