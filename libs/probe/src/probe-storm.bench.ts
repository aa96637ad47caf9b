// Probe storm: N TCP targets at one interval, all from one probe namespace, for a fixed duration. Measures
// probes/s achieved vs scheduled, timer-wheel lateness, CPU and RSS of the prober (this process) and of the
// namespace's worker, and writes results/probe-storm.md.
//   node -r ./scripts/register.js libs/probe/src/probe-storm.bench.ts [targets=500] [seconds=30]
// Topology (namespaces this script creates and removes): `ycloud-probe-storm` (the prober side) and
// `ycloud-storm-srv` (one Node process listening on N ports), joined by a veth pair. The path through OVN is
// covered by test/e2e/network-probe.test.ts; this measures the prober itself.
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { Prober } from './prober';

const PROBE_NS = 'ycloud-probe-storm';
const SERVER_NS = 'ycloud-storm-srv';
const BASE_PORT = 20_000;
const SERVER_JS = `const net = require('net'); const [b, n] = process.argv.slice(1).map(Number); let up = 0;
for (let p = b; p < b + n; p++) net.createServer((s) => { s.on('error', () => {}); s.end(); })
  .listen(p, '0.0.0.0', () => { if (++up === n) console.log('ready'); });`;

const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });

function setup(): void {
  teardown();
  ip('netns', 'add', PROBE_NS);
  ip('netns', 'add', SERVER_NS);
  ip('-n', PROBE_NS, 'link', 'add', 'storm0', 'type', 'veth', 'peer', 'name', 'storm1', 'netns', SERVER_NS);
  ip('-n', PROBE_NS, 'addr', 'add', '10.250.0.1/24', 'dev', 'storm0');
  ip('-n', SERVER_NS, 'addr', 'add', '10.250.0.2/24', 'dev', 'storm1');
  for (const ns of [PROBE_NS, SERVER_NS]) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', ns === PROBE_NS ? 'storm0' : 'storm1', 'up');
  }
}

function teardown(): void {
  for (const ns of [PROBE_NS, SERVER_NS]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* absent */
    }
  }
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;
}

/** CPU seconds (user+system) of a pid from /proc, children excluded. */
function procCpuMs(pid: number): number {
  const f = execFileSync('cat', [`/proc/${pid}/stat`]).toString();
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function main(): Promise<void> {
  const targets = Number(process.argv[2] ?? 500);
  const seconds = Number(process.argv[3] ?? 30);
  const intervalMs = 1_000;
  setup();
  const server = spawn(
    'ip',
    ['netns', 'exec', SERVER_NS, process.execPath, '-e', SERVER_JS, String(BASE_PORT), String(targets)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await new Promise<void>((res) => server.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && res()));
    const prober = new Prober({ maxInFlight: 256 });
    let results = 0;
    let failures = 0;
    prober.onResult((e) => {
      results++;
      if (!e.health.consecutiveSuccesses) failures++;
    });
    for (let i = 0; i < targets; i++) {
      prober.upsert({
        id: `t${i}`,
        netns: PROBE_NS,
        request: { type: 'tcp', host: '10.250.0.2', port: BASE_PORT + i, timeoutMs: 500 },
        intervalMs,
        successThreshold: 1,
        failureThreshold: 3,
      });
    }
    // Warm-up (the first period spreads the targets), then the measured window.
    await new Promise((r) => setTimeout(r, 2_000));
    const w0 = Object.values(await prober.workerStats())[0];
    const c0 = process.cpuUsage();
    const r0 = results;
    const s0 = prober.schedulerStats().started;
    const t0 = Date.now();
    let maxRss = 0;
    let maxWorkerRss = 0;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, process.memoryUsage.rss());
      void prober
        .workerStats()
        .then((w) => (maxWorkerRss = Math.max(maxWorkerRss, Object.values(w)[0]?.rssBytes ?? 0)));
    }, 1_000);
    await new Promise((r) => setTimeout(r, seconds * 1_000));
    clearInterval(sampler);
    const elapsed = (Date.now() - t0) / 1000;
    const c1 = process.cpuUsage(c0);
    const w1 = Object.values(await prober.workerStats())[0];
    const st = prober.schedulerStats();
    const late = [...st.lateness].sort((a, b) => a - b);
    const serverCpu = procCpuMs(server.pid!);
    await prober.stop();
    const cpuPct = (ms: number) => ((ms / 1000 / elapsed) * 100).toFixed(1);
    const row = {
      targets,
      intervalMs,
      seconds: elapsed.toFixed(1),
      scheduledPerSec: (((targets / intervalMs) * 1000) / 0.95).toFixed(0),
      startedPerSec: ((st.started - s0) / elapsed).toFixed(0),
      resultsPerSec: ((results - r0) / elapsed).toFixed(0),
      failures,
      skipped: st.skipped,
      p50: pct(late, 50),
      p99: pct(late, 99),
      max: late[late.length - 1] ?? 0,
      proberCpu: cpuPct((c1.user + c1.system) / 1000),
      workerCpu: cpuPct(w1.cpuUserMs + w1.cpuSystemMs - (w0.cpuUserMs + w0.cpuSystemMs)),
      proberRssMb: (maxRss / 2 ** 20).toFixed(0),
      workerRssMb: (maxWorkerRss / 2 ** 20).toFixed(0),
      serverCpuTotalS: (serverCpu / 1000).toFixed(1),
    };
    console.log(JSON.stringify(row));
    const out = path.resolve(__dirname, '../../../results/probe-storm.md');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, report(row), { flag: 'w' });
    console.log(`written ${out}`);
  } finally {
    server.kill('SIGKILL');
    teardown();
  }
}

function report(r: Record<string, string | number>): string {
  return `# Probe storm (libs/probe/src/probe-storm.bench.ts)

${r.targets} TCP targets, interval ${r.intervalMs} ms (jitter shortens each period by up to 10 %, mean ≈ 0.95 s),
timeout 500 ms, all from one probe namespace through one worker; concurrency cap 256. Measured over ${r.seconds} s
after a 2 s warm-up, on the shared 2-core dev host (other engineers' tests running). Path: veth between two
namespaces (the prober's own cost; the OVN path is exercised by test/e2e/network-probe.test.ts).

| metric | value |
| --- | --- |
| probes/s scheduled (targets / mean period) | ${r.scheduledPerSec} |
| probes/s started | ${r.startedPerSec} |
| results/s | ${r.resultsPerSec} |
| failed probes (whole run) | ${r.failures} |
| firings skipped (previous probe still running) | ${r.skipped} |
| timer-wheel lateness p50 / p99 / max (ms) | ${r.p50.toString()} / ${Number(r.p99).toFixed(0)} / ${Number(r.max).toFixed(0)} |
| prober CPU (this process: wheel, state machines, JSON lines) | ${r.proberCpu} % of one core |
| worker CPU (in the namespace: sockets, JSON lines) | ${r.workerCpu} % of one core |
| prober RSS max | ${r.proberRssMb} MiB |
| worker RSS max | ${r.workerRssMb} MiB |

Command: \`node -r ./scripts/register.js libs/probe/src/probe-storm.bench.ts ${r.targets} ${Number(r.seconds).toFixed(0)}\`
`;
}

void main().catch((e: unknown) => {
  console.error(e);
  teardown();
  process.exitCode = 1;
});
