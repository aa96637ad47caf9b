import { promises as fs } from 'node:fs';
import { ipIn, netnsAdd, netnsDel, netnsExec, netnsList } from './netns';
import { OvnCentral } from './ovn-central';
import { NetnsEndpoint, OvnNode } from './ovn-node';
import { OvnRelease } from './ovn-release';
import { ovnTrace, OvnTraceOptions } from './ovn-trace';
import { makeRunDir, runIdOf, TESTBED_PREFIX } from './process';
import { testbedOptions } from './testbed-options';

export interface SharedExternalNetworkOptions {
  /** The physical network name (`ovn-bridge-mappings`, localnet `network_name`). */
  network: string;
  /** Nodes with an uplink to it (their br-ex gets a veth to the shared bridge). */
  nodes: string[];
  /** A client on the network: its namespace (short name), address with prefix length, default gateway. */
  client: { netns: string; ip: string; gateway?: string; mac?: string };
}

export interface OvnTestbedOptions {
  /** Node names (OVN chassis names), e.g. ['node-1', 'node-2']. */
  nodes: string[];
  /** Nodes marked as gateway chassis (`ovn-cms-options=enable-chassis-as-gw`). */
  gatewayNodes?: string[];
  /** Run NB and SB as 3-member raft clusters. */
  clustered?: boolean;
  /** Underlay subnet prefix for Geneve tunnel IPs (node i gets <prefix>.<i+1>/24). */
  underlayPrefix?: string;
  /**
   * With it, each node also gets an IPv6 underlay address, node i `<prefix><i+1>/64` (e.g. `fd00:192:168:100::`):
   * a dual-stack node's IPv6 InternalIP. Geneve still tunnels over IPv4. Only with more than one node (one node
   * has no underlay).
   */
  underlayIpv6Prefix?: string;
  readyTimeoutMs?: number;
  /** The OVN / OVS release to run; default: the test bed options' (`YCLOUD_OVN`). */
  release?: OvnRelease;
  /** Copy the daemons' logs here when the bed stops; default: the test bed options' (`YCLOUD_TESTBED_KEEP_LOGS`). */
  keepLogsDir?: string;
}

/**
 * A whole OVN test bed: central (NB, SB, northd) and one simulated node per name, each a network namespace with
 * its own OVS and ovn-controller. With more than one node, nodes share an underlay (a Linux bridge in its own
 * namespace) and tunnel with Geneve.
 */
export class OvnTestbed {
  private constructor(
    readonly dir: string,
    readonly runId: string,
    readonly central: OvnCentral,
    private readonly nodes: Map<string, OvnNode>,
    private readonly underlayNetns: string | undefined,
    /** The OVN / OVS release this bed runs (`YCLOUD_OVN`). */
    readonly release: OvnRelease,
    private readonly keepLogsDir: string | undefined,
  ) {}

