import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { netnsDel, netnsList } from './netns';
import { isAlive, processStartTime, run, runText, sleep, TESTBED_PREFIX } from './process';

export interface LeakedProcess {
  pid: number;
  cmdline: string;
}

export interface TestbedLeaks {
  /** Processes whose command line names a run directory (ovsdb-server, ovs-vswitchd, ovn-controller, …). */
  processes: LeakedProcess[];
  /** Network namespaces with the prefix (or of the given run). */
  netns: string[];
  /** OVS bridges / tap devices left in the host namespace (our daemons create them only in node namespaces). */
  devices: string[];
  /** Run directories still on disk. */
  dirs: string[];
}

export interface LeakScope {
  /** Only this run directory (`bed.dir`); default: every run with the prefix. */
  runDir?: string;
  prefix?: string;
}

/** Device names the test bed's OVS creates (inside node namespaces; seeing one in the host is a leak). */
const OVS_DEVICE = /^(br-int|br-ex|br-phy|ovs-netdev|genev_sys_\d+|yc\w*p\d+)$/;

async function processes(): Promise<LeakedProcess[]> {
  const out: LeakedProcess[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const raw = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (raw) out.push({ pid, cmdline: raw.replace(/\0+$/, '').replace(/\0/g, ' ') });
  }
  return out;
}

function runIdFromDir(dir: string, prefix: string): string {
  return path.basename(dir).slice(prefix.length + 1);
}

/** Lists what the test bed left behind: processes, namespaces, host devices and run directories. */
export async function listLeaks(scope: LeakScope = {}): Promise<TestbedLeaks> {
  const prefix = scope.prefix ?? TESTBED_PREFIX;
  const dirTag = scope.runDir ? scope.runDir : path.join(os.tmpdir(), `${prefix}-`);
  const nsTag = scope.runDir ? `${prefix}-${runIdFromDir(scope.runDir, prefix)}-` : `${prefix}-`;
  const procs = (await processes()).filter((p) => p.cmdline.includes(dirTag) || p.cmdline.includes(` ${nsTag}`));
  const netns = await netnsList(nsTag);
  const links = await runText('ip', ['-o', 'link', 'show']);
  const devices = links
    .split('\n')
    .map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1] ?? '')
    .filter((n) => OVS_DEVICE.test(n));
  const dirs = scope.runDir
    ? await fs
        .stat(scope.runDir)
        .then(() => [scope.runDir as string])
        .catch(() => [])
    : (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith(`${prefix}-`)).map((n) => path.join(os.tmpdir(), n));
  return { processes: procs, netns, devices, dirs };
}

/** True when nothing at all is listed. */
export function isClean(leaks: TestbedLeaks): boolean {
  return !leaks.processes.length && !leaks.netns.length && !leaks.devices.length && !leaks.dirs.length;
}

/** A run directory's owner is alive when its recorded pid runs with the recorded start time. */
async function ownerAlive(dir: string): Promise<boolean | undefined> {
  const owner = await fs.readFile(path.join(dir, 'owner'), 'utf8').catch(() => undefined);
  if (owner === undefined) return undefined;
  const [pidText, start] = owner.trim().split(' ');
  const pid = Number(pidText);
  if (!pid || !isAlive(pid)) return false;
  return !start || (await processStartTime(pid)) === start;
}

/**
 * Removes leftovers of crashed runs: for every `/tmp/<prefix>-*` directory whose owner process is gone, kills the
 * processes naming it, deletes its namespaces and the directory. Runs of live processes (other engineers' tests
 * in parallel) are left alone, as are directories without an owner file. Namespaces with the prefix whose run
 * directory no longer exists are deleted too. Returns what was removed.
 */
export async function cleanupStale(prefix: string = TESTBED_PREFIX): Promise<TestbedLeaks> {
  const removed: TestbedLeaks = { processes: [], netns: [], devices: [], dirs: [] };
  const tmp = os.tmpdir();
  const staleIds = new Set<string>();
  for (const name of await fs.readdir(tmp)) {
    if (!name.startsWith(`${prefix}-`)) continue;
    if ((await ownerAlive(path.join(tmp, name))) === false) staleIds.add(runIdFromDir(name, prefix));
  }
  // Namespaces of runs whose directory is gone are stale as well (dir removed, teardown interrupted). A run
  // creates its directory before any namespace, so checking the directory after listing is race-free.
  for (const ns of await netnsList(`${prefix}-`)) {
    const id = ns.slice(prefix.length + 1).split('-')[0];
    if (!(await fs.stat(path.join(tmp, `${prefix}-${id}`)).catch(() => undefined))) staleIds.add(id);
  }
  const all = await processes();
  for (const id of staleIds) {
    const dir = path.join(tmp, `${prefix}-${id}`);
    const victims = all.filter((p) => p.cmdline.includes(dir) || p.cmdline.includes(` ${prefix}-${id}-`));
    for (const ns of await netnsList(`${prefix}-${id}-`)) {
      const pids = (await run('ip', ['netns', 'pids', ns], { allowFailure: true })).stdout;
      for (const pid of pids.split('\n').filter(Boolean).map(Number)) {
        if (!victims.some((v) => v.pid === pid)) victims.push({ pid, cmdline: `(in netns ${ns})` });
      }
    }
    for (const v of victims) {
      try {
        process.kill(v.pid, 'SIGKILL');
        removed.processes.push(v);
      } catch {
        // already gone
      }
    }
    for (let i = 0; i < 50 && victims.some((v) => isAlive(v.pid)); i++) await sleep(100);
    for (const ns of await netnsList(`${prefix}-${id}-`)) {
      await netnsDel(ns);
      removed.netns.push(ns);
    }
    if (await fs.stat(dir).catch(() => undefined)) {
      await fs.rm(dir, { recursive: true, force: true });
      removed.dirs.push(dir);
    }
  }
  return removed;
}
