import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { OvnRelease } from './ovn-release';
import { OvsdbClusterHandle, OvsdbServerHandle, ovsEnv, startOvsdbCluster, startOvsdbServer } from './ovsdb-server';
import { OvsdbPki, ovsTlsArgs } from './ovsdb-pki';
import { Daemon, freePort, makeRunDir, runText, sleep, waitFor } from './process';

/** Schema paths as the release's tools see them (inside its root filesystem when it has one). */
export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
export const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';

/** MAC OVN uses as source of LB health-check probes (NB_Global options:svc_monitor_mac). */
export const SVC_MONITOR_MAC = '0a:58:0a:ff:ff:fe';

export interface OvnCentralOptions {
  /** Parent directory; a fresh run dir when omitted (removed by stop()). */
  dir?: string;
  /** Run NB and SB as 3-member raft clusters instead of standalone servers. */
  clustered?: boolean;
  /**
   * Also serve NB and SB over mutual TLS (`pssl:` on 127.0.0.1, certificates from `tls.server`): `nbSslRemote`
   * and `sbSslRemote`. Standalone servers only.
   */
  tls?: OvsdbPki;
  readyTimeoutMs?: number;
  /** The OVN release to run; default: the test bed options' (`YCLOUD_OVN`). */
  release?: OvnRelease;
}

/**
 * OVN central: NB and SB ovsdb-servers plus ovn-northd, all real processes.
 * Remotes are comma-joined lists when clustered.
 */
export class OvnCentral {
  private constructor(
    readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly nb: OvsdbServerHandle | OvsdbClusterHandle,
    private readonly sb: OvsdbServerHandle | OvsdbClusterHandle,
    private readonly northd: Daemon,
    readonly northdCtl: string,
    /** The OVN / OVS release the daemons run from. */
    readonly release: OvnRelease,
    private readonly sslPorts?: { nb: number; sb: number },
  ) {}

  /** `ssl:127.0.0.1:<port>` of NB when started with `tls` (mutual TLS: clients need a certificate of its CA). */
  get nbSslRemote(): string {
    if (!this.sslPorts) throw new Error('OvnCentral was started without tls');
    return `ssl:127.0.0.1:${this.sslPorts.nb}`;
  }
  get sbSslRemote(): string {
    if (!this.sslPorts) throw new Error('OvnCentral was started without tls');
    return `ssl:127.0.0.1:${this.sslPorts.sb}`;
  }

  /** NB over unix socket(s) (unix sockets also work from inside other network namespaces). */
  get nbRemote(): string {
    return 'members' in this.nb ? this.nb.unixRemotes : this.nb.unixRemote;
  }
  get nbTcpRemote(): string {
    return 'members' in this.nb ? this.nb.remotes : this.nb.tcpRemote;
  }
  get sbRemote(): string {
    return 'members' in this.sb ? this.sb.unixRemotes : this.sb.unixRemote;
  }
  get sbTcpRemote(): string {
    return 'members' in this.sb ? this.sb.remotes : this.sb.tcpRemote;
  }
  /** The cluster handles when started with `clustered: true` (to kill members in failover tests). */
  get nbCluster(): OvsdbClusterHandle | undefined {
    return 'members' in this.nb ? this.nb : undefined;
  }
  get sbCluster(): OvsdbClusterHandle | undefined {
    return 'members' in this.sb ? this.sb : undefined;
  }
  get northdPid(): number {
    return this.northd.pid;
  }

