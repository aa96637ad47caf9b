import { DATAPATH_READY_CONDITION, DATAPATH_REASONS } from '@ycloud/api';

/** The two node daemons the agent watches, by program name (also the metric's `daemon` label). */
export const DATAPATH_DAEMONS = ['ovs-vswitchd', 'ovn-controller'] as const;
export type DatapathDaemon = (typeof DATAPATH_DAEMONS)[number];

/** What one probe round saw of a daemon. */
export interface DaemonProbe {
  /** Answered on its unixctl socket. */
  alive: boolean;
  /** From its pidfile, when there was one. */
  pid?: number;
  /** Why it is not alive (missing pidfile, refused connection, timeout...). */
  error?: string;
}

/** One probe round of the node's datapath (see DatapathProbe). */
export interface DatapathProbeResult {
  vswitchd: DaemonProbe;
  controller: DaemonProbe & {
    /** `connection-status` answer ("connected", "not connected"); undefined when not asked (daemon down). */
    sbConnection?: string;
  };
  /**
   * SB_Global.nb_cfg and the nb_cfg ovn-controller last installed (br-int's `external_ids:ovn-nb-cfg`), when both
   * could be read; with how long the SB has been ahead (0 when it is not).
   */
  nbCfg?: { sb: number; installed: number; behindForMs: number };
}

export type DatapathReason = (typeof DATAPATH_REASONS)[keyof typeof DATAPATH_REASONS];

/** The Node condition the agent reports, with per-daemon up/down for the metric. */
export interface DatapathVerdict {
  type: typeof DATAPATH_READY_CONDITION;
  status: 'True' | 'False';
  reason: DatapathReason;
  message: string;
  up: Record<DatapathDaemon, boolean>;
}

/** How long ovn-controller may lag the SB's nb_cfg before it counts as behind (it catches up in well under this). */
export const NB_CFG_GRACE_MS = 30_000;

function pidText(p: DaemonProbe): string {
  return p.pid !== undefined ? ` (pid ${p.pid})` : '';
}

/**
 * Turns a probe round into the Node condition (pure). The first failure in the datapath's own order wins:
 * vswitchd down, ovn-controller down, disconnected from SB, behind on nb_cfg. The message carries the evidence.
 */
export function datapathVerdict(p: DatapathProbeResult, graceMs = NB_CFG_GRACE_MS): DatapathVerdict {
  const up = { 'ovs-vswitchd': p.vswitchd.alive, 'ovn-controller': p.controller.alive };
  const no = (reason: DatapathReason, message: string): DatapathVerdict => ({
    type: DATAPATH_READY_CONDITION,
    status: 'False',
    reason,
    message,
    up,
  });
  if (!p.vswitchd.alive) {
    return no(
      DATAPATH_REASONS.vswitchdDown,
      `ovs-vswitchd${pidText(p.vswitchd)} does not answer: ${p.vswitchd.error ?? 'unknown error'}`,
    );
  }
  if (!p.controller.alive) {
    return no(
      DATAPATH_REASONS.controllerDown,
      `ovn-controller${pidText(p.controller)} does not answer: ${p.controller.error ?? 'unknown error'}`,
    );
  }
  if (p.controller.sbConnection !== 'connected') {
    return no(
      DATAPATH_REASONS.controllerDisconnected,
      `ovn-controller${pidText(p.controller)} connection-status: ${p.controller.sbConnection ?? 'no answer'}`,
    );
  }
  if (p.nbCfg && p.nbCfg.sb > p.nbCfg.installed && p.nbCfg.behindForMs >= graceMs) {
    return no(
      DATAPATH_REASONS.controllerBehind,
      `ovn-controller${pidText(p.controller)} installed nb_cfg ${p.nbCfg.installed}, SB is at ${p.nbCfg.sb} ` +
        `(behind for more than ${Math.round(graceMs / 1000)} s)`,
    );
  }
  return {
    type: DATAPATH_READY_CONDITION,
    status: 'True',
    reason: DATAPATH_REASONS.ready,
    message:
      `ovs-vswitchd${pidText(p.vswitchd)} and ovn-controller${pidText(p.controller)} answer; ` +
      `ovn-controller is connected to SB` +
      (p.nbCfg ? ' and caught up with its nb_cfg' : ''),
    up,
  };
}

/** The Node condition as the agent last wrote or read it (a NodeCondition's fields the verdict decides). */
export interface NodeConditionState {
  status: string;
  reason?: string;
  message?: string;
}

/**
 * Whether the Node's condition must be written, and whether that write is a transition worth an Event (status or
 * reason changed, or the condition is new). Message-only changes (e.g. a new pid after a restart) are written
 * without an Event.
 */
export function conditionUpdate(
  current: NodeConditionState | undefined,
  next: DatapathVerdict,
): { write: boolean; event: boolean } {
  if (!current) return { write: true, event: next.status === 'False' };
  const transition = current.status !== next.status || current.reason !== next.reason;
  if (transition) return { write: true, event: true };
  return { write: current.message !== next.message, event: false };
}

/** Tracks since when the SB's nb_cfg has been ahead of ovn-controller's, for DatapathProbeResult.nbCfg. */
export class NbCfgLag {
  private since?: number;

  observe(sb: number, installed: number, now = Date.now()): number {
    if (sb <= installed) {
      this.since = undefined;
      return 0;
    }
    this.since ??= now;
    return now - this.since;
  }
}