  static async start(opts: OvnTestbedOptions): Promise<OvnTestbed> {
    const release = opts.release ?? (await OvnRelease.resolve());
    const keepLogsDir = opts.keepLogsDir ?? testbedOptions().keepLogsDir;
    const dir = await makeRunDir();
    const runId = runIdOf(dir);
    const nodes = new Map<string, OvnNode>();
    let central: OvnCentral | undefined;
    let underlay: string | undefined;
    try {
      central = await OvnCentral.start({
        dir,
        clustered: opts.clustered,
        readyTimeoutMs: opts.readyTimeoutMs,
        release,
      });
      const multi = opts.nodes.length > 1;
      if (multi) {
        underlay = `${TESTBED_PREFIX}-${runId}-underlay`;
        await netnsAdd(underlay);
        await ipIn(underlay, 'link', 'add', 'ulbr', 'type', 'bridge');
        await ipIn(underlay, 'link', 'set', 'ulbr', 'up');
      }
      const prefix = opts.underlayPrefix ?? '192.168.100';
      for (const [i, name] of opts.nodes.entries()) {
        let ul: { iface: string; ipCidr: string; ipv6Cidr?: string } | undefined;
        if (underlay) {
          const nodeNs = `${TESTBED_PREFIX}-${runId}-${name}`;
          await netnsAdd(nodeNs);
          // veth: one end on the underlay bridge, the other in the node namespace (added to br-phy).
          await ipIn(underlay, 'link', 'add', `ul${i}`, 'type', 'veth', 'peer', 'name', 'eth-ul', 'netns', nodeNs);
          await ipIn(underlay, 'link', 'set', `ul${i}`, 'master', 'ulbr');
          await ipIn(underlay, 'link', 'set', `ul${i}`, 'up');
          ul = { iface: 'eth-ul', ipCidr: `${prefix}.${i + 1}/24` };
          if (opts.underlayIpv6Prefix) ul.ipv6Cidr = `${opts.underlayIpv6Prefix}${i + 1}/64`;
        }
        const node = await OvnNode.start({
          name,
          sbRemote: central.sbRemote,
          runDir: dir,
          runId,
          underlay: ul,
          readyTimeoutMs: opts.readyTimeoutMs,
          release,
        });
        nodes.set(name, node);
        if (opts.gatewayNodes?.includes(name)) {
          await node.ovsVsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-cms-options=enable-chassis-as-gw');
        }
      }
      return new OvnTestbed(dir, runId, central, nodes, underlay, release, keepLogsDir);
    } catch (err) {
      const bed = new OvnTestbed(dir, runId, central as OvnCentral, nodes, underlay, release, keepLogsDir);
      // Keep the files (logs) for the post-mortem; everything else goes.
      await bed.stop({ keepDir: true, noCentral: !central }).catch(() => undefined);
      (err as Error).message += ` (test bed files kept in ${dir}; ${release.description})`;
      throw err;
    }
  }

