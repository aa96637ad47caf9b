/**
 * The data-path measurements, all with standard Debian tools, run through an `Exec` (a network namespace on the
 * test bed, `kubectl exec` on a cluster): iperf3 (TCP throughput, 1 and N streams; UDP small-packet rate),
 * sockperf (TCP request/response latency percentiles), ab from apache2-utils against nginx (new connections per
 * second: one request per connection). CPU comes from /proc/stat of the node(s) sampled around each test.
 */

/** Runs a command somewhere (a netns, a pod) and returns its stdout; throws on a non-zero exit. */
export type Exec = (cmd: readonly string[], timeoutMs?: number) => Promise<string>;

/** Ports the servers listen on (the Service maps the same ports). */
export const DATAPATH_PORTS = { iperf: 5201, sockperf: 11111, http: 8080 } as const;

export interface DatapathFigures {
  /** TCP throughput, Gbit/s (receiver side), 1 stream and N streams. */
  tcp1Gbps?: number;
  tcpNGbps?: number;
  /** UDP 64-byte datagrams received per second (iperf3 receiver), and the loss it reported. */
  udpPps?: number;
  udpLossPercent?: number;
  /** TCP request/response round trip (sockperf ping-pong, 64 bytes), µs. */
  rrP50Us?: number;
  rrP99Us?: number;
  /** HTTP requests per second with one new TCP connection each (ab without keep-alive). */
  connPerSec?: number;
  /** Busy CPU (all cores of the node(s) sampled) per Gbit/s in the N-stream TCP test, and per Mpps in the UDP test. */
  cpuCoresPerGbps?: number;
  cpuCoresPerMpps?: number;
  /** Errors of tests that failed (the figure is then missing). */
  errors: string[];
}

export interface DatapathTestOptions {
  /** Seconds per timed test (default 5). */
  seconds?: number;
  /** Streams of the N-stream test (default 4). */
  streams?: number;
  /** Connections for ab (default 2000) and its concurrency (default 16). */
  requests?: number;
  concurrency?: number;
}

/** Aggregate busy and total jiffies from /proc/stat's first line. */
export function parseProcStat(text: string): { busy: number; total: number } {
  const f = text.split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
  return { busy: total - idle, total };
}

/** Busy cores (0..ncpu) between two /proc/stat readings over `seconds` of wall time (USER_HZ 100). */
export function busyCores(a: string, b: string, seconds: number): number {
  const x = parseProcStat(a);
  const y = parseProcStat(b);
  return (y.busy - x.busy) / 100 / seconds;
}

/** iperf3 -J: receiver bits per second (TCP) or received packets per second and loss (UDP). */
export function parseIperf3(json: string): { gbps: number; pps?: number; lossPercent?: number } {
  type Sum = {
    bits_per_second: number;
    seconds: number;
    packets?: number;
    lost_packets?: number;
    lost_percent?: number;
  };
  const r = JSON.parse(json) as { error?: string; end?: { sum_received?: Sum; sum?: Sum } };
  if (r.error) throw new Error(`iperf3: ${r.error}`);
  const rx = r.end?.sum_received ?? r.end?.sum;
  if (!rx) throw new Error('iperf3: no summary in its output');
  if (rx.packets === undefined) return { gbps: rx.bits_per_second / 1e9 };
  // UDP: the receiver's count includes the datagrams it found missing.
  const received = rx.packets - (rx.lost_packets ?? 0);
  return { gbps: rx.bits_per_second / 1e9, pps: received / rx.seconds, lossPercent: rx.lost_percent };
}

/** sockperf ping-pong: the 50th and 99th percentile lines (µs, round trip = 2 x the reported one-way latency). */
export function parseSockperf(text: string): { p50Us: number; p99Us: number } {
  const pct = (p: string): number => {
    const m = new RegExp(`percentile ${p.replace('.', '\\.')}\\d* =\\s+([\\d.]+)`).exec(text);
    if (!m) throw new Error(`sockperf: no ${p} percentile in its output`);
    return Number(m[1]) * 2;
  };
  return { p50Us: pct('50.0'), p99Us: pct('99.0') };
}

/** ab: "Requests per second:    1234.56 [#/sec] (mean)", and that no request failed outright. */
export function parseAb(text: string): number {
  const m = /Requests per second:\s+([\d.]+)/.exec(text);
  if (!m) throw new Error('ab: no "Requests per second" in its output');
  const failed = /Failed requests:\s+(\d+)/.exec(text);
  if (failed && Number(failed[1]) > 0) throw new Error(`ab: ${failed[1]} failed requests`);
  return Number(m[1]);
}

