import { CommonStatus, CustomObject } from './common.types';

export const BARE_METAL_SERVER_KIND = 'BareMetalServer';
export const BARE_METAL_SERVER_PLURAL = 'baremetalservers';

/** Cluster-scoped: machines are shared infrastructure. Selected by metadata.labels. */
export interface BareMetalServerSpec {
  vpc: string;
  subnet: string;
  ip: string;
  mac?: string;
  /** Node (OVN chassis) carrying the server's port: `options:requested-chassis` of `bms.<name>`. */
  node?: string;
}

export type BareMetalServer = CustomObject<typeof BARE_METAL_SERVER_KIND, BareMetalServerSpec, CommonStatus>;
