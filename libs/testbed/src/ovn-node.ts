import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ipIn, netnsAdd, netnsDel, netnsExec, netnsExecText } from './netns';
import { OvnRelease } from './ovn-release';
import { OvsdbServerHandle, ovsEnv, startOvsdbServer } from './ovsdb-server';
import { Daemon, run, RunOptions, RunResult, runText, TESTBED_PREFIX, waitFor } from './process';

export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface OvnNodeOptions {
  /** Node name; also the OVN chassis system-id. */
  name: string;
  /** SB remote for ovn-controller (a unix socket works across network namespaces). */
  sbRemote: string;
  /** Parent run directory (the node gets `<runDir>/<name>`). */
  runDir: string;
  /** Short run id used in namespace names: `ycn-<runId>-<name>`. */
  runId: string;
  /**
   * Underlay for Geneve: the node's end of a veth (already in the node namespace) and the tunnel IP with prefix.
   * Without it the node tunnels from 127.0.0.1 (fine for a single node). `ipv6Cidr`: a second, IPv6 address on
   * the underlay (a dual-stack node's IPv6 InternalIP); Geneve still tunnels over IPv4.
   */
  underlay?: { iface: string; ipCidr: string; ipv6Cidr?: string };
  readyTimeoutMs?: number;
  /** The OVN / OVS release to run; default: the test bed options' (`YCLOUD_OVN`). */
  release?: OvnRelease;
}

export interface PlugPodOptions {
  /** Pod namespace name; prefixed with `ycn-<runId>-` unless it already starts with `ycn-`. */
  netns: string;
  /** Logical_Switch_Port name (`external_ids:iface-id`). The LSP must exist (now or within the timeout). */
  ifaceId: string;
  mac: string;
  /** Addresses with prefix length, e.g. ['10.0.0.5/24']. */
  ips: string[];
  /** Default gateway (the logical router port IP), optional. */
  gateway?: string;
  /** Wait for `external_ids:ovn-installed=true` (default true). */
  waitInstalled?: boolean;
  timeoutMs?: number;
}

/** A network namespace the test bed created, with its interface; `exec` runs commands inside it. */
export class NetnsEndpoint {
  constructor(
    readonly netns: string,
    /** Interface name inside the namespace (also the OVS port name). */
    readonly ifname: string,
    readonly ips: string[],
    readonly mac: string,
  ) {}

  /** First IP without prefix length. */
  get ip(): string {
    return this.ips[0].split('/')[0];
  }

  exec(cmd: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return netnsExec(this.netns, cmd, opts);
  }

  execText(cmd: readonly string[], opts: RunOptions = {}): Promise<string> {
    return netnsExecText(this.netns, cmd, opts);
  }
}

export type PodEndpoint = NetnsEndpoint & { ifaceId?: string };

/**
 * A simulated Kubernetes node: a network namespace with its own Open_vSwitch ovsdb-server, ovs-vswitchd
 * (userspace datapath) and ovn-controller, each with run/db/log files under `<runDir>/<name>`.
 */
export class OvnNode {
  private portSeq = 0;
  private readonly pods = new Map<string, { endpoint: NetnsEndpoint; port: string }>();
  private readonly externals: NetnsEndpoint[] = [];

  private constructor(
    readonly name: string,
    /** The node's network namespace. */
    readonly netns: string,
    readonly dir: string,
    private readonly runId: string,
    private readonly confDb: OvsdbServerHandle,
    private vswitchd: Daemon,
    private controller: Daemon,
    /** Tunnel (Geneve) endpoint IP. */
    readonly encapIp: string,
    /** The underlay addresses on br-phy (a tap device of ovs-vswitchd: they go when vswitchd goes). */
    private readonly underlayCidrs: string[],
    /** The OVN / OVS release the node's daemons run from. */
    readonly release: OvnRelease,
  ) {}

  /** The node's IPv6 address on the underlay (`underlay.ipv6Cidr`, without prefix length), if it has one. */
  get underlayIp6(): string | undefined {
    return this.underlayCidrs.find((c) => c.includes(':'))?.split('/')[0];
  }

  /** Open_vSwitch db remote of this node. */
  get ovsRemote(): string {
    return this.confDb.unixRemote;
  }
  get pids(): number[] {
    return [this.confDb.pid, this.vswitchd.pid, this.controller.pid];
  }

