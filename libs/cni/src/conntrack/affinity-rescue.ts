import type { V1Service } from '@kubernetes/client-node';
import { lbOptions, serviceAffinityRequest } from '@ycloud/translate';
import type { CommandRunner } from '../ovs/command-runner';

/**
 * OVN's ClientIP affinity (`Load_Balancer options:affinity_timeout`) loses the first connection of every new
 * affinity session: `ls_in_lb` commits the DNAT of the first SYN to backend B, then `ls_in_lb_aff_learn` learns
 * client → B (an OpenFlow `learn` into the affinity table) and drops the SYN by design. Every retransmit is DNATed
 * to B by the committed SYN_SENT entry before the affinity check, misses the learned flow (it matches the VIP) and
 * is dropped again, refreshing the entry (docs/kube-proxy-parity.md, "ClientIP affinity timeout"). Removing that one
 * SYN_SENT entry once the flow is learned lets the next retransmit hit the learned flow: the loss becomes a delay.
 *
 * Pure functions find the affinity table, read learned flows and pick the entries to remove; AffinityRescue polls
 * (every 250 ms: the table is small, and `ovs-ofctl monitor` was not tried) and removes them.
 */

/** One learned affinity session: this client's new connections to vip:port go to one backend. */
export interface AffinitySession {
  client: string;
  vip: string;
  port: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

/** A conntrack entry of a session still waiting for its SYN's answer, with what flushes exactly it. */
export interface StuckConnection {
  zone: number;
  orig: { src: string; dst: string; sport: number; dport: number };
}

export function affinitySessionKey(s: AffinitySession): string {
  return `${s.protocol}:${s.client}->${s.vip}:${s.port}`;
}

/**
 * The OpenFlow table northd's affinity-learn stage writes to, read from `learn(table=N,...)` in a dump of br-int's
 * flows (78 on OVN 23.03 and 25.03). Undefined when no load balancer has `affinity_timeout` on this chassis.
 */
export function affinityTableOf(flowDump: string): number | undefined {
  const m = /\blearn\(table=(\d+),/.exec(flowDump);
  return m ? Number(m[1]) : undefined;
}

const PROTO_BY_NAME: Record<string, AffinitySession['protocol']> = {
  tcp: 'tcp',
  tcp6: 'tcp',
  udp: 'udp',
  udp6: 'udp',
  sctp: 'sctp',
  sctp6: 'sctp',
};
const PROTO_BY_NUMBER: Record<string, AffinitySession['protocol']> = { '6': 'tcp', '17': 'udp', '132': 'sctp' };

/** The sessions in a dump of the affinity table (`ovs-ofctl dump-flows br-int table=N`); other lines are skipped. */
export function learnedAffinitySessions(tableDump: string): AffinitySession[] {
  const out: AffinitySession[] = [];
  for (const line of tableDump.split('\n')) {
    if (!line.includes(' actions=') || !/\btable=\d+/.test(line)) continue;
    const fields = new Map<string, string>();
    let protocol: AffinitySession['protocol'] | undefined;
    for (const token of line.slice(0, line.indexOf(' actions=')).split(/[,\s]+/)) {
      const eq = token.indexOf('=');
      if (eq < 0) protocol ??= PROTO_BY_NAME[token];
      else fields.set(token.slice(0, eq), token.slice(eq + 1));
    }
    protocol ??= PROTO_BY_NUMBER[fields.get('nw_proto') ?? ''];
    const client = fields.get('nw_src') ?? fields.get('ipv6_src');
    const vip = fields.get('nw_dst') ?? fields.get('ipv6_dst');
    const port = Number(
      fields.get('tp_dst') ?? fields.get('tcp_dst') ?? fields.get('udp_dst') ?? fields.get('sctp_dst'),
    );
    if (!protocol || !client || !vip || !Number.isInteger(port) || port <= 0) continue;
    out.push({ client, vip, port, protocol });
  }
  return out;
}

/**
 * The TCP entries of `sessions` that are still SYN_SENT in a `dpctl/dump-conntrack` output: the first connection
 * of a session, its SYN dropped by the learn stage. Anything past SYN_SENT (an established connection of the same
 * client to the VIP, one closing) is never returned. UDP has no such state to tell a stuck entry from a live one.
 */
export function stuckConnections(ctDump: string, sessions: AffinitySession[]): StuckConnection[] {
  const wanted = new Set(sessions.filter((s) => s.protocol === 'tcp').map(affinitySessionKey));
  if (!wanted.size) return [];
  const out: StuckConnection[] = [];
  for (const line of ctDump.split('\n')) {
    const m =
      /^tcp6?,orig=\(src=([^,]+),dst=([^,]+),sport=(\d+),dport=(\d+)\),reply=\([^)]*\),(?:.*,)?zone=(\d+),.*protoinfo=\(state=SYN_SENT\)/.exec(
        line.trim(),
      );
    if (!m) continue;
    const [, src, dst, sport, dport, zone] = m;
    if (!wanted.has(affinitySessionKey({ client: src, vip: dst, port: Number(dport), protocol: 'tcp' }))) continue;
    out.push({ zone: Number(zone), orig: { src, dst, sport: Number(sport), dport: Number(dport) } });
  }
  return out;
}

/** `ovs-appctl` arguments removing exactly one entry (zone and full original 5-tuple; OVS 3.1 accepts this form). */
export function flushStuckConnectionArgs(c: StuckConnection): string[] {
  const v6 = c.orig.src.includes(':');
  const tuple = [
    `${v6 ? 'ct_ipv6_src' : 'ct_nw_src'}=${c.orig.src}`,
    `${v6 ? 'ct_ipv6_dst' : 'ct_nw_dst'}=${c.orig.dst}`,
    'ct_nw_proto=6',
    `ct_tp_src=${c.orig.sport}`,
    `ct_tp_dst=${c.orig.dport}`,
  ].join(',');
  return ['dpctl/flush-conntrack', `zone=${c.zone}`, tuple];
}

/**
 * Whether some Service gets OVN's `affinity_timeout` (the translation's own decision, lbOptions: longer or invalid
 * timeouts become a hash on the client address): only then is there anything to rescue.
 */
export function servicesUseAffinityTimeout(services: V1Service[]): boolean {
  const ignoreIssues = () => undefined; // the controller reports them on the Service
  return services.some(
    (svc) => lbOptions({ affinity: serviceAffinityRequest(svc) }, ignoreIssues).affinityTimeout !== undefined,
  );
}

/** What the rescue needs from this node's Open vSwitch. */
export interface AffinityRescueOvs {
  /** `ovs-ofctl dump-flows br-int` (all tables, or only `table`), stdout. */
  dumpFlows(table?: number): Promise<string>;
  /** `ovs-appctl` to ovs-vswitchd, stdout; throws on failure. */
  vswitchd(args: string[]): Promise<string>;
}

/** The rescue's view of a node: ovs-ofctl on `<ovsRundir>/<bridge>.mgmt`, ovs-appctl on vswitchd's socket. */
export function commandRescueOvs(
  runner: CommandRunner,
  bridgeMgmt: string,
  vswitchdSocket: () => Promise<string>,
): AffinityRescueOvs {
  const checked = async (cmd: string, args: string[]) => {
    const r = await runner.run(cmd, args, { timeoutMs: 7_000 });
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  };
  return {
    dumpFlows: (table) =>
      checked('ovs-ofctl', [
        '--no-stats',
        'dump-flows',
        `unix:${bridgeMgmt}`,
        ...(table === undefined ? [] : [`table=${table}`]),
      ]),
    vswitchd: async (args) => checked('ovs-appctl', ['-T', '5', '-t', await vswitchdSocket(), ...args]),
  };
}

export interface AffinityRescueOptions {
  /** False while no Service of this cluster uses an affinity timeout: then nothing runs but the check. */
  enabled?: () => boolean;
  /** How often the affinity table is read (a SYN is retransmitted after 1 s). */
  pollMs?: number;
  /** How often br-int is searched for the affinity table while none is known. */
  discoverMs?: number;
  /** Polls a new session's stuck entry is looked for before giving up. */
  attempts?: number;
  log?: (line: string) => void;
}

/**
 * Watches the affinity table for sessions learned since the last look and removes their first connections'
 * SYN_SENT entries, so that the client's next SYN retransmit reaches the learned backend.
 */
export class AffinityRescue {
  private table?: number;
  private known = new Set<string>();
  private readonly pending = new Map<string, { session: AffinitySession; left: number }>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  /** Entries removed, and commands that failed, for metrics and tests. */
  readonly stats = { rescued: 0, failures: 0 };

