/**
 * Service benchmark (issue 4). `npm run bench:services -- --services 1000 --endpoints 10 [--profile]`.
 * Adds a row and a details block to results/service-bench.md unless `--no-write`.
 */
import { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RESULTS_TABLE_HEADER, resultDetails, resultRow, runServiceBench } from '@ycloud/bench';

const RESULTS = path.resolve(__dirname, '../../../results/service-bench.md');
const ROWS_MARKER = '<!-- service-bench: new rows go above this line -->';

const TEMPLATE = [
  '# Service benchmark (issue 4)',
  '',
  'Real kube-apiserver (request limits lifted, no kube-controller-manager: the Services are selector-less with',
  'hand-made EndpointSlices), real OVN NB, the controller (`ControllerManager`) as its own process.',
  'Command: `npm run bench:services -- --services N --endpoints M` (`--profile` adds a CPU profile of the controller).',
  'Runs on 2 cores shared with other engineers: figures are noisy; the load average is recorded with each run.',
  '',
  '## Results',
  '',
  ...RESULTS_TABLE_HEADER,
  ROWS_MARKER,
  '',
  '## Runs',
  '',
].join('\n');

function record(row: string, details: string): void {
  let text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : TEMPLATE;
  if (!text.includes(ROWS_MARKER)) text = TEMPLATE + text;
  text = text.replace(ROWS_MARKER, `${row}\n${ROWS_MARKER}`);
  writeFileSync(RESULTS, `${text.trimEnd()}\n\n${details}\n`);
}

async function main(): Promise<void> {
  const opts = new Command()
    .name('bench:services')
    .option('--services <n>', 'Services', Number, 1000)
    .option('--endpoints <m>', 'endpoints per Service (one EndpointSlice)', Number, 10)
    .option('--changes <k>', 'EndpointSlice changes in the latency phase', Number, 200)
    .option('--rate <r>', 'changes per second', Number, 20)
    .option('--parallelism <p>', 'concurrent create requests', Number, 32)
    .option('--nb <kind>', 'central (NB+SB+ovn-northd) or bare (NB ovsdb-server only)', 'central')
    .option('--workers <w>', 'controller workers (default: the manager default)', Number)
    .option('--profile', 'run the controller with --cpu-prof and list the top self time')
    .option('--no-write', 'print only; do not touch results/service-bench.md')
    .parse(process.argv)
    .opts<{
      services: number;
      endpoints: number;
      changes: number;
      rate: number;
      parallelism: number;
      nb: 'central' | 'bare';
      workers?: number;
      profile?: boolean;
      write: boolean;
    }>();
  const report = await runServiceBench({
    services: opts.services,
    endpoints: opts.endpoints,
    changes: opts.changes,
    changeRate: opts.rate,
    parallelism: opts.parallelism,
    nb: opts.nb,
    workers: opts.workers,
    profile: opts.profile,
    log: (line) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  const row = resultRow(report);
  const details = resultDetails(report);
  console.log([...RESULTS_TABLE_HEADER, row].join('\n') + '\n\n' + details);
  if (opts.write) record(row, details);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
