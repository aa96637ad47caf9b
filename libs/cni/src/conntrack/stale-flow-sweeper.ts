import { CommandRunner } from '../ovs/command-runner';
import { flushConntrackArgs, LbFlow, lbFlowKey, newlyBackedFrontends, removedLbFlows } from './lb-flows';

/**
 * When the agent removes a UDP/SCTP backend's conntrack entries, measured from the moment it sees the change.
 * OVN (`options:ct_flush`) flushes them when ovn-controller installs the new flows, but Open vSwitch's datapath
 * keeps its cached flows until its revalidators catch up, and a datagram arriving in between re-creates the entry
 * from the old flows; the client, which keeps sending, then never reaches the new backend (seen on a loaded
 * 2-core machine, test/e2e/loadbalancer-parity.test.ts). Later flushes catch that, and an ovn-controller behind.
 */
export const STALE_FLOW_FLUSH_DELAYS_MS = [1_000, 3_000, 10_000];

/**
 * Keeps UDP and SCTP clients of a Service off a backend that left it, as kube-proxy does with `conntrack -D` after
 * its rules changed: `observe()` after every Service or EndpointSlice change compares the (frontend, backend)
 * pairs with the last ones and flushes the removed pairs' entries from this node's Open vSwitch conntrack, a few
 * times (STALE_FLOW_FLUSH_DELAYS_MS). A pair that is back by then is left alone. A VIP that gets its first backend
 * has its un-NATed entries (sent while it had none) flushed the same way.
 */
export class StaleLbFlowSweeper {
  private known?: Set<string>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private chain: Promise<void> = Promise.resolve();
  /** Entries flushed and commands that failed, for the agent's metrics and tests. */
  readonly stats = { flushes: 0, failures: 0 };

  constructor(
    private readonly runner: CommandRunner,
    private readonly flows: () => Set<string>,
    private readonly vswitchdSocket: () => Promise<string>,
    private readonly log: (line: string) => void = () => undefined,
    private readonly delaysMs: number[] = STALE_FLOW_FLUSH_DELAYS_MS,
  ) {}

  /** Call after the caches changed; the first call only records (an agent start removes nothing). */
  observe(): void {
    const now = this.flows();
    const removed = this.known ? removedLbFlows(this.known, now) : [];
    const firstBacked = this.known ? newlyBackedFrontends(this.known, now) : [];
    this.known = now;
    if (!removed.length && !firstBacked.length) return;
    this.log(
      `conntrack: ${removed.length} UDP/SCTP backend pair(s) left, ${firstBacked.length} VIP(s) got a first ` +
        'backend; flushing their entries',
    );
    removed.push(...firstBacked);
    for (const delay of this.delaysMs) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.chain = this.chain.then(() => this.flush(removed));
      }, delay);
      t.unref();
      this.timers.add(t);
    }
  }

  /** Cancels the flushes not yet run and waits for the one running. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.chain;
  }

  private async flush(flows: LbFlow[]): Promise<void> {
    const live = flows.filter((f) => !this.known?.has(lbFlowKey(f)));
    if (!live.length) return;
    let socket: string;
    try {
      socket = await this.vswitchdSocket();
    } catch (e) {
      this.stats.failures++;
      this.log(`conntrack: cannot find ovs-vswitchd's control socket: ${(e as Error).message}`);
      return;
    }
    for (const f of live) {
      const r = await this.runner.run('ovs-appctl', ['-T', '5', '-t', socket, ...flushConntrackArgs(f)], {
        timeoutMs: 7_000,
      });
      if (r.code === 0) this.stats.flushes++;
      else {
        this.stats.failures++;
        this.log(`conntrack: flush ${lbFlowKey(f)}: ${(r.stderr || r.stdout).trim()}`);
      }
    }
  }
}
