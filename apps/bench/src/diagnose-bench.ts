/**
 * How long `ycloud diagnose` takes as Services grow: `npm run bench:diagnose -- --services 1000,10000`.
 * One sandbox (one node: real kube-apiserver, controller, agent, OVN), one Service with two real pod backends and a
 * client pod, then N selector-less Services with hand-made EndpointSlices (10 endpoints each) added in steps. After
 * each step converges (every LB in NB, northd caught up), the pod -> ClusterIP diagnosis of the one Service is timed
 * in process (per fact source) and as the CLI a user runs; so is the external -> EIP diagnosis of a LoadBalancer
 * Service on the same pods (pool `ext` on the sandbox's external network). Writes results/diagnose.md unless
 * --no-write.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import type { V1Service } from '@kubernetes/client-node';
import { API_VERSION, SERVICE_NAME_LABEL, crdResources } from '@ycloud/api';
import { forEachLimit } from '@ycloud/bench';
import { DirectEndpoints, OpsEndpoints, diagnose, gatherFacts } from '@ycloud/diagnose';
import { KubeClient, Resources, isAlreadyExists, type KubeObject } from '@ycloud/k8s';
import { Sandbox, repoRoot } from '@ycloud/sandbox';
import { createNamespace, eventually, runText, testEipPoolSpec } from '@ycloud/testbed';

const run = promisify(execFile);
const NS = 'bench';
const RESULTS = path.join(repoRoot(), 'results/diagnose.md');

/** Endpoint j as an address in 10.17.0.0/16 upward (not routed anywhere: NB/SB/OpenFlow rows only). */
const endpointIp = (j: number) => `10.${17 + (j >> 16)}.${(j >> 8) & 255}.${j & 255}`;

/** Wraps the endpoints to time each route call. */
function timed(inner: OpsEndpoints, times: Record<string, number>): OpsEndpoints {
  const t = async <T>(name: string, p: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await p();
    } finally {
      times[name] = performance.now() - t0;
    }
  };
  return {
    via: inner.via,
    controller: (p, q) => t('northbound', () => inner.controller(p, q)),
    agent: (n, p, q) => t(p.endsWith('southbound') ? 'southbound' : `node`, () => inner.agent(n, p, q)),
  };
}

