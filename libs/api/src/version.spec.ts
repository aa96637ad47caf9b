import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ycloudVersion } from './version';

describe('ycloudVersion', () => {
  it("is the repository's package.json version", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { version: string };
    expect(ycloudVersion()).toBe(pkg.version);
  });

  it("skips other packages' package.json on the way up, and says unknown when there is none", () => {
    const root = mkdtempSync(join(tmpdir(), 'ycloud-version-'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'ycloud', version: '7.8.9' }));
    mkdirSync(join(root, 'node_modules/x/lib'), { recursive: true });
    writeFileSync(join(root, 'node_modules/x/package.json'), JSON.stringify({ name: 'x', version: '1.0.0' }));
    expect(ycloudVersion(join(root, 'node_modules/x/lib'))).toBe('7.8.9');
    expect(ycloudVersion('/')).toBe('unknown');
  });
});
