import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { NetnsProbeWorker } from '../src/netns-probe-worker';

/** The worker program against loopback servers (namespaces are exercised by test/e2e/network-probe.test.ts). */
describe('NetnsProbeWorker (loopback)', () => {
  const worker = new NetnsProbeWorker();
  let tcp: net.Server;
  let web: http.Server;
  let closedPort: number;

  beforeAll(async () => {
    tcp = net.createServer((s) => s.end()).listen(0, '127.0.0.1');
    web = http.createServer((req, res) => res.writeHead(req.url === '/ok' ? 200 : 503).end()).listen(0, '127.0.0.1');
    const spare = net.createServer().listen(0, '127.0.0.1');
    await Promise.all([tcp, web, spare].map((s) => new Promise((r) => s.once('listening', r))));
    closedPort = (spare.address() as AddressInfo).port;
    await new Promise((r) => spare.close(r));
  });
  afterAll(async () => {
    await worker.close();
    tcp.close();
    web.close();
  });
  const port = (s: net.Server | http.Server) => (s.address() as AddressInfo).port;

  it('tcp: connected vs refused', async () => {
    expect(await worker.probe({ type: 'tcp', host: '127.0.0.1', port: port(tcp), timeoutMs: 1000 })).toMatchObject({
      ok: true,
      message: 'connected',
    });
    expect(await worker.probe({ type: 'tcp', host: '127.0.0.1', port: closedPort, timeoutMs: 1000 })).toMatchObject({
      ok: false,
      message: 'ECONNREFUSED',
    });
  });

  it('http: expected status decides', async () => {
    const base = { type: 'http' as const, host: '127.0.0.1', port: port(web), timeoutMs: 1000 };
    expect(await worker.probe({ ...base, path: '/ok' })).toMatchObject({ ok: true, message: 'HTTP 200' });
    expect(await worker.probe({ ...base, path: '/bad' })).toMatchObject({ ok: false, message: /HTTP 503/ });
    expect(await worker.probe({ ...base, path: '/bad', expectedStatus: 503 })).toMatchObject({ ok: true });
  });

  it('udp: ICMP port unreachable fails; icmp echo to loopback succeeds', async () => {
    const udp = await worker.probe({ type: 'udp', host: '127.0.0.1', port: closedPort, timeoutMs: 500 });
    expect(udp).toMatchObject({ ok: false, message: 'ECONNREFUSED' });
    const none = await worker.probe({
      type: 'udp',
      host: '127.0.0.1',
      port: closedPort,
      timeoutMs: 300,
      expectReply: true,
    });
    expect(none.ok).toBe(false);
    expect(await worker.probe({ type: 'icmp', host: '127.0.0.1', timeoutMs: 1000 })).toMatchObject({ ok: true });
  });

  it('reports its own CPU and RSS', async () => {
    const s = await worker.stats();
    expect(s.rssBytes).toBeGreaterThan(1_000_000);
  });
});
