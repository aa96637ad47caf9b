import { DATAPATH_READY_CONDITION, DATAPATH_REASONS } from '@ycloud/api';
import { DatapathProbeResult, NbCfgLag, conditionUpdate, datapathVerdict } from './datapath-health';
import { appctlError } from './datapath-probe';

const healthy = (): DatapathProbeResult => ({
  vswitchd: { alive: true, pid: 101 },
  controller: { alive: true, pid: 202, sbConnection: 'connected' },
  nbCfg: { sb: 4, installed: 4, behindForMs: 0 },
});

describe('datapathVerdict', () => {
  it('is True with both daemons answering, connected and caught up', () => {
    const v = datapathVerdict(healthy());
    expect(v).toMatchObject({ type: DATAPATH_READY_CONDITION, status: 'True', reason: DATAPATH_REASONS.ready });
    expect(v.message).toBe(
      'ovs-vswitchd (pid 101) answers; ovn-controller (pid 202) answers, connected to SB, caught up with its nb_cfg',
    );
    expect(v.up).toEqual({ 'ovs-vswitchd': true, 'ovn-controller': true });
  });

  it('reports a dead ovs-vswitchd first, with the evidence, even when ovn-controller is down too', () => {
    const p = healthy();
    p.vswitchd = { alive: false, pid: 101, error: 'ovs-appctl: cannot connect to "/run/x.ctl" (Connection refused)' };
    p.controller = { alive: false, pid: 202, error: 'refused' };
    const v = datapathVerdict(p);
    expect(v).toMatchObject({ status: 'False', reason: 'OvsVswitchdDown' });
    expect(v.message).toBe(
      'ovs-vswitchd (pid 101) does not answer: ovs-appctl: cannot connect to "/run/x.ctl" (Connection refused); ' +
        'ovn-controller (pid 202) does not answer: refused',
    );
    expect(v.up).toEqual({ 'ovs-vswitchd': false, 'ovn-controller': false });
  });

  it('reports a missing pidfile without a pid', () => {
    const p = healthy();
    p.vswitchd = { alive: false, error: 'no pidfile /var/run/openvswitch/ovs-vswitchd.pid' };
    expect(datapathVerdict(p).message).toBe(
      'ovs-vswitchd does not answer: no pidfile /var/run/openvswitch/ovs-vswitchd.pid; ' +
        'ovn-controller (pid 202) answers, connected to SB, caught up with its nb_cfg',
    );
  });

  it('reports ovn-controller down, then disconnected from SB', () => {
    const down = healthy();
    down.controller = { alive: false, pid: 202, error: 'Connection refused' };
    expect(datapathVerdict(down)).toMatchObject({ status: 'False', reason: 'OvnControllerDown' });
    expect(datapathVerdict(down).up).toEqual({ 'ovs-vswitchd': true, 'ovn-controller': false });
    const disconnected = healthy();
    disconnected.controller.sbConnection = 'not connected';
    expect(datapathVerdict(disconnected)).toMatchObject({
      status: 'False',
      reason: 'OvnControllerDisconnected',
      message: 'ovs-vswitchd (pid 101) answers; ovn-controller (pid 202) answers, connection-status: not connected',
    });
  });

  it('reports ovn-controller behind on nb_cfg only after the grace period', () => {
    const p = healthy();
    p.nbCfg = { sb: 9, installed: 7, behindForMs: 5_000 };
    expect(datapathVerdict(p, 30_000).status).toBe('True');
    p.nbCfg.behindForMs = 30_000;
    expect(datapathVerdict(p, 30_000)).toMatchObject({
      status: 'False',
      reason: 'OvnControllerBehind',
      message:
        'ovs-vswitchd (pid 101) answers; ovn-controller (pid 202) answers, connected to SB, ' +
        'installed nb_cfg 7 while SB is at 9 (behind for more than 30 s)',
    });
  });

  it('is True without the caught-up check when nb_cfg cannot be read', () => {
    const p = healthy();
    delete p.nbCfg;
    expect(datapathVerdict(p)).toMatchObject({ status: 'True' });
    expect(datapathVerdict(p).message).not.toContain('nb_cfg');
  });
});

describe('conditionUpdate', () => {
  const ready = datapathVerdict(healthy());
  const down = datapathVerdict({ ...healthy(), vswitchd: { alive: false, pid: 1, error: 'x' } });

  it('writes a new condition; an Event only when it is False', () => {
    expect(conditionUpdate(undefined, ready)).toEqual({ write: true, event: false });
    expect(conditionUpdate(undefined, down)).toEqual({ write: true, event: true });
  });

  it('writes nothing when the Node already says the same', () => {
    expect(conditionUpdate({ status: 'True', reason: ready.reason, message: ready.message }, ready)).toEqual({
      write: false,
      event: false,
    });
  });

  it('writes with an Event on a status or reason change, without one on a message change', () => {
    expect(conditionUpdate({ status: 'True', reason: ready.reason, message: ready.message }, down)).toEqual({
      write: true,
      event: true,
    });
    expect(conditionUpdate({ status: 'False', reason: 'OvnControllerDown', message: 'm' }, down)).toEqual({
      write: true,
      event: true,
    });
    expect(conditionUpdate({ status: 'True', reason: ready.reason, message: 'old pids' }, ready)).toEqual({
      write: true,
      event: false,
    });
  });
});

describe('NbCfgLag', () => {
  it('counts from the first round the SB was ahead and resets when caught up', () => {
    const lag = new NbCfgLag();
    expect(lag.observe(3, 3, 1_000)).toBe(0);
    expect(lag.observe(4, 3, 2_000)).toBe(0);
    expect(lag.observe(5, 3, 7_000)).toBe(5_000);
    expect(lag.observe(5, 5, 8_000)).toBe(0);
    expect(lag.observe(6, 5, 9_000)).toBe(0);
  });
});

describe('appctlError', () => {
  it('keeps the tool`s own line and drops the timestamped vlog line', () => {
    const stderr =
      '2026-12-07T04:33:32Z|00001|unixctl|WARN|failed to connect to /run/n/vswitchd.ctl\n' +
      'ovs-appctl: cannot connect to "/run/n/vswitchd.ctl" (Connection refused)\n';
    expect(appctlError(stderr)).toBe('ovs-appctl: cannot connect to "/run/n/vswitchd.ctl" (Connection refused)');
    expect(appctlError('2026-12-07T04:33:32Z|00001|unixctl|WARN|failed to connect to x\n')).toBe(
      'failed to connect to x',
    );
    expect(appctlError('')).toBe('');
  });
});
