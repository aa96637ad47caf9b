import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { crdResources } from '../crd-resources';
import { crdFiles } from './crd-files';
import { crdDefinitions, crdObjects, undocumented } from './index';

const CRD_DIR = join(__dirname, '../../../../crds');

describe('CRD definitions', () => {
  it('match the generated files in crds/ (run generate-crds.ts after editing)', () => {
    const files = crdFiles();
    expect(
      readdirSync(CRD_DIR)
        .filter((f) => f.endsWith('.yaml'))
        .sort(),
    ).toEqual(Object.keys(files).sort());
    for (const [f, text] of Object.entries(files)) expect(readFileSync(join(CRD_DIR, f), 'utf8')).toBe(text);
  });

  it('document every field (kubectl explain)', () => {
    for (const crd of crdObjects()) {
      const schema = (crd.spec as { versions: Array<{ schema: { openAPIV3Schema: Record<string, unknown> } }> })
        .versions[0].schema.openAPIV3Schema;
      expect(undocumented(schema)).toEqual([]);
    }
  });

  it('agree with the crdResources table', () => {
    for (const d of crdDefinitions) {
      const r = crdResources[d.kind as keyof typeof crdResources];
      expect({ plural: r.plural, namespaced: r.namespaced }).toEqual({ plural: d.plural, namespaced: d.namespaced });
    }
    expect(crdDefinitions).toHaveLength(Object.keys(crdResources).length);
  });
});
