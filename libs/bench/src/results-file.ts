import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const RESULTS_DIR = path.resolve(__dirname, '../../../results');

/**
 * Appends one run to a results Markdown file: `rows` above the marker in its table, `details` at the end; the
 * file is created from `template` (which must contain the marker) when missing.
 */
export function recordResult(file: string, template: string, marker: string, rows: string[], details: string): void {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : template;
  if (!text.includes(marker)) text = template + text;
  text = text.replace(marker, `${rows.join('\n')}\n${marker}`);
  writeFileSync(file, `${text.trimEnd()}\n\n${details}\n`);
}

/** One run's part of a results file, rewritten in place each time the run has more figures. */
export interface RunSection {
  /** Unique per run (e.g. `20261207-0640-10000x10`): the details are kept between `<!-- run:ID -->` lines. */
  id: string;
  /** Start of every table row of this run (e.g. `| 2026-12-07 06:40 | 10000 × 10 |`): replaced as a whole. */
  rowPrefix: string;
  rows: string[];
  details: string;
}

/**
 * `text` (a results file) with one run's rows and details put in place: the run's earlier rows (lines starting
 * with `rowPrefix`) and its earlier details block are replaced, so a run can write after every block it measures
 * and a run that dies still leaves what it had. New rows go above `marker`, new details at the end.
 */
export function upsertRunSection(text: string, template: string, marker: string, run: RunSection): string {
  let out = text.includes(marker) ? text : template + text;
  const lines = out.split('\n').filter((l) => !l.startsWith(run.rowPrefix));
  const at = lines.indexOf(marker);
  lines.splice(at < 0 ? lines.length : at, 0, ...run.rows);
  out = lines.join('\n');
  const open = `<!-- run:${run.id} -->`;
  const close = `<!-- /run:${run.id} -->`;
  const block = `${open}\n${run.details.trimEnd()}\n${close}`;
  const i = out.indexOf(open);
  const j = out.indexOf(close);
  if (i >= 0 && j > i) return out.slice(0, i) + block + out.slice(j + close.length);
  return `${out.trimEnd()}\n\n${block}\n`;
}

/** `upsertRunSection` on a file (created from `template` when missing). */
export function recordRunSection(file: string, template: string, marker: string, run: RunSection): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : template;
  writeFileSync(file, upsertRunSection(text, template, marker, run));
}

/**
 * A run's file and section id from its start (ISO date), to the second: two runs started in the same minute must not
 * overwrite each other's files and rows.
 */
export function runStamp(isoDate: string): string {
  return isoDate.slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
}

/** Writes `content` to results/<dir>/<name>, creating the folder; returns the path relative to results/. */
export function writeResultAsset(dir: string, name: string, content: string): string {
  mkdirSync(path.join(RESULTS_DIR, dir), { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, dir, name), content);
  return `${dir}/${name}`;
}
