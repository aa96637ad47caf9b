import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  DATAPATH_PATHS,
  datapathDetails,
  datapathSvgs,
  datapathTable,
  firstReason,
  gitRevision,
  load1,
  machine,
  runClusterDatapath,
  runKubeProxyDatapath,
  runYcloudDatapath,
  testbedVersions,
  type DatapathPath,
  type DatapathReport,
  PROGRAMMING_SYSTEMS,
  PROGRAMMING_TABLE_HEADER,
  programmingDetails,
  programmingRowPrefix,
  programmingRows,
  programmingSvg,
  recordResult,
  recordRunSection,
  runStamp,
  RESULTS_DIR,
  runProgrammingBench,
  NB_CFG_BARRIER_OWNERS,
  writeResultAsset,
  type NbCfgBarrierOwner,
  type ProgrammingBenchReport,
  type ProgrammingSystem,
} from '@ycloud/bench';
import * as path from 'node:path';
import type { CliIo } from './main';

const PROGRAMMING_MD = path.join(RESULTS_DIR, 'programming-latency.md');
const ROWS_MARKER = '<!-- programming-latency: new rows go above this line -->';
const PROGRAMMING_TEMPLATE = [
  '# Programming latency: ycloud and kube-proxy side by side (issue 14)',
  '',
  'Command: `bin/ycloud bench programming --services N[,N2...] --endpoints M` (as root; OVN/OVS of `YCLOUD_OVN`, Kubernetes',
  'from the test bed build). One real kube-apiserver; N selector-less Services with hand-made EndpointSlices',
  '(stamped with `endpoints.kubernetes.io/last-change-trigger-time`); ycloud (controller, NB/SB ovsdb-server,',
  'ovn-northd, one node with ovn-controller and ovs-vswitchd) and the real kube-proxy (nftables, iptables, ipvs),',
  'each as root in its own network namespace, on the same objects in the same run, change blocks interleaved',
  '(the systems not measured are frozen with SIGSTOP and catch up before their own block).',
  'ycloud: per change, trigger → node flows = the chassis reports the nb_cfg of the transaction that carried the',
  "change (Chassis_Private nb_cfg, ovn-controller's own timestamp); kube-proxy: its own",
  '`kubeproxy_network_programming_duration_seconds` (buckets 0.25 s, then 1 s wide: quantiles are interpolated).',
  'Runs on 2 cores shared with other engineers: the load average is recorded beside every figure.',
  '',
  '## Results',
  '',
  ...PROGRAMMING_TABLE_HEADER,
  ROWS_MARKER,
  '',
  '## Runs',
  '',
].join('\n');

const DATAPATH_MD = path.join(RESULTS_DIR, 'datapath.md');
const DATAPATH_MARKER = '<!-- datapath: runs are appended below -->';
const DATAPATH_TEMPLATE = [
  '# Data path: ycloud and kube-proxy side by side (issue 14)',
  '',
  'Command: `bin/ycloud bench datapath` (as root; test bed: pods are network namespaces on this machine) or',
  '`bin/ycloud bench datapath --kubeconfig K --image I --server-node A --other-node B --node-address IP --system LABEL`',
  '(a real cluster: benchmark pods pinned to the chosen nodes; run it once with ycloud and once with kube-proxy).',
  'Tools from Debian: iperf3, sockperf, ab (apache2-utils) against nginx-light. Each figure has the load average',
  'of the machine beside it; the machine is shared with other engineers.',
  '',
  DATAPATH_MARKER,
  '',
].join('\n');

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

/** `1000,10000`: the scale steps, each its own run with its own results. */
const intList = (v: string): number[] => v.split(',').map((x) => int(x.trim()));

/** Writes one programming run's JSON, SVG and Markdown section (again after every block: replaced in place). */
function writeProgrammingRun(report: ProgrammingBenchReport): void {
  const stamp = `${runStamp(report.date)}-${report.services}x${report.endpoints}`;
  writeResultAsset('programming-latency', `${stamp}.json`, JSON.stringify(report, null, 2) + '\n');
  writeResultAsset('programming-latency', `${stamp}.svg`, programmingSvg(report));
  recordRunSection(PROGRAMMING_MD, PROGRAMMING_TEMPLATE, ROWS_MARKER, {
    id: stamp,
    rowPrefix: programmingRowPrefix(report),
    rows: programmingRows(report),
    details: programmingDetails(report, `programming-latency/${stamp}.svg`, `programming-latency/${stamp}.json`),
  });
}

