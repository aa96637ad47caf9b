import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifests, translateManifests, type ManifestContextOptions } from '../manifests';

/**
 * Golden cases: test-fixtures/services/<case>/input.yaml (+ options.json) through the same path as
 * `ycloud translate`, compared byte for byte with expected.json. UPDATE_GOLDEN=1 rewrites expected.json: review
 * every change against OVN semantics before committing it.
 */
const FIXTURES = join(__dirname, '../../test-fixtures/services');
const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

function run(dir: string): string {
  const objects = parseManifests(readFileSync(join(dir, 'input.yaml'), 'utf8'), 'input.yaml');
  const optionsFile = join(dir, 'options.json');
  const options = existsSync(optionsFile)
    ? (JSON.parse(readFileSync(optionsFile, 'utf8')) as ManifestContextOptions)
    : {};
  return `${JSON.stringify(translateManifests(objects, options), null, 2)}\n`;
}

describe('Service translation golden cases', () => {
  it('has a case for every behaviour', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it.each(cases)('%s', (name) => {
    const dir = join(FIXTURES, name);
    const actual = run(dir);
    const expectedFile = join(dir, 'expected.json');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedFile, actual);
    expect(actual).toBe(readFileSync(expectedFile, 'utf8'));
    // Same input, same bytes: zero-write reconciles depend on it.
    expect(run(dir)).toBe(actual);
  });
});
