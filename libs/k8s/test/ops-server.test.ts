import { Registry } from 'prom-client';
import { Controller, OpsServer } from '@ycloud/k8s';
import { testLogger } from './helpers';

describe('OpsServer', () => {
  it('serves healthz, readyz with pluggable checks, and pre-registered controller metrics', async () => {
    const registry = new Registry();
    new Controller({ name: 'services', reconcile: async () => ({}), registry, logger: testLogger() });
    let synced = false;
    const ops = new OpsServer({ registry, logger: testLogger() })
      .addHealthCheck('ping', () => true)
      .addReadyCheck('caches-synced', () => synced)
      .addReadyCheck('nb-connected', async () => true)
      .addReadyCheck('leader-election', () => 'standby');
    const { url } = await ops.listen();
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.text()).toContain('[-]caches-synced failed');
      synced = true;
      const ready = await fetch(`${url}/readyz?verbose`);
      expect(ready.status).toBe(200);
      const body = await ready.text();
      expect(body).toContain('[+]nb-connected ok');
      expect(body).toContain('[+]leader-election ok (standby)');
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain('ycloud_controller_reconcile_total{controller="services",result="success"} 0');
      expect(metrics).toContain('ycloud_workqueue_depth{name="services"} 0');
      expect((await fetch(`${url}/nope`)).status).toBe(404);
    } finally {
      await ops.close();
    }
  });

  it('serves read-only JSON routes with their status and the query they were asked', async () => {
    const ops = new OpsServer({ registry: new Registry(), logger: testLogger() }).addRoute('/things', async (u) =>
      u.searchParams.has('name')
        ? { status: 200, body: { name: u.searchParams.get('name') } }
        : { status: 400, body: { error: 'need name' } },
    );
    const { url } = await ops.listen();
    try {
      const ok = await fetch(`${url}/things?name=a`);
      expect([ok.status, ok.headers.get('content-type'), await ok.json()]).toEqual([
        200,
        'application/json',
        { name: 'a' },
      ]);
      const bad = await fetch(`${url}/things`);
      expect([bad.status, await bad.json()]).toEqual([400, { error: 'need name' }]);
      expect((await fetch(`${url}/things`, { method: 'POST' })).status).toBe(405);
    } finally {
      await ops.close();
    }
  });
});