  static async start(opts: OvnNodeOptions): Promise<OvnNode> {
    const dir = path.join(opts.runDir, opts.name);
    await fs.mkdir(dir, { recursive: true });
    const netns = `${TESTBED_PREFIX}-${opts.runId}-${opts.name}`;
    const timeoutMs = opts.readyTimeoutMs ?? 60_000;
    const release = opts.release ?? (await OvnRelease.resolve());
    const env = ovsEnv(dir);
    const cleanup: Array<() => Promise<void>> = [];
    const undo = async () => {
      for (const c of cleanup.reverse()) await c().catch(() => undefined);
    };
    try {
      // A node namespace only exists if the caller created it for the underlay veth; otherwise create it.
      const existing = await run('ip', ['netns', 'pids', netns], { allowFailure: true });
      if (existing.code !== 0) await netnsAdd(netns);
      cleanup.push(() => netnsDel(netns));
      const confDb = await startOvsdbServer({
        schema: VSWITCH_SCHEMA,
        dir,
        name: 'conf',
        readyTimeoutMs: timeoutMs,
        release,
      });
      cleanup.push(() => confDb.stop());
      const vsctl = (...a: string[]) =>
        runText(...release.command('ovs-vsctl', [`--db=${confDb.unixRemote}`, '--timeout=30', ...a]), {
          env,
          timeoutMs: 40_000,
        });
      await vsctl('--no-wait', 'init');
      // ovs-vswitchd runs inside the node namespace: its tap devices and its routing table (used for
      // userspace tunnelling) are the node's.
      const daemons = { release, name: opts.name, netns, dir, confRemote: confDb.unixRemote, env };
      const vswitchd = await spawnVswitchd(daemons, timeoutMs, cleanup);
      let encapIp = '127.0.0.1';
      if (opts.underlay) {
        encapIp = opts.underlay.ipCidr.split('/')[0];
        // Userspace tunnelling: the tunnel IP must sit on an OVS netdev bridge that holds the underlay port, so
        // that vswitchd's tunnel routing (ovs-router, from the node's routes) and ARP snooping find it.
        await vsctl(
          'add-br',
          'br-phy',
          '--',
          'set',
          'Bridge',
          'br-phy',
          'datapath_type=netdev',
          '--',
          'add-port',
          'br-phy',
          opts.underlay.iface,
        );
        await waitFor(
          `br-phy tap device in ${netns}`,
          async () => (await ipIn(netns, 'link', 'show', 'br-phy')) && true,
          {
            timeoutMs,
          },
        );
        await ipIn(netns, 'addr', 'add', opts.underlay.ipCidr, 'dev', 'br-phy');
        if (opts.underlay.ipv6Cidr) await addUnderlayIpv6(netns, opts.underlay.ipv6Cidr);
        await ipIn(netns, 'link', 'set', 'br-phy', 'up');
        await ipIn(netns, 'link', 'set', opts.underlay.iface, 'up');
      }

      await vsctl(
        '--may-exist',
        'add-br',
        'br-int',
        '--',
        'set',
        'Bridge',
        'br-int',
        'datapath_type=netdev',
        'fail-mode=secure',
        'other-config:disable-in-band=true',
      );
      await vsctl(
        'set',
        'Open_vSwitch',
        '.',
        `external_ids:system-id=${opts.name}`,
        `external_ids:hostname=${opts.name}`,
        `external_ids:ovn-remote="${opts.sbRemote}"`,
        'external_ids:ovn-encap-type=geneve',
        `external_ids:ovn-encap-ip=${encapIp}`,
        'external_ids:ovn-bridge-datapath-type=netdev',
        'external_ids:ovn-remote-probe-interval=0',
      );
      const controller = await spawnOvnController(daemons, cleanup);
      await waitFor(
        `chassis ${opts.name} to register in SB (log ${path.join(dir, 'controller.log')})`,
        async () => {
          await controller.assertRunning();
          const out = await runText(
            ...release.command('ovn-sbctl', [
              `--db=${opts.sbRemote}`,
              '--timeout=5',
              '--bare',
              '--columns=name',
              'find',
              'Chassis',
              `name=${opts.name}`,
            ]),
          );
          return out === opts.name;
        },
        { timeoutMs },
      );
      return new OvnNode(
        opts.name,
        netns,
        dir,
        opts.runId,
        confDb,
        vswitchd,
        controller,
        encapIp,
        [opts.underlay?.ipCidr, opts.underlay?.ipv6Cidr].filter((c): c is string => !!c),
        release,
      );
    } catch (err) {
      await undo();
      throw err;
    }
  }

