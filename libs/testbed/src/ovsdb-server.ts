import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { OvnRelease } from './ovn-release';
import { Daemon, freePort, makeRunDir, run, runText, waitFor } from './process';

/** Environment that keeps OVS tools and daemons inside `dir` (never /var/run/openvswitch). */
export function ovsEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OVS_RUNDIR: dir,
    OVS_DBDIR: dir,
    OVS_LOGDIR: dir,
    OVS_SYSCONFDIR: dir,
    OVN_RUNDIR: dir,
    OVN_DBDIR: dir,
    OVN_LOGDIR: dir,
    OVN_SYSCONFDIR: dir,
  };
}

export interface OvsdbServerOptions {
  /** Path of the .ovsschema file. */
  schema: string;
  /** Directory for db, socket, log; a fresh run dir when omitted (removed again by stop()). */
  dir?: string;
  /** File stem for db/sock/log ("nb" -> nb.db, nb.sock); defaults to the schema name lowercased. */
  name?: string;
  /** Extra argv for ovsdb-server, placed before the db path. */
  extraArgs?: string[];
  readyTimeoutMs?: number;
  /** Release whose ovsdb-server runs (and whose schema path `schema` means); default: the test bed options'. */
  release?: OvnRelease;
}

export interface OvsdbServerHandle {
  /** `unix:/…/<name>.sock` */
  unixRemote: string;
  /** `tcp:127.0.0.1:<port>` */
  tcpRemote: string;
  /** Database name from the schema ("OVN_Northbound"). */
  dbName: string;
  dbPath: string;
  /** unixctl socket path, for `ovs-appctl -t`. */
  ctlPath: string;
  logPath: string;
  pid: number;
  stop(): Promise<void>;
}

interface ServerFiles {
  dir: string;
  name: string;
  dbPath: string;
  sockPath: string;
  ctlPath: string;
  logPath: string;
}

function filesFor(dir: string, name: string): ServerFiles {
  return {
    dir,
    name,
    dbPath: path.join(dir, `${name}.db`),
    sockPath: path.join(dir, `${name}.sock`),
    ctlPath: path.join(dir, `${name}.ctl`),
    logPath: path.join(dir, `${name}.log`),
  };
}

/** Spawns ovsdb-server on an existing db file; `tcpPort` 0 lets it pick (read back from its log). */
async function spawnServer(
  release: OvnRelease,
  f: ServerFiles,
  tcpPort: number,
  extraArgs: string[] = [],
): Promise<Daemon> {
  // ovsdb-server appends to its log: remember where this incarnation starts, to read *its* listening port.
  const [cmd, args] = release.command('ovsdb-server', [
    ...extraArgs,
    f.dbPath,
    `--remote=punix:${f.sockPath}`,
    `--remote=ptcp:${tcpPort}:127.0.0.1`,
    `--unixctl=${f.ctlPath}`,
    `--pidfile=${path.join(f.dir, `${f.name}.pid`)}`,
    `--log-file=${f.logPath}`,
    '-vconsole:off',
    '-vfile:info',
  ]);
  return Daemon.spawn({
    name: `ovsdb-server ${f.name}`,
    cmd,
    args,
    env: ovsEnv(f.dir),
    consoleLog: path.join(f.dir, `${f.name}.console`),
  });
}

async function logSize(file: string): Promise<number> {
  return (await fs.stat(file).catch(() => ({ size: 0 }))).size;
}

