import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api, CoreV1Event, V1NodeCondition } from '@kubernetes/client-node';
import { DATAPATH_READY_CONDITION } from '@ycloud/api';
import { OvnTestbed, eventually } from '@ycloud/testbed';
import { KubeControlPlane, createNode } from '@ycloud/testbed/k8s';

const ROOT = resolve(__dirname, '../../..');
/** How long a user waits at most to see the datapath's death (the agent probes every 2 s). */
const NOTICE_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

/**
 * The real agent process (apps/cni) on a simulated node: SIGKILL its ovs-vswitchd, then its ovn-controller, and the
 * Node's YcloudDatapathReady condition, a Node Event and `ycloud_agent_datapath_up` say so within seconds; after
 * the daemons are back the condition returns to True. The agent survives throughout.
 */
describe('agent datapath health: a dead ovs-vswitchd or ovn-controller is reported on the Node', () => {
  let bed: OvnTestbed;
  let cp: KubeControlPlane;
  let core: CoreV1Api;
  let agent: ChildProcess | undefined;
  let agentLog = '';
  let metricsUrl = '';
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-datapath-health-'));

  const condition = async (): Promise<V1NodeCondition | undefined> =>
    (await core.readNode({ name: 'node-1' })).status?.conditions?.find((c) => c.type === DATAPATH_READY_CONDITION);
  const events = async (reason: string): Promise<CoreV1Event[]> =>
    (await core.listNamespacedEvent({ namespace: 'default' })).items.filter(
      (e) => e.involvedObject.kind === 'Node' && e.involvedObject.name === 'node-1' && e.reason === reason,
    );
  const metric = async (daemon: string): Promise<number | undefined> => {
    const body = await (await fetch(metricsUrl)).text();
    const m = new RegExp(`^ycloud_agent_datapath_up\\{daemon="${daemon}"\\} (\\d+)$`, 'm').exec(body);
    return m ? Number(m[1]) : undefined;
  };
  const expectAgentAlive = (): void => {
    expect({ exitCode: agent?.exitCode ?? null, log: agent?.exitCode === null ? '' : agentLog }).toEqual({
      exitCode: null,
      log: '',
    });
  };

  beforeAll(async () => {
    const [b, c] = await Promise.allSettled([
      OvnTestbed.start({ nodes: ['node-1'] }),
      KubeControlPlane.start({ controllers: [] }),
    ]);
    if (b.status === 'fulfilled') bed = b.value;
    if (c.status === 'fulfilled') cp = c.value;
    if (b.status === 'rejected') throw b.reason;
    if (c.status === 'rejected') throw c.reason;
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await createNode(cp.kubeConfig, 'node-1', '127.0.0.1');
    const node = bed.node('node-1');
    writeFileSync(
      join(dir, 'cni.yaml'),
      [
        'datapathType: netdev',
        `ovsDb: ${node.ovsRemote}`,
        `nodeNetns: ${node.netns}`,
        'ovn:',
        '  systemId: node-1',
        `  remote: "${bed.central.sbRemote}"`,
        '  encapIp: 127.0.0.1',
        // The test bed's daemons keep their files in the node's directory, not /var/run.
        'datapath:',
        `  vswitchd: { pidfile: ${join(node.dir, 'vswitchd.pid')}, unixctl: ${join(node.dir, 'vswitchd.ctl')} }`,
        `  controller: { pidfile: ${join(node.dir, 'controller.pid')}, unixctl: "" }`,
      ].join('\n'),
    );
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    agent = spawn(
      process.execPath,
      [
        '-r',
        join(ROOT, 'scripts/register.js'),
        join(ROOT, 'apps/cni/src/main.ts'),
        '--config',
        join(dir, 'cni.yaml'),
        '--node-name',
        'node-1',
        '--kubeconfig',
        cp.kubeconfigPath,
        '--socket',
        join(dir, 'cni.sock'),
        '--metrics',
        `127.0.0.1:${port}`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout!.on('data', (d: Buffer) => (agentLog += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
    await eventually(
      async () => agentLog.includes('listening on') || agent!.exitCode !== null,
      Boolean,
      'the agent to listen',
      30_000,
    );
    if (agent.exitCode !== null) throw new Error(`agent exited:\n${agentLog}`);
  }, 180_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
    }
    await Promise.all([bed?.stop(), cp?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('reports True while both daemons run', async () => {
    const c = await eventually(condition, (x) => x?.status === 'True', 'YcloudDatapathReady True', 30_000);
    expect(c).toMatchObject({ status: 'True', reason: 'DatapathReady' });
    expect(c!.message).toMatch(
      /^ovs-vswitchd \(pid \d+\) answers; ovn-controller \(pid \d+\) answers, connected to SB/,
    );
    expect(await metric('ovs-vswitchd')).toBe(1);
    expect(await metric('ovn-controller')).toBe(1);
  }, 60_000);

  it('reports OvsVswitchdDown (condition, Event, metric) within 10 s of ovs-vswitchd dying, and True after restart', async () => {
    const node = bed.node('node-1');
    const pid = readFileSync(join(node.dir, 'vswitchd.pid'), 'utf8').trim();
    const killedAt = Date.now();
    await node.killDatapath();
    const c = await eventually(condition, (x) => x?.status === 'False', 'YcloudDatapathReady False', NOTICE_MS, 100);
    const noticedMs = Date.now() - killedAt;
    expect(c).toMatchObject({ status: 'False', reason: 'OvsVswitchdDown' });
    expect(c!.message).toContain(`ovs-vswitchd (pid ${pid}) does not answer`);
    const ev = await eventually(
      () => events('OvsVswitchdDown'),
      (l) => l.some((e) => e.message === c!.message),
      'a Node Event with the condition message',
      NOTICE_MS,
    );
    expect(ev.find((e) => e.message === c!.message)).toMatchObject({ type: 'Warning' });
    expect(await metric('ovs-vswitchd')).toBe(0);
    // Nothing changes while it stays dead, so the agent writes nothing more (two more probe rounds).
    await new Promise((r) => setTimeout(r, 4_500));
    const later = await condition();
    expect(later).toEqual(c);
    expectAgentAlive();
    process.stdout.write(`datapath-health: ovs-vswitchd death noticed on the Node after ${noticedMs} ms\n`);

    await node.restartDatapath();
    const back = await eventually(condition, (x) => x?.status === 'True', 'YcloudDatapathReady True', NOTICE_MS);
    expect(back).toMatchObject({ reason: 'DatapathReady' });
    await eventually(
      () => events('DatapathReady'),
      (l) => l.length > 0,
      'a DatapathReady Event',
      NOTICE_MS,
    );
    expect(await metric('ovs-vswitchd')).toBe(1);
    expectAgentAlive();
  }, 120_000);

  it('reports OvnControllerDown within 10 s of ovn-controller dying, and True after restart', async () => {
    const node = bed.node('node-1');
    const pid = Number(readFileSync(join(node.dir, 'controller.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    const c = await eventually(condition, (x) => x?.status === 'False', 'YcloudDatapathReady False', NOTICE_MS, 100);
    expect(c).toMatchObject({ status: 'False', reason: 'OvnControllerDown' });
    expect(c!.message).toContain(`ovn-controller (pid ${pid}) does not answer`);
    await eventually(
      () => events('OvnControllerDown'),
      (l) => l.some((e) => e.message === c!.message),
      'a Node Event with the condition message',
      NOTICE_MS,
    );
    expect(await metric('ovn-controller')).toBe(0);
    expect(await metric('ovs-vswitchd')).toBe(1);
    expectAgentAlive();

    await node.restartDatapath();
    await eventually(condition, (x) => x?.status === 'True', 'YcloudDatapathReady True', NOTICE_MS);
    expect(await metric('ovn-controller')).toBe(1);
    expectAgentAlive();
  }, 120_000);
});
