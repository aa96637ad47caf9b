import type { IpAllocationAnnotation } from '@ycloud/api';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The two shims: POSIX sh + socat (default, fastest start) and Node (for hosts without socat). */
export const SHIMS = {
  sh: resolve(__dirname, '../../../apps/cni/src/shim/ycloud-cni.sh'),
  node: resolve(__dirname, '../../../apps/cni/src/shim/ycloud-cni.js'),
};
export const SHIM = SHIMS.sh;

/** Builds (cached) the reference cnitool; returns its path. */
export function cnitoolPath(): string {
  return execFileSync(resolve(__dirname, 'build-cnitool.sh'), { encoding: 'utf8' }).trim();
}

/** A CNI_PATH dir with the shim as `ycloud`, and a NETCONFPATH dir with a conflist. */
export function installPlugin(dir: string, shim = SHIM, cniVersion = '1.1.0'): { binDir: string; confDir: string } {
  const tag = shim === SHIMS.node ? 'node' : 'sh';
  const binDir = join(dir, `bin-${tag}`);
  const confDir = join(dir, `net.d-${tag}`);
  mkdirSync(binDir, { recursive: true });
  mkdirSync(confDir, { recursive: true });
  symlinkSync(shim, join(binDir, 'ycloud'));
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
    // A program may exit without reading its input (a usage error): its exit code says so, not an EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/** The controller's annotation value, typed by the `@ycloud/api` contract. */
export function allocationJson(
  cidr: string,
  mac: string,
  gateway: string,
  logicalSwitch: string,
  logicalSwitchPort: string,
): string {
  const a: IpAllocationAnnotation = {
    ip: cidr,
    ips: [cidr],
    gateway,
    gateways: [gateway],
    mac,
    logicalSwitch,
    logicalSwitchPort,
    mtu: 1400,
    subnet: logicalSwitch,
    vpc: 'vpc0',
  };
  return JSON.stringify(a);
}
