// Writes the CRDs (crds/, deploy/base/crds/, deploy/helm/ycloud/crds/) and the RBAC manifests (from
// component-access.ts): `node -r ./scripts/register.js libs/api/src/crds/generate-crds.ts`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedFiles } from './crd-files';

const root = join(__dirname, '../../../..');
for (const [file, text] of Object.entries(generatedFiles())) writeFileSync(join(root, file), text);
