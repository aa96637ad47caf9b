import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { API_VERSION, GROUP, crdPath, crdResources } from '@ycloud/api';
import { KubeControlPlane, apiRequest, waitForCrdsEstablished } from '@ycloud/testbed/k8s';

/**
 * Bodies go out as raw JSON (apiRequest): client-node's typed serializer would drop schema keys such as `enum`,
 * `default` and `x-kubernetes-validations`, and the test would pass against a CRD without validation.
 *
 * The CRDs in crds/ against a real kube-apiserver: they are accepted and become Established, a valid object of
 * each kind is stored, and invalid objects are rejected with 422 naming the offending field.
 */
const CRD_DIR = join(__dirname, '../../crds');
type Kind = keyof typeof crdResources;
type Body = Record<string, unknown>;

let cp: KubeControlPlane;
let kc: KubeConfig;

interface Reply {
  code: number;
  body: Body;
  /** Fields named by a Status' causes. */
  fields: string[];
}

async function send(method: string, url: string, body: unknown, contentType?: string): Promise<Reply> {
  const r = await apiRequest(kc, method, `${url}?fieldValidation=Strict`, JSON.stringify(body), contentType);
  const parsed = JSON.parse(r.body) as Body & { details?: { causes?: Array<{ field?: string }> } };
  return { code: r.status, body: parsed, fields: (parsed.details?.causes ?? []).map((c) => c.field ?? '') };
}

function create(kind: Kind, name: string, spec: Body): Promise<Reply> {
  const body = { apiVersion: API_VERSION, kind, metadata: { name }, spec };
  return send('POST', crdPath(crdResources[kind], 'default'), body);
}

const subnet = {
  vpc: 'blue',
  cidrBlocks: ['10.16.0.0/16', 'fd00:10:16::/64'],
  gateways: ['10.16.0.1'],
  excludeIps: ['10.16.0.2..10.16.0.9'],
};
const pool = {
  networkName: 'physnet1',
  cidr: '172.18.0.0/16',
  ranges: ['172.18.10.0/24', '172.18.20.5-172.18.20.50'],
  gateway: '172.18.0.1',
  gatewayNodes: ['gw-1', 'gw-2'],
};
const ysvc = {
  backends: [{ kind: 'Pod', selector: { matchLabels: { app: 'web' } } }],
  ports: [{ name: 'http', port: 80, targetPort: 'http' }],
  scenarios: { clusterIP: {} },
};
const probe = { targets: [{ address: '10.16.0.10' }], type: 'tcp', port: 80 };

const valid: Array<[Kind, Body]> = [
  [
    'Vpc',
    {
      namespaces: ['team-a'],
      staticRoutes: [{ cidr: '0.0.0.0/0', nextHop: '10.16.0.254' }],
      externalGateway: { eipPool: 'ext' },
    },
  ],
  ['Subnet', subnet],
  ['EipPool', pool],
  ['Eip', { pool: 'ext', address: '172.18.10.7', binding: { kind: 'Service', namespace: 'default', name: 'web' } }],
  [
    'YusurService',
    {
      ...ysvc,
      sessionAffinity: 'ClientIP',
      sessionAffinityTimeoutSeconds: 600,
      scenarios: { clusterIP: { vpc: 'blue' }, eip: { pool: 'ext' } },
      probe: { type: 'http', path: '/healthz', expectedStatus: 204 },
    },
  ],
  [
    'NetworkProbe',
    { ...probe, targets: [{ backendRef: { kind: 'BareMetal', name: 'bm-1' } }, { address: 'fd00::1' }] },
  ],
  ['BareMetalServer', { vpc: 'blue', subnet: 'blue-1', ip: '10.16.0.200', mac: '52:54:00:12:34:56' }],
  ['VNic', { subnet: 'blue-1', ip: '10.16.0.201', attachedTo: { kind: 'VM', name: 'vm-1' } }],
];

