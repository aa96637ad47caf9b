// Writes crds/<plural>.<group>.yaml from the definitions: `node -r ./scripts/register.js libs/api/src/crds/generate-crds.ts`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdFiles } from './crd-files';

const root = join(__dirname, '../../../..');
for (const [file, text] of Object.entries(crdFiles())) writeFileSync(join(root, 'crds', file), text);
