import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { EipPool, Vpc, YusurService } from '@ycloud/api';
import { translateYusurService, type YusurTranslationContext } from './yusur-service.translator';

/**
 * Golden cases: test-fixtures/yusur/<case>/input.yaml holds one YusurService, Vpcs, EipPools and a
 * `kind: TranslationContext` document (resolved backends, allocated addresses and links, as the controller would
 * pass them). expected.json is the translation, checked by hand. `YCLOUD_UPDATE_GOLDEN=1` rewrites it.
 */
const root = join(__dirname, '../../test-fixtures/yusur');

function run(dir: string): unknown {
  const docs = parseAllDocuments(readFileSync(join(dir, 'input.yaml'), 'utf8'))
    .map((d) => d.toJS() as { kind: string; spec?: unknown })
    .filter((d) => d);
  const of = <T>(kind: string): T[] => docs.filter((d) => d.kind === kind) as T[];
  const ctx = of<{ spec: Omit<YusurTranslationContext, 'vpcs' | 'eipPools'> }>('TranslationContext')[0].spec;
  const service = of<YusurService>('YusurService')[0];
  return translateYusurService(service, { ...ctx, vpcs: of<Vpc>('Vpc'), eipPools: of<EipPool>('EipPool') });
}

describe('YusurService golden cases', () => {
  const cases = readdirSync(root).sort();
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(5));
  it.each(cases)('%s', (name) => {
    const dir = join(root, name);
    const actual = JSON.parse(JSON.stringify(run(dir))) as unknown;
    if (process.env.YCLOUD_UPDATE_GOLDEN === '1')
      writeFileSync(join(dir, 'expected.json'), JSON.stringify(actual, null, 2) + '\n');
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as unknown;
    expect(actual).toEqual(expected);
  });
});
