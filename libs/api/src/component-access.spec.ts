import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AGENT_ACCESS, CONTROLLER_ACCESS, type AccessVerb, type ResourceAccess } from './component-access';
import { crdResources } from './crd-resources';
import { GROUP } from './common.types';

const ROOT = join(__dirname, '../../..');

/** `group/resource[/subresource]`. */
type Key = string;
const key = (group: string, resource: string, subresource?: string): Key =>
  `${group}/${resource}${subresource ? `/${subresource}` : ''}`;

function sources(dirs: string[]): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.spec.ts'))
        out.push({ file: relative(ROOT, p), text: readFileSync(p, 'utf8') });
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  return out;
}

// How the code names a resource type, resolved to group/resource. A reference this cannot resolve fails the
// test: teach it here (and the table) rather than letting a new API use slip through.
const core = (r: string) => key('', r);
const NAMED: Record<string, Key> = {
  'Resources.services': core('services'),
  'Resources.pods': core('pods'),
  'Resources.nodes': core('nodes'),
  'Resources.namespaces': core('namespaces'),
  'Resources.configMaps': core('configmaps'),
  'Resources.coreEvents': core('events'),
  'Resources.endpointSlices': key('discovery.k8s.io', 'endpointslices'),
  'Resources.leases': key('coordination.k8s.io', 'leases'),
  'Resources.events': key('events.k8s.io', 'events'),
  IP_ADDRESSES: key('networking.k8s.io', 'ipaddresses'),
  'YUSUR_RESOURCES.VirtualMachineInstance': key('kubevirt.io', 'virtualmachineinstances'),
};
for (const [kind, r] of Object.entries(crdResources)) {
  for (const table of ['crdResources', 'TOPOLOGY_RESOURCES', 'YUSUR_RESOURCES'])
    NAMED[`${table}.${kind}`] = key(GROUP, r.plural);
}
// Indexed tables: every kind the index can take (TopologyKind; the attachment kinds of network-attachment).
const INDEXED: Record<string, Key[]> = {
  'TOPOLOGY_RESOURCES[kind]': ['vpcs', 'subnets', 'eippools', 'eips'].map((r) => key(GROUP, r)),
  'YUSUR_RESOURCES[kind]': ['baremetalservers', 'vnics'].map((r) => key(GROUP, r)),
};
// Parameters of generic helpers: their callers name the resource.
const GENERIC = /^(rt|resource|type)$/;

