import { ControllerConfigError, parseControllerConfig } from './controller-config';

describe('ControllerConfig resync (the periodic full reconcile)', () => {
  it('defaults to every 300 s with 10 % jitter, and takes 0 to turn it off', () => {
    expect(parseControllerConfig({}).resync).toEqual({ intervalSeconds: 300, jitter: 0.1 });
    expect(parseControllerConfig({ resync: { intervalSeconds: 0 } }).resync).toEqual({
      intervalSeconds: 0,
      jitter: 0.1,
    });
  });

  it('rejects a negative interval, a jitter above 1 and unknown keys, naming each', () => {
    let err: ControllerConfigError | undefined;
    try {
      parseControllerConfig({ resync: { intervalSeconds: -1, jitter: 2, every: 5 } });
    } catch (e) {
      err = e as ControllerConfigError;
    }
    expect(err?.errors).toEqual([
      'resync.every: unknown key (allowed: intervalSeconds, jitter)',
      'resync.intervalSeconds: must be a number of seconds, 0 or more (0: off)',
      'resync.jitter: must be a fraction between 0 and 1',
    ]);
  });
});

describe('ControllerConfig drift (repair on a change by another writer)', () => {
  it('repairs by default, takes false, and rejects anything but a boolean', () => {
    expect(parseControllerConfig({}).drift).toEqual({ repairOnChange: true });
    expect(parseControllerConfig({ drift: { repairOnChange: false } }).drift).toEqual({ repairOnChange: false });
    expect(() => parseControllerConfig({ drift: { repairOnChange: 'no' } })).toThrow(
      'drift.repairOnChange: must be true or false',
    );
  });
});

describe('ControllerConfig northbound.nbCfgBarrier (the nb_cfg bump in each transaction)', () => {
  it('bumps by default, takes false, and rejects anything but a boolean or an unknown key', () => {
    expect(parseControllerConfig({}).northbound).toEqual({ nbCfgBarrier: true });
    expect(parseControllerConfig({ northbound: { nbCfgBarrier: false } }).northbound).toEqual({
      nbCfgBarrier: false,
    });
    expect(() => parseControllerConfig({ northbound: { nbCfgBarrier: 'off' } })).toThrow(
      'northbound.nbCfgBarrier: must be true or false',
    );
    expect(() => parseControllerConfig({ northbound: { bumpNbCfg: false } })).toThrow(
      'northbound.bumpNbCfg: unknown key (allowed: nbCfgBarrier)',
    );
  });
});
