import { parseAllDocuments } from 'yaml';
import {
  DEFAULT_CONTROLLER_CONFIG,
  parseControllerConfig,
  type Eip,
  type EipPool,
  type IpFamily,
  type Subnet,
  type Vpc,
  type YusurService,
} from '@ycloud/api';
import { parseManifests, translateManifests, type KubeObject, type ManifestContextOptions } from '../manifests';
import {
  defaultVpcTransitAddress,
  translateDefaultTopology,
  translateDefaultVpcGateway,
} from '../topology/default-topology';
import { translateTopology } from '../topology/topology.translator';
import { translateYusurService, type YusurTranslationContext } from '../yusur/yusur-service.translator';
import { formatTxtar, parseTxtar, type Txtar } from './txtar';

/**
 * Script tests for translation: a txtar file whose script says what is in the cluster and what Northbound rows
 * that must give. Commands (one a line, `#` starts a comment):
 *
 *   k8s add <section>              add (or replace) the Kubernetes objects of a YAML section
 *   k8s delete <Kind> <[ns/]name>  remove an object
 *   translate [options]            translate the objects through the adapters `ycloud translate` and the
 *                                  controller share; options: --default-vpc NAME, --ip-families 4,6,
 *                                  --offload-selection-fields, --eip-default-pool (as with eip.defaultPool)
 *   translate yusur                one YusurService with a `kind: TranslationContext` object (its backends, addresses
 *                                  and links, as the controller resolves them)
 *   translate topology             Vpc/Subnet/EipPool/Eip objects, and a `kind: ControllerConfig` object
 *   compare <section>              the whole last result, as JSON
 *   nb compare <Table> <section>   only the rows of one table of the last `translate`
 *
 * Every translation runs twice and must give the same bytes (zero-write reconciles depend on it).
 * YCLOUD_UPDATE_GOLDEN=1 rewrites the compared sections instead of failing: review the diff before committing.
 */
export interface ScriptResult {
  /** The archive, with compared sections rewritten when updating. */
  archive: Txtar;
  /** One line per mismatch: `line N: <command>: section X differs`, with both texts. */
  failures: Array<{ line: number; command: string; section: string; want: string; got: string }>;
}

