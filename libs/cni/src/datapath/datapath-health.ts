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
 * Each daemon's state in words, in a fixed order (ovs-vswitchd, ovn-controller), e.g. `ovs-vswitchd (pid 7) does
 * not answer: <error>`. The condition's message is these joined by "; ", so a reader sees every daemon's state.
 */
export function daemonStates(p: DatapathProbeResult, graceMs = NB_CFG_GRACE_MS): string[] {
  const v = p.vswitchd;
  const c = p.controller;
  const vswitchd =
    `ovs-vswitchd${pidText(v)} ` + (v.alive ? 'answers' : `does not answer: ${v.error ?? 'unknown error'}`);
  let controller = `ovn-controller${pidText(c)} `;
  if (!c.alive) controller += `does not answer: ${c.error ?? 'unknown error'}`;
  else if (c.sbConnection !== 'connected') controller += `answers, connection-status: ${c.sbConnection ?? 'no answer'}`;
  else if (p.nbCfg && p.nbCfg.sb > p.nbCfg.installed && p.nbCfg.behindForMs >= graceMs) {
    controller +=
      `answers, connected to SB, installed nb_cfg ${p.nbCfg.installed} while SB is at ${p.nbCfg.sb} ` +
      `(behind for more than ${Math.round(graceMs / 1000)} s)`;
  } else controller += 'answers, connected to SB' + (p.nbCfg ? ', caught up with its nb_cfg' : '');
  return [vswitchd, controller];
}

/**
 * Turns a probe round into the Node condition (pure). The first failure in the datapath's own order gives the
 * reason: vswitchd down, ovn-controller down, disconnected from SB, behind on nb_cfg. The message carries every
 * daemon's state (daemonStates) as evidence.
 */
export function datapathVerdict(p: DatapathProbeResult, graceMs = NB_CFG_GRACE_MS): DatapathVerdict {
  const up = { 'ovs-vswitchd': p.vswitchd.alive, 'ovn-controller': p.controller.alive };
  const message = daemonStates(p, graceMs).join('; ');
  const verdict = (status: 'True' | 'False', reason: DatapathReason): DatapathVerdict => ({
    type: DATAPATH_READY_CONDITION,
    status,
    reason,
    message,
    up,
  });
  if (!p.vswitchd.alive) return verdict('False', DATAPATH_REASONS.vswitchdDown);
  if (!p.controller.alive) return verdict('False', DATAPATH_REASONS.controllerDown);
  if (p.controller.sbConnection !== 'connected') return verdict('False', DATAPATH_REASONS.controllerDisconnected);
  if (p.nbCfg && p.nbCfg.sb > p.nbCfg.installed && p.nbCfg.behindForMs >= graceMs) {
    return verdict('False', DATAPATH_REASONS.controllerBehind);
  }
  return verdict('True', DATAPATH_REASONS.ready);
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
