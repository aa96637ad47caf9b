import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { PROXIED_SERVICES_SELECTOR } from '@ycloud/api';
import { Informer, KubeClient, KubeObject, Logger, Resources, SERVICE_NAME_LABEL } from '@ycloud/k8s';
import { CommandRunner, runChecked } from '../ovs/command-runner';
import {
  NODEPORT_TABLE,
  NodePortRuleSet,
  conntrackDeleteArgs,
  nodePortRuleSet,
  renderNodePortTables,
  staleConntrackEntries,
} from './nodeport.rules';

/**
 * Keeps `table ip ycloud` (and, while there are IPv6 rules, `table ip6 ycloud`) in the node's host namespace equal
 * to the NodePort rules `rules` returns.
 * `kick()` coalesces bursts of changes into one `nft -f`; nothing runs when the rendered table is unchanged.
 */
export class NodePortProgrammer {
  private applied?: string;
  private appliedRules: NodePortRuleSet = { ipv4: [], ipv6: [] };
  private queued = false;
  private chain: Promise<void> = Promise.resolve();
  /** Oldest change not yet in the table, and when the table last matched: the proxy health kube-proxy reports. */
  private pendingSince?: number;
  private lastUpdated = new Date(0);

  constructor(
    private readonly runner: CommandRunner,
    private readonly rules: () => NodePortRuleSet,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Schedules a sync after the one in progress (at most one waits). */
  kick(): void {
    this.pendingSince ??= Date.now();
    if (this.queued) return;
    this.queued = true;
    this.chain = this.chain.then(async () => {
      this.queued = false;
      const started = Date.now();
      try {
        await this.sync();
        if (!this.queued && (this.pendingSince ?? 0) <= started) this.pendingSince = undefined;
        this.lastUpdated = new Date();
      } catch (e) {
        this.log(`nodeports: ${(e as Error).message}`);
      }
    });
  }

  /** Healthy unless a change has waited longer than `timeoutMs` to be programmed (kube-proxy's healthz rule). */
  health(timeoutMs: number, now = Date.now()): { healthy: boolean; lastUpdated: Date } {
    const healthy = this.pendingSince === undefined || now - this.pendingSince < timeoutMs;
    return { healthy, lastUpdated: this.lastUpdated };
  }

  /** Waits for the scheduled syncs. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Renders and, when changed (or a table vanished), applies the tables in one nft transaction. */
  async sync(): Promise<void> {
    const rules = this.rules();
    const text = renderNodePortTables(rules);
    if (text === this.applied && (await this.tablesExist(rules))) return;
    // Forwarding is what lets the host pass DNATed traffic on to ycloud0; a real node has it on already. IPv6
    // forwarding only when there are IPv6 rules: it also stops the host from taking router advertisements.
    await runChecked(this.runner, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    if (rules.ipv6.length) await runChecked(this.runner, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
    await runChecked(this.runner, 'nft', ['-f', '-'], { input: text });
    this.applied = text;
    const all = [...rules.ipv4, ...rules.ipv6];
    const shown = all.map((r) => `${r.protocol}/${r.nodePort}${r.clusterIP.includes(':') ? '/ipv6' : ''}`);
    this.log(`nodeports: ${all.length} ${shown.join(' ')}`.trim());
    // Only after the new rules are in: a flushed flow's next packet must meet them, not the old DNAT.
    const stales = [
      ...staleConntrackEntries(this.appliedRules.ipv4, rules.ipv4),
      ...staleConntrackEntries(this.appliedRules.ipv6, rules.ipv6),
    ];
    for (const stale of stales) {
      const r = await this.runner.run('conntrack', conntrackDeleteArgs(stale));
      // Exit 1 with "0 flow entries" is the usual case (no client had a flow): nothing to report.
      if (r.code !== 0 && !/0 flow entries/.test(r.stderr)) this.log(`nodeports: conntrack: ${r.stderr.trim()}`);
    }
    this.appliedRules = rules;
  }

  private async tablesExist(rules: NodePortRuleSet): Promise<boolean> {
    const families = rules.ipv6.length ? ['ip', 'ip6'] : ['ip'];
    for (const family of families) {
      if ((await this.runner.run('nft', ['list', 'table', family, NODEPORT_TABLE])).code !== 0) return false;
    }
    return true;
  }
}

/**
 * The agent's NodePort loop: Service and EndpointSlice informers (slices for `externalTrafficPolicy: Local`)
 * feeding a NodePortProgrammer; `start()` / `stop()`.
 */
export class NodePortWatcher {
  private readonly services: Informer<V1Service & KubeObject>;
  private readonly slices: Informer<V1EndpointSlice & KubeObject>;
  readonly programmer: NodePortProgrammer;

  /** `hasIpv6JoinAddress`: whether ycloud0 has an IPv6 address now (IPv6 rules only then); asked at each sync. */
  constructor(
    client: KubeClient,
    runner: CommandRunner,
    nodeName: string,
    log: (line: string) => void = () => undefined,
    hasIpv6JoinAddress: () => boolean = () => true,
  ) {
    const logger = Logger.silent();
    // Services of another proxy (or headless) get no NodePort here, as kube-proxy's informer filter does.
    this.services = new Informer<V1Service & KubeObject>(client, Resources.services, {
      logger,
      labelSelector: PROXIED_SERVICES_SELECTOR,
    });
    this.slices = new Informer<V1EndpointSlice & KubeObject>(client, Resources.endpointSlices, {
      logger,
      indexers: {
        service: (sl) => {
          const svc = sl.metadata?.labels?.[SERVICE_NAME_LABEL];
          return svc ? [`${sl.metadata?.namespace ?? ''}/${svc}`] : [];
        },
      },
    });
    const rules = (): NodePortRuleSet =>
      nodePortRuleSet(
        this.services.store.list(),
        { nodeName, slicesOf: (key) => this.slices.store.byIndex('service', key) },
        { ipv6: hasIpv6JoinAddress() },
      );
    this.programmer = new NodePortProgrammer(runner, rules, log);
    this.onChange(() => this.programmer.kick());
  }

  /** The Services this agent serves (informer cache). */
  serviceList(): V1Service[] {
    return this.services.store.list();
  }

  /** The EndpointSlices of a Service by `namespace/name`. */
  slicesOf(serviceKey: string): V1EndpointSlice[] {
    return this.slices.store.byIndex('service', serviceKey);
  }

  /** Calls `fn` on every Service or EndpointSlice change (after the caches are updated). */
  onChange(fn: () => void): void {
    this.services.addHandler({ onAdd: fn, onUpdate: fn, onDelete: fn });
    this.slices.addHandler({ onAdd: fn, onUpdate: fn, onDelete: fn });
  }

  synced(): boolean {
    return this.services.hasSynced() && this.slices.hasSynced();
  }

  async start(): Promise<void> {
    this.services.start();
    this.slices.start();
    await Promise.all([this.services.waitForSync(), this.slices.waitForSync()]);
    this.programmer.kick();
  }

  /** Re-checks the table (heals a flushed ruleset); for the agent's periodic tick. */
  resync(): void {
    if (this.synced()) this.programmer.kick();
  }

  async stop(): Promise<void> {
    await Promise.all([this.services.stop(), this.slices.stop()]);
    await this.programmer.idle();
  }
}
