import { AuthorizationV1Api, V1ResourceAttributes } from '@kubernetes/client-node';
import { COMPONENT_ACCESS, parseControllerConfig } from '@ycloud/api';
import {
  KubeControlPlane,
  ManifestObject,
  loadKustomization,
  repoRoot,
  serverSideApply,
  waitForCrdsEstablished,
} from '@ycloud/testbed/k8s';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cniAgentCommand } from '../../apps/cni/src/cni-options';

const root = repoRoot();
const base = path.join(root, 'deploy/base');
const NS = 'ycloud-system';

describe('deploy/base against a real kube-apiserver', () => {
  let cp: KubeControlPlane | undefined;
  let objects: ManifestObject[] = [];

  beforeAll(async () => {
    objects = await loadKustomization(base);
    // Only the apiserver's validation and RBAC matter here: no controllers needed.
    cp = await KubeControlPlane.start({ controllers: [] });
  });
  afterAll(async () => {
    await cp?.stop();
  });

  const ofKind = (kind: string) => objects.filter((o) => o.object.kind === kind).map((o) => o.object);
  const one = (kind: string, name: string) => {
    const o = objects.find((x) => x.object.kind === kind && x.object.metadata?.name === name);
    if (!o) throw new Error(`deploy/base has no ${kind} ${name}`);
    return o.object as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it('lists every generated CRD (deploy/base/crds, the same files as /crds)', () => {
    const onDisk = readdirSync(path.join(root, 'crds')).filter((f) => /\.ya?ml$/.test(f));
    const listed = new Set(objects.map((o) => path.relative(path.join(base, 'crds'), o.file)));
    expect(onDisk.filter((f) => !listed.has(f))).toEqual([]);
  });

  it('applies every object with server-side apply (dry run) without errors', async () => {
    const kc = cp!.kubeConfig;
    // CRDs and the namespace for real first, so custom objects validate and namespaced objects have a home.
    const crds = objects.filter((o) => o.object.kind === 'CustomResourceDefinition');
    const namespaces = objects.filter((o) => o.object.kind === 'Namespace');
    expect(namespaces.map((o) => o.object.metadata?.name)).toEqual([NS]);
    const setup = await serverSideApply(kc, [...crds, ...namespaces]);
    expect(setup.filter((r) => r.error)).toEqual([]);
    await waitForCrdsEstablished(
      kc,
      crds.map((o) => o.object.metadata!.name!),
    );

    const results = await serverSideApply(kc, objects, { dryRun: true });
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results.length).toBe(objects.length);
  });

  it('grants each component what it needs and no more (SubjectAccessReview)', async () => {
    const kc = cp!.kubeConfig;
    const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    const rbac = objects.filter((o) => rbacKinds.has(o.object.kind!));
    const setup = await serverSideApply(kc, [...objects.filter((o) => o.object.kind === 'Namespace'), ...rbac]);
    expect(setup.filter((r) => r.error)).toEqual([]);

    const authz = kc.makeApiClient(AuthorizationV1Api);
    const can = async (sa: string, attrs: V1ResourceAttributes): Promise<boolean> => {
      const r = await authz.createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:${NS}:${sa}`,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
            resourceAttributes: attrs,
          },
        },
      });
      return r.status?.allowed === true;
    };
    // Everything each component's code does (libs/api component-access.ts, checked against the code by its
    // unit test) must be allowed; a few things it never does must not be.
    const cases: [string, V1ResourceAttributes, boolean][] = [];
    for (const [sa, table] of Object.entries(COMPONENT_ACCESS)) {
      for (const a of table) {
        for (const verb of a.verbs) {
          const attrs: V1ResourceAttributes = { verb, group: a.group, resource: a.resource };
          if (a.subresource) attrs.subresource = a.subresource;
          if (a.names) attrs.name = a.names[0];
          // Cluster-wide grants are checked in an arbitrary namespace (namespaced kinds) and across namespaces.
          if (a.scope === 'own') attrs.namespace = NS;
          cases.push([sa, attrs, true]);
          if (a.scope === 'cluster') cases.push([sa, { ...attrs, namespace: 'default' }, true]);
        }
      }
    }
    expect(cases.length).toBeGreaterThan(40);
    cases.push(
      ['ycloud-controller', { verb: 'update', group: 'networking.k8s.io', resource: 'ipaddresses' }, false],
      ['ycloud-controller', { verb: 'patch', resource: 'pods', subresource: 'status', namespace: 'default' }, false],
      ['ycloud-controller', { verb: 'delete', resource: 'pods', namespace: 'default' }, false],
      ['ycloud-controller', { verb: 'delete', group: 'sdn.ycloud.io', resource: 'vpcs' }, false],
      [
        'ycloud-controller',
        { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'default' },
        false,
      ],
      [
        'ycloud-controller',
        { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: NS, name: 'other' },
        false,
      ],
      ['ycloud-controller', { verb: 'get', resource: 'secrets', namespace: NS }, false],
      ['ycloud-agent', { verb: 'delete', resource: 'nodes' }, false],
      ['ycloud-agent', { verb: 'update', resource: 'nodes', subresource: 'status' }, false],
      ['ycloud-agent', { verb: 'update', group: 'sdn.ycloud.io', resource: 'subnets', subresource: 'status' }, false],
      [
        'ycloud-agent',
        { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'default' },
        false,
      ],
      ['ycloud-agent', { verb: 'list', resource: 'secrets' }, false],
    );
    const wrong: string[] = [];
    for (const [sa, attrs, want] of cases) {
      if ((await can(sa, attrs)) !== want) wrong.push(`${sa} ${want ? 'cannot' : 'can'} ${JSON.stringify(attrs)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('ships a controller config the controller accepts', () => {
    const cm = one('ConfigMap', 'ycloud-config');
    const config = parseControllerConfig(parseYaml(cm.data['config.yaml']));
    expect(config.nbRemote).toMatch(/^tcp:/);
    expect(config.offload).toHaveProperty('selectionFields');
  });

  it('runs two leader-elected controller replicas with probes and a privileged host-network agent', () => {
    const dep = one('Deployment', 'ycloud-controller');
    expect(dep.spec.replicas).toBe(2);
    const c = dep.spec.template.spec.containers[0];
    expect(c.image).toBe(`ycloud/ycloud:${JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version}`);
    expect(c.args).toContain('--leader-elect=true');
    expect([c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path]).toEqual(['/healthz', '/readyz']);
    expect(c.ports.map((p: { name: string }) => p.name)).toContain('metrics');
    // NetworkProbes: the leader plugs a probe port into its node's OVS (host network, OVS socket, NODE_NAME),
    // with capabilities rather than privileged mode.
    const pod = dep.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(
      expect.arrayContaining(['/var/run/openvswitch', '/var/run/netns']),
    );
    expect(c.securityContext.privileged).toBeUndefined();
    expect(c.securityContext.capabilities.add).toEqual(expect.arrayContaining(['NET_ADMIN', 'SYS_ADMIN']));
    // Every flag the Deployment passes is one the controller's command line declares.
    const controllerOptions = readFileSync(path.join(root, 'apps/controller/src/controller-options.ts'), 'utf8');
    const controllerFlags = (c.args as string[]).map((a) => a.split('=')[0]);
    expect(controllerFlags.filter((f) => !new RegExp(`'${f}[ '<\\[]`).test(controllerOptions))).toEqual([]);

    const ds = one('DaemonSet', 'ycloud-agent');
    const spec = ds.spec.template.spec;
    expect(spec.hostNetwork).toBe(true);
    expect(spec.containers[0].securityContext.privileged).toBe(true);
    const mounts = spec.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    expect(mounts).toEqual(
      expect.arrayContaining([
        '/var/run/openvswitch',
        '/var/run/ovn',
        '/opt/cni/bin',
        '/etc/cni/net.d',
        '/var/run/netns',
      ]),
    );
    // The init container installs the plugin into the host's CNI bin directory, then its config.
    const install = spec.initContainers[0].command.join(' ');
    expect(install).toMatch(/bin=\/host\/opt\/cni\/bin\b[\s\S]*mv -f "\$bin\/ycloud\.new" "\$bin\/ycloud"/);
    expect(install).toMatch(/\/host\/etc\/cni\/net\.d\/10-ycloud\.conflist/);
    // Every flag the DaemonSet passes is one the agent's command line declares.
    const declared = cniAgentCommand().options.map((o) => o.long);
    const flags = (spec.containers[0].args as string[]).map((a) => a.split('=')[0]);
    expect(flags.filter((f) => !declared.includes(f))).toEqual([]);
    // The agent serves metrics and its probes on the node's address (host network).
    const agent = spec.containers[0];
    expect(agent.ports).toEqual([{ name: 'metrics', containerPort: 9182, protocol: 'TCP' }]);
    expect([agent.livenessProbe.httpGet.path, agent.readinessProbe.httpGet.path]).toEqual(['/healthz', '/readyz']);
    expect(agent.args).toContain('--metrics=$(HOST_IP):9182');

    // OVN itself: a 3-member RAFT StatefulSet (NB, SB, northd) and OVS + ovn-controller on every node.
    const central = one('StatefulSet', 'ovn-central');
    expect(central.spec.replicas).toBe(3);
    expect(central.spec.template.spec.containers.map((x: { args: string[] }) => x.args[0])).toEqual([
      'nb',
      'sb',
      'northd',
    ]);
    expect(central.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    // Pod networking needs OVN, so OVN central cannot need it: host network, members by node address.
    expect(central.spec.template.spec.hostNetwork).toBe(true);
    const addresses = central.spec.template.spec.containers[0].env.find(
      (e: { name: string }) => e.name === 'OVN_CENTRAL_ADDRESSES',
    ).value as string;
    expect(addresses.split(',')).toHaveLength(central.spec.replicas);
    expect(one('Service', 'ovn-central-raft').spec.publishNotReadyAddresses).toBe(true);
    const ovs = one('DaemonSet', 'ycloud-ovs');
    expect(ovs.spec.template.spec.containers[0].args).toEqual(['node']);
    const nbRemote = parseControllerConfig(parseYaml(one('ConfigMap', 'ycloud-config').data['config.yaml'])).nbRemote;
    expect(nbRemote).toBe(
      addresses
        .split(',')
        .map((a) => `tcp:${a}:6641`)
        .join(','),
    );
    expect(
      ofKind('ServiceAccount')
        .map((s) => s.metadata?.name)
        .sort(),
    ).toEqual(['ycloud-agent', 'ycloud-controller']);
  });
});
