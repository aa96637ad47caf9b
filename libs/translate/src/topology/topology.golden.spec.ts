import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_CONTROLLER_CONFIG, Eip, EipPool, Subnet, Vpc, parseControllerConfig } from '@ycloud/api';
import { defaultVpcTransitAddress, translateDefaultTopology, translateDefaultVpcGateway } from './default-topology';
import { translateTopology } from './topology.translator';

/**
 * Golden cases: test-fixtures/topology/<case>/input.yaml holds Vpc/Subnet/EipPool/Eip objects (and optionally a
 * `kind: ControllerConfig` document whose `spec` is the controller config; with `spec.defaultTopology: true`
 * the default topology is translated too, and with `eip.defaultPool` the default VPC's gateway). expected.json is the translation, checked by hand.
 * `YCLOUD_UPDATE_GOLDEN=1` rewrites expected.json (review the diff!).
 */
const root = join(__dirname, '../../test-fixtures/topology');

function run(dir: string): unknown {
  const docs = parseAllDocuments(readFileSync(join(dir, 'input.yaml'), 'utf8'))
    .map((d) => d.toJS() as { kind: string; spec?: Record<string, unknown> })
    .filter((d) => d);
  const of = <T>(kind: string): T[] => docs.filter((d) => d.kind === kind) as T[];
  const cfgDoc = of<{ spec: Record<string, unknown> }>('ControllerConfig')[0];
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
  if (docs.some((d) => d.kind !== 'ControllerConfig')) result.topology = translateTopology(objs, config);
  return result;
}

describe('topology golden cases', () => {
  const cases = readdirSync(root).sort();
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));
  it.each(cases)('%s', (name) => {
    const dir = join(root, name);
    const actual = JSON.parse(JSON.stringify(run(dir))) as unknown;
    if (process.env.YCLOUD_UPDATE_GOLDEN === '1')
      writeFileSync(join(dir, 'expected.json'), JSON.stringify(actual, null, 2) + '\n');
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as unknown;
    expect(actual).toEqual(expected);
  });
});
