import { KubeControlPlane } from '@ycloud/testbed/k8s';
import { KubeClient, KubeObject, Logger, Resources, isAlreadyExists, parseLogLevel } from '@ycloud/k8s';

/** Test logger: silent unless YCLOUD_TEST_LOG=debug|info|... */
export function testLogger(): Logger {
  const level = process.env.YCLOUD_TEST_LOG;
  return level ? new Logger({ level: parseLogLevel(level) }) : Logger.silent();
}

export async function startControlPlane(): Promise<{ cp: KubeControlPlane; client: KubeClient }> {
  const cp = await KubeControlPlane.start();
  return { cp, client: KubeClient.fromKubeconfigFile(cp.kubeconfigPath) };
}

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** name -> resourceVersion, sorted, for comparing a cache with a fresh list. */
export function versions(objs: KubeObject[]): Array<[string, string]> {
  return objs
    .map(
      (o) =>
        [`${o.metadata?.namespace ?? ''}/${o.metadata?.name}`, o.metadata?.resourceVersion ?? ''] as [string, string],
    )
    .sort();
}