  private get env(): NodeJS.ProcessEnv {
    return ovsEnv(this.dir);
  }

  /** `ovs-vsctl` against this node's Open_vSwitch db; returns trimmed stdout. */
  ovsVsctl(...args: string[]): Promise<string> {
    return runText(...this.release.command('ovs-vsctl', [`--db=${this.confDb.unixRemote}`, '--timeout=30', ...args]), {
      env: this.env,
      timeoutMs: 40_000,
    });
  }

  /** `ovs-ofctl` on a bridge of this node (`ofctl('dump-flows', 'br-int')`). */
  ofctl(...args: string[]): Promise<string> {
    // ovs-ofctl reaches the bridge through <OVS_RUNDIR>/<bridge>.mgmt, which env points at this node.
    return runText(...this.release.command('ovs-ofctl', ['-O', 'OpenFlow15', ...args]), {
      env: this.env,
      timeoutMs: 40_000,
    });
  }

  /** `ovs-appctl` to ovs-vswitchd (target 'vswitchd', default) or ovn-controller ('controller'). */
  appctl(target: 'vswitchd' | 'controller', ...args: string[]): Promise<string> {
    // ovn-controller 23.03 has no --unixctl: its socket is <OVN_RUNDIR>/ovn-controller.<pid>.ctl.
    const tool = target === 'controller' ? 'ovn-appctl' : 'ovs-appctl';
    const ctl = target === 'controller' ? `ovn-controller.${this.controller.pid}.ctl` : 'vswitchd.ctl';
    return runText(...this.release.command(tool, ['-T', '20', '-t', path.join(this.dir, ctl), ...args]), {
      env: this.env,
      timeoutMs: 30_000,
    });
  }

  /** Full namespace name for a short pod/external namespace name. */
  netnsName(short: string): string {
    return short.startsWith(`${TESTBED_PREFIX}-`) ? short : `${TESTBED_PREFIX}-${this.runId}-${short}`;
  }

