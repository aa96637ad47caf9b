import { readFileSync } from 'node:fs';

/** CPU and memory of one process, from /proc (Linux). */
export interface ProcessUsage {
  /** utime + stime of the process and of its waited-for children (kube-proxy's iptables-restore / nft runs). */
  cpuMs: number;
  /** VmHWM: peak resident set size over the process's life, in bytes. */
  peakRssBytes: number;
}

const TICK_MS = 10; // USER_HZ is 100 on every Linux we run on

/** Usage of `pid` so far, or undefined when it cannot be read (process gone). */
export function processUsage(pid: number | undefined): ProcessUsage | undefined {
  if (!pid || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 of stat(5): utime, stime, cutime, cstime (f[0] is field 3)
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuMs: ticks * TICK_MS, peakRssBytes: hwm ? Number(hwm[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** A named set of processes whose CPU is read at marks; `since(mark)` gives CPU used in between per process. */
export class ProcessSet {
  private readonly pids = new Map<string, number>();
  private readonly marks = new Map<string, Map<string, number>>();
  private readonly last = new Map<string, ProcessUsage>();

  add(name: string, pid: number | undefined): void {
    if (pid && pid > 0) this.pids.set(name, pid);
  }

  names(): string[] {
    return [...this.pids.keys()];
  }

  /** Reads every process now and remembers it under `mark`. */
  mark(mark: string): void {
    const m = new Map<string, number>();
    for (const [name, pid] of this.pids) {
      const u = processUsage(pid);
      if (u) {
        this.last.set(name, u);
        m.set(name, u.cpuMs);
      }
    }
    this.marks.set(mark, m);
  }

  /** CPU ms per process between two marks. */
  cpuBetween(from: string, to: string, names = this.names()): Record<string, number> {
    const a = this.marks.get(from);
    const b = this.marks.get(to);
    const out: Record<string, number> = {};
    for (const n of names) {
      const x = a?.get(n);
      const y = b?.get(n);
      if (x !== undefined && y !== undefined) out[n] = y - x;
    }
    return out;
  }

  /** Peak RSS per process as last read (VmHWM is a lifetime peak). */
  peakRss(names = this.names()): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of names) {
      const u = this.last.get(n);
      if (u) out[n] = u.peakRssBytes;
    }
    return out;
  }
}
