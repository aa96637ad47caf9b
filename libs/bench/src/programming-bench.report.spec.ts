import type { ProgrammingBenchReport, SystemResult } from './programming-bench';
import { runStamp } from './results-file';
import { programmingDetails, programmingRowPrefix, programmingRows } from './programming-bench.report';

function report(systems: SystemResult[], complete = true): ProgrammingBenchReport {
  return {
    date: '2026-12-07T06:40:12.000Z',
    complete,
    phase: complete ? 'complete' : 'round 2/4: nftables',
    revision: 'abc',
    machine: { host: 'h', cpuModel: 'cpu', cpus: 2, memoryGb: 24, kernel: 'Linux', ovsDatapath: 'netdev' },
    versions: { ovnNorthd: 'ovn-northd 25.03.0', ovsVswitchd: 'ovs-vswitchd (Open vSwitch) 3.5.0', node: 'v20' },
    services: 10000,
    endpoints: 10,
    changesPerSystem: 200,
    rounds: 4,
    rate: 20,
    load: { start: 3.1, end: 9.2 },
    loadAverages: { start: [3.1, 2.5, 2.0], end: [9.2, 6.1, 4.0] },
    create: { ms: 60_000 },
    systems,
  };
}

const ycloud: SystemResult = {
  system: 'ycloud',
  ran: true,
  coldStart: { ms: 30_000, load1: 3, cpuMs: {} },
  change: {
    total: { count: 100, p50: 40, p90: 60, p99: 80, max: 90 },
    timedOut: 0,
    cpuMs: {},
    cpuMsPerChange: 20,
    load1: [3, 4],
  },
  peakRssBytes: {},
};
const nft: SystemResult = {
  system: 'nftables',
  ran: true,
  coldStart: { ms: 90_000, load1: 5, cpuMs: {} },
  change: {
    total: { count: 50, meanMs: 2000, p50: 2000, p90: 3000, p99: 4000 },
    timedOut: 0,
    cpuMs: {},
    cpuMsPerChange: 40,
    load1: [5],
  },
  failure: {
    phase: 'round 2/4',
    reason: 'kube-proxy nftables stopped answering its metrics endpoint for 120 s',
    load1: 7,
  },
  peakRssBytes: {},
};

describe('programming report', () => {
  it('says who bumped nb_cfg when the benchmark did it (the controller running without the barrier)', () => {
    const r = { ...report([ycloud]), barrier: 'bench' as const, nbCfgRise: { total: 201, byBench: 201 } };
    expect(programmingDetails(r, 'a.svg', 'a.json')).toContain(
      "nb_cfg bumped by the benchmark after each commit it saw (controller with `northbound.nbCfgBarrier: false`: an upper bound) (nb_cfg rose by 201, 201 of it the benchmark's own bumps: the controller wrote none).",
    );
    const leaked = { ...r, nbCfgRise: { total: 260, byBench: 201 } };
    expect(programmingDetails(leaked, 'a.svg', 'a.json')).toContain(
      "(nb_cfg rose by 260, 201 of it the benchmark's own bumps).",
    );
  });

  it("rows of one run share a prefix that names the run's start and scale", () => {
    const r = report([ycloud, nft]);
    const rows = programmingRows(r);
    expect(programmingRowPrefix(r)).toBe('| 2026-12-07 06:40:12 | 10000 × 10 |');
    for (const row of rows) expect(row.startsWith(programmingRowPrefix(r))).toBe(true);
    // A run started later in the same minute has rows of its own (a rewrite of one never drops the other's).
    const next = { ...r, date: '2026-12-07T06:40:51.000Z' };
    expect(programmingRowPrefix(next)).not.toBe(programmingRowPrefix(r));
    expect(runStamp(next.date)).toBe('20261207-064051');
  });

  it('a system that failed part-way keeps its figures so far and says where and why it stopped', () => {
    const [yRow, nRow] = programmingRows(report([ycloud, nft]));
    expect(yRow).toContain('| 40 / 60 / 80 |');
    expect(yRow).toContain('| 0.020x |');
    expect(nRow).toContain(
      '2000 / 3000 / 4000; then failed in round 2/4: kube-proxy nftables stopped answering its metrics endpoint for 120 s',
    );
    const details = programmingDetails(report([ycloud, nft]), 'a.svg', 'a.json');
    expect(details).toContain('**nftables** failed in round 2/4 (load 7)');
    const never: SystemResult = {
      ...nft,
      coldStart: undefined,
      change: undefined,
      failure: { ...nft.failure!, phase: 'cold start' },
    };
    expect(programmingDetails(report([never]), 'a.svg', 'a.json')).toContain('- **nftables**: no cold start measured.');
  });

  it("says how deep the controller's queue was when thawed before each block", () => {
    const y = { ...ycloud, change: { ...ycloud.change!, backlogAtThaw: [{ queueDepth: 20000, drainMs: 23_400 }] } };
    expect(programmingDetails(report([y]), 'a.svg', 'a.json')).toContain(
      '  - controller work queue when thawed before each block (drained before measuring): 20000 keys in 23.40 s.',
    );
  });

  it('a partial report says how far it got, with the 1/5/15 min load averages', () => {
    const pending: SystemResult = { system: 'iptables', ran: false, error: 'not measured yet', peakRssBytes: {} };
    const r = report([ycloud, pending], false);
    expect(programmingRows(r)[1]).toContain('not run: not measured yet');
    const details = programmingDetails(r, 'a.svg', 'a.json');
    expect(details.split('\n')[0]).toContain('(partial: figures up to "round 2/4: nftables")');
    expect(details).toContain('nb_cfg bumped by the controller in each transaction');
    expect(details).toContain('(1 / 5 / 15 min: 3.1 / 2.5 / 2 at start, 9.2 / 6.1 / 4 when written)');
  });
});