  /** The node named `name`; throws if there is none. */
  node(name: string): OvnNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name} in the test bed (have ${[...this.nodes.keys()].join(', ')})`);
    return n;
  }

  get nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  /** ovn-trace against this bed's SB. */
  trace(opts: Omit<OvnTraceOptions, 'sbRemote'>): Promise<string> {
    return ovnTrace({ ...opts, sbRemote: this.central.ctlRemote('sb'), release: this.release });
  }

  /**
   * One physical L2 network shared by several nodes, as a rack's external VLAN would be: a Linux bridge (MAC
   * learning, default ageing) in its own namespace, a veth uplink from each node's br-ex (mapped to `network`), and
   * a client namespace on the bridge. Unlike {@link OvnNode.attachExternalNetwork} (one node's br-ex only), a
   * gateway moving between these nodes has to make the bridge learn where its MACs went.
   */
  async addSharedExternalNetwork(opts: SharedExternalNetworkOptions): Promise<NetnsEndpoint> {
    const l2 = `${TESTBED_PREFIX}-${this.runId}-l2-${opts.network}`;
    await netnsAdd(l2);
    await ipIn(l2, 'link', 'add', 'xbr', 'type', 'bridge');
    await ipIn(l2, 'link', 'set', 'xbr', 'up');
    for (const [i, name] of opts.nodes.entries()) {
      const node = this.node(name);
      await ipIn(l2, 'link', 'add', `up${i}`, 'type', 'veth', 'peer', 'name', `x-${i}`, 'netns', node.netns);
      await ipIn(l2, 'link', 'set', `up${i}`, 'master', 'xbr');
      await ipIn(l2, 'link', 'set', `up${i}`, 'up');
      await noTxOffload(l2, `up${i}`);
      await noTxOffload(node.netns, `x-${i}`);
      await node.attachUplink(opts.network, `x-${i}`);
    }
    const client = `${TESTBED_PREFIX}-${this.runId}-${opts.client.netns}`;
    await netnsAdd(client);
    await netnsExec(client, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    await ipIn(l2, 'link', 'add', 'cl', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client);
    await ipIn(l2, 'link', 'set', 'cl', 'master', 'xbr');
    await ipIn(l2, 'link', 'set', 'cl', 'up');
    await noTxOffload(l2, 'cl');
    await noTxOffload(client, 'eth0');
    if (opts.client.mac) await ipIn(client, 'link', 'set', 'eth0', 'address', opts.client.mac);
    await ipIn(client, 'addr', 'add', opts.client.ip, 'dev', 'eth0');
    await ipIn(client, 'link', 'set', 'eth0', 'up');
    if (opts.client.gateway) await ipIn(client, 'route', 'add', 'default', 'via', opts.client.gateway);
    const mac = (await ipIn(client, '-br', 'link', 'show', 'eth0')).stdout.trim().split(/\s+/)[2];
    return new NetnsEndpoint(client, 'eth0', [opts.client.ip], mac);
  }

  /** The shared bridge's forwarding entry for `mac` (`bridge fdb`): which uplink (`up<i>`, i = index in nodes). */
  async sharedNetworkPortOf(network: string, mac: string): Promise<string | undefined> {
    const l2 = `${TESTBED_PREFIX}-${this.runId}-l2-${network}`;
    const out = (await netnsExec(l2, ['bridge', 'fdb', 'show', 'br', 'xbr'])).stdout;
    const line = out.split('\n').find((l) => l.toLowerCase().startsWith(`${mac.toLowerCase()} dev `));
    return line?.split(/\s+/)[2];
  }

  /**
   * Stops every process and removes every namespace and file of this bed. Keeps going after errors and throws
   * them together at the end.
   */
  async stop(opts: { keepDir?: boolean; noCentral?: boolean } = {}): Promise<void> {
    const errors: unknown[] = [];
    for (const node of [...this.nodes.values()].reverse()) {
      await node.stop().catch((e: unknown) => errors.push(e));
    }
    this.nodes.clear();
    if (this.underlayNetns) await netnsDel(this.underlayNetns).catch((e: unknown) => errors.push(e));
    // Namespaces made before a node finished starting (underlay veth ends) belong to no node object yet.
    for (const ns of await netnsList(`${TESTBED_PREFIX}-${this.runId}-`)) {
      await netnsDel(ns).catch((e: unknown) => errors.push(e));
    }
    if (!opts.noCentral) await this.central.stop().catch((e: unknown) => errors.push(e));
    await keepLogs(this.dir, this.runId, this.keepLogsDir).catch((e: unknown) => errors.push(e));
    if (!opts.keepDir && !errors.length) await fs.rm(this.dir, { recursive: true, force: true });
    if (errors.length) {
      const why = errors.map(String).join('; ');
      throw new Error(`test bed stop: ${why} (files kept in ${this.dir}; ${this.release.description})`);
    }
  }
}

/**
 * Checksums in software on a veth end: the kernel would otherwise hand ovs-vswitchd (userspace datapath, AF_PACKET)
 * TCP/UDP packets with only a partial checksum, and the receiver drops them.
 */
async function noTxOffload(netns: string, dev: string): Promise<void> {
  await netnsExec(netns, ['ethtool', '-K', dev, 'tx', 'off']);
}

/**
 * With a keep-logs directory `into` (YCLOUD_TESTBED_KEEP_LOGS), copies the bed's daemon logs (and the NB database,
 * whose transaction log `ovsdb-tool show-log` reads) to <into>/<run id> before the run directory goes: a CI failure
 * keeps its evidence.
 */
async function keepLogs(dir: string, runId: string, into: string | undefined): Promise<void> {
  if (!into) return;
  await fs.cp(dir, `${into}/${runId}`, {
    recursive: true,
    filter: async (src) => (await fs.stat(src)).isDirectory() || /\.(log|console)$|(^|\/)nb\.db$/.test(src),
  });
}
