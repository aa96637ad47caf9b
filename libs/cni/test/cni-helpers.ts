import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SHIM = resolve(__dirname, '../../../apps/cni/src/shim/ycloud-cni.js');

/** Builds (cached) the reference cnitool; returns its path. */
export function cnitoolPath(): string {
  return execFileSync(resolve(__dirname, 'build-cnitool.sh'), { encoding: 'utf8' }).trim();
}

/** A CNI_PATH dir with the shim as `ycloud`, and a NETCONFPATH dir with a conflist. */
export function installPlugin(dir: string, cniVersion = '1.1.0'): { binDir: string; confDir: string } {
  const binDir = join(dir, 'bin');
  const confDir = join(dir, 'net.d');
  mkdirSync(binDir, { recursive: true });
  mkdirSync(confDir, { recursive: true });
  symlinkSync(SHIM, join(binDir, 'ycloud'));
  writeFileSync(
    join(confDir, '10-ycloud.conflist'),
    JSON.stringify({ cniVersion, name: 'ycloud', plugins: [{ type: 'ycloud', dns: { nameservers: ['10.96.0.10'] } }] }),
  );
  return { binDir, confDir };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program asynchronously (the agent answering the shim lives in this same process). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<RunResult> {
  return new Promise((res) => {
    const child = execFile(cmd, args, { env, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      res({ code, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}
