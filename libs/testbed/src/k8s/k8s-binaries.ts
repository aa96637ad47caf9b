import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { run } from '../process';

/** Programs the Kubernetes side of the test bed runs, all from one build (see test/k8s-bin/build.sh). */
export const K8S_PROGRAMS = ['kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'etcd'] as const;
export type K8sProgram = (typeof K8S_PROGRAMS)[number];

/** The build script is slow only on its first run (it caches by version); allow a cold build. */
const BUILD_TIMEOUT_MS = 40 * 60_000;

/** Repository root, found from this file (libs/testbed/src/k8s). */
export function repoRoot(): string {
  return path.resolve(__dirname, '../../../..');
}

/**
 * Directory holding kube-apiserver, kube-controller-manager, kube-proxy and etcd: `YCLOUD_K8S_BIN_DIR` when set
 * (read at call time), otherwise whatever `test/k8s-bin/build.sh` prints (it builds once, then reuses its cache).
 */
export async function resolveK8sBinDir(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const override = env.YCLOUD_K8S_BIN_DIR;
  const dir = override
    ? path.resolve(override)
    : (await run(path.join(repoRoot(), 'test/k8s-bin/build.sh'), [], { timeoutMs: BUILD_TIMEOUT_MS })).stdout.trim();
  const missing = K8S_PROGRAMS.filter((p) => !existsSync(path.join(dir, p)));
  if (missing.length > 0) {
    const from = override ? 'YCLOUD_K8S_BIN_DIR' : 'test/k8s-bin/build.sh';
    throw new Error(`${dir} (from ${from}) lacks ${missing.join(', ')}`);
  }
  return dir;
}

/** Tools the install and real-node tests run, built on demand by test/k8s-bin/build-tool.sh (cached by version). */
export type K8sTool = 'kubectl' | 'kubelet' | 'kube-scheduler' | 'helm';

/**
 * Path of kubectl, kubelet, kube-scheduler or helm: `YCLOUD_<TOOL>` (dashes as underscores) when set (read at call time), otherwise whatever
 * `test/k8s-bin/build-tool.sh <tool>` prints (it builds once from the Go module proxy, then reuses its cache).
 */
export async function resolveK8sTool(tool: K8sTool, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const override = env[`YCLOUD_${tool.toUpperCase().replace(/-/g, '_')}`];
  const file = override
    ? path.resolve(override)
    : (
        await run(path.join(repoRoot(), 'test/k8s-bin/build-tool.sh'), [tool], { timeoutMs: BUILD_TIMEOUT_MS })
      ).stdout.trim();
  if (!existsSync(file)) throw new Error(`${tool}: ${file} does not exist`);
  return file;
}
