import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { API_VERSION, crdResources } from '@ycloud/api';
import { KubeClient, Resources, type KubeObject } from '@ycloud/k8s';
import {
  ControllerApp,
  KubeControlPlane,
  OvnCentral,
  createNamespace,
  createNode,
  eventually,
  installCrds,
} from '@ycloud/testbed';

/**
 * Hostile and careless input of every kind ycloud reads (its CRDs, Services, EndpointSlices), generated from a
 * seeded PRNG (YCLOUD_FUZZ_SEED=<n> replays a run; the seed is printed and is in every failure message), sent to
 * a real apiserver (with the CRD schemas and deploy/base's admission policy) while the ycloud-controller process
 * runs. Asserts: the process never exits or logs an unhandled error; every object is either refused by the
 * apiserver or reported (our kinds: a Ready condition for their generation; a Service: its load balancer in NB or
 * a Warning Event); afterwards a normal Service is still programmed promptly.
 *
 * Not checked for a report: NetworkProbes (this test bed runs no prober: no node runs probes, so nothing reads
 * them), headless/ExternalName Services (not load-balanced, as with kube-proxy) and EndpointSlices, which are
 * reported through their Service.
 */
const SEED = Number(process.env.YCLOUD_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = Number(process.env.YCLOUD_FUZZ_COUNT ?? 180);

/** mulberry32: small, fast, good enough to pick mutations reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = Record<string, unknown>;
interface Generated {
  kind: string;
  namespace?: string;
  name: string;
  body: Json;
  mutations: string[];
}

class HostileGenerator {
  private readonly rnd: () => number;
  private n = 0;
  constructor(seed: number) {
    this.rnd = prng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)];
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  /** A name; sometimes a reserved or colliding one. */
  name(prefix: string, reserved: string[] = []): string {
    if (reserved.length && this.chance(0.08)) return this.pick(reserved);
    return `${prefix}-${++this.n}`;
  }
  cidr4(): string {
    return this.pick([
      '10.240.0.0/16',
      '10.240.1.0/24',
      '10.241.0.0/24',
      '10.16.0.0/24',
      '10.96.4.0/24',
      '100.64.2.0/24',
      '10.242.0.0/30',
      '10.243.0.0/31',
      '0.0.0.0/0',
      '10.244.0.5/24',
      '10.245.0.0/33',
    ]);
  }
  range(c: string): string {
    const base = c.split('/')[0].split('.').slice(0, 3).join('.');
    const [a, b] = [this.int(0, 255), this.int(0, 255)];
    return this.pick([
      `${base}.${a}..${base}.${b}`,
      `${base}.${a}-${base}.${b}`,
      `${base}.${a}`,
      `${base}.999`,
      'x..y',
      '',
    ]);
  }
  /** A hostile value for any field. */
  junk(): unknown {
    return this.pick([null, '', ' ', -1, 0, 2 ** 31, 1.5, true, [], {}, 'x'.repeat(300), '💥', ['a', null], { a: 1 }]);
  }
  /** With some chance, replaces one spec field by junk or deletes it. */
  maybeJunk(spec: Json, muts: string[]): void {
    if (!this.chance(0.3)) return;
    const keys = Object.keys(spec);
    if (!keys.length) return;
    const k = this.pick(keys);
    if (this.chance(0.3)) {
      delete spec[k];
      muts.push(`delete spec.${k}`);
    } else {
      spec[k] = this.junk();
      muts.push(`spec.${k}=${JSON.stringify(spec[k])}`);
    }
  }

  next(): Generated {
    const kind = this.pick([
      'Vpc',
      'Subnet',
      'Subnet',
      'EipPool',
      'Eip',
      'YusurService',
      'NetworkProbe',
      'BareMetalServer',
      'VNic',
      'Service',
      'Service',
      'EndpointSlice',
      'EndpointSlice',
    ]);
    const muts: string[] = [];
    const custom = (name: string, spec: Json, namespace?: string): Generated => {
      this.maybeJunk(spec, muts);
      return {
        kind,
        name,
        namespace,
        mutations: muts,
        body: { apiVersion: API_VERSION, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec },
      };
    };
    const make: Record<string, () => Generated> = {
      Vpc: (): Generated => {
        const spec: Json = { namespaces: [this.pick(['fz-a', 'fz-b', 'fz-shared', 'default', 'kube-system'])] };
        if (this.chance(0.3))
          spec.staticRoutes = [{ cidr: this.cidr4(), nextHop: this.pick(['10.240.0.1', 'fd00::1', '300.1.1.1']) }];
        if (this.chance(0.3))
          spec.serviceCIDRs = [this.pick(['10.200.0.0/16', '10.96.0.0/12', 'fd00:96::/108', '10.200.0.1/16'])];
        if (this.chance(0.3)) spec.externalGateway = { eipPool: this.pick(['fz-pool', 'missing-pool']) };
        return custom(this.name('fz-vpc', ['default', 'fz-vpc-1']), spec);
      },
      Subnet: (): Generated => {
        const c = this.cidr4();
        const spec: Json = { vpc: this.pick(['fz-vpc', 'missing-vpc', 'default', 'fz-vpc']), cidrBlocks: [c] };
        if (this.chance(0.2))
          (spec.cidrBlocks as string[]).push(this.pick(['fd00:240::/64', '10.250.0.0/16', 'fd00:240::1/64']));
        if (this.chance(0.5)) spec.excludeIps = [this.range(c)];
        if (this.chance(0.2)) spec.gateways = [this.pick(['10.240.0.1', '10.99.0.1', '10.240.0.0', 'fd00::1'])];
        if (this.chance(0.2)) spec.mtu = this.pick([1400, 100, 70000]);
        if (this.chance(0.3)) spec.namespaces = [this.pick(['fz-a', 'fz-shared'])];
        return custom(this.name('fz-subnet', ['default', 'join']), spec);
      },
      EipPool: (): Generated => {
        const spec: Json = {
          networkName: this.pick(['ext', 'bad name!']),
          cidr: this.pick(['172.40.0.0/24', '172.40.0.0/16', '100.64.0.0/24', 'fd00:40::/64', '172.40.0.9/24']),
          gateway: this.pick(['172.40.0.1', '172.41.0.1', 'fd00::1']),
          gatewayNodes: this.pick([['node-1'], ['ghost-node'], [], ['node-1', 'node-1']]),
        };
        if (this.chance(0.6))
          spec.ranges = [
            this.pick(['172.40.0.50-172.40.0.10', '172.40.0.10-172.40.0.50', '172.40.9.0/24', '172.40.0.0/25', 'a-b']),
          ];
        if (this.chance(0.2)) spec.routerAddress = this.pick(['172.40.0.1', '172.40.0.2', '10.0.0.1']);
        return custom(this.name('fz-pool', ['fz-pool']), spec);
      },
      Eip: (): Generated => {
        const spec: Json = { pool: this.pick(['fz-pool', 'missing-pool']) };
        if (this.chance(0.5))
          spec.address = this.pick(['172.40.0.20', '172.40.0.20', '172.99.0.1', '172.40.0.0', 'fd00::1']);
        if (this.chance(0.3))
          spec.binding = { kind: this.pick(['Service', 'YusurService', 'Pod']), namespace: 'fz-a', name: 'nope' };
        return custom(this.name('fz-eip'), spec);
      },
      YusurService: (): Generated => {
        const spec: Json = {
          backends: [
            { kind: this.pick(['Pod', 'VM', 'BareMetal', 'VNicIP', 'Cat']), selector: { matchLabels: { app: 'x' } } },
          ],
          ports: [{ port: this.pick([80, 0, 65536, 443]), targetPort: this.pick([8080, 'http', 0, 'Not_A_Name']) }],
          scenarios: this.pick([
            { clusterIP: {} },
            { clusterIP: { vpc: 'missing-vpc' } },
            { clusterIP: { address: '10.200.0.5' } },
            { clusterIP: { address: '1.2.3.4' } },
            { eip: { pool: 'missing-pool' } },
            {},
          ]),
        };
        return custom(this.name('fz-ysvc'), spec, this.pick(['fz-a', 'fz-b']));
      },
      NetworkProbe: (): Generated => {
        const spec: Json = {
          targets: [
            this.pick([{ address: '10.240.0.9' }, { address: 'nope' }, { backendRef: { kind: 'Pod', name: 'p' } }, {}]),
          ],
          type: this.pick(['tcp', 'http', 'icmp', 'gopher']),
          port: this.pick([80, 0, 70000]),
        };
        return custom(this.name('fz-probe'), spec, 'fz-a');
      },
      BareMetalServer: (): Generated => {
        const spec: Json = {
          vpc: this.pick(['fz-vpc', 'missing-vpc']),
          subnet: this.pick(['fz-subnet-ok', 'missing-subnet']),
          ip: this.pick(['10.240.0.77', '10.99.0.1', '10.240.0.0', 'fd00::5']),
        };
        if (this.chance(0.5)) spec.node = this.pick(['node-1', 'ghost-node']);
        return custom(this.name('fz-bms'), spec);
      },
      VNic: (): Generated => {
        const name = this.name('fz-vnic');
        const spec: Json = { subnet: this.pick(['fz-subnet-ok', 'missing-subnet']) };
        if (this.chance(0.5)) spec.ip = this.pick(['10.240.0.78', '10.240.0.78', '10.99.0.1']);
        if (this.chance(0.5))
          spec.attachedTo = { kind: this.pick(['Pod', 'VM', 'VNic']), name: this.pick([name, 'no-pod']) };
        return custom(name, spec, 'fz-a');
      },
      Service: (): Generated => {
        const name = this.name('fz-svc');
        const spec: Json = {
          type: this.pick(['ClusterIP', 'ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName', 'Bogus']),
          ports: this.pick([
            [{ port: 80, protocol: 'TCP', targetPort: 8080 }],
            [
              { port: 80, protocol: 'UDP' },
              { port: 80, protocol: 'TCP', name: 'b' },
            ],
            [{ port: 0 }],
            [{ port: 53, protocol: 'SCTP', name: 'a' }],
            [],
          ]),
        };
        if (this.chance(0.3))
          spec.externalIPs = [this.pick(['10.96.0.1', '10.16.0.1', '100.64.0.1', '10.16.0.5', '203.0.113.9', 'nope'])];
        if (this.chance(0.2)) spec.loadBalancerIP = this.pick(['172.40.0.30', '172.99.0.1', 'fd00::30']);
        if (this.chance(0.2)) spec.clusterIP = this.pick(['None', '10.96.77.77', '10.97.0.1', 'fd00::1', '1.2.3.4']);
        if (this.chance(0.2)) spec.ipFamilies = [this.pick(['IPv6', 'IPv4'])];
        if (this.chance(0.2)) spec.externalTrafficPolicy = this.pick(['Local', 'Cluster', 'Sideways']);
        if (this.chance(0.2)) spec.sessionAffinity = 'ClientIP';
        if (spec.type === 'ExternalName') spec.externalName = this.pick(['example.invalid', '']);
        if (this.chance(0.5)) spec.selector = { app: name };
        const body: Json = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'fz-a' }, spec };
        if (this.chance(0.2)) {
          spec.ports = this.junk();
          muts.push('ports=junk');
        }
        return { kind, name, namespace: 'fz-a', body, mutations: muts };
      },
      EndpointSlice: (): Generated => {
        const name = this.name('fz-slice');
        const addressType = this.pick(['IPv4', 'IPv4', 'IPv6', 'FQDN']);
        const body: Json = {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name,
            namespace: 'fz-a',
            labels: { 'kubernetes.io/service-name': this.pick(['fz-target', 'no-such-service']) },
          },
          addressType,
          endpoints: this.pick([
            null,
            [],
            [{ addresses: ['10.16.0.9'], conditions: null }],
            [{ addresses: ['10.16.0.10'], conditions: { ready: true }, nodeName: 'ghost-node' }],
            [{ addresses: ['not-an-ip'] }],
            [{ addresses: ['fd00::9'] }],
            [{ addresses: [] }],
            [{ addresses: ['10.96.0.1'], conditions: { ready: true, terminating: true } }],
          ]),
          ports: this.pick([
            null,
            [],
            [{ port: 8080, protocol: 'TCP' }],
            [{ port: 0 }],
            [{ port: 8080, name: 'Bad_Name' }],
          ]),
        };
        return { kind, name, namespace: 'fz-a', body, mutations: muts };
      },
    };
    return make[kind]();
  }
}

