import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTxtar, runTranslateScript } from './translate-script';

/**
 * Every libs/translate/test-fixtures/scripts/*.txtar through the script harness (see translate-script.ts).
 * YCLOUD_UPDATE_GOLDEN=1 rewrites the compared sections: review every change against OVN semantics.
 */
const root = join(__dirname, '../../test-fixtures/scripts');
const scripts = readdirSync(root)
  .filter((f) => f.endsWith('.txtar'))
  .sort();
const update = process.env.YCLOUD_UPDATE_GOLDEN === '1';

describe('translation scripts', () => {
  it('has scripts for Services, YusurServices and the topology', () => {
    for (const prefix of ['service-', 'yusur-', 'topology-']) {
      expect(scripts.filter((s) => s.startsWith(prefix)).length).toBeGreaterThanOrEqual(5);
    }
  });

  it.each(scripts)('%s', (name) => {
    const file = join(root, name);
    const text = readFileSync(file, 'utf8');
    const { archive, failures } = runTranslateScript(text, update);
    if (update) {
      const updated = formatTxtar(archive);
      if (updated !== text) writeFileSync(file, updated);
      return;
    }
    for (const f of failures) {
      // One assertion per mismatch, naming the script line, so the diff shows where.
      expect({ line: f.line, command: f.command, got: f.got }).toEqual({
        line: f.line,
        command: f.command,
        got: f.want,
      });
    }
    expect(failures).toHaveLength(0);
  });
});
