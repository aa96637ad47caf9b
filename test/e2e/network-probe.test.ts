import { ExecCommandRunner } from '@ycloud/cni';
import {
  Prober,
  plugProbePort,
  probeLspName,
  probeNetnsName,
  unplugProbePort,
  type ProbePortHost,
  type ProbeTargetSpec,
} from '@ycloud/probe';
import { Daemon, OvnTestbed, TcpServer, runText, waitFor } from '@ycloud/testbed';
import * as path from 'node:path';

// A minimal HTTP server in a namespace: `/healthz` → 200, anything else → 404.
const HTTP_JS = `require('http').createServer((q, s) => s.writeHead(q.url === '/healthz' ? 200 : 404).end('x'))
  .listen(Number(process.argv[1]), '0.0.0.0', () => console.log('listening'));`;

/**
 * NetworkProbe datapath (ADR 0003) with real traffic: a probe port per VPC (an OVS internal port in its own
 * namespace, bound to LSP probe.<vpc>), probes sent by the probe worker from that namespace through the VPC's
 * switch and router to backend pods, the state machine turning targets unhealthy / healthy, and VPC isolation.
 */
describe('NetworkProbe datapath (ADR 0003)', () => {
  let bed: OvnTestbed;
  let host: ProbePortHost;
  const prober = new Prober({ tickMs: 10 });
  const servers: Array<{ stop(): Promise<void> }> = [];
  // Probe namespaces are host-global: a prefix unique to this run keeps parallel suites apart.
  const prefix = `ycp${process.pid.toString(36)}-`;
  const nsA = () => probeNetnsName('vpc-a', prefix);
  const nsB = () => probeNetnsName('vpc-b', prefix);
  const events: Array<{ id: string; healthy: boolean; at: number }> = [];

  const httpServer = async (netns: string, port: number): Promise<Daemon> => {
    const d = await Daemon.spawn({
      name: `http ${netns}`,
      cmd: 'ip',
      args: ['netns', 'exec', netns, process.execPath, '-e', HTTP_JS, String(port)],
      consoleLog: path.join(bed.dir, `http-${port}.log`),
    });
    servers.push({ stop: () => d.stop(2_000) });
    // Listening, not merely started: a loaded machine takes longer than any fixed pause to start node.
    await waitFor(`http server in ${netns} to listen on ${port}`, async () => {
      await d.assertRunning();
      return (await runText('ip', ['netns', 'exec', netns, 'ss', '-Htln', `sport = :${port}`])).length > 0;
    });
    return d;
  };

  beforeAll(async () => {
    bed = await OvnTestbed.start({ nodes: ['node-1', 'node-2'] });
    const nb = (...a: string[]) => bed.central.nbctl(...a);
    // Two VPCs, each a router and one subnet; nothing connects them.
    for (const [v, n] of [
      ['a', 1],
      ['b', 2],
    ] as const) {
      await nb('lr-add', `vr-${v}`);
      await nb('ls-add', `sub-${v}`);
      await nb('lrp-add', `vr-${v}`, `vr-${v}-sub`, `0a:58:0a:0${n}:00:01`, `10.${n}.0.1/24`);
      await nb('lsp-add', `sub-${v}`, `sub-${v}-vr`, '--', 'lsp-set-type', `sub-${v}-vr`, 'router');
      await nb(
        'lsp-set-addresses',
        `sub-${v}-vr`,
        'router',
        '--',
        'lsp-set-options',
        `sub-${v}-vr`,
        `router-port=vr-${v}-sub`,
      );
      const probeLsp = probeLspName(`vpc-${v}`);
      await nb(
        'lsp-add',
        `sub-${v}`,
        probeLsp,
        '--',
        'lsp-set-addresses',
        probeLsp,
        `0a:58:0a:0${n}:00:fa 10.${n}.0.250`,
      );
      await nb('lsp-set-port-security', probeLsp, `0a:58:0a:0${n}:00:fa 10.${n}.0.250`);
    }
    // Backends: two in VPC A (a2 on the other node, so probes cross the Geneve tunnel), one in VPC B.
    const pods = [
      { name: 'a1', v: 'a', n: 1, ip: 5, node: 'node-1' },
      { name: 'a2', v: 'a', n: 1, ip: 6, node: 'node-2' },
      { name: 'b1', v: 'b', n: 2, ip: 5, node: 'node-2' },
    ];
    for (const p of pods) {
      const mac = `0a:58:0a:0${p.n}:00:0${p.ip}`;
      await nb('lsp-add', `sub-${p.v}`, p.name, '--', 'lsp-set-addresses', p.name, `${mac} 10.${p.n}.0.${p.ip}`);
      await bed.node(p.node).plugPod({
        netns: p.name,
        ifaceId: p.name,
        mac,
        ips: [`10.${p.n}.0.${p.ip}/24`],
        gateway: `10.${p.n}.0.1`,
      });
    }
    // The probe ports, plugged with the function the node agent uses.
    const n1 = bed.node('node-1');
    host = { vsctl: (a) => n1.ovsVsctl(...a), runner: new ExecCommandRunner(), datapathNetns: n1.netns };
    await plugProbePort(host, {
      vpc: 'vpc-a',
      mac: '0a:58:0a:01:00:fa',
      ipCidr: '10.1.0.250/24',
      gateway: '10.1.0.1',
      prefix,
    });
    await plugProbePort(host, {
      vpc: 'vpc-b',
      mac: '0a:58:0a:02:00:fa',
      ipCidr: '10.2.0.250/24',
      gateway: '10.2.0.1',
      prefix,
    });
    await nb('--wait=hv', 'sync');
    await waitFor('probe port ovn-installed', async () =>
      (
        await n1.ovsVsctl(
          '--columns=name',
          'find',
          'Interface',
          'external_ids:iface-id="probe.vpc-a"',
          'external_ids:ovn-installed="true"',
        )
      ).includes('name'),
    );
    prober.onResult((e) => {
      if (e.transition) events.push({ id: e.id, healthy: e.health.healthy, at: Date.now() });
    });
  }, 180_000);

  afterAll(async () => {
    await prober.stop();
    for (const s of servers) await s.stop().catch(() => undefined);
    if (host) {
      await unplugProbePort(host, 'vpc-a', prefix).catch(() => undefined);
      await unplugProbePort(host, 'vpc-b', prefix).catch(() => undefined);
    }
    await bed?.stop();
  }, 60_000);

  const target = (id: string, netns: string, request: ProbeTargetSpec['request']): ProbeTargetSpec => ({
    id,
    netns,
    request,
    intervalMs: 1_000,
    failureThreshold: 3,
    successThreshold: 2,
  });
  const podNs = (name: string) => bed.node(name === 'a1' ? 'node-1' : 'node-2').netnsName(name);
  const transitionOf = (id: string, healthy: boolean, after: number) =>
    waitFor(
      `${id} healthy=${healthy}`,
      async () => events.find((e) => e.id === id && e.healthy === healthy && e.at >= after),
      {
        timeoutMs: 15_000,
        intervalMs: 5,
      },
    );

  it('a stopped backend becomes unhealthy within interval × failureThreshold (+ margin) and returns after successThreshold', async () => {
    const tcp = await TcpServer.start(podNs('a2'), 8080, 'a2');
    servers.push(tcp);
    prober.upsert(target('tcp/a2', nsA(), { type: 'tcp', host: '10.1.0.6', port: 8080, timeoutMs: 500 }));
    await waitFor('a2 probed healthy', async () => (prober.health('tcp/a2')?.consecutiveSuccesses ?? 0) >= 2);
    expect(prober.health('tcp/a2')).toMatchObject({ healthy: true, message: 'connected' });

    const margins: number[] = [];
    const returns: number[] = [];
    let server = tcp;
    for (let round = 0; round < 3; round++) {
      const stopped = Date.now();
      await server.stop();
      const down = await transitionOf('tcp/a2', false, stopped);
      margins.push(down.at - stopped - 3 * 1_000);
      expect(prober.health('tcp/a2')).toMatchObject({
        healthy: false,
        consecutiveFailures: 3,
        message: 'ECONNREFUSED',
      });
      // From when it listens: starting node in the namespace is not the prober's time (and is slow under load).
      server = await TcpServer.start(podNs('a2'), 8080, 'a2');
      servers.push(server);
      const started = Date.now();
      const up = await transitionOf('tcp/a2', true, started);
      returns.push(up.at - started);
    }
    console.log(
      `detection: stop → unhealthy minus 3 s: ${margins.join(', ')} ms; start → healthy: ${returns.join(', ')} ms`,
    );
    // interval × failureThreshold + the probe timeout is the bound; refused connections fail immediately.
    for (const m of margins) expect(m).toBeLessThan(500);
    for (const r of returns) expect(r).toBeLessThan(2 * 1_000 + 500);
  }, 60_000);

  it('http: the expected status decides; a wrong expected status fails with the code seen', async () => {
    await httpServer(podNs('a1'), 8081);
    const base = { type: 'http' as const, host: '10.1.0.5', port: 8081, timeoutMs: 500 };
    prober.upsert(target('http/ok', nsA(), { ...base, path: '/healthz' }));
    prober.upsert(target('http/wrong', nsA(), { ...base, path: '/healthz', expectedStatus: 204 }));
    prober.upsert(target('http/404', nsA(), { ...base, path: '/missing' }));
    await waitFor('http targets probed 3 times', async () =>
      ['http/ok', 'http/wrong', 'http/404'].every(
        (id) => (prober.health(id)?.consecutiveFailures ?? 0) + (prober.health(id)?.consecutiveSuccesses ?? 0) >= 3,
      ),
    );
    expect(prober.health('http/ok')).toMatchObject({ healthy: true, message: 'HTTP 200' });
    expect(prober.health('http/wrong')).toMatchObject({ healthy: false, message: 'HTTP 200 (expected 204)' });
    expect(prober.health('http/404')).toMatchObject({ healthy: false, message: 'HTTP 404 (expected 2xx/3xx)' });
  }, 30_000);

  it('icmp and udp from the probe namespace', async () => {
    prober.upsert(target('icmp/a2', nsA(), { type: 'icmp', host: '10.1.0.6', timeoutMs: 1_000 }));
    prober.upsert(target('icmp/none', nsA(), { type: 'icmp', host: '10.1.0.77', timeoutMs: 1_000 }));
    // Nothing listens on UDP 9999 in a2: the pod's kernel answers ICMP port unreachable, back through OVN.
    prober.upsert(target('udp/a2', nsA(), { type: 'udp', host: '10.1.0.6', port: 9999, timeoutMs: 500 }));
    await waitFor('icmp/udp probed', async () =>
      ['icmp/a2', 'icmp/none', 'udp/a2'].every(
        (id) => (prober.health(id)?.consecutiveFailures ?? 0) + (prober.health(id)?.consecutiveSuccesses ?? 0) >= 3,
      ),
    );
    expect(prober.health('icmp/a2')).toMatchObject({ healthy: true, message: 'echo reply' });
    expect(prober.health('icmp/none')).toMatchObject({ healthy: false, message: 'no echo reply' });
    expect(prober.health('udp/a2')).toMatchObject({ healthy: false, message: 'ECONNREFUSED' });
  }, 30_000);

  it("isolation: VPC A's probe namespace cannot reach VPC B's backend; VPC B's can", async () => {
    servers.push(await TcpServer.start(podNs('b1'), 8080, 'b1'));
    const req = { type: 'tcp' as const, host: '10.2.0.5', port: 8080, timeoutMs: 500 };
    prober.upsert(target('iso/from-a', nsA(), req));
    prober.upsert(target('iso/from-b', nsB(), req));
    await waitFor('isolation targets probed 3 times', async () =>
      ['iso/from-a', 'iso/from-b'].every(
        (id) => (prober.health(id)?.consecutiveFailures ?? 0) + (prober.health(id)?.consecutiveSuccesses ?? 0) >= 3,
      ),
    );
    expect(prober.health('iso/from-b')).toMatchObject({ healthy: true, message: 'connected' });
    expect(prober.health('iso/from-a')).toMatchObject({ healthy: false });
    expect(prober.health('iso/from-a')!.message).toMatch(/timeout|EHOSTUNREACH|ENETUNREACH/);
  }, 30_000);
});
