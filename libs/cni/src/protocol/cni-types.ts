/** Versions of the CNI spec this plugin speaks. Results use the 1.x format. */
export const SUPPORTED_CNI_VERSIONS = ['1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_CNI_VERSIONS)[number];
export const LATEST_CNI_VERSION: CniVersion = '1.1.0';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
export const CNI_COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'];

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** The network configuration the runtime passes on stdin (only what ycloud reads). */
export interface CniNetConf {
  cniVersion: string;
  name: string;
  type: string;
  dns?: CniDns;
  /** ycloud: the SR-IOV device plugin's device (PCI address of the VF) in smartnic / dpu-host mode. */
  deviceID?: string;
  runtimeConfig?: { deviceID?: string; mac?: string; [k: string]: unknown };
  prevResult?: CniResult;
  /** GC (1.1): attachments the runtime still uses. */
  'cni.dev/valid-attachments'?: { containerID: string; ifname: string }[];
  [k: string]: unknown;
}

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  pciID?: string;
}
export interface CniIpConfig {
  address: string;
  gateway?: string;
  interface?: number;
}
export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
}
/** A successful ADD result (spec 1.x). */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

/** One invocation as the agent sees it: the CNI_* environment and the stdin bytes. */
export interface CniRequest {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  args: Record<string, string>;
  path: string;
  conf: CniNetConf;
}

/** What goes back to the shim: the exit code and the bytes to print on stdout. */
export interface CniReply {
  exitCode: number;
  stdout: string;
}
