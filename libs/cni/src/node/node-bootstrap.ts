import { EIP_GATEWAY_LABEL } from '@ycloud/api';
import { CniAgentConfig } from '../agent/agent-config';
import { KubeApi, ObjectMeta } from '../k8s/kube-api';
import { OvsVsctl } from '../ovs/ovs-vsctl';

export interface OvsNodeSettings {
  externalIds: Record<string, string | null>;
  otherConfig: Record<string, string | null>;
}

/** Pure: what the node's Open_vSwitch row should carry, from the agent config and the Node object. */
export function desiredOvsSettings(cfg: CniAgentConfig, node: ObjectMeta | undefined): OvsNodeSettings {
  const gateway = node?.labels[EIP_GATEWAY_LABEL] === 'true';
  const externalIds: Record<string, string | null> = {
    'system-id': cfg.ovn.systemId,
    hostname: cfg.nodeName,
    'ovn-bridge-datapath-type': cfg.datapathType,
    'ovn-bridge-mappings': gateway && cfg.ovn.bridgeMappings ? cfg.ovn.bridgeMappings : null,
  };
  if (cfg.ovn.remote) externalIds['ovn-remote'] = cfg.ovn.remote;
  if (cfg.ovn.encapType) externalIds['ovn-encap-type'] = cfg.ovn.encapType;
  if (cfg.ovn.encapIp) externalIds['ovn-encap-ip'] = cfg.ovn.encapIp;
  // TC flower offload in the kernel datapath; the DPU itself runs OVS with offload, the DPU host has no OVS.
  const offload = cfg.mode === 'smartnic' || cfg.mode === 'dpu';
  const otherConfig: Record<string, string | null> = { 'hw-offload': offload ? 'true' : null };
  return { externalIds, otherConfig };
}

/** Pure: the changes that turn `current` into `desired` (null = remove), empty when nothing differs. */
export function mapDiff(
  current: Record<string, string>,
  desired: Record<string, string | null>,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(desired)) {
    if (v === null ? k in current : current[k] !== v) out[k] = v;
  }
  return out;
}

/**
 * Configures the node's OVS for OVN (system-id, ovn-remote, encap, bridge mappings on EIP gateways, datapath type,
 * hw-offload) and keeps it so: `reconcile()` is cheap (one read) and is polled, so an OVS restart with a fresh
 * database is repaired within one period.
 */
export class NodeBootstrapper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly ovs: OvsVsctl,
    private readonly kube: KubeApi,
    private readonly cfg: CniAgentConfig,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Applies what differs; returns the keys written. */
  async reconcile(): Promise<string[]> {
    const node = await this.kube.getNode(this.cfg.nodeName).catch(() => undefined);
    const want = desiredOvsSettings(this.cfg, node);
    const written: string[] = [];
    for (const column of ['external_ids', 'other_config'] as const) {
      const current = await this.ovs.getOpenVswitchMap(column);
      const diff = mapDiff(current, column === 'external_ids' ? want.externalIds : want.otherConfig);
      if (Object.keys(diff).length) {
        await this.ovs.updateOpenVswitchMap(column, diff);
        written.push(...Object.keys(diff).map((k) => `${column}:${k}`));
      }
    }
    if (written.length) this.log(`node bootstrap: wrote ${written.join(', ')}`);
    return written;
  }

  /** Reconciles now, then every `periodMs` (one at a time; failures are logged and retried next period). */
  start(periodMs: number): void {
    const tick = (): void => {
      this.running = this.reconcile()
        .then(() => undefined)
        .catch((err: Error) => this.log(`node bootstrap: ${err.message}`))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, periodMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