  /** Creates an OVS internal port on `bridge`, moves it into a fresh namespace and configures it. */
  private async plugInternal(
    bridge: string,
    netns: string,
    mac: string,
    ips: string[],
    gateway: string | undefined,
    extra: string[],
  ): Promise<NetnsEndpoint> {
    const port = `yc${this.name.replace(/[^a-z0-9]/gi, '').slice(-4)}p${++this.portSeq}`.slice(0, 15);
    await netnsAdd(netns);
    try {
      // IPv6 autoconf/DAD traffic only adds noise to flows and traces.
      await netnsExec(netns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      await this.ovsVsctl(
        'add-port',
        bridge,
        port,
        '--',
        'set',
        'Interface',
        port,
        'type=internal',
        `mac="${mac}"`,
        ...extra,
      );
      await waitFor(
        `tap device ${port} in ${this.netns}`,
        async () => (await ipIn(this.netns, 'link', 'show', port)) && true,
        {
          timeoutMs: 20_000,
        },
      );
      await ipIn(this.netns, 'link', 'set', port, 'netns', netns);
      await ipIn(netns, 'link', 'set', port, 'address', mac);
      for (const ip of ips) await ipIn(netns, 'addr', 'add', ip, 'dev', port);
      await ipIn(netns, 'link', 'set', port, 'up');
      if (gateway) await ipIn(netns, 'route', 'add', 'default', 'via', gateway, 'dev', port);
      return new NetnsEndpoint(netns, port, ips, mac);
    } catch (err) {
      await this.ovsVsctl('--if-exists', 'del-port', port).catch(() => undefined);
      await netnsDel(netns);
      throw err;
    }
  }

  /**
   * Plugs a pod: fresh namespace, OVS internal port on br-int with `external_ids:iface-id=<ifaceId>`, moved into
   * the namespace with MAC/IPs/default route; waits for ovn-controller's `ovn-installed=true`.
   */
  async plugPod(opts: PlugPodOptions): Promise<NetnsEndpoint> {
    const netns = this.netnsName(opts.netns);
    const ep = await this.plugInternal('br-int', netns, opts.mac, opts.ips, opts.gateway, [
      `external_ids:iface-id=${opts.ifaceId}`,
    ]);
    this.pods.set(opts.ifaceId, { endpoint: ep, port: ep.ifname });
    if (opts.waitInstalled ?? true) {
      await waitFor(
        `ovn-installed=true on ${ep.ifname} (LSP ${opts.ifaceId}) on ${this.name}; does the LSP exist?`,
        async () =>
          (await this.ovsVsctl('--if-exists', 'get', 'Interface', ep.ifname, 'external_ids:ovn-installed')) ===
          '"true"',
        { timeoutMs: opts.timeoutMs ?? 60_000 },
      );
    }
    return ep;
  }

  /** Removes the pod's OVS port and namespace. */
  async unplugPod(ifaceId: string): Promise<void> {
    const pod = this.pods.get(ifaceId);
    if (!pod) return;
    await this.ovsVsctl('--if-exists', 'del-port', pod.port);
    await netnsDel(pod.endpoint.netns);
    this.pods.delete(ifaceId);
  }

  /**
   * Attaches a namespace to a physical network: bridge `br-ex` (netdev) mapped with
   * `ovn-bridge-mappings=<network>:br-ex`, and an internal port of br-ex moved into the namespace.
   * OVN reaches it through a `localnet` LSP with `options:network_name=<network>`.
   */
  async attachExternalNetwork(opts: {
    network: string;
    netns: string;
    /** Address with prefix length, e.g. '172.16.0.100/24'. */
    ip: string;
    gateway?: string;
    mac?: string;
    bridge?: string;
  }): Promise<NetnsEndpoint> {
    const bridge = opts.bridge ?? 'br-ex';
    await this.mapNetwork(opts.network, bridge);
    const mac = opts.mac ?? `0a:58:ac:${randomByte()}:${randomByte()}:${randomByte()}`;
    const ep = await this.plugInternal(bridge, this.netnsName(opts.netns), mac, [opts.ip], opts.gateway, []);
    this.externals.push(ep);
    return ep;
  }

  /**
   * Makes the node look dead to the network: SIGKILL ovn-controller and ovs-vswitchd (no graceful exit, so the
   * Chassis stays in SB, as after a power cut). Its datapath, BFD and tap devices go with vswitchd; pods plugged
   * into it lose their interfaces, so kill only nodes without pods. {@link restartDatapath} brings it back.
   */
  async killDatapath(): Promise<void> {
    await this.controller.kill();
    await this.vswitchd.kill();
  }

  /** Whether ovn-controller and ovs-vswitchd are both running. */
  get datapathRunning(): boolean {
    return this.controller.running && this.vswitchd.running;
  }

  /**
   * Starts ovs-vswitchd and ovn-controller again on the node's existing Open_vSwitch db (bridges, ports and
   * bridge mappings are kept there), restores the underlay address on br-phy and waits until ovn-controller is
   * connected to SB.
   */
  async restartDatapath(timeoutMs = 60_000): Promise<void> {
    if (this.datapathRunning) return;
    await this.controller.kill();
    await this.vswitchd.kill();
    const daemons = {
      release: this.release,
      name: this.name,
      netns: this.netns,
      dir: this.dir,
      confRemote: this.ovsRemote,
      env: this.env,
    };
    this.vswitchd = await spawnVswitchd(daemons, timeoutMs);
    if (this.underlayCidrs.length) {
      await waitFor(
        `br-phy tap device in ${this.netns}`,
        async () => (await ipIn(this.netns, 'link', 'show', 'br-phy')) && true,
        {
          timeoutMs,
        },
      );
      for (const cidr of this.underlayCidrs) {
        if (cidr.includes(':')) await addUnderlayIpv6(this.netns, cidr);
        else await ipIn(this.netns, 'addr', 'replace', cidr, 'dev', 'br-phy');
      }
      await ipIn(this.netns, 'link', 'set', 'br-phy', 'up');
    }
    this.controller = await spawnOvnController(daemons);
    await waitFor(
      `ovn-controller of ${this.name} to connect to SB after a restart`,
      async () => {
        await this.controller.assertRunning();
        return (await this.appctl('controller', 'connection-status')) === 'connected';
      },
      { timeoutMs },
    );
  }

  /**
   * Plugs `iface` (a device already in the node namespace, e.g. a veth end) into `bridge` (default br-ex, netdev)
   * and maps `network` to that bridge (`ovn-bridge-mappings`): the node's uplink to a shared physical network.
   */
  async attachUplink(network: string, iface: string, bridge = 'br-ex'): Promise<void> {
    await this.mapNetwork(network, bridge);
    await this.ovsVsctl('--may-exist', 'add-port', bridge, iface);
    await ipIn(this.netns, 'link', 'set', iface, 'up');
  }

  /** Creates `bridge` (netdev) if needed and maps `network` to it in `ovn-bridge-mappings`. */
  private async mapNetwork(network: string, bridge: string): Promise<void> {
    await this.ovsVsctl('--may-exist', 'add-br', bridge, '--', 'set', 'Bridge', bridge, 'datapath_type=netdev');
    const current = await this.ovsVsctl('--if-exists', 'get', 'Open_vSwitch', '.', 'external_ids:ovn-bridge-mappings');
    const mappings = current
      .replace(/"/g, '')
      .split(',')
      .filter((m) => m && !m.startsWith(`${network}:`));
    mappings.push(`${network}:${bridge}`);
    await this.ovsVsctl('set', 'Open_vSwitch', '.', `external_ids:ovn-bridge-mappings="${mappings.join(',')}"`);
  }

  /** Stops ovn-controller, ovs-vswitchd and the conf db, then removes pod/external namespaces and its own. */
  async stop(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<void>) => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
      }
    };
    await attempt(() => this.controller.stop());
    await attempt(() => this.vswitchd.stop());
    await attempt(() => this.confDb.stop());
    for (const { endpoint } of this.pods.values()) await attempt(() => netnsDel(endpoint.netns));
    for (const ep of this.externals) await attempt(() => netnsDel(ep.netns));
    this.pods.clear();
    await attempt(() => netnsDel(this.netns));
    if (errors.length) throw new Error(`stopping node ${this.name}: ${errors.map(String).join('; ')}`);
  }
}