interface Conditioned extends KubeObject {
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; observedGeneration?: number }> };
}

describe(`fuzz: hostile input of every kind (seed ${SEED}; YCLOUD_FUZZ_SEED to replay)`, () => {
  let dir: string;
  let k8s: KubeControlPlane;
  let ovn: OvnCentral;
  let kube: KubeClient;
  let app: ControllerApp;
  const seedNote = `(seed ${SEED}: YCLOUD_FUZZ_SEED=${SEED} replays this run)`;

  beforeAll(async () => {
    process.stdout.write(`fuzz-hostile-input: seed ${SEED}, ${COUNT} objects\n`);
    dir = mkdtempSync(path.join(tmpdir(), 'ycloud-fuzz-'));
    [k8s, ovn] = await Promise.all([KubeControlPlane.start(), OvnCentral.start()]);
    kube = KubeClient.fromKubeconfigFile(k8s.kubeconfigPath);
    await installCrds(kube);
    await createNode(k8s.kubeConfig, 'node-1', '192.168.100.11');
    for (const ns of ['fz-a', 'fz-b', 'fz-shared']) await createNamespace(k8s.kubeConfig, ns);
    const configFile = path.join(dir, 'config.yaml');
    writeFileSync(configFile, `nbRemote: ${ovn.nbRemote}\n`);
    app = await ControllerApp.start({ configFile, kubeconfigPath: k8s.kubeconfigPath });
    await app.ready();
    // A few sound objects the hostile ones refer to (and collide with).
    const mk = (kind: keyof typeof crdResources, name: string, spec: Json) =>
      kube.request('POST', `/apis/sdn.ycloud.io/v1alpha1/${crdResources[kind].plural}`, {
        body: { apiVersion: API_VERSION, kind, metadata: { name }, spec },
      });
    await mk('Vpc', 'fz-vpc', { namespaces: ['fz-a'] });
    await mk('Subnet', 'fz-subnet-ok', { vpc: 'fz-vpc', cidrBlocks: ['10.240.0.0/16'], namespaces: ['fz-a'] });
    await mk('EipPool', 'fz-pool', {
      networkName: 'ext',
      cidr: '172.40.0.0/24',
      gateway: '172.40.0.1',
      gatewayNodes: ['node-1'],
    });
  }, 180_000);
  afterAll(async () => {
    await app?.kill();
    kube?.close();
    await Promise.all([k8s?.stop(), ovn?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('survives, refuses or reports every object, and still programs a normal Service', async () => {
    const gen = new HostileGenerator(SEED);
    const accepted: Generated[] = [];
    const refused: Generated[] = [];
    const pathOf = (g: Generated) => {
      if (g.kind === 'Service') return `/api/v1/namespaces/${g.namespace}/services`;
      if (g.kind === 'EndpointSlice') return `/apis/discovery.k8s.io/v1/namespaces/${g.namespace}/endpointslices`;
      const plural = crdResources[g.kind as keyof typeof crdResources].plural;
      return `/apis/sdn.ycloud.io/v1alpha1/${g.namespace ? `namespaces/${g.namespace}/` : ''}${plural}`;
    };
    const byKind = new Map<string, number>();
    for (let i = 0; i < COUNT; i++) {
      const g = gen.next();
      byKind.set(g.kind, (byKind.get(g.kind) ?? 0) + 1);
      try {
        await kube.request('POST', pathOf(g), { body: g.body });
        accepted.push(g);
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        // 409: a generated name repeated (a reserved or colliding one): the apiserver refused it, which is fine.
        if (status === undefined || status >= 500) throw new Error(`${g.kind} ${g.name}: ${String(err)} ${seedNote}`);
        refused.push(g);
      }
    }
    expect([...byKind.keys()].sort()).toEqual([
      'BareMetalServer',
      'Eip',
      'EipPool',
      'EndpointSlice',
      'NetworkProbe',
      'Service',
      'Subnet',
      'VNic',
      'Vpc',
      'YusurService',
    ]);

    const core = k8s.kubeConfig.makeApiClient(CoreV1Api);
    const reported = async (g: Generated): Promise<boolean> => {
      if (g.kind === 'NetworkProbe' || g.kind === 'EndpointSlice') return true; // see the suite's comment
      if (g.kind === 'Service') {
        const svc = await core.readNamespacedService({ namespace: g.namespace!, name: g.name });
        if (svc.spec?.type === 'ExternalName' || svc.spec?.clusterIP === 'None') return true;
        const lb = await ovn
          .nbctl(
            '--bare',
            '--columns=name',
            'find',
            'Load_Balancer',
            `external_ids:owner="Service/${g.namespace}/${g.name}"`,
          )
          .catch(() => '');
        if (lb.trim()) return true;
        const lbByName = await ovn.nbctl('--bare', '--columns=name', 'list', 'Load_Balancer');
        if (lbByName.includes(`Service_${g.namespace}/${g.name}_`)) return true;
        return (await warningsFor('Service', g.name)) > 0;
      }
      const plural = crdResources[g.kind as keyof typeof crdResources].plural;
      const o = await kube.request<Conditioned>(
        'GET',
        `/apis/sdn.ycloud.io/v1alpha1/${g.namespace ? `namespaces/${g.namespace}/` : ''}${plural}/${g.name}`,
      );
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      return !!ready && (ready.observedGeneration ?? o.metadata?.generation) === o.metadata?.generation;
    };
    let events: Array<KubeObject & { type?: string; regarding?: { kind?: string; name?: string } }> = [];
    const warningsFor = async (kind: string, name: string) =>
      events.filter((e) => e.type === 'Warning' && e.regarding?.kind === kind && e.regarding?.name === name).length;

    let silent: Generated[] = accepted;
    try {
      await eventually(
        async () => {
          events = (await kube.list<(typeof events)[number]>(Resources.events)).items;
          const left: Generated[] = [];
          for (const g of silent) if (!(await reported(g).catch(() => false))) left.push(g);
          silent = left;
          return silent.length;
        },
        (n) => n === 0,
        'every accepted object to be reported',
        60_000,
        1000,
      );
    } catch {
      // reported below with the objects
    }
    process.stdout.write(
      `fuzz-hostile-input: ${COUNT} objects (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}): ` +
        `${refused.length} refused by the apiserver, ${accepted.length} accepted, ${silent.length} silent\n`,
    );
    expect({
      silent: silent.map((g) => `${g.kind} ${g.namespace ?? ''}/${g.name}: ${JSON.stringify(g.body)}`),
      seed: SEED,
    }).toEqual({ silent: [], seed: SEED });
    expect({ alive: app.alive, fatal: app.fatalLines(), seed: SEED }).toEqual({ alive: true, fatal: [], seed: SEED });

    // A normal Service with one ready endpoint is still programmed promptly.
    const discovery = k8s.kubeConfig.makeApiClient(DiscoveryV1Api);
    const t0 = Date.now();
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'after-fuzz' },
        spec: { ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 as never }] },
      },
    });
    await discovery.createNamespacedEndpointSlice({
      namespace: 'default',
      body: {
        metadata: { name: 'after-fuzz-x', labels: { 'kubernetes.io/service-name': 'after-fuzz' } },
        addressType: 'IPv4',
        ports: [{ port: 8080, protocol: 'TCP' }],
        endpoints: [{ addresses: ['10.16.0.50'], conditions: { ready: true } }],
      },
    });
    await eventually(
      () => ovn.nbctl('--bare', '--columns=vips', 'find', 'Load_Balancer', 'name="Service_default/after-fuzz_TCP"'),
      (v) => v.includes(`${svc.spec!.clusterIP}:80`) && v.includes('10.16.0.50:8080'),
      `the normal Service to be programmed ${seedNote}`,
      10_000,
      100,
    );
    process.stdout.write(`fuzz-hostile-input: normal Service programmed ${Date.now() - t0} ms after creation\n`);
    expect({ alive: app.alive, fatal: app.fatalLines() }).toEqual({ alive: true, fatal: [] });
  });
});
