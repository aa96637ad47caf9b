import type { NetworkProbe, NetworkProbeStatus } from '@ycloud/api';
import { TargetState, type ProbeResultEvent, type ProbeTargetSpec, type TargetHealth } from '@ycloud/probe';
import { NetworkProbeController, resolveTarget, type ProberPort } from './network-probe.controller';

/** A prober whose results the test feeds by hand. */
class FakeProber implements ProberPort {
  readonly specs = new Map<string, ProbeTargetSpec>();
  readonly states = new Map<string, TargetState>();
  private listener?: (e: ProbeResultEvent) => void;
  upsert(spec: ProbeTargetSpec): void {
    this.specs.set(spec.id, spec);
    if (!this.states.has(spec.id)) this.states.set(spec.id, new TargetState(spec));
  }
  remove(id: string): void {
    this.specs.delete(id);
    this.states.delete(id);
  }
  ids(): string[] {
    return [...this.specs.keys()];
  }
  health(id: string): Readonly<TargetHealth> | undefined {
    return this.states.get(id)?.health;
  }
  onResult(f: (e: ProbeResultEvent) => void): void {
    this.listener = f;
  }
  result(id: string, ok: boolean): void {
    const s = this.states.get(id)!;
    const transition = s.record({ ok, message: ok ? 'connected' : 'ECONNREFUSED' }, Date.now());
    this.listener!({ id, health: s.health, transition });
  }
}

const probe = (targets: NetworkProbe['spec']['targets']): NetworkProbe => ({
  apiVersion: 'sdn.ycloud.io/v1alpha1',
  kind: 'NetworkProbe',
  metadata: { namespace: 'shop', name: 'web-backends', generation: 3 },
  spec: { type: 'tcp', port: 8080, intervalSeconds: 1, failureThreshold: 2, successThreshold: 1, targets },
});

