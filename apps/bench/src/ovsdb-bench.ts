/**
 * OVSDB client benchmark against one real standalone ovsdb-server (OVN NB schema), compared with the C tools.
 * Run: `node -r ./scripts/register.js apps/bench/src/ovsdb-bench.ts [--rows 50000] [--runs 3]`.
 * Prints a markdown report; `--write 1` writes results/ovsdb-bench.md (then run prettier on it).
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { OvsdbClient, RpcConnection } from '@ycloud/ovsdb';
import { openSocket, parseRemote } from '@ycloud/ovsdb/ovsdb/transport';
import { startOvsdbServer, type StandaloneServer } from '../../../libs/ovsdb/test/fixtures/ovsdb-server.fixture';

const run = promisify(execFile);
const DB = 'OVN_Northbound';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;

function lbRow(i: number, prefix: string): Record<string, unknown> {
  return {
    name: `${prefix}-${i}`,
    protocol: ['tcp'],
    vips: {
      [`10.96.${(i >> 8) & 255}.${i & 255}:80`]: `10.1.${(i >> 8) & 255}.${i & 255}:8080,10.2.${(i >> 8) & 255}.${i & 255}:8080`,
    },
    external_ids: { 'ycloud.io/key': `svc:bench/${prefix}-${i}:TCP` },
  };
}

function wireLb(i: number, prefix: string): unknown {
  const r = lbRow(i, prefix) as { name: string; vips: Record<string, string>; external_ids: Record<string, string> };
  return {
    op: 'insert',
    table: 'Load_Balancer',
    row: {
      name: r.name,
      protocol: 'tcp',
      vips: ['map', Object.entries(r.vips)],
      external_ids: ['map', Object.entries(r.external_ids)],
    },
  };
}

async function withServer<T>(fn: (s: StandaloneServer) => Promise<T>): Promise<T> {
  const s = await startOvsdbServer();
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function connect(remote: string): Promise<OvsdbClient> {
  return OvsdbClient.connect({ remotes: remote, database: DB, monitor: { Load_Balancer: {} }, inactivityProbeMs: 0 });
}

/** Case 1: 10k Load_Balancer rows in one transaction. */
async function bulkInsert(n: number, runs: number): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = { ours: [], oursNoMonitor: [], nbctl: [], ovsdbClient: [] };
  const tmp = fs.mkdtempSync('/tmp/ycloud-bench-');
  // One argument is limited to 128 KiB (MAX_ARG_STRLEN), so ovsdb-client gets the rows in chunks of 400.
  const chunks: string[] = [];
  for (let off = 0; off < n; off += 400) {
    chunks.push(
      JSON.stringify([DB, ...Array.from({ length: Math.min(400, n - off) }, (_, i) => wireLb(off + i, 'c'))]),
    );
  }
  const nbctlArgs: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = lbRow(i, 'n') as { name: string; vips: Record<string, string> };
    const [vip, backends] = Object.entries(r.vips)[0];
    nbctlArgs.push(...(i ? ['--'] : []), 'lb-add', r.name, vip, backends, 'tcp');
  }
  for (let k = 0; k < runs; k++) {
    await withServer(async (s) => {
      const c = await connect(s.unix);
      const tx = c.transaction();
      for (let i = 0; i < n; i++) tx.insert('Load_Balancer', lbRow(i, 'o'));
      out.ours.push(await timed(() => tx.commit()));
      if (c.table('Load_Balancer').size !== n) throw new Error('cache incomplete');
      await c.close();
    });
    await withServer(async (s) => {
      const c = await OvsdbClient.connect({ remotes: s.unix, database: DB, inactivityProbeMs: 0 });
      const tx = c.transaction();
      for (let i = 0; i < n; i++) tx.insert('Load_Balancer', lbRow(i, 'o'));
      out.oursNoMonitor.push(await timed(() => tx.commit()));
      await c.close();
    });
    await withServer(async (s) => {
      out.ovsdbClient.push(
        await timed(async () => {
          for (const ops of chunks) await run('ovsdb-client', ['transact', s.unix, ops], { maxBuffer: 1 << 28 });
        }),
      );
    });
    await withServer(async (s) => {
      out.nbctl.push(await timed(() => run('ovn-nbctl', [`--db=${s.unix}`, ...nbctlArgs], { maxBuffer: 1 << 28 })));
    });
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  return out;
}

/** Case 2: single-row transactions, sequential (and pipelined); C: one ovsdb-client process per transaction. */
async function singleRows(n: number, cSample: number): Promise<Record<string, number>> {
  return withServer(async (s) => {
    const c = await connect(s.unix);
    const seq = await timed(async () => {
      for (let i = 0; i < n; i++) {
        const tx = c.transaction();
        tx.insert('Load_Balancer', lbRow(i, 's'));
        await tx.commit();
      }
    });
    const pipe = await timed(() =>
      Promise.all(
        Array.from({ length: n }, (_, i) => {
          const tx = c.transaction();
          tx.insert('Load_Balancer', lbRow(i, 'p'));
          return tx.commit();
        }),
      ),
    );
    await c.close();
    const cTime = await timed(async () => {
      for (let i = 0; i < cSample; i++)
        await run('ovsdb-client', ['transact', s.unix, JSON.stringify([DB, wireLb(i, 'x')])]);
    });
    return { oursSeqMs: seq, oursPipelinedMs: pipe, cPerTxnMs: cTime / cSample };
  });
}