  constructor(
    private readonly ovs: AffinityRescueOvs,
    private readonly opts: AffinityRescueOptions = {},
  ) {}

  /** The affinity table found on br-int, if any yet. */
  get watchedTable(): number | undefined {
    return this.table;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((e: Error) => {
          this.stats.failures++;
          this.log(`affinity rescue: ${e.message}`);
          this.table = undefined;
          return this.opts.discoverMs ?? 5_000;
        })
        .then((next) => this.schedule(next));
    }, ms);
    this.timer.unref();
  }

  /** One look; returns the delay to the next. */
  async tick(): Promise<number> {
    const pollMs = this.opts.pollMs ?? 250;
    const discoverMs = this.opts.discoverMs ?? 5_000;
    if (this.opts.enabled && !this.opts.enabled()) {
      this.table = undefined;
      this.known.clear();
      this.pending.clear();
      return discoverMs;
    }
    if (this.table === undefined) {
      this.table = affinityTableOf(await this.ovs.dumpFlows());
      if (this.table === undefined) return discoverMs;
      this.log(`affinity rescue: watching OpenFlow table ${this.table}`);
    }
    const sessions = learnedAffinitySessions(await this.ovs.dumpFlows(this.table));
    const now = new Set(sessions.map(affinitySessionKey));
    for (const s of sessions) {
      const key = affinitySessionKey(s);
      if (!this.known.has(key) && s.protocol === 'tcp')
        this.pending.set(key, { session: s, left: this.opts.attempts ?? 4 });
    }
    this.known = now;
    if (!this.pending.size) return pollMs;
    const stuck = stuckConnections(
      await this.ovs.vswitchd(['dpctl/dump-conntrack']),
      [...this.pending.values()].map((p) => p.session),
    );
    for (const c of stuck) {
      try {
        await this.ovs.vswitchd(flushStuckConnectionArgs(c));
        this.stats.rescued++;
        this.log(
          `affinity rescue: removed ${c.orig.src}:${c.orig.sport} -> ${c.orig.dst}:${c.orig.dport} (SYN_SENT, zone ${c.zone})`,
        );
      } catch (e) {
        this.stats.failures++;
        this.log(`affinity rescue: flush ${c.orig.src}:${c.orig.sport}: ${(e as Error).message}`);
      }
      this.pending.delete(
        affinitySessionKey({ client: c.orig.src, vip: c.orig.dst, port: c.orig.dport, protocol: 'tcp' }),
      );
    }
    for (const [key, p] of this.pending) if (--p.left <= 0 || !now.has(key)) this.pending.delete(key);
    return pollMs;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
}