function systemsArg(v: string): ProgrammingSystem[] {
  const list = v.split(',').map((x) => x.trim());
  const bad = list.filter((x) => !PROGRAMMING_SYSTEMS.includes(x as ProgrammingSystem));
  if (bad.length)
    throw new InvalidArgumentError(`unknown system ${bad.join(', ')} (${PROGRAMMING_SYSTEMS.join(', ')})`);
  return list as ProgrammingSystem[];
}

/** `ycloud bench programming|datapath …`: the benchmarks against kube-proxy; results go to results/. */
export async function runBench(argv: string[], io: CliIo): Promise<number> {
  const program = new Command('ycloud bench')
    .description('benchmarks of ycloud against kube-proxy; results (Markdown, SVG, JSON) go to results/')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  let code = 0;
  program
    .command('programming')
    .description(
      'change → node flows and cold start: ycloud vs kube-proxy nftables/iptables/ipvs, same apiserver, same run',
    )
    .option('--services <list>', 'Services; a comma-separated list runs each scale step in turn', intList, [1000])
    .option('--endpoints <m>', 'endpoints per Service', int, 10)
    .option('--changes <k>', 'EndpointSlice changes measured per system', int, 200)
    .option('--rounds <r>', 'interleaved blocks per system', int, 4)
    .option('--rate <r>', 'changes per second within a block', int, 20)
    .option('--systems <list>', `comma-separated: ${PROGRAMMING_SYSTEMS.join(',')}`, systemsArg, [
      ...PROGRAMMING_SYSTEMS,
    ])
    .option(
      '--metrics-patience <s>',
      'seconds kube-proxy may leave its metrics unanswered before its mode is recorded as failed',
      int,
      120,
    )
    .addOption(
      new Option(
        '--barrier <owner>',
        'who bumps NB nb_cfg to follow a change to the node: the controller (in its transactions) or the benchmark (controller with northbound.nbCfgBarrier: false)',
      )
        .choices([...NB_CFG_BARRIER_OWNERS])
        .default('controller'),
    )
    .option('--no-write', 'print only; do not touch results/')
    .action(
      async (o: {
        barrier: NbCfgBarrierOwner;
        services: number[];
        endpoints: number;
        changes: number;
        rounds: number;
        rate: number;
        systems: ProgrammingSystem[];
        metricsPatience: number;
        write: boolean;
      }) => {
        const log = (line: string) => io.stderr(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
        for (const services of o.services) {
          const report = await runProgrammingBench({
            services,
            endpoints: o.endpoints,
            changes: o.changes,
            rounds: o.rounds,
            rate: o.rate,
            systems: o.systems,
            metricsPatienceMs: o.metricsPatience * 1000,
            barrier: o.barrier,
            log,
            // Every block's figures are on disk as soon as they are measured: a run that dies keeps them.
            onProgress: o.write
              ? (partial) => {
                  writeProgrammingRun(partial);
                  log(`figures so far written to results/ (${partial.phase})`);
                }
              : undefined,
          });
          if (o.write) writeProgrammingRun(report);
          const details = programmingDetails(report, '', '').replace(/^!\[.*$/m, '');
          io.stdout([...PROGRAMMING_TABLE_HEADER, ...programmingRows(report)].join('\n') + '\n\n' + details + '\n');
          if (report.systems.some((x) => x.system === 'ycloud' && (!x.ran || x.failure))) code = 1;
        }
      },
    );
  program
    .command('datapath')
    .description(
      'TCP/UDP throughput, request/response latency, new connections/s and CPU per path: ycloud vs kube-proxy (test bed, or a cluster with --kubeconfig)',
    )
    .option(
      '--systems <list>',
      'test bed: comma-separated of ycloud,iptables,nftables,ipvs',
      'ycloud,nftables,iptables',
    )
    .option('--paths <list>', `comma-separated of ${DATAPATH_PATHS.join(',')}`, DATAPATH_PATHS.join(','))
    .option('--seconds <s>', 'seconds per timed test', int, 5)
    .option('--streams <n>', 'streams of the N-stream TCP test', int, 4)
    .option('--kubeconfig <file>', 'run on this cluster instead of the test bed')
    .option('--image <ref>', 'cluster: image with iperf3, sockperf, ab, nginx, nc')
    .option('--server-node <name>', 'cluster: node of the server and the same-node client')
    .option('--other-node <name>', 'cluster: node of the cross-node and host-network clients')
    .option('--node-address <ip>', 'cluster: address of --server-node for NodePort from this machine')
    .option(
      '--system <label>',
      'cluster: what proxies Services there, e.g. "ycloud agent=dpu" or "kube-proxy nftables"',
    )
    .option('--kubectl <path>', 'cluster: kubectl binary', 'kubectl')
    .option('--no-write', 'print only; do not touch results/')
    .action(async (o: Record<string, string | number | boolean | undefined>) => {
      const log = (line: string) => io.stderr(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
      const paths = String(o.paths).split(',') as DatapathPath[];
      const tests = { seconds: Number(o.seconds), streams: Number(o.streams) };
      const loadStart = load1();
      const results: DatapathReport['results'] = [];
      const systems: Record<string, string> = {};
      let mode: DatapathReport['mode'] = 'testbed';
      if (o.kubeconfig) {
        mode = 'cluster';
        for (const req of ['image', 'serverNode', 'otherNode', 'nodeAddress', 'system'])
          if (!o[req])
            throw new InvalidArgumentError(
              `--kubeconfig needs --${req.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
            );
        const label = String(o.system);
        systems[label] = `${label} on the cluster of ${String(o.kubeconfig)}`;
        results.push(
          ...(await runClusterDatapath({
            kubeconfig: String(o.kubeconfig),
            kubectl: String(o.kubectl),
            image: String(o.image),
            serverNode: String(o.serverNode),
            otherNode: String(o.otherNode),
            nodeAddress: String(o.nodeAddress),
            system: label,
            log,
            tests,
          })),
        );
      } else {
        for (const s of String(o.systems).split(',')) {
          if (s === 'ycloud') {
            systems.ycloud = 'ycloud sandbox, 2 nodes, agent mode none, OVS userspace (netdev) datapath';
            results.push(...(await runYcloudDatapath(paths, tests, log)));
          } else if (s === 'iptables' || s === 'nftables' || s === 'ipvs') {
            systems[s] = `kube-proxy ${s} on a routed veth pod network (2 node namespaces, Linux kernel forwarding)`;
            try {
              results.push(...(await runKubeProxyDatapath(s, paths, tests, log)));
            } catch (err) {
              const why = firstReason(err as Error);
              log(`kube-proxy ${s} could not run: ${why}`);
              systems[s] += ` — could not run: ${why}`;
            }
          } else throw new InvalidArgumentError(`unknown system ${s}`);
        }
      }
      const report: DatapathReport = {
        date: new Date().toISOString(),
        revision: await gitRevision(),
        mode,
        machine: machine(
          mode === 'cluster'
            ? 'as deployed on the cluster'
            : 'netdev (userspace) for ycloud; kube-proxy uses the kernel',
        ),
        versions: { node: process.version, ...(mode === 'testbed' ? await testbedVersions() : {}) },
        systems,
        seconds: tests.seconds,
        streams: tests.streams,
        results,
        load: { start: loadStart, end: load1() },
      };
      const stamp = `${runStamp(report.date)}-${mode}`;
      const table = datapathTable(report);
      const svgs = datapathSvgs(report);
      const svgFiles = svgs.map((x) => `datapath/${stamp}-${x.name}.svg`);
      const details = datapathDetails(report, svgFiles, `datapath/${stamp}.json`);
      if (o.write) {
        writeResultAsset('datapath', `${stamp}.json`, JSON.stringify(report, null, 2) + '\n');
        for (const x of svgs) writeResultAsset('datapath', `${stamp}-${x.name}.svg`, x.svg);
        recordResult(DATAPATH_MD, DATAPATH_TEMPLATE, DATAPATH_MARKER, [], `${details}\n\n${table}`);
      }
      io.stdout(`${table}\n\n${details}\n`);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
}