/** Port ovsdb-server reported for `ptcp:0` in its log, after byte offset `from`. */
async function listeningPort(logPath: string, from: number): Promise<number | undefined> {
  const text = (await fs.readFile(logPath, 'utf8').catch(() => '')).slice(from);
  // `|0:127.0.0.1:` exactly: a pssl:<port> remote logs `<port>:127.0.0.1: listening` too.
  const m = /\|0:127\.0\.0\.1: listening on port (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export async function schemaName(schema: string, release?: OvnRelease): Promise<string> {
  return runText(...(release ?? (await OvnRelease.resolve())).command('ovsdb-tool', ['schema-name', schema]));
}

/** Starts a standalone ovsdb-server from scratch; resolves once it answers `list-dbs` on its unix socket. */
export async function startOvsdbServer(opts: OvsdbServerOptions): Promise<OvsdbServerHandle> {
  const release = opts.release ?? (await OvnRelease.resolve());
  const dbName = await schemaName(opts.schema, release);
  const ownsDir = !opts.dir;
  const dir = opts.dir ?? (await makeRunDir());
  await fs.mkdir(dir, { recursive: true });
  const f = filesFor(dir, opts.name ?? dbName.toLowerCase());
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  await run(...release.command('ovsdb-tool', ['create', f.dbPath, opts.schema]));
  const from = await logSize(f.logPath);
  const daemon = await spawnServer(release, f, 0, opts.extraArgs);
  try {
    const port = await waitFor(
      `ovsdb-server ${f.name} to listen on tcp (log ${f.logPath})`,
      async () => {
        await daemon.assertRunning();
        return listeningPort(f.logPath, from);
      },
      { timeoutMs },
    );
    await waitFor(
      `ovsdb-server ${f.name} to serve ${dbName} on unix:${f.sockPath}`,
      async () => {
        await daemon.assertRunning();
        const out = await runText(
          ...release.command('ovsdb-client', ['--timeout=5', 'list-dbs', `unix:${f.sockPath}`]),
        );
        return out.split('\n').includes(dbName);
      },
      { timeoutMs },
    );
    return {
      unixRemote: `unix:${f.sockPath}`,
      tcpRemote: `tcp:127.0.0.1:${port}`,
      dbName,
      dbPath: f.dbPath,
      ctlPath: f.ctlPath,
      logPath: f.logPath,
      pid: daemon.pid,
      async stop() {
        await daemon.stop();
        if (ownsDir) await fs.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await daemon.kill();
    throw err;
  }
}

export interface OvsdbClusterOptions {
  schema: string;
  /** Number of members (3 for a real majority test). */
  size: number;
  dir?: string;
  /** File stem of each member's files; default schema name lowercased. */
  name?: string;
  readyTimeoutMs?: number;
  /** Release whose ovsdb-server runs; default: the test bed options'. */
  release?: OvnRelease;
}

export interface OvsdbClusterMember {
  index: number;
  unixRemote: string;
  tcpRemote: string;
  /** Raft address, `tcp:127.0.0.1:<port>`. */
  raftAddress: string;
  dbPath: string;
  ctlPath: string;
  /** Current pid, -1 while killed. */
  readonly pid: number;
  readonly running: boolean;
  /** SIGKILL the member (no clean shutdown); resolves once it is gone. */
  kill(): Promise<void>;
  /** Restart a killed member on the same ports and db file; resolves once it is back in the cluster. */
  start(): Promise<void>;
  /** `ovs-appctl cluster/status` text of this member. */
  clusterStatus(): Promise<string>;
}

export interface OvsdbClusterHandle {
  dbName: string;
  members: OvsdbClusterMember[];
  /** Comma-joined tcp remotes of all members (what a client gets as its remote list). */
  remotes: string;
  /** Comma-joined unix remotes. */
  unixRemotes: string;
  /** Index of the current leader among running members; waits (bounded) until one exists. */
  leaderIndex(timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/** Distinct free ports (the kernel could hand the same port out twice in a row once it is released). */
async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

class ClusterMember implements OvsdbClusterMember {
  private daemon?: Daemon;

  constructor(
    private readonly release: OvnRelease,
    readonly index: number,
    private readonly files: ServerFiles,
    private readonly dbName: string,
    private readonly clientPort: number,
    readonly raftAddress: string,
    private readonly readyTimeoutMs: number,
  ) {}

  get unixRemote(): string {
    return `unix:${this.files.sockPath}`;
  }
  get tcpRemote(): string {
    return `tcp:127.0.0.1:${this.clientPort}`;
  }
  get dbPath(): string {
    return this.files.dbPath;
  }
  get ctlPath(): string {
    return this.files.ctlPath;
  }
  get pid(): number {
    return this.daemon?.running ? this.daemon.pid : -1;
  }
  get running(): boolean {
    return !!this.daemon?.running;
  }

  clusterStatus(): Promise<string> {
    return runText(
      ...this.release.command('ovs-appctl', ['-T', '5', '-t', this.files.ctlPath, 'cluster/status', this.dbName]),
    );
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.daemon = await spawnServer(this.release, this.files, this.clientPort);
    await this.waitMember();
  }

  /** Ready = a cluster member that knows a leader (it has joined and a majority is up). */
  async waitMember(): Promise<void> {
    const d = this.daemon;
    if (!d) throw new Error(`cluster member ${this.index} not started`);
    await waitFor(
      `cluster member ${this.index} (${this.tcpRemote}) of ${this.dbName} to join and see a leader`,
      async () => {
        await d.assertRunning();
        const st = await this.clusterStatus();
        return /Status: cluster member/.test(st) && !/Leader: unknown/.test(st);
      },
      { timeoutMs: this.readyTimeoutMs },
    );
  }

  async startNoWait(): Promise<void> {
    this.daemon = await spawnServer(this.release, this.files, this.clientPort);
  }

  async kill(): Promise<void> {
    await this.daemon?.kill();
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
  }
}

/**
 * Starts a raft cluster of `size` ovsdb-servers on loopback: member 0 from `ovsdb-tool create-cluster`, the
 * others from `join-cluster`. Resolves once every member is a cluster member that knows the leader.
 */
export async function startOvsdbCluster(opts: OvsdbClusterOptions): Promise<OvsdbClusterHandle> {
  const release = opts.release ?? (await OvnRelease.resolve());
  const dbName = await schemaName(opts.schema, release);
  const ownsDir = !opts.dir;
  const dir = opts.dir ?? (await makeRunDir());
  const stem = opts.name ?? dbName.toLowerCase();
  const ports = await distinctFreePorts(opts.size * 2);
  const members: ClusterMember[] = [];
  for (let i = 0; i < opts.size; i++) {
    const mdir = path.join(dir, `${stem}-m${i}`);
    await fs.mkdir(mdir, { recursive: true });
    const files = filesFor(mdir, stem);
    const raft = `tcp:127.0.0.1:${ports[opts.size + i]}`;
    members.push(new ClusterMember(release, i, files, dbName, ports[i], raft, opts.readyTimeoutMs ?? 60_000));
  }
  const stopAll = async () => {
    await Promise.all(members.map((m) => m.stop()));
  };
  try {
    await run(
      ...release.command('ovsdb-tool', ['create-cluster', members[0].dbPath, opts.schema, members[0].raftAddress]),
    );
    for (const m of members.slice(1)) {
      await run(
        ...release.command('ovsdb-tool', ['join-cluster', m.dbPath, dbName, m.raftAddress, members[0].raftAddress]),
      );
    }
    for (const m of members) await m.startNoWait();
    for (const m of members) await m.waitMember();
  } catch (err) {
    await stopAll();
    throw err;
  }
  const handle: OvsdbClusterHandle = {
    dbName,
    members,
    remotes: members.map((m) => m.tcpRemote).join(','),
    unixRemotes: members.map((m) => m.unixRemote).join(','),
    async leaderIndex(timeoutMs = 30_000) {
      return waitFor(
        `a leader among running members of ${dbName}`,
        async () => {
          for (const m of members) {
            if (!m.running) continue;
            const st = await m.clusterStatus().catch(() => '');
            if (/Role: leader/.test(st)) return m.index;
          }
          return undefined;
        },
        { timeoutMs },
      );
    },
    async stop() {
      await stopAll();
      if (ownsDir) await fs.rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}