/** client-node API methods the agent calls → verb and resource. */
const CLIENT_NODE_METHODS: Record<string, [AccessVerb, Key]> = {
  readNamespacedPod: ['get', core('pods')],
  patchNamespacedPod: ['patch', core('pods')],
  listPodForAllNamespaces: ['list', core('pods')],
  readNode: ['get', core('nodes')],
  patchNode: ['patch', core('nodes')],
  readNamespacedLease: ['get', key('coordination.k8s.io', 'leases')],
  createNamespacedLease: ['create', key('coordination.k8s.io', 'leases')],
  replaceNamespacedLease: ['update', key('coordination.k8s.io', 'leases')],
};
const CLIENT_VERBS: Record<string, AccessVerb> = {
  get: 'get',
  list: 'list',
  create: 'create',
  replace: 'update',
  mergePatch: 'patch',
  delete: 'delete',
};
const HTTP_VERBS: Record<string, AccessVerb> = {
  GET: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** The text of a call's arguments, from the index of its opening parenthesis. */
function callArgs(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

/** Every (verb, resource) the code performs, with where, as far as the patterns below see. */
function usesInCode(dirs: string[]): { verb: AccessVerb; key: Key; where: string }[] {
  const out: { verb: AccessVerb; key: Key; where: string }[] = [];
  const unresolved: string[] = [];
  const resolve = (expr: string, where: string): Key[] => {
    if (NAMED[expr]) return [NAMED[expr]];
    if (INDEXED[expr]) return INDEXED[expr];
    if (!GENERIC.test(expr)) unresolved.push(`${where}: ${expr}`);
    return [];
  };
  for (const { file, text } of sources(dirs)) {
    const where = (i: number) => `${file}:${text.slice(0, i).split('\n').length}`;
    for (const m of text.matchAll(/new Informer(?:<[^()]*?>)?\(\s*[\w.]+,\s*([\w.[\]]+)/g)) {
      for (const k of resolve(m[1], where(m.index))) {
        for (const verb of ['list', 'watch'] as const) out.push({ verb, key: k, where: where(m.index) });
      }
    }
    // Shared informers (libs/k8s SharedInformers): one list+watch per resource asked for.
    for (const m of text.matchAll(/(?<!this\.)\binformers\.get(?:<[^()]*?>)?\(\s*([\w.[\]]+)/g)) {
      for (const k of resolve(m[1], where(m.index))) {
        for (const verb of ['list', 'watch'] as const) out.push({ verb, key: k, where: where(m.index) });
      }
    }
    // An EventRecorder writes events.k8s.io Events (libs/k8s/src/event-recorder.ts): create, then patch repeats.
    for (const m of text.matchAll(/new EventRecorder\(/g)) {
      for (const verb of ['create', 'patch'] as const)
        out.push({ verb, key: NAMED['Resources.events'], where: where(m.index) });
    }
    // A literal core path with a subresource: request('PATCH', `/api/v1/nodes/${name}/status`).
    for (const m of text.matchAll(/request(?:<\w+>)?\('(\w+)',\s*`\/api\/v1\/(\w+)\/\$\{[^}]+\}\/(\w+)`/g)) {
      out.push({ verb: HTTP_VERBS[m[1]], key: key('', m[2], m[3]), where: where(m.index) });
    }
    for (const m of text.matchAll(/\b(?:kube|client)\.(get|list|create|replace|mergePatch|delete)(?:<[^()]*?>)?\(/g)) {
      const args = callArgs(text, m.index + m[0].length - 1);
      const first = args.split(',')[0].trim();
      const status = m[1] === 'mergePatch' && /'status'\s*,?\s*$/.test(args);
      for (const k of resolve(first, where(m.index))) {
        out.push({ verb: CLIENT_VERBS[m[1]], key: status ? `${k}/status` : k, where: where(m.index) });
      }
    }
    for (const m of text.matchAll(/request<\w+>\('(\w+)',\s*(resourcePath\(([\w.]+)|this\.path\(\))/g)) {
      // this.path() is the elector's own Lease (leader-election.ts).
      for (const k of m[3] ? resolve(m[3], where(m.index)) : [NAMED['Resources.leases']]) {
        out.push({ verb: HTTP_VERBS[m[1]], key: k, where: where(m.index) });
      }
    }
    for (const m of text.matchAll(/this\.(?:core|coord)\.(\w+)\(/g)) {
      const known = CLIENT_NODE_METHODS[m[1]];
      if (!known) unresolved.push(`${where(m.index)}: client-node ${m[1]}`);
      else out.push({ verb: known[0], key: known[1], where: where(m.index) });
    }
  }
  expect(unresolved).toEqual([]);
  return out;
}

const granted = (table: readonly ResourceAccess[]) => {
  const set = new Set<string>();
  for (const a of table) for (const v of a.verbs) set.add(`${v} ${key(a.group, a.resource, a.subresource)}`);
  return set;
};

describe('component access tables', () => {
  const cases: [string, readonly ResourceAccess[], string[]][] = [
    ['ycloud-controller', CONTROLLER_ACCESS, ['libs/controllers/src', 'libs/k8s/src', 'apps/controller/src']],
    ['ycloud-agent', AGENT_ACCESS, ['libs/cni/src', 'apps/cni/src']],
  ];

  it.each(cases)('%s: every API call the code makes is in its table', (_name, table, dirs) => {
    const have = granted(table);
    const uses = usesInCode(dirs);
    expect(uses.length).toBeGreaterThan(5);
    expect(uses.filter((u) => !have.has(`${u.verb} ${u.key}`)).map((u) => `${u.where}: ${u.verb} ${u.key}`)).toEqual(
      [],
    );
  });

  it.each(cases)('%s: every verb in its table is one the code uses (least privilege)', (_name, table, dirs) => {
    const used = new Set(usesInCode(dirs).map((u) => `${u.verb} ${u.key}`));
    expect([...granted(table)].filter((g) => !used.has(g))).toEqual([]);
  });

  it('names objects only where RBAC can (not for create, list or watch)', () => {
    const wrong = [...CONTROLLER_ACCESS, ...AGENT_ACCESS].filter(
      (a) => a.names && a.verbs.some((v) => v === 'create' || v === 'list' || v === 'watch'),
    );
    expect(wrong).toEqual([]);
  });
});

describe('deploy RBAC', () => {
  const rbacDocs = () =>
    ['deploy/base/rbac.yaml'].flatMap(
      (f) => parseAllDocuments(readFileSync(join(ROOT, f), 'utf8')).map((d) => d.toJS() as Record<string, any>), // eslint-disable-line @typescript-eslint/no-explicit-any
    );

  it('has no wildcard verb, resource or API group', () => {
    const wild = rbacDocs()
      .filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')
      .flatMap((d) =>
        (d.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[])
          .filter((r) => [...r.apiGroups, ...r.resources, ...r.verbs].some((x) => x.includes('*')))
          .map((r) => `${d.kind}/${d.metadata.name}: ${JSON.stringify(r)}`),
      );
    expect(wild).toEqual([]);
  });
});
