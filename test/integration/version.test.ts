import { ycloudVersion } from '@ycloud/api';
import { run } from '@ycloud/testbed';
import { repoRoot } from '@ycloud/testbed/k8s';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Every ycloud program answers --version (package.json's version, exit 0) and --help (exit 0), from the sources
 * as a developer runs them. test/images/images.test.ts checks the same in the built images.
 */
const root = repoRoot();
const register = path.join(root, 'scripts/register.js');
const programs: [string, string, string[]][] = [
  ['ycloud-controller', process.execPath, ['-r', register, path.join(root, 'apps/controller/src/main.ts')]],
  ['ycloud-cni-agent', process.execPath, ['-r', register, path.join(root, 'apps/cni/src/main.ts')]],
  ['ycloud (CLI)', path.join(root, 'bin/ycloud'), []],
  ['CNI plugin (Node)', process.execPath, [path.join(root, 'apps/cni/src/shim/ycloud-cni.js')]],
  ['CNI plugin (sh)', '/bin/sh', [path.join(root, 'apps/cni/src/shim/ycloud-cni.sh')]],
];

describe('--version and --help', () => {
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

  it('package.json has the version the libraries report', () => {
    expect(ycloudVersion()).toBe(version);
  });

  it.each(programs)('%s --version prints the version and exits 0', async (_name, cmd, args) => {
    const r = await run(cmd, [...args, '--version'], { allowFailure: true, timeoutMs: 60_000 });
    expect([r.code, r.stdout.trim(), r.stderr]).toEqual([0, version, '']);
  });

  it.each(programs)('%s --help prints its usage and exits 0', async (_name, cmd, args) => {
    const r = await run(cmd, [...args, '--help'], { allowFailure: true, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--version/);
  });
});
