import { KubeControlPlane } from '@ycloud/testbed/k8s';
import { EventRecorder, KubeClient, KubeObject, Resources } from '@ycloud/k8s';
import { ensureNamespace, startControlPlane, testLogger } from './helpers';

const NS = 'events-test';

interface EventV1 extends KubeObject {
  reason?: string;
  note?: string;
  type?: string;
  regarding?: { kind?: string; name?: string; uid?: string };
  series?: { count?: number };
  reportingController?: string;
}

describe('EventRecorder against a real apiserver', () => {
  let cp: KubeControlPlane;
  let client: KubeClient;

  beforeAll(async () => {
    ({ cp, client } = await startControlPlane());
    await ensureNamespace(client, NS);
  });
  afterAll(async () => {
    client?.close();
    await cp?.stop();
  });

  it('writes an Event visible through the API and aggregates repeats into one series', async () => {
    const cm = await client.create<KubeObject>(Resources.configMaps, NS, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'target', namespace: NS },
    });
    const recorder = new EventRecorder(client, {
      reportingController: 'ycloud.io/test',
      reportingInstance: 'test-0',
      logger: testLogger(),
    });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'target', uid: cm.metadata!.uid };
    recorder.event(ref, 'Warning', 'SyncFailed', 'could not program load balancer');
    recorder.event(ref, 'Warning', 'SyncFailed', 'could not program load balancer');
    recorder.event(ref, 'Warning', 'SyncFailed', 'could not program load balancer');
    recorder.event(ref, 'Normal', 'Synced', 'programmed');
    await recorder.flush();

    const events = (await client.list<EventV1>(Resources.events, NS)).items;
    const failed = events.filter((e) => e.reason === 'SyncFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      type: 'Warning',
      note: 'could not program load balancer',
      reportingController: 'ycloud.io/test',
      regarding: { kind: 'ConfigMap', name: 'target', uid: cm.metadata!.uid },
      series: { count: 3 },
    });
    expect(events.filter((e) => e.reason === 'Synced')).toHaveLength(1);
    // The same Event through the core v1 API, as kubectl describe shows it.
    const core = (await client.list<KubeObject & { reason?: string; count?: number }>(Resources.coreEvents, NS)).items;
    expect(core.find((e) => e.reason === 'SyncFailed')).toBeDefined();
  });

  it('never throws into the caller when the write fails', async () => {
    const broken = new KubeClient({ server: 'https://127.0.0.1:1' });
    const recorder = new EventRecorder(broken, {
      reportingController: 'ycloud.io/test',
      reportingInstance: 't',
      logger: testLogger(),
    });
    expect(() => recorder.event({ kind: 'Pod', namespace: NS, name: 'x' }, 'Warning', 'R', 'm')).not.toThrow();
    await expect(recorder.flush()).resolves.toBeUndefined();
    broken.close();
  });
});