/** [what, kind, spec, field the apiserver must name] */
const invalid: Array<[string, Kind, Body, string]> = [
  ['prefix longer than 32', 'Subnet', { ...subnet, cidrBlocks: ['10.16.0.0/33'], gateways: [] }, 'spec.cidrBlocks[0]'],
  [
    'host bits set in a CIDR',
    'Subnet',
    { ...subnet, cidrBlocks: ['10.16.0.5/16'], gateways: [] },
    'spec.cidrBlocks[0]',
  ],
  ['two IPv4 CIDRs', 'Subnet', { ...subnet, cidrBlocks: ['10.16.0.0/16', '10.17.0.0/16'] }, 'spec.cidrBlocks'],
  ['gateway outside the CIDRs', 'Subnet', { ...subnet, gateways: ['10.99.0.1'] }, 'spec.gateways'],
  ['unknown role', 'Subnet', { ...subnet, role: 'edge' }, 'spec.role'],
  ['missing vpc', 'Subnet', { cidrBlocks: ['10.16.0.0/16'] }, 'spec.vpc'],
  ['bad exclude range', 'Subnet', { ...subnet, excludeIps: ['10.16.0.2..nowhere'] }, 'spec.excludeIps[0]'],
  [
    'next hop of another family',
    'Vpc',
    { staticRoutes: [{ cidr: '0.0.0.0/0', nextHop: 'fd00::1' }] },
    'spec.staticRoutes[0].nextHop',
  ],
  [
    'next hop not an IP',
    'Vpc',
    { staticRoutes: [{ cidr: '0.0.0.0/0', nextHop: '10.0.0.300' }] },
    'spec.staticRoutes[0].nextHop',
  ],
  ['IPv6 external network', 'EipPool', { ...pool, cidr: 'fd00:18::/64' }, 'spec.cidr'],
  ['pool gateway outside cidr', 'EipPool', { ...pool, gateway: '172.19.0.1' }, 'spec.gateway'],
  ['no gateway nodes', 'EipPool', { ...pool, gatewayNodes: [] }, 'spec.gatewayNodes'],
  ['Eip address not an IP', 'Eip', { pool: 'ext', address: '172.18.10' }, 'spec.address'],
  [
    'Eip bound to an Ingress',
    'Eip',
    { pool: 'ext', binding: { kind: 'Ingress', namespace: 'default', name: 'web' } },
    'spec.binding.kind',
  ],
  [
    'both fixed EIP address and pool',
    'YusurService',
    { ...ysvc, scenarios: { eip: { address: '172.18.10.7', pool: 'ext' } } },
    'spec.scenarios.eip',
  ],
  ['port out of range', 'YusurService', { ...ysvc, ports: [{ port: 70000 }] }, 'spec.ports[0].port'],
  [
    'targetPort out of range',
    'YusurService',
    { ...ysvc, ports: [{ port: 80, targetPort: 0 }] },
    'spec.ports[0].targetPort',
  ],
  ['unknown protocol', 'YusurService', { ...ysvc, ports: [{ port: 80, protocol: 'ICMP' }] }, 'spec.ports[0].protocol'],
  ['no scenario', 'YusurService', { ...ysvc, scenarios: {} }, 'spec.scenarios'],
  [
    'affinity timeout without ClientIP',
    'YusurService',
    { ...ysvc, sessionAffinityTimeoutSeconds: 60 },
    'spec.sessionAffinityTimeoutSeconds',
  ],
  ['failureThreshold 0', 'NetworkProbe', { ...probe, failureThreshold: 0 }, 'spec.failureThreshold'],
  [
    'timeout longer than interval',
    'NetworkProbe',
    { ...probe, intervalSeconds: 5, timeoutSeconds: 10 },
    'spec.timeoutSeconds',
  ],
  [
    'target with backendRef and address',
    'NetworkProbe',
    { ...probe, targets: [{ address: '10.0.0.1', backendRef: { kind: 'Pod', name: 'p' } }] },
    'spec.targets[0]',
  ],
  ['tcp probe without port', 'NetworkProbe', { targets: probe.targets, type: 'tcp' }, 'spec.port'],
  ['unknown probe type', 'NetworkProbe', { ...probe, type: 'grpc' }, 'spec.type'],
  [
    'multicast MAC',
    'BareMetalServer',
    { vpc: 'blue', subnet: 'blue-1', ip: '10.16.0.200', mac: '01:00:5e:00:00:01' },
    'spec.mac',
  ],
  [
    'VNic attached to a Deployment',
    'VNic',
    { subnet: 'blue-1', attachedTo: { kind: 'Deployment', name: 'x' } },
    'spec.attachedTo.kind',
  ],
];

