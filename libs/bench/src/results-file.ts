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

/** Writes `content` to results/<dir>/<name>, creating the folder; returns the path relative to results/. */
export function writeResultAsset(dir: string, name: string, content: string): string {
  mkdirSync(path.join(RESULTS_DIR, dir), { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, dir, name), content);
  return `${dir}/${name}`;
}
