import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { crdResources } from '../crd-resources';
import { CRD_DIRS, crdFiles, generatedFiles } from './crd-files';
import { crdDefinitions, crdObjects, undocumented } from './index';

const ROOT = join(__dirname, '../../../..');

describe('CRD definitions', () => {
  it.each(CRD_DIRS)('match the generated files in %s/ (run generate-crds.ts after editing)', (dir) => {
    const files = crdFiles();
    expect(
      readdirSync(join(ROOT, dir))
        .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
        .sort(),
    ).toEqual(Object.keys(files).sort());
  });

  it('match every generated file byte for byte: CRDs, their kustomization, RBAC (run generate-crds.ts)', () => {
    const stale = Object.entries(generatedFiles())
      .filter(([file, text]) => readFileSync(join(ROOT, file), 'utf8') !== text)
      .map(([file]) => file);
    expect(stale).toEqual([]);
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