type Outcome = { kind: 'manifests'; value: ReturnType<typeof translateManifests> } | { kind: 'other'; value: unknown };

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function objectId(o: KubeObject): string {
  return `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function translateOptions(args: string[]): ManifestContextOptions {
  const options: ManifestContextOptions = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--offload-selection-fields') options.offloadSelectionFields = true;
    else if (args[i] === '--eip-default-pool') options.eipDefaultPool = true;
    else if (args[i] === '--default-vpc') options.defaultVpc = args[++i];
    else if (args[i] === '--ip-families') {
      options.defaultVpcFamilies = (args[++i] ?? '').split(',').map((f) => Number(f) as IpFamily);
    } else throw new Error(`translate: unknown option ${args[i]}`);
  }
  return options;
}

function translateYusur(objects: KubeObject[]): unknown {
  const of = <T>(kind: string): T[] => objects.filter((o) => o.kind === kind) as unknown as T[];
  const ctx = of<{ spec: Omit<YusurTranslationContext, 'vpcs' | 'eipPools'> }>('TranslationContext')[0]?.spec;
  const service = of<YusurService>('YusurService')[0];
  if (!ctx || !service) throw new Error('translate yusur: needs one YusurService and one TranslationContext');
  return translateYusurService(service, { ...ctx, vpcs: of<Vpc>('Vpc'), eipPools: of<EipPool>('EipPool') });
}

function translateTopologyObjects(objects: KubeObject[]): unknown {
  const of = <T>(kind: string): T[] => objects.filter((o) => o.kind === kind) as unknown as T[];
  const cfgDoc = of<{ spec?: Record<string, unknown> }>('ControllerConfig')[0];
  const { defaultTopology, ...cfgSpec } = cfgDoc?.spec ?? {};
  const config = cfgDoc ? parseControllerConfig(cfgSpec) : DEFAULT_CONTROLLER_CONFIG;
  const objs = {
    vpcs: of<Vpc>('Vpc'),
    subnets: of<Subnet>('Subnet'),
    eipPools: of<EipPool>('EipPool'),
    eips: of<Eip>('Eip'),
  };
  const result: Record<string, unknown> = {};
  if (defaultTopology) result.defaultTopology = translateDefaultTopology(config);
  if (defaultTopology && config.eip.defaultPool) {
    const transitAddress = defaultVpcTransitAddress(config);
    result.defaultVpcGateway = translateDefaultVpcGateway(config, { eipPools: objs.eipPools, transitAddress });
  }
  if (objects.some((o) => o.kind !== 'ControllerConfig')) result.topology = translateTopology(objs, config);
  return result;
}

/**
 * Objects of a YAML section. Besides Kubernetes objects, the harness's own documents (TranslationContext,
 * ControllerConfig) need no apiVersion or name.
 */
function sectionObjects(text: string, name: string): KubeObject[] {
  const docs = parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((d): d is KubeObject => !!d);
  const own = docs.filter((d) => d.kind === 'TranslationContext' || d.kind === 'ControllerConfig');
  const kube = docs.filter((d) => !own.includes(d));
  const parsed = kube.length ? parseManifests(kube.map((d) => JSON.stringify(d)).join('\n---\n'), name) : [];
  return [...parsed, ...own.map((d) => ({ ...d, metadata: { ...d.metadata, name: d.metadata?.name ?? d.kind } }))];
}

/** Runs one script. Throws on a malformed script; mismatches are returned, not thrown. */
export function runTranslateScript(text: string, update = false): ScriptResult {
  const archive = parseTxtar(text);
  const failures: ScriptResult['failures'] = [];
  const objects = new Map<string, KubeObject>();
  let last: Outcome | undefined;
  const section = (name: string | undefined, line: number): string => {
    const body = name === undefined ? undefined : archive.sections.get(name);
    if (body === undefined) throw new Error(`line ${line}: no section ${String(name)}`);
    return body;
  };
  const check = (line: number, command: string, name: string | undefined, got: string): void => {
    if (!name) throw new Error(`line ${line}: ${command}: which section?`);
    const want = archive.sections.get(name);
    if (want === got) return;
    if (update) archive.sections.set(name, got);
    else failures.push({ line, command, section: name, want: want ?? '(missing)', got });
  };
  const twice = <T>(line: number, run: () => T): T => {
    const first = run();
    if (json(run()) !== json(first)) throw new Error(`line ${line}: the same input gave different output`);
    return first;
  };

  archive.script.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const words = raw.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return;
    const command = words.join(' ');
    const all = (): KubeObject[] => [...objects.values()];
    if (words[0] === 'k8s' && words[1] === 'add') {
      for (const o of sectionObjects(section(words[2], line), words[2])) objects.set(objectId(o), o);
    } else if (words[0] === 'k8s' && words[1] === 'delete' && words.length === 4) {
      const [ns, name] = words[3].includes('/') ? words[3].split('/') : ['', words[3]];
      if (!objects.delete(`${words[2]} ${ns}/${name}`)) throw new Error(`line ${line}: no ${words[2]} ${words[3]}`);
    } else if (words[0] === 'translate' && words[1] === 'yusur') {
      last = { kind: 'other', value: twice(line, () => translateYusur(all())) };
    } else if (words[0] === 'translate' && words[1] === 'topology') {
      last = { kind: 'other', value: twice(line, () => translateTopologyObjects(all())) };
    } else if (words[0] === 'translate') {
      const options = translateOptions(words.slice(1));
      last = { kind: 'manifests', value: twice(line, () => translateManifests(all(), options)) };
    } else if (words[0] === 'compare') {
      if (!last) throw new Error(`line ${line}: compare before translate`);
      check(line, command, words[1], json(last.value));
    } else if (words[0] === 'nb' && words[1] === 'compare' && words.length === 4) {
      if (last?.kind !== 'manifests') throw new Error(`line ${line}: nb compare needs a manifest translate first`);
      check(line, command, words[3], json(last.value.tables[words[2]] ?? []));
    } else {
      throw new Error(`line ${line}: unknown command: ${raw}`);
    }
  });
  return { archive, failures };
}

export { formatTxtar };
