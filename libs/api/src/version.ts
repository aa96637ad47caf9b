import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * ycloud's version: package.json's `version`, found by walking up from this file (sources: the repository root;
 * the image: /opt/ycloud, where the build copies package.json beside dist/). Every binary's `--version` prints it.
 */
export function ycloudVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ycloud' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: keep walking up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
