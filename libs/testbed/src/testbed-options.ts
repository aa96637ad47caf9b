/** OVN series the test bed can run (libs/testbed/src/ovn-release.ts). */
export const OVN_SERIES = ['23.03', '25.03'] as const;
export type OvnSeries = (typeof OVN_SERIES)[number];

/**
 * The series the test bed and the sandbox run when `YCLOUD_OVN` is unset: the one the whole suite is reliable on.
 * OVS 3.1 (with OVN 23.03) aborts ovs-vswitchd in userspace conntrack under refused/reset connections through a
 * router load balancer; OVS 3.5 (with OVN 25.03) did not, and every integration and e2e file passes on it
 * (README, "Supported OVN versions"; results/ovn-versions.md).
 */
export const DEFAULT_OVN_SERIES: OvnSeries = '25.03';

/** The test bed's settings, read from the environment at call time (never at module scope). */
export interface TestbedOptions {
  /** `YCLOUD_OVN`: which OVN / Open vSwitch release the daemons and tools come from. */
  ovn: OvnSeries;
  /** `YCLOUD_TESTBED_KEEP_LOGS`: copy each bed's daemon logs to this directory before its files go. */
  keepLogsDir?: string;
}

export function testbedOptions(env: NodeJS.ProcessEnv = process.env): TestbedOptions {
  const ovn = env.YCLOUD_OVN || DEFAULT_OVN_SERIES;
  if (!(OVN_SERIES as readonly string[]).includes(ovn)) {
    throw new Error(`YCLOUD_OVN=${ovn}: supported OVN series are ${OVN_SERIES.join(', ')}`);
  }
  return { ovn: ovn as OvnSeries, keepLogsDir: env.YCLOUD_TESTBED_KEEP_LOGS || undefined };
}