/** The nginx configuration of the HTTP server: one worker, no logs, a fixed 3-byte answer. */
export function nginxConfig(dir: string, port: number = DATAPATH_PORTS.http): string {
  return [
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/nginx-error.log;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};`,
    `  server { listen ${port} reuseport backlog=4096; location / { return 200 "ok\\n"; } }`,
    '}',
    '',
  ].join('\n');
}

/**
 * Runs every test from `client` against `host` (a ClusterIP, node IP or EIP) with the given ports; `cpu`
 * samples /proc/stat of the node(s) whose CPU counts. A failing test leaves its figure out and notes why.
 */
export async function measurePath(
  client: Exec,
  host: string,
  ports: { iperf: number; sockperf: number; http: number },
  cpu: () => Promise<string>,
  opts: DatapathTestOptions = {},
): Promise<DatapathFigures> {
  const secs = opts.seconds ?? 5;
  const streams = opts.streams ?? 4;
  const out: DatapathFigures = { errors: [] };
  const timed = async <T>(what: string, f: () => Promise<T>): Promise<{ v: T; cores: number } | undefined> => {
    try {
      const a = await cpu();
      const t0 = performance.now();
      const v = await f();
      const b = await cpu();
      return { v, cores: busyCores(a, b, (performance.now() - t0) / 1000) };
    } catch (err) {
      out.errors.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };
  const iperf = (args: string[]) =>
    client(['iperf3', '-J', '-c', host, '-p', String(ports.iperf), '-t', String(secs), ...args], (secs + 30) * 1000);

  const t1 = await timed('TCP 1 stream', async () => parseIperf3(await iperf([])));
  if (t1) out.tcp1Gbps = t1.v.gbps;
  const tn = await timed(`TCP ${streams} streams`, async () => parseIperf3(await iperf(['-P', String(streams)])));
  if (tn) {
    out.tcpNGbps = tn.v.gbps;
    out.cpuCoresPerGbps = tn.cores / tn.v.gbps;
  }
  const udp = await timed('UDP 64 B', async () => parseIperf3(await iperf(['-u', '-b', '0', '-l', '64'])));
  if (udp?.v.pps) {
    out.udpPps = udp.v.pps;
    out.udpLossPercent = udp.v.lossPercent;
    out.cpuCoresPerMpps = udp.cores / (udp.v.pps / 1e6);
  }
  const rr = await timed('TCP request/response', async () =>
    parseSockperf(
      await client(
        ['sockperf', 'ping-pong', '--tcp', '-i', host, '-p', String(ports.sockperf), '-t', String(secs), '-m', '64'],
        (secs + 30) * 1000,
      ),
    ),
  );
  if (rr) {
    out.rrP50Us = rr.v.p50Us;
    out.rrP99Us = rr.v.p99Us;
  }
  const conn = await timed('new connections', async () =>
    parseAb(
      await client(
        [
          'ab',
          '-q',
          '-n',
          String(opts.requests ?? 2000),
          '-c',
          String(opts.concurrency ?? 16),
          '-s',
          '10',
          `http://${host}:${ports.http}/`,
        ],
        120_000,
      ),
    ),
  );
  if (conn) out.connPerSec = conn.v;
  return out;
}

/** Starts iperf3, sockperf and nginx in the server's place, detached; `dir` is a writable scratch folder there. */
export async function startServers(server: Exec, dir: string): Promise<void> {
  await server([
    'sh',
    '-c',
    `mkdir -p ${dir} && printf '%s' '${nginxConfig(dir).replace(/'/g, "'\\''")}' > ${dir}/nginx.conf`,
  ]);
  await server([
    'iperf3',
    '-s',
    '-D',
    '-p',
    String(DATAPATH_PORTS.iperf),
    '--logfile',
    `${dir}/iperf3.log`,
    '-I',
    `${dir}/iperf3.pid`,
  ]);
  await server([
    'sh',
    '-c',
    `nohup sockperf server --tcp -i 0.0.0.0 -p ${DATAPATH_PORTS.sockperf} >${dir}/sockperf.log 2>&1 & echo $! > ${dir}/sockperf.pid`,
  ]);
  await server(['nginx', '-c', `${dir}/nginx.conf`, '-p', dir]);
}

/** Stops what startServers started (by the pids they wrote). */
export async function stopServers(server: Exec, dir: string): Promise<void> {
  await server([
    'sh',
    '-c',
    `for f in ${dir}/iperf3.pid ${dir}/sockperf.pid ${dir}/nginx.pid; do [ -f $f ] && kill $(cat $f) 2>/dev/null; done; true`,
  ]).catch(() => undefined);
}