  static async start(opts: OvnCentralOptions = {}): Promise<OvnCentral> {
    const ownsDir = !opts.dir;
    const dir = opts.dir ? path.join(opts.dir, 'central') : await makeRunDir();
    await fs.mkdir(dir, { recursive: true });
    const timeout = opts.readyTimeoutMs ?? 60_000;
    const release = opts.release ?? (await OvnRelease.resolve());
    const started: Array<{ stop(): Promise<void> }> = [];
    try {
      await fs.writeFile(path.join(dir, 'release.log'), `${release.description}\n`);
      if (opts.tls && opts.clustered) throw new Error('OvnCentral: tls is for standalone servers only');
      const sslPorts = opts.tls ? { nb: await freePort(), sb: await freePort() } : undefined;
      const sslArgs = (port?: number) =>
        opts.tls && port ? [...ovsTlsArgs(opts.tls.server), `--remote=pssl:${port}:127.0.0.1`] : undefined;
      const startDb = (schema: string, name: string, sslPort?: number) =>
        opts.clustered
          ? startOvsdbCluster({ schema, size: 3, dir, name, readyTimeoutMs: timeout, release })
          : startOvsdbServer({ schema, dir, name, readyTimeoutMs: timeout, release, extraArgs: sslArgs(sslPort) });
      const nb = await startDb(NB_SCHEMA, 'nb', sslPorts?.nb);
      started.push(nb);
      const sb = await startDb(SB_SCHEMA, 'sb', sslPorts?.sb);
      started.push(sb);
      const unix = (h: OvsdbServerHandle | OvsdbClusterHandle) => ('members' in h ? h.unixRemotes : h.unixRemote);
      await runText(...release.command('ovn-nbctl', ['--db', unix(nb), '--timeout=20', 'init']));
      await runText(...release.command('ovn-sbctl', ['--db', unix(sb), '--timeout=20', 'init']));
      // svc_monitor_mac: health checks need it; a short probe interval is pointless on unix sockets.
      await runText(
        ...release.command('ovn-nbctl', [
          '--db',
          unix(nb),
          '--timeout=20',
          'set',
          'NB_Global',
          '.',
          `options:svc_monitor_mac="${SVC_MONITOR_MAC}"`,
          'options:northd_probe_interval=0',
          'options:mac_prefix="0a:58:0a"',
        ]),
      );
      const ctl = path.join(dir, 'northd.ctl');
      const [cmd, args] = release.command('ovn-northd', [
        `--ovnnb-db=${unix(nb)}`,
        `--ovnsb-db=${unix(sb)}`,
        `--unixctl=${ctl}`,
        `--pidfile=${path.join(dir, 'northd.pid')}`,
        `--log-file=${path.join(dir, 'northd.log')}`,
        '-vconsole:off',
        '-vfile:info',
      ]);
      const northd = await Daemon.spawn({
        name: 'ovn-northd',
        cmd,
        args,
        env: ovsEnv(dir),
        consoleLog: path.join(dir, 'northd.console'),
      });
      started.push(northd);
      await waitFor(
        `ovn-northd to become active (log ${path.join(dir, 'northd.log')})`,
        async () => {
          await northd.assertRunning();
          return /Status: active/.test(
            await runText(...release.command('ovn-appctl', ['-T', '5', '-t', ctl, 'status'])),
          );
        },
        { timeoutMs: timeout },
      );
      return new OvnCentral(dir, ownsDir, nb, sb, northd, ctl, release, sslPorts);
    } catch (err) {
      for (const s of started.reverse()) await s.stop().catch(() => undefined);
      (err as Error).message += ` (${release.description})`;
      throw err;
    }
  }

  /**
   * Remote for one-shot tools (ovn-nbctl, ovn-sbctl, ovn-trace): only running members, because these tools give
   * up ("database connection failed") when the member they try first refuses the connection.
   */
  ctlRemote(db: 'nb' | 'sb'): string {
    const h = db === 'nb' ? this.nb : this.sb;
    if (!('members' in h)) return h.unixRemote;
    return h.members
      .filter((m) => m.running)
      .map((m) => m.unixRemote)
      .join(',');
  }

  /** `ovn-nbctl --db=<nb> …` returning trimmed stdout. */
  nbctl(...args: string[]): Promise<string> {
    return this.ctl('ovn-nbctl', 'nb', args);
  }

  /** Adds LSP `lsp` on switch `sw` as the peer of router port `lrp` (type router); `extra`: more nbctl commands. */
  addRouterLsp(sw: string, lsp: string, lrp: string, ...extra: string[]): Promise<string> {
    return this.nbctl(
      ...['lsp-add', sw, lsp, '--', 'lsp-set-type', lsp, 'router', '--', 'lsp-set-addresses', lsp, 'router'],
      ...['--', 'lsp-set-options', lsp, `router-port=${lrp}`, ...extra],
    );
  }

  /** Adds a localnet LSP on switch `sw` for the physical network `network` (see OvnNode.attachExternalNetwork). */
  addLocalnetLsp(sw: string, lsp: string, network: string): Promise<string> {
    return this.nbctl(
      ...['lsp-add', sw, lsp, '--', 'lsp-set-type', lsp, 'localnet', '--', 'lsp-set-addresses', lsp, 'unknown'],
      ...['--', 'lsp-set-options', lsp, `network_name=${network}`],
    );
  }

  /** `ovn-sbctl --db=<sb> …` returning trimmed stdout. */
  sbctl(...args: string[]): Promise<string> {
    return this.ctl('ovn-sbctl', 'sb', args);
  }

  /**
   * During a raft election ovn-nbctl exits at once with "database connection failed" instead of waiting for a
   * leader: retry that (bounded, 30 s); any other failure is thrown as is.
   */
  private async ctl(tool: string, db: 'nb' | 'sb', args: string[]): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await runText(...this.release.command(tool, ['--db', this.ctlRemote(db), '--timeout=30', ...args]), {
          timeoutMs: 40_000,
        });
      } catch (err) {
        const retry = /database connection failed/.test((err as Error).message) && Date.now() < deadline;
        if (!retry) throw err;
        await sleep(250);
      }
    }
  }

  /** Waits until northd has processed every NB change so far (`ovn-nbctl --wait=sb sync`). */
  async syncSb(): Promise<void> {
    await this.nbctl('--wait=sb', 'sync');
  }

  async stop(): Promise<void> {
    await this.northd.stop();
    await this.sb.stop();
    await this.nb.stop();
    if (this.ownsDir) await fs.rm(this.dir, { recursive: true, force: true });
  }
}
