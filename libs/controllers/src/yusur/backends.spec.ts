import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { API_VERSION, IP_ALLOCATION_ANNOTATION, type NetworkProbe, type YusurService } from '@ycloud/api';
import { applyProbeHealth, resolveBackends, type BackendSources } from './backends';
import { labelSelectorMatches } from './label-selector';

const cache = <T>(items: T[], key: (t: T) => string) => ({
  get: (k: string) => items.find((i) => key(i) === k),
  list: () => items,
});
const alloc = (ip: string, vpc = 'default') =>
  JSON.stringify({
    ip: `${ip}/16`,
    ips: [`${ip}/16`],
    gateway: '10.16.0.1',
    gateways: ['10.16.0.1'],
    mac: '0e:79:00:00:00:01',
    logicalSwitch: 'default',
    logicalSwitchPort: 'x',
    mtu: 1400,
    subnet: 'default',
    vpc,
  });
const pod = (ns: string, name: string, labels: Record<string, string>, ip?: string, ready = true): V1Pod => ({
  metadata: { namespace: ns, name, labels, annotations: ip ? { [IP_ALLOCATION_ANNOTATION]: alloc(ip) } : {} },
  spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

function sources(pods: V1Pod[], namespaces: V1Namespace[] = []): BackendSources {
  return {
    pods: cache(pods, (p) => `${p.metadata!.namespace}/${p.metadata!.name}`),
    namespaces: cache(namespaces, (n) => n.metadata!.name!),
    vmis: () => [],
    bareMetalServers: cache([], () => ''),
    vnics: cache([], () => ''),
    subnets: () => [],
    vpcForNamespace: () => 'default',
  };
}
const svc = (backends: YusurService['spec']['backends']): YusurService => ({
  apiVersion: API_VERSION,
  kind: 'YusurService',
  metadata: { name: 's', namespace: 'a' },
  spec: { backends, ports: [{ port: 80 }], scenarios: { clusterIP: {} } },
});

describe('resolveBackends', () => {
  it('selects pods with an address in the service namespace, or in namespaces the namespaceSelector picks', () => {
    const pods = [
      pod('a', 'p1', { app: 'web' }, '10.16.0.5'),
      pod('a', 'pending', { app: 'web' }),
      pod('a', 'other', { app: 'db' }, '10.16.0.6'),
      pod('b', 'p2', { app: 'web' }, '10.16.0.7'),
    ];
    const ns = [{ metadata: { name: 'b', labels: { team: 'x' } } }];
    const local = resolveBackends(svc([{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }]), sources(pods, ns));
    expect(local.map((b) => [b.target, b.address, b.namedPorts?.http])).toEqual([['Pod/a/p1', '10.16.0.5', 8080]]);
    const wide = resolveBackends(
      svc([
        { kind: 'Pod', selector: { matchLabels: { app: 'web' } }, namespaceSelector: { matchLabels: { team: 'x' } } },
      ]),
      sources(pods, ns),
    );
    expect(wide.map((b) => b.target)).toEqual(['Pod/b/p2']);
  });

  it('marks backends from probe results; a target without a result counts as healthy', () => {
    const pods = [pod('a', 'p1', { app: 'web' }, '10.16.0.5'), pod('a', 'p2', { app: 'web' }, '10.16.0.6')];
    const found = resolveBackends(svc([{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }]), sources(pods));
    const probe = { status: { targets: [{ target: 'Pod/a/p1', healthy: false }] } } as NetworkProbe;
    expect(applyProbeHealth(found, probe).map((b) => [b.target, b.healthy])).toEqual([
      ['Pod/a/p1', false],
      ['Pod/a/p2', true],
    ]);
  });

  it('a Pod that is not Ready is not healthy, probe or not (as a Service leaves it out of its endpoints)', () => {
    const pods = [
      pod('a', 'ready', { app: 'web' }, '10.16.0.5'),
      pod('a', 'unready', { app: 'web' }, '10.16.0.6', false),
      { ...pod('a', 'unknown', { app: 'web' }, '10.16.0.7'), status: {} },
    ];
    const found = resolveBackends(svc([{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }]), sources(pods));
    expect(found.map((b) => b.target)).toEqual(['Pod/a/ready', 'Pod/a/unknown', 'Pod/a/unready']);
    const healthy = (p?: NetworkProbe) => applyProbeHealth(found, p).map((b) => [b.target, b.healthy]);
    expect(healthy(undefined)).toEqual([
      ['Pod/a/ready', true],
      ['Pod/a/unknown', false],
      ['Pod/a/unready', false],
    ]);
    const probeSaysUp = { status: { targets: [{ target: 'Pod/a/unready', healthy: true }] } } as NetworkProbe;
    expect(healthy(probeSaysUp)[2]).toEqual(['Pod/a/unready', false]);
  });
});

describe('labelSelectorMatches', () => {
  it('implements matchLabels and matchExpressions; empty matches all or nothing as asked', () => {
    const l = { app: 'web', tier: 'front' };
    expect(labelSelectorMatches({ matchLabels: { app: 'web' } }, l, false)).toBe(true);
    expect(
      labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }, l, false),
    ).toBe(false);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, l, false)).toBe(true);
    expect(
      labelSelectorMatches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, l, false),
    ).toBe(false);
    expect(labelSelectorMatches({}, l, false)).toBe(false);
    expect(labelSelectorMatches(undefined, l, true)).toBe(true);
  });
});
