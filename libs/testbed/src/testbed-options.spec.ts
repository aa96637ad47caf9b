import { DEFAULT_OVN_SERIES, testbedOptions } from './testbed-options';

describe('testbedOptions', () => {
  it('takes the OVN series from YCLOUD_OVN and the default when unset or empty', () => {
    expect(testbedOptions({ YCLOUD_OVN: '25.03' }).ovn).toBe('25.03');
    expect(testbedOptions({ YCLOUD_OVN: '23.03' }).ovn).toBe('23.03');
    expect(testbedOptions({}).ovn).toBe(DEFAULT_OVN_SERIES);
    expect(testbedOptions({ YCLOUD_OVN: '' }).ovn).toBe(DEFAULT_OVN_SERIES);
  });

  it('rejects a series it cannot run, naming the ones it can', () => {
    expect(() => testbedOptions({ YCLOUD_OVN: '24.03' })).toThrow(
      'YCLOUD_OVN=24.03: supported OVN series are 23.03, 25.03',
    );
  });

  it('reads the log directory to keep', () => {
    expect(testbedOptions({ YCLOUD_TESTBED_KEEP_LOGS: '/tmp/x' }).keepLogsDir).toBe('/tmp/x');
    expect(testbedOptions({}).keepLogsDir).toBeUndefined();
  });
});
