import { listLeaks, isClean, makeRunDir, netnsAdd, netnsDel, netnsExec, runIdOf, eventually } from '@ycloud/testbed';
import { rm } from 'node:fs/promises';
import { HealthServer } from '../src';

/**
 * The health worker for real, in a network namespace of its own: kube-proxy's health listeners take both address
 * families, and a dual-stack Service answers each probe with the local endpoint count of the family it came over
 * (kube-proxy's per-family health servers), so the counts below differ per family on purpose.
 */
describe('HealthServer (health-worker.js) on both address families', () => {
  let dir = '';
  let netns = '';
  let server: HealthServer | undefined;
  const PORT = 32111;

  const get = async (host: string, port: number, path = '/'): Promise<{ code: string; body: string }> => {
    const r = await netnsExec(
      netns,
      ['curl', '-g', '-s', '-m', '2', '-w', '\n%{http_code}', `http://${host}:${port}${path}`],
      { allowFailure: true },
    );
    const lines = r.stdout.trimEnd().split('\n');
    return { code: lines.pop() ?? '000', body: lines.join('\n') };
  };

  beforeAll(async () => {
    dir = await makeRunDir();
    netns = `ycn-${runIdOf(dir)}-health`;
    await netnsAdd(netns);
    await netnsExec(netns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0']);
    server = new HealthServer({ netns });
    server.update({
      proxy: { port: 10256, healthy: true, nodeEligible: true, lastUpdated: new Date().toISOString() },
      services: [
        { namespace: 'ns', name: 'dual', port: PORT, localEndpoints: 2, byFamily: { ipv4: 2, ipv6: 1 } },
        { namespace: 'ns', name: 'v4only', port: PORT + 1, localEndpoints: 3 },
      ],
    });
  });

  afterAll(async () => {
    await server?.close();
    if (netns) await netnsDel(netns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("answers a dual-stack Service's check with the count of the probe's family", async () => {
    const v4 = await eventually(
      () => get('127.0.0.1', PORT),
      (r) => r.code === '200',
      'IPv4 answer',
      15_000,
      200,
    );
    expect(JSON.parse(v4.body)).toEqual({
      service: { namespace: 'ns', name: 'dual' },
      localEndpoints: 2,
      serviceProxyHealthy: true,
    });
    const v6 = await get('[::1]', PORT);
    expect(v6.code).toBe('200');
    expect(JSON.parse(v6.body)).toMatchObject({ localEndpoints: 1 });
  });

  it('answers a single-stack Service and the proxy health on both families with the same count', async () => {
    for (const host of ['127.0.0.1', '[::1]']) {
      const r = await eventually(
        () => get(host, PORT + 1),
        (x) => x.code === '200',
        host,
        15_000,
        200,
      );
      expect(JSON.parse(r.body)).toMatchObject({ localEndpoints: 3 });
      expect((await get(host, 10256, '/healthz')).code).toBe('200');
    }
  });

  it('leaves nothing behind', async () => {
    await server?.close();
    server = undefined;
    await netnsDel(netns);
    const leaks = await listLeaks({ runDir: dir });
    await rm(dir, { recursive: true, force: true });
    expect(isClean({ ...leaks, dirs: [] })).toBe(true);
  });
});