/** A create that survives an overloaded apiserver: retried on timeouts, done when it already exists. */
async function retried(create: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await create();
      return;
    } catch (e) {
      if (isAlreadyExists(e)) return;
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

interface StepResult {
  at: string;
  services: number;
  lbs: number;
  totalMs: number[];
  parts: Record<string, number>;
  cliMs: number;
  verdict: string;
  /** The external -> EIP diagnosis of `target-lb`: in process (5 runs) and as the CLI. */
  eip: { totalMs: number[]; parts: Record<string, number>; cliMs: number; verdict: string };
  load: number;
}

/** Five in-process diagnoses: times, the last one's split by fact source, and its verdict. */
async function timeDiagnosis(
  kube: KubeClient,
  endpoints: OpsEndpoints,
  request: Parameters<typeof gatherFacts>[2],
  source: Parameters<typeof gatherFacts>[3],
): Promise<{ totalMs: number[]; parts: Record<string, number>; verdict: string }> {
  const totalMs: number[] = [];
  let parts: Record<string, number> = {};
  let verdict = '';
  for (let r = 0; r < 5; r++) {
    const times: Record<string, number> = {};
    const t0 = performance.now();
    const d = diagnose(await gatherFacts(kube, timed(endpoints, times), request, source));
    totalMs.push(performance.now() - t0);
    parts = times;
    verdict = d.verdict.status === 'ok' ? `ok (${d.hops.length} hops)` : `broken at ${d.verdict.firstBroken}`;
  }
  return { totalMs, parts, verdict };
}

/** Wall-clock time of one `bin/ycloud diagnose` process (exit 1, a broken verdict, is a result too). */
async function timeCli(args: string[]): Promise<number> {
  const c0 = performance.now();
  await run(path.join(repoRoot(), 'bin/ycloud'), ['diagnose', ...args], { timeout: 120_000 }).catch(
    (e: { code?: number }) => {
      if (e.code !== 1) throw e;
    },
  );
  return performance.now() - c0;
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--services <list>', 'comma-separated totals of extra Services', '1000,10000')
    .option('--no-write', 'print only')
    .parse(process.argv)
    .opts<{ services: string; write: boolean }>();
  const steps = o.services.split(',').map(Number);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ycloud-bench-diagnose-'));
  const log = (l: string) => process.stdout.write(`[bench] ${l}\n`);
  const sb = await Sandbox.up({
    dir,
    example: null,
    log: (l) => log(l),
    controllerConfig: { eip: { defaultPool: 'ext' } },
  });
  // Ctrl-C: tear the sandbox down rather than leave it running.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping the sandbox`);
      void sb.down().finally(() => process.exit(130));
    });
  }
  const results: StepResult[] = [];
  const kube = KubeClient.fromKubeconfigFile(sb.state.kubeconfig);
  try {
    await createNamespace(sb.kubelet.kubeConfig, NS);
    await kube.create(Resources.services, NS, {
      metadata: { name: 'target', namespace: NS },
      spec: { selector: { app: 'target' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    } as V1Service & KubeObject);
    await kube.create(crdResources.EipPool, undefined, {
      apiVersion: API_VERSION,
      kind: 'EipPool',
      metadata: { name: 'ext' },
      spec: testEipPoolSpec(['node-1']),
    } as never);
    await kube.create(Resources.services, NS, {
      metadata: { name: 'target-lb', namespace: NS },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'target' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    } as V1Service & KubeObject);
    for (const name of ['target-0', 'target-1'])
      await sb.kubelet.createPod({ name, namespace: NS, labels: { app: 'target' }, serve: ['http:8080'] });
    await sb.kubelet.createPod({ name: 'client', namespace: NS });
    const endpoints = new DirectEndpoints(sb.state.controller.health, { 'node-1': sb.state.nodes[0].opsUrl! });
    const nbctl = (...a: string[]) =>
      runText('ovn-nbctl', [`--db=${sb.state.testbed.nbRemote}`, '--timeout=600', ...a], { timeoutMs: 700_000 });
    let created = 0;
    for (const total of steps) {
      log(`creating Services ${created}..${total - 1}`);
      await forEachLimit(total - created, 24, async (k) => {
        const i = created + k;
        const name = `s${i}`;
        await retried(() =>
          kube.create(Resources.services, NS, {
            metadata: { name, namespace: NS },
            spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
          } as V1Service & KubeObject),
        );
        await retried(() =>
          kube.create(Resources.endpointSlices, NS, {
            metadata: { name: `${name}-1`, namespace: NS, labels: { [SERVICE_NAME_LABEL]: name } },
            addressType: 'IPv4',
            ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
            endpoints: Array.from({ length: 10 }, (_, e) => ({
              addresses: [endpointIp(i * 10 + e)],
              conditions: { ready: true },
            })),
          } as KubeObject),
        );
      });
      created = total;
      const want = total + 1;
      const lbs = await eventually(
        async () =>
          Number(
            (await nbctl('--bare', '--columns=_uuid', 'find', 'Load_Balancer', 'protocol=tcp'))
              .split('\n')
              .filter(Boolean).length,
          ),
        (n) => n >= want,
        `${want} load balancers in NB`,
        900_000,
        2000,
      );
      log(`${lbs} LBs in NB; waiting for northd`);
      await nbctl('--wait=sb', 'sync');
      const cluster = await timeDiagnosis(
        kube,
        endpoints,
        { kind: 'Service', namespace: NS, name: 'target' },
        { kind: 'pod', namespace: NS, name: 'client' },
      );
      const cliMs = await timeCli(['service', `${NS}/target`, '--from', 'pod', `${NS}/client`, '--sandbox', dir]);
      const eipTimes = await timeDiagnosis(
        kube,
        endpoints,
        { kind: 'Service', namespace: NS, name: 'target-lb' },
        { kind: 'external' },
      );
      const eip = {
        ...eipTimes,
        cliMs: await timeCli(['service', `${NS}/target-lb`, '--from', 'external', '--sandbox', dir]),
      };
      const { totalMs, parts, verdict } = cluster;
      const step = {
        at: new Date().toISOString().slice(0, 16).replace('T', ' '),
        services: total + 1,
        lbs,
        totalMs,
        parts,
        cliMs,
        verdict,
        eip,
        load: os.loadavg()[0],
      };
      results.push(step);
      log(JSON.stringify(step));
      if (o.write) writeFileSync(RESULTS, report(results));
    }
  } finally {
    kube.close();
    await sb.down();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The results table (written after every step, so a later step that fails keeps the earlier ones). */
function report(results: StepResult[]): string {
  const ms = (x: number) => x.toFixed(0);
  const rows = results.map((r) => {
    const s = [...r.totalMs].sort((a, b) => a - b);
    const e = [...r.eip.totalMs].sort((a, b) => a - b);
    return `| ${r.at} | ${r.services} | ${ms(s[2])} (${ms(s[0])}–${ms(s[4])}) | ${ms(r.parts.northbound ?? NaN)} | ${ms(r.parts.southbound ?? NaN)} | ${ms(r.parts.node ?? NaN)} | ${ms(r.cliMs)} | ${r.verdict} | ${ms(e[2])} (${ms(e[0])}–${ms(e[4])}) | ${ms(r.eip.cliMs)} | ${r.eip.verdict} | ${r.load.toFixed(2)} |`;
  });
  const text = [
    '# ycloud diagnose: time per diagnosis (issue 15)',
    '',
    'One sandbox node (real kube-apiserver, controller, node agent, OVN NB+SB+northd, ovn-controller), one Service',
    'with two pod backends and a client pod, plus N-1 selector-less Services with 10 endpoints each. Times the pod ->',
    'ClusterIP diagnosis of the one Service once everything converged: in process (`gatherFacts` + `diagnose`, median',
    'of 5 with min–max; the last run split by fact source, fetched in parallel) and as the CLI a user runs',
    '(`bin/ycloud diagnose ... --sandbox`, one process, including Node start-up and compiling the sources on the',
    'fly). Command: `npm run bench:diagnose -- --services 1000,10000`. 2 cores shared with other engineers.',
    '',
    'The last three columns: the external -> EIP diagnosis of a LoadBalancer Service on the same two pods.',
    '',
    '| date (UTC) | Services | diagnosis ms median (min–max) | NB route ms | SB route ms | node route ms | CLI process ms | verdict | EIP diagnosis ms median (min–max) | EIP CLI ms | EIP verdict | load 1m |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
  return text;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:diagnose: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