beforeAll(async () => {
  cp = await KubeControlPlane.start({ controllers: [] });
  kc = cp.kubeConfig;
  const names: string[] = [];
  for (const f of readdirSync(CRD_DIR).filter((x) => x.endsWith('.yaml'))) {
    const crd = parse(readFileSync(join(CRD_DIR, f), 'utf8')) as { metadata: { name: string } };
    const r = await send('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    if (r.code !== 201) throw new Error(`${f} was refused (${r.code}): ${JSON.stringify(r.body.message)}`);
    names.push(crd.metadata.name);
  }
  await waitForCrdsEstablished(kc, names, 60_000);
});

afterAll(async () => {
  await cp?.stop();
});

describe('ycloud CRDs on a real apiserver', () => {
  it('defines every kind of the crdResources table', async () => {
    const list = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    const names = list.items.map((c) => c.metadata?.name).sort();
    expect(names).toEqual(
      Object.values(crdResources)
        .map((r) => `${r.plural}.${GROUP}`)
        .sort(),
    );
    for (const c of list.items) {
      const r = crdResources[c.spec.names.kind as Kind];
      expect(c.spec.scope).toBe(r.namespaced ? 'Namespaced' : 'Cluster');
      expect(c.spec.names.categories).toContain('ycloud');
    }
  });

  it.each(valid)('stores a valid %s with its defaults', async (kind, spec) => {
    const r = await create(kind, `ok-${kind.toLowerCase()}`, spec);
    expect(r.code).toBe(201);
    const created = r.body as { spec: Body };
    expect(created.spec).toMatchObject(spec);
    if (kind === 'Subnet') expect(created.spec.role).toBe('pod');
    if (kind === 'NetworkProbe')
      expect(created.spec).toMatchObject({ intervalSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 });
  });

  it.each(invalid.map((c, i) => [...c, i] as const))(
    'rejects %s (%s) naming the field',
    async (_what, kind, spec, field, i) => {
      const r = await create(kind, `bad-${i}`, spec);
      expect({ code: r.code, fields: r.fields }).toEqual({
        code: 422,
        fields: expect.arrayContaining([field]) as unknown,
      });
    },
  );

  it('refuses to move a Subnet to another VPC or change its CIDRs', async () => {
    const url = `${crdPath(crdResources.Subnet)}/ok-subnet`;
    const patch = (spec: Body) =>
      send('PATCH', url, [{ op: 'replace', path: '/spec', value: spec }], 'application/json-patch+json');
    const vpc = await patch({ ...subnet, vpc: 'green' });
    expect({ code: vpc.code, fields: vpc.fields }).toEqual({ code: 422, fields: ['spec.vpc'] });
    const cidrs = await patch({ ...subnet, cidrBlocks: ['10.17.0.0/16'], gateways: [] });
    expect(cidrs.code).toBe(422);
    expect(cidrs.fields).toContain('spec.cidrBlocks');
    const ok = await patch({ ...subnet, excludeIps: ['10.16.0.2..10.16.0.20'] });
    expect(ok.code).toBe(200);
  });

  it('publishes field documentation (what kubectl explain shows)', async () => {
    const spec = (await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: `subnets.${GROUP}` }))
      .spec;
    const props = spec.versions[0].schema?.openAPIV3Schema?.properties?.spec?.properties ?? {};
    expect(props.cidrBlocks?.description).toMatch(/IPv4 and\/or one IPv6/);
    expect(props.excludeIps?.items?.description).toMatch(/range/);
  });
});