describe('NetworkProbeController', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  /** `namespaceVpc`: the VPC of the probe's namespace (address targets), vpc-a (with a probe port) by default. */
  function setup(obj: NetworkProbe, namespaceVpc = 'vpc-a') {
    const prober = new FakeProber();
    const patches: NetworkProbeStatus[] = [];
    const pods = new Map([
      [
        'shop/web-1',
        {
          metadata: {
            annotations: {
              'ycloud.io/ip-allocation': JSON.stringify({
                ip: '10.1.0.5/24',
                ips: ['10.1.0.5/24'],
                gateway: '10.1.0.1',
                gateways: ['10.1.0.1'],
                mac: '0a:58:0a:01:00:05',
                logicalSwitch: 's',
                logicalSwitchPort: 'p',
                mtu: 1400,
                subnet: 'sub-a',
                vpc: 'vpc-a',
              }),
            },
          },
        },
      ],
    ]);
    const c = new NetworkProbeController({
      probes: { get: (k) => (k === 'shop/web-backends' ? obj : undefined), list: () => [obj] },
      resolve: (t, ns) => resolveTarget({ pods: { get: (k) => pods.get(k), list: () => [] } }, t, ns),
      vpcForNamespace: () => namespaceVpc,
      probeNetns: (vpc) => (vpc === 'vpc-a' ? 'ycloud-probe-vpc-a' : undefined),
      prober,
      patchStatus: async (_ns, _n, s) => void patches.push(s),
    });
    return { c, prober, patches };
  }

  it('probes backendRef and address targets in the VPC namespace and writes health transitions once', async () => {
    const { c, prober, patches } = setup(
      probe([{ backendRef: { kind: 'Pod', name: 'web-1' } }, { address: '10.1.0.9' }]),
    );
    await c.reconcile('shop/web-backends');
    expect([...prober.specs.values()].map((s) => [s.netns, s.request.host, s.request.port])).toEqual([
      ['ycloud-probe-vpc-a', '10.1.0.5', 8080],
      ['ycloud-probe-vpc-a', '10.1.0.9', 8080],
    ]);
    expect(patches).toHaveLength(1);
    expect(patches[0].targets!.map((t) => [t.target, t.healthy, t.message])).toEqual([
      ['Pod/shop/web-1', true, 'not probed yet'],
      ['10.1.0.9', true, 'not probed yet'],
    ]);
    const id = 'shop/web-backends|Pod/shop/web-1';
    prober.result(id, true);
    await jest.advanceTimersByTimeAsync(300);
    expect(patches).toHaveLength(2); // first probe: message and transition time
    prober.result(id, true);
    await jest.advanceTimersByTimeAsync(300);
    expect(patches).toHaveLength(2); // unchanged: nothing written
    prober.result(id, false);
    prober.result(id, false);
    await jest.advanceTimersByTimeAsync(300);
    expect(patches).toHaveLength(3);
    expect(patches[2].targets![0]).toMatchObject({ healthy: false, consecutiveFailures: 2, message: 'ECONNREFUSED' });
    expect(patches[2].healthyTargets).toBe(1);
  });

  it('reports unresolved backends unhealthy, VPCs without a probe port healthy with a message, and drops removed targets', async () => {
    const obj = probe([{ backendRef: { kind: 'Pod', name: 'missing' } }, { address: '10.1.0.9' }]);
    const { c, prober, patches } = setup(obj);
    await c.reconcile('shop/web-backends');
    expect(patches[0].targets![0]).toMatchObject({ healthy: false, message: 'Pod shop/missing has no address yet' });
    obj.spec.targets = [];
    await c.reconcile('shop/web-backends');
    expect(prober.ids()).toEqual([]);
    expect(patches[1]).toMatchObject({ healthyTargets: 0, targets: [] });
  });

  it('sets Ready (with observedGeneration) once every target has a result, and writes it only when it changes', async () => {
    const obj = probe([{ backendRef: { kind: 'Pod', name: 'web-1' } }, { address: '10.1.0.9' }]);
    const { c, prober, patches } = setup(obj);
    const ready = (i: number) => patches[i].conditions!.find((x) => x.type === 'Ready')!;
    await c.reconcile('shop/web-backends');
    expect(patches[0].observedGeneration).toBe(3);
    expect(ready(0)).toMatchObject({
      status: 'False',
      reason: 'NotProbedYet',
      message: 'Pod/shop/web-1: not probed yet (and 1 more)',
      observedGeneration: 3,
    });
    const since = ready(0).lastTransitionTime;
    prober.result('shop/web-backends|Pod/shop/web-1', true);
    await jest.advanceTimersByTimeAsync(300);
    expect(ready(1)).toMatchObject({ status: 'False', message: '10.1.0.9: not probed yet' });
    await jest.advanceTimersByTimeAsync(1_000); // conditions carry whole seconds
    prober.result('shop/web-backends|10.1.0.9', false);
    await jest.advanceTimersByTimeAsync(300);
    expect(ready(2)).toMatchObject({ status: 'True', reason: 'Probed', message: '2/2 targets healthy' });
    expect(ready(2).lastTransitionTime).not.toBe(since);
    const readySince = ready(2).lastTransitionTime;
    // Results that change nothing a reader acts on write nothing, condition included.
    prober.result('shop/web-backends|Pod/shop/web-1', true);
    await c.reconcile('shop/web-backends');
    await jest.advanceTimersByTimeAsync(300);
    expect(patches).toHaveLength(3);
    prober.result('shop/web-backends|10.1.0.9', false);
    await jest.advanceTimersByTimeAsync(300);
    expect(ready(3)).toMatchObject({ status: 'True', message: '1/2 targets healthy', lastTransitionTime: readySince });
  });

  it('is not Ready while a target is unresolved or its VPC has no probe port (the unresolved target first)', async () => {
    const obj = probe([
      { backendRef: { kind: 'Pod', name: 'web-1' } },
      { address: '10.2.0.9' },
      { backendRef: { kind: 'Pod', name: 'missing' } },
    ]);
    // 10.2.0.9 is an address target, so in the namespace's VPC: one without a probe port here.
    const { c, patches } = setup(obj, 'vpc-b');
    const ready = () => patches[patches.length - 1].conditions!.find((x) => x.type === 'Ready')!;
    await c.reconcile('shop/web-backends');
    expect(ready()).toMatchObject({
      status: 'False',
      reason: 'TargetUnresolved',
      message: 'Pod/shop/missing: Pod shop/missing has no address yet',
    });
    obj.spec.targets = obj.spec.targets.slice(0, 2);
    obj.metadata.generation = 4;
    await c.reconcile('shop/web-backends');
    expect(ready()).toMatchObject({
      status: 'False',
      reason: 'ProbePortNotReady',
      message: '10.2.0.9: VPC vpc-b has no probe port yet',
      observedGeneration: 4,
    });
    expect(patches[patches.length - 1].observedGeneration).toBe(4);
  });
});