/** Case 3: initial monitor of an n-row database. */
async function initialDump(n: number, runs: number): Promise<Record<string, number[]>> {
  return withServer(async (s) => {
    const w = await OvsdbClient.connect({ remotes: s.unix, database: DB, inactivityProbeMs: 0 });
    for (let off = 0; off < n; off += 5000) {
      const tx = w.transaction();
      for (let i = off; i < Math.min(n, off + 5000); i++) tx.insert('Load_Balancer', lbRow(i, 'd'));
      await tx.commit();
    }
    await w.close();
    const out: Record<string, number[]> = {
      ours: [],
      oursRaw: [],
      cMonitor: [],
      heapMB: [],
      cRssMB: [],
      bytes: [],
      oursCpu: [],
      rawCpu: [],
      cCpu: [],
    };
    const cpu = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    for (let k = 0; k < runs; k++) {
      global.gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      let c: OvsdbClient | undefined;
      let cpu0 = cpu();
      out.ours.push(await timed(async () => (c = await connect(s.unix))));
      out.oursCpu.push(cpu() - cpu0);
      if (c!.table('Load_Balancer').size !== n) throw new Error('dump incomplete');
      global.gc?.();
      out.heapMB.push((process.memoryUsage().heapUsed - heap0) / 1048576);
      await c!.close();
      c = undefined;
      // Raw: framing + JSON.parse only (no decode, no cache), same request.
      const sock = await openSocket(parseRemote(s.unix), undefined, 5000);
      const rpc = new RpcConnection(sock, s.unix);
      cpu0 = cpu();
      out.oursRaw.push(
        await timed(() =>
          rpc.request('monitor_cond_since', [
            DB,
            'raw',
            { Load_Balancer: [{}] },
            '00000000-0000-0000-0000-000000000000',
          ]),
        ),
      );
      out.rawCpu.push(cpu() - cpu0);
      out.bytes.push(rpc.rxBytes);
      rpc.close();
      // C: ovsdb-client monitor prints the initial contents as one JSON line, then waits for changes.
      const t0 = process.hrtime.bigint();
      const p = spawn('ovsdb-client', ['-f', 'json', 'monitor', s.unix, DB, 'Load_Balancer'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      await new Promise<void>((resolve) => {
        p.stdout.on('data', (d: Buffer) => {
          if (d.includes(10)) resolve();
        });
      });
      out.cMonitor.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const status = fs.readFileSync(`/proc/${p.pid}/status`, 'utf8');
      out.cRssMB.push(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
      const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.cCpu.push(((Number(stat[11]) + Number(stat[12])) * 1000) / 100); // utime+stime in clock ticks (100/s)
      p.kill('SIGKILL');
    }
    return out;
  });
}

async function main(): Promise<void> {
  const rows = arg('rows', 50000);
  const bulk = arg('bulk', 10000);
  const runs = arg('runs', 3);
  const lines: string[] = [];
  const say = (l: string): void => {
    lines.push(l);
    console.log(l);
  };
  say(`# OVSDB client benchmark`);
  say('');
  say(
    `ovsdb-server 3.1 standalone, unix socket, OVN NB schema; Node ${process.version}; ${runs} runs, median. Machine: 2 shared cores.`,
  );
  say('');
  const b = await bulkInsert(bulk, runs);
  say(`## ${bulk} Load_Balancer rows in one transaction`);
  say('');
  say('| client | median ms | runs (ms) | ratio to ovn-nbctl |');
  say('| --- | --- | --- | --- |');
  for (const [k, v] of Object.entries(b))
    say(
      `| ${k} | ${median(v).toFixed(0)} | ${v.map((x) => x.toFixed(0)).join(', ')} | ${(median(v) / median(b.nbctl)).toFixed(2)} |`,
    );
  say('');
  const sr = await singleRows(bulk, 200);
  say(`## ${bulk} single-row transactions`);
  say('');
  say(
    `- ours, sequential (await each): ${sr.oursSeqMs.toFixed(0)} ms = ${((bulk / sr.oursSeqMs) * 1000).toFixed(0)} txn/s`,
  );
  say(
    `- ours, pipelined (all in flight): ${sr.oursPipelinedMs.toFixed(0)} ms = ${((bulk / sr.oursPipelinedMs) * 1000).toFixed(0)} txn/s`,
  );
  say(`- C, one \`ovsdb-client transact\` process per transaction (200 sampled): ${sr.cPerTxnMs.toFixed(1)} ms/txn`);
  say('');
  const d = await initialDump(rows, runs);
  say(`## Initial monitor of a ${rows}-row database (Load_Balancer, all columns; ${mb(median(d.bytes))} on the wire)`);
  say('');
  say('| client | median ms | runs (ms) | ratio to C |');
  say('| --- | --- | --- | --- |');
  for (const k of ['ours', 'oursRaw', 'cMonitor']) {
    say(
      `| ${k} | ${median(d[k]).toFixed(0)} | ${d[k].map((x) => x.toFixed(0)).join(', ')} | ${(median(d[k]) / median(d.cMonitor)).toFixed(2)} |`,
    );
  }
  say('');
  say(
    `CPU in the client process (median): ours ${median(d.oursCpu).toFixed(0)} ms (framing + JSON.parse alone: ${median(d.rawCpu).toFixed(0)} ms, ` +
      `so decode + cache about ${(median(d.oursCpu) - median(d.rawCpu)).toFixed(0)} ms); ovsdb-client ${median(d.cCpu).toFixed(0)} ms. ` +
      'The rest of the wall time is ovsdb-server building and sending the dump.',
  );
  say('');
  say(
    `Memory: our cache of ${rows} rows adds ${median(d.heapMB).toFixed(0)} MB of JS heap; ovsdb-client monitor peak RSS ${median(d.cRssMB).toFixed(0)} MB.`,
  );
  const out = arg('write', 0) ? path.resolve(__dirname, '../../../results/ovsdb-bench.md') : undefined;
  if (out) fs.writeFileSync(out, lines.join('\n') + '\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
