import { resultDetails, resultRow, runServiceBench, type ServiceBenchReport } from '@ycloud/bench';
import { OvnRelease } from '@ycloud/testbed';

/**
 * Smoke test of the Service benchmark at 20 Services × 3 endpoints against the real apiserver and OVN: the run
 * completes, every LB is right in NB (also by ovn-nbctl), and the report renders. No timing assertions.
 */
describe('Service benchmark (smoke, 20 × 3)', () => {
  let report: ServiceBenchReport;

  beforeAll(async () => {
    report = await runServiceBench({ services: 20, endpoints: 3, changes: 10, changeRate: 20 });
  });

  it('converges: every Service has its LB with the right backends, as ovn-nbctl reads it', () => {
    expect(report.coldStart.verifiedByNbctl).toBe(20);
    // Group commit: Services whose applies wait behind a transaction in flight share the next one.
    expect(report.coldStart.writes).toBeGreaterThanOrEqual(1);
    expect(report.coldStart.operations).toBeGreaterThanOrEqual(20);
  });

  it('sees every EndpointSlice change reach NB and writes nothing on an idle restart', () => {
    expect(report.change.endToEnd.count).toBe(10);
    expect(report.change.timedOut).toBe(0);
    // One transaction per change, or fewer when two changes meet behind one in flight.
    expect(report.change.writes).toBeGreaterThanOrEqual(1);
    expect(report.change.writes).toBeLessThanOrEqual(10);
    expect(report.idleRestart.writes).toBe(0);
    expect(report.idleRestart.nbRowChanges).toBe(0);
    expect(report.rssPeakBytes).toBeGreaterThan(0);
  });

  it('renders a results row and a details block, both naming the OVN / OVS release it ran against', async () => {
    const release = await OvnRelease.resolve();
    const versions = `OVN ${release.ovnVersion} / OVS ${release.ovsVersion}`;
    expect(report.ovn).toBe(versions);
    expect(resultRow(report)).toContain(` | 20 × 3 | NB+SB+northd, ${versions} | `);
    expect(resultDetails(report)).toContain('20/20 LBs right');
    expect(resultDetails(report)).toContain(`NB + SB + ovn-northd, ${versions}`);
  });
});
