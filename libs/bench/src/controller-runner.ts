/**
 * The controller as its own process for the Service benchmark, so RSS and CPU profiles are the controller's
 * alone. Started by `ControllerProcess` with `child_process.fork` and one JSON argument (RunnerConfig); talks
 * over the IPC channel: `ready` once `ControllerManager.start()` resolved, `stats` on request, `stopped` before
 * it exits (an orderly exit, so `--cpu-prof` writes its profile).
 */
import { readFileSync } from 'node:fs';
import { parseControllerConfig } from '@ycloud/api';
import { ControllerManager } from '@ycloud/controllers';
import { KubeClient, Logger } from '@ycloud/k8s';
import type { ApplyRecord } from '@ycloud/ovn';
import type { Gauge, Counter } from 'prom-client';

export interface RunnerConfig {
  kubeconfig: string;
  nbRemote: string;
  serviceCIDRs: string[];
  workers?: number;
  /** The controller config's `northbound.nbCfgBarrier` (default true). */
  nbCfgBarrier?: boolean;
}

/** One committed NB transaction, as the runner reports it. */
export interface ApplySample {
  owner: string;
  reason: string;
  operations: number;
  latencyMs: number;
  /** Wall clock (ms since epoch) of the commit's completion. */
  doneAt: number;
}

export interface RunnerStats {
  /** Peak resident set size (VmHWM) in bytes. */
  rssPeak: number;
  rss: number;
  heapUsed: number;
  /** Committed NB transactions and their operations since start. */
  writes: number;
  operations: number;
  /** Applies since the index the request asked for. */
  applies: ApplySample[];
  queueDepth: number;
  reconciles: number;
  cpuUserMs: number;
  cpuSystemMs: number;
}

export type RunnerRequest = { type: 'stats'; id: number; appliesSince: number } | { type: 'stop' };
export type RunnerMessage =
  | { type: 'ready'; startMs: number }
  | { type: 'stats'; id: number; stats: RunnerStats }
  | { type: 'stopped' }
  | { type: 'failed'; error: string };

function vmHwmBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function metricSum(manager: ControllerManager, name: string): Promise<number> {
  const metric = manager.registry.getSingleMetric(name) as Gauge | Counter | undefined;
  if (!metric) return 0;
  return (await metric.get()).values.reduce((a, v) => a + v.value, 0);
}

async function main(): Promise<void> {
  const send = (m: RunnerMessage): void => {
    process.send?.(m);
  };
  const cfg = JSON.parse(process.argv[2]) as RunnerConfig;
  const applies: ApplySample[] = [];
  let writes = 0;
  let operations = 0;
  let lastTx: number | undefined;
  const manager = new ControllerManager({
    config: parseControllerConfig({
      serviceCIDRs: cfg.serviceCIDRs,
      ...(cfg.nbCfgBarrier === undefined ? {} : { northbound: { nbCfgBarrier: cfg.nbCfgBarrier } }),
    }),
    kube: KubeClient.fromKubeconfigFile(cfg.kubeconfig),
    northbound: { remotes: cfg.nbRemote },
    logger: new Logger({ level: 'warn' }),
    workers: cfg.workers,
    onApply: (r: ApplyRecord) => {
      if (!r.written) return;
      // Several owners' applies share one transaction under load (group commit): count transactions once.
      const tx = r.transaction;
      if (!tx || tx.seq !== lastTx) {
        writes++;
        operations += tx?.operations ?? r.operations;
        lastTx = tx?.seq;
      }
      applies.push({
        owner: `${r.owner.kind}/${r.owner.name}`,
        reason: r.reason,
        operations: r.operations,
        latencyMs: r.latencyMs,
        doneAt: Date.now(),
      });
    },
  });
  process.on('message', (req: RunnerRequest) => {
    if (req.type === 'stats') {
      void (async () => {
        const mem = process.memoryUsage();
        const cpu = process.cpuUsage();
        send({
          type: 'stats',
          id: req.id,
          stats: {
            rssPeak: vmHwmBytes(),
            rss: mem.rss,
            heapUsed: mem.heapUsed,
            writes,
            operations,
            applies: applies.slice(req.appliesSince),
            queueDepth: await metricSum(manager, 'ycloud_workqueue_depth'),
            reconciles: await metricSum(manager, 'ycloud_controller_reconcile_total'),
            cpuUserMs: cpu.user / 1000,
            cpuSystemMs: cpu.system / 1000,
          },
        });
      })();
    } else if (req.type === 'stop') {
      void manager.stop().finally(() => {
        send({ type: 'stopped' });
        // Exit explicitly (open sockets may linger); --cpu-prof still writes its profile on process.exit.
        setTimeout(() => process.exit(0), 50);
      });
    }
  });
  const t0 = performance.now();
  await manager.start();
  send({ type: 'ready', startMs: performance.now() - t0 });
}

main().catch((err: unknown) => {
  process.send?.({ type: 'failed', error: String((err as Error)?.stack ?? err) } satisfies RunnerMessage);
  setTimeout(() => process.exit(1), 50);
});
