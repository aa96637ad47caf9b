import type { CommandResult, CommandRunner } from '../ovs/command-runner';
import { StaleLbFlowSweeper } from './stale-flow-sweeper';

class RecordingRunner implements CommandRunner {
  readonly calls: string[][] = [];
  constructor(private readonly result: CommandResult = { code: 0, stdout: '', stderr: '' }) {}
  run(cmd: string, args: string[]): Promise<CommandResult> {
    this.calls.push([cmd, ...args]);
    return Promise.resolve(this.result);
  }
}

describe('StaleLbFlowSweeper', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const A = 'udp 10.96.0.10 53 10.16.0.21 5353';
  const B = 'udp 10.96.0.10 53 10.16.0.22 5353';

  function setup(result?: CommandResult) {
    let flows = new Set<string>();
    const runner = new RecordingRunner(result);
    const lines: string[] = [];
    const sweeper = new StaleLbFlowSweeper(
      runner,
      () => flows,
      () => Promise.resolve('/run/vswitchd.ctl'),
      (l) => lines.push(l),
      [1_000, 3_000],
    );
    return { runner, sweeper, lines, set: (...f: string[]) => (flows = new Set(f)) };
  }

  it('records on the first look, then flushes a removed pair at each delay', async () => {
    const t = setup();
    t.set(A, B);
    t.sweeper.observe();
    t.set(B);
    t.sweeper.observe();
    expect(t.runner.calls).toEqual([]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(t.runner.calls).toEqual([
      [
        'ovs-appctl',
        '-T',
        '5',
        '-t',
        '/run/vswitchd.ctl',
        'dpctl/flush-conntrack',
        'ct_nw_dst=10.96.0.10,ct_nw_proto=17,ct_tp_dst=53',
        'ct_nw_src=10.16.0.21,ct_nw_proto=17,ct_tp_src=5353',
      ],
    ]);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(t.runner.calls).toHaveLength(2);
    expect(t.sweeper.stats).toEqual({ flushes: 2, failures: 0 });
  });

  it('leaves a pair alone that came back before the flush, and flushes nothing when nothing left', async () => {
    const t = setup();
    t.set(A, B);
    t.sweeper.observe();
    t.set(B);
    t.sweeper.observe();
    t.set(A, B);
    t.sweeper.observe();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(t.runner.calls).toEqual([]);
  });

  it("flushes a VIP's un-NATed entries when it gets its first backend (its clients sent while it had none)", async () => {
    const t = setup();
    t.set();
    t.sweeper.observe();
    t.set(A);
    t.sweeper.observe();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(t.runner.calls.map((c) => c.slice(5))).toEqual([
      [
        'dpctl/flush-conntrack',
        'ct_nw_dst=10.96.0.10,ct_nw_proto=17,ct_tp_dst=53',
        'ct_nw_src=10.96.0.10,ct_nw_proto=17,ct_tp_src=53',
      ],
    ]);
    // A second backend of a VIP that already had one flushes nothing.
    t.set(A, B);
    t.sweeper.observe();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(t.runner.calls).toHaveLength(2); // the first flush's second delay only
  });

  it('reports a failed flush and goes on', async () => {
    const t = setup({ code: 2, stdout: '', stderr: 'ovs-appctl: cannot connect' });
    t.set(A);
    t.sweeper.observe();
    t.set();
    t.sweeper.observe();
    await jest.advanceTimersByTimeAsync(3_000);
    expect(t.sweeper.stats).toEqual({ flushes: 0, failures: 2 });
    expect(t.lines.some((l) => l.includes('cannot connect'))).toBe(true);
  });

  it('stop() cancels the flushes not yet run', async () => {
    const t = setup();
    t.set(A);
    t.sweeper.observe();
    t.set();
    t.sweeper.observe();
    await t.sweeper.stop();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(t.runner.calls).toEqual([]);
  });
});
