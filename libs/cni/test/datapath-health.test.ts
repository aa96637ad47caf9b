import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CoreV1Event, V1NodeCondition } from '@kubernetes/client-node';
import { DATAPATH_READY_CONDITION } from '@ycloud/api';
import { AgentApp, OvnTestbed, eventually, startOvnAndKube } from '@ycloud/testbed';
import { KubeControlPlane, createNode } from '@ycloud/testbed/k8s';

/** How long a user waits at most to see the datapath's death (the agent probes every 2 s). */
const NOTICE_MS = 10_000;

/**
 * The real agent process (apps/cni) on a simulated node: SIGKILL its ovs-vswitchd, then its ovn-controller, and the
 * Node's YcloudDatapathReady condition, a Node Event and `ycloud_agent_datapath_up` say so within seconds; after
 * the daemons are back the condition returns to True. The agent survives throughout.
 */
describe('agent datapath health: a dead ovs-vswitchd or ovn-controller is reported on the Node', () => {
  let bed: OvnTestbed;
  let cp: KubeControlPlane;
  let core: CoreV1Api;
  let agent: AgentApp | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ycloud-datapath-health-'));

  const condition = async (): Promise<V1NodeCondition | undefined> =>
    (await core.readNode({ name: 'node-1' })).status?.conditions?.find((c) => c.type === DATAPATH_READY_CONDITION);
  const events = async (reason: string): Promise<CoreV1Event[]> =>
    (await core.listNamespacedEvent({ namespace: 'default' })).items.filter(
      (e) => e.involvedObject.kind === 'Node' && e.involvedObject.name === 'node-1' && e.reason === reason,
    );
  const metric = async (daemon: string): Promise<number | undefined> => {
    const body = await (await fetch(`${agent!.url}/metrics`)).text();
    const m = new RegExp(`^ycloud_agent_datapath_up\\{daemon="${daemon}"\\} (\\d+)$`, 'm').exec(body);
    return m ? Number(m[1]) : undefined;
  };
  const expectAgentAlive = (): void => {
    expect({ alive: agent?.alive, log: agent?.alive ? '' : agent?.log }).toEqual({ alive: true, log: '' });
  };

  beforeAll(async () => {
    [bed, cp] = await startOvnAndKube(() => OvnTestbed.start({ nodes: ['node-1'] }), { controllers: [] });
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await createNode(cp.kubeConfig, 'node-1', '127.0.0.1');
    const node = bed.node('node-1');
    agent = await AgentApp.start({
      dir,
      bed,
      nodeName: 'node-1',
      kubeconfigPath: cp.kubeconfigPath,
      config: [
        // The test bed's daemons keep their files in the node's directory, not /var/run.
        'datapath:',
        `  vswitchd: { pidfile: ${join(node.dir, 'vswitchd.pid')}, unixctl: ${join(node.dir, 'vswitchd.ctl')} }`,
        `  controller: { pidfile: ${join(node.dir, 'controller.pid')}, unixctl: "" }`,
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
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