/** What starting one of a node's daemons needs. */
interface NodeDaemonContext {
  release: OvnRelease;
  name: string;
  netns: string;
  dir: string;
  confRemote: string;
  env: NodeJS.ProcessEnv;
}

/**
 * One of a node's daemons (`program`, files `<stem>.pid`/`.log`/`.console` in `dir`) inside the node namespace, so
 * its tap devices and routing table are the node's. Registered in `cleanup` when given.
 */
async function spawnNodeDaemon(
  program: 'ovs-vswitchd' | 'ovn-controller',
  stem: string,
  extraArgs: string[],
  node: NodeDaemonContext,
  cleanup?: Array<() => Promise<void>>,
): Promise<Daemon> {
  const { dir } = node;
  const [cmd, args] = node.release.commandInNetns(node.netns, program, [
    node.confRemote,
    ...extraArgs,
    `--pidfile=${path.join(dir, `${stem}.pid`)}`,
    `--log-file=${path.join(dir, `${stem}.log`)}`,
    '-vconsole:off',
    '-vfile:info',
  ]);
  const daemon = await Daemon.spawn({
    name: `${program} ${node.name}`,
    cmd,
    args,
    env: node.env,
    consoleLog: path.join(dir, `${stem}.console`),
  });
  cleanup?.push(() => daemon.stop());
  return daemon;
}

/** ovs-vswitchd of a node, once it answers on its unixctl socket. */
async function spawnVswitchd(
  node: NodeDaemonContext,
  timeoutMs: number,
  cleanup?: Array<() => Promise<void>>,
): Promise<Daemon> {
  const ctl = path.join(node.dir, 'vswitchd.ctl');
  const vswitchd = await spawnNodeDaemon('ovs-vswitchd', 'vswitchd', [`--unixctl=${ctl}`], node, cleanup);
  await waitFor(
    `ovs-vswitchd of ${node.name} to answer on its unixctl socket`,
    async () => {
      await vswitchd.assertRunning();
      await runText(...node.release.command('ovs-appctl', ['-T', '5', '-t', ctl, 'version']));
      return true;
    },
    { timeoutMs },
  );
  return vswitchd;
}

/** ovn-controller of a node (not waited for). */
async function spawnOvnController(node: NodeDaemonContext, cleanup?: Array<() => Promise<void>>): Promise<Daemon> {
  return spawnNodeDaemon('ovn-controller', 'controller', [], node, cleanup);
}

function randomByte(): string {
  return Math.floor(Math.random() * 256)
    .toString(16)
    .padStart(2, '0');
}

/** An IPv6 address on br-phy, usable at once (no duplicate address detection), IPv6 switched on for br-phy. */
async function addUnderlayIpv6(netns: string, cidr: string): Promise<void> {
  await netnsExec(netns, ['sysctl', '-qw', 'net.ipv6.conf.br-phy.disable_ipv6=0']);
  await ipIn(netns, 'addr', 'replace', cidr, 'dev', 'br-phy', 'nodad');
}
