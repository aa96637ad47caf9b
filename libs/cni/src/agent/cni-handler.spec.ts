import { POD_ALLOCATION_ANNOTATION } from '../k8s/allocation-annotation';
import { MemoryKubeApi } from '../k8s/kube-api';
import { RecordedCommandRunner } from '../ovs/command-runner';
import { OvsVsctl } from '../ovs/ovs-vsctl';
import { PlumbRequest, PlumbResult, PodPlumber } from '../plumbing/pod-plumber';
import { CniRequest } from '../protocol/cni-types';
import { CniHandler } from './cni-handler';

class FakePlumber implements PodPlumber {
  readonly mode = 'fake';
  added: PlumbRequest[] = [];
  deleted: string[] = [];
  add(p: PlumbRequest): Promise<PlumbResult> {
    this.added.push(p);
    return Promise.resolve({
      interfaces: [{ name: p.req.ifname, mac: p.alloc.mac, sandbox: p.req.netns }],
      containerIndex: 0,
    });
  }
  del(req: CniRequest, hostIfName: string): Promise<void> {
    this.deleted.push(`${req.containerId}/${req.ifname}/${hostIfName}`);
    return Promise.resolve();
  }
  check(): Promise<void> {
    return Promise.resolve();
  }
}

const env = (command: string, extra: Record<string, string> = {}): Record<string, string> => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: 'ctr1',
  CNI_NETNS: '/var/run/netns/p',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web',
  ...extra,
});
const conf = (o: object = {}): string => JSON.stringify({ cniVersion: '1.1.0', name: 'ycloud', type: 'ycloud', ...o });

function setup(notReady?: string): {
  handler: CniHandler;
  plumber: FakePlumber;
  kube: MemoryKubeApi;
  runner: RecordedCommandRunner;
} {
  const kube = new MemoryKubeApi();
  kube.pods.set('default/web', {
    labels: {},
    annotations: {
      [POD_ALLOCATION_ANNOTATION]: JSON.stringify({
        ip: '10.16.0.5/16',
        ips: ['10.16.0.5/16', 'fd00:10:16::5/64'],
        gateways: ['10.16.0.1', 'fd00:10:16::1'],
        mac: '0a:58:0a:10:00:05',
        gateway: '10.16.0.1',
        logicalSwitch: 'ls',
        logicalSwitchPort: 'default_web',
        mtu: 1400,
      }),
    },
  });
  const runner = new RecordedCommandRunner().on(/find Interface external_ids:ycloud-network/, {
    stdout: JSON.stringify({
      data: [
        [
          'ycaaa',
          [
            'map',
            [
              ['ycloud-sandbox', 'ctr1'],
              ['ycloud-ifname', 'eth0'],
              ['ycloud-netns', '/var/run/netns/p'],
            ],
          ],
          5,
        ],
        [
          'ycbbb',
          [
            'map',
            [
              ['ycloud-sandbox', 'gone'],
              ['ycloud-ifname', 'eth0'],
              ['ycloud-netns', '/var/run/netns/q'],
            ],
          ],
          6,
        ],
      ],
      headings: ['name', 'external_ids', 'ofport'],
    }),
  });
  const plumber = new FakePlumber();
  const handler = new CniHandler(kube, plumber, new OvsVsctl(runner), {
    allocationTimeoutMs: 200,
    plugTimeoutMs: 1000,
    notReadyReason: () => Promise.resolve(notReady),
  });
  return { handler, plumber, kube, runner };
}

describe('CniHandler', () => {
  it('ADD returns the 1.x result with both families, routes and the config DNS', async () => {
    const { handler } = setup();
    const r = await handler.handle({ env: env('ADD'), stdin: conf({ dns: { nameservers: ['10.96.0.10'] } }) });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: '/var/run/netns/p' }],
      ips: [
        { address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 },
        { address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 0 },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.16.0.1' },
        { dst: '::/0', gw: 'fd00:10:16::1' },
      ],
      dns: { nameservers: ['10.96.0.10'] },
    });
  });

  it('ADD for a pod that is not in the apiserver ends with code 11 after the bounded wait', async () => {
    const { handler } = setup();
    const started = Date.now();
    const r = await handler.handle({
      env: env('ADD', { CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=nope' }),
      stdin: conf(),
    });
    // Bounded by allocationTimeoutMs (200 ms), not hanging: generous for a loaded machine.
    expect(Date.now() - started).toBeLessThan(4000);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: 11,
      msg: 'pod default/nope not found in the apiserver within 0s',
    });
  });

  it('STATUS answers 50 with the reason when the node is not ready, nothing when it is', async () => {
    expect(
      JSON.parse(
        (await setup('Open vSwitch is not reachable').handler.handle({ env: { CNI_COMMAND: 'STATUS' }, stdin: conf() }))
          .stdout,
      ),
    ).toMatchObject({
      code: 50,
      msg: 'Open vSwitch is not reachable',
    });
    expect(await setup().handler.handle({ env: { CNI_COMMAND: 'STATUS' }, stdin: conf() })).toEqual({
      exitCode: 0,
      stdout: '',
    });
  });

  it("GC removes only this network's attachments the runtime no longer lists", async () => {
    const { handler, plumber } = setup();
    const r = await handler.handle({
      env: { CNI_COMMAND: 'GC' },
      stdin: conf({ 'cni.dev/valid-attachments': [{ containerID: 'ctr1', ifname: 'eth0' }] }),
    });
    expect(r.exitCode).toBe(0);
    expect(plumber.deleted).toEqual(['gone/eth0/ycbbb']);
  });

  it('VERSION lists the supported versions', async () => {
    const r = await setup().handler.handle({ env: { CNI_COMMAND: 'VERSION' }, stdin: conf({ cniVersion: '1.0.0' }) });
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '1.0.0', supportedVersions: ['1.0.0', '1.1.0'] });
  });
});
