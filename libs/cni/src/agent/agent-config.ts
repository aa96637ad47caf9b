import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export type OffloadMode = 'none' | 'smartnic' | 'dpu-host' | 'dpu';

/** The node agent's one typed configuration (file + flags; see apps/cni). */
export interface CniAgentConfig {
  nodeName: string;
  /** Unix socket the shim calls. */
  socketPath: string;
  /** Kubeconfig path; empty means in-cluster. */
  kubeconfig: string;
  mode: OffloadMode;
  /** OVSDB remote for ovs-vsctl; empty for its default. */
  ovsDb: string;
  bridge: string;
  datapathType: 'netdev' | 'system';
  /** Network namespace the node's OVS lives in (simulated nodes in tests); empty for the agent's own. */
  nodeNetns: string;
  allocationTimeoutMs: number;
  plugTimeoutMs: number;
  /** Node bootstrap: written to Open_vSwitch external_ids. */
  ovn: {
    systemId: string;
    remote: string;
    encapType: string;
    encapIp: string;
    /** Applied only when the Node carries the EIP gateway label. */
    bridgeMappings: string;
  };
  /** The node's port into the VPC (ycloud0); off when empty serviceCidrs and podCidrs. */
  nodePort: { enabled: boolean; serviceCidrs: string[]; podCidrs: string[] };
  offload: {
    sysfsRoot: string;
    /** PF netdev whose VFs ycloud hands out (smartnic / dpu-host), or the DPU-side PF (dpu). */
    pf: string;
    /** Namespace for DPU health leases. */
    leaseNamespace: string;
    dpuStatusTimeoutMs: number;
    /** Mode dpu: the host node this DPU serves. */
    hostNodeName: string;
    /** Mode dpu: phys_switch_id of the DPU's eswitch ('' = any). */
    switchId: string;
  };
  /** Prometheus metrics and the diagnose routes on this address (host:port), empty for off. */
  metricsAddress: string;
  /**
   * With nodePort enabled: the proxy health port (`/healthz`, `/livez`; kube-proxy's 10256), 0 for none. Services'
   * `healthCheckNodePort`s are served whenever nodePort is enabled.
   */
  proxyHealthPort: number;
  /**
   * Datapath health: the agent probes the node's ovs-vswitchd and ovn-controller every `periodMs` and reports the
   * YcloudDatapathReady Node condition, Events and metrics. Not in mode dpu-host (the datapath is on the DPU).
   */
  datapath: {
    enabled: boolean;
    periodMs: number;
    /** A daemon that does not answer within this counts as down. */
    timeoutSec: number;
    /** Pidfile and unixctl socket (empty: `<pidfile dir>/<program>.<pid>.ctl`, the daemons' default). */
    vswitchd: { pidfile: string; unixctl: string };
    controller: { pidfile: string; unixctl: string };
  };
  /** Where `ycloud diagnose` finds this node's daemons (read-only). */
  diagnose: {
    /** Open vSwitch run directory (holds `<bridge>.mgmt`). */
    ovsRundir: string;
    /** ovn-controller's pidfile (its control socket lies beside it). */
    ovnControllerPidfile: string;
    /** The command (and leading arguments) that runs ovn-trace; empty: `ovn-trace`. Of northd's OVN release. */
    ovnTrace: string[];
  };
}

export const DEFAULT_AGENT_CONFIG: CniAgentConfig = {
  nodeName: '',
  socketPath: '/run/ycloud/cni.sock',
  kubeconfig: '',
  mode: 'none',
  ovsDb: '',
  bridge: 'br-int',
  datapathType: 'netdev',
  nodeNetns: '',
  allocationTimeoutMs: 30_000,
  plugTimeoutMs: 30_000,
  ovn: { systemId: '', remote: '', encapType: 'geneve', encapIp: '', bridgeMappings: '' },
  nodePort: { enabled: false, serviceCidrs: [], podCidrs: [] },
  offload: {
    sysfsRoot: '/sys',
    pf: '',
    leaseNamespace: 'ycloud-system',
    dpuStatusTimeoutMs: 60_000,
    hostNodeName: '',
    switchId: '',
  },
  metricsAddress: '',
  proxyHealthPort: 10256,
  datapath: {
    enabled: true,
    periodMs: 2_000,
    timeoutSec: 3,
    vswitchd: { pidfile: '/var/run/openvswitch/ovs-vswitchd.pid', unixctl: '' },
    controller: { pidfile: '/var/run/ovn/ovn-controller.pid', unixctl: '' },
  },
  diagnose: {
    ovsRundir: '/var/run/openvswitch',
    ovnControllerPidfile: '/var/run/ovn/ovn-controller.pid',
    ovnTrace: [],
  },
};

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

/** Reads a YAML/JSON file over the defaults, then applies overrides (flags); validates. */
export function loadAgentConfig(file: string | undefined, overrides: DeepPartial<CniAgentConfig> = {}): CniAgentConfig {
  const fromFile = file ? ((parseYaml(readFileSync(file, 'utf8')) as DeepPartial<CniAgentConfig>) ?? {}) : {};
  const cfg = merge(merge(DEFAULT_AGENT_CONFIG, fromFile), overrides);
  if (!cfg.nodeName) throw new Error('config: nodeName is required (--node-name)');
  if (!['none', 'smartnic', 'dpu-host', 'dpu'].includes(cfg.mode)) throw new Error(`config: unknown mode ${cfg.mode}`);
  if (!['netdev', 'system'].includes(cfg.datapathType)) throw new Error(`config: bad datapathType ${cfg.datapathType}`);
  if (!cfg.ovn.systemId) cfg.ovn.systemId = cfg.nodeName;
  if (cfg.mode === 'dpu' && !cfg.offload.hostNodeName) throw new Error('config: mode dpu needs offload.hostNodeName');
  if ((cfg.mode === 'smartnic' || cfg.mode === 'dpu-host') && !cfg.offload.pf)
    throw new Error(`config: mode ${cfg.mode} needs offload.pf`);
  return cfg;
}

function merge<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (!over) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      b && typeof b === 'object' && !Array.isArray(b) && typeof v === 'object' && !Array.isArray(v)
        ? merge(b, v as object)
        : v;
  }
  return out as T;
}
