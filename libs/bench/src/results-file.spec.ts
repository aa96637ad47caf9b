import { upsertRunSection } from './results-file';

const MARKER = '<!-- rows above -->';
const TEMPLATE = `# Title\n\n| a | b |\n| --- | --- |\n${MARKER}\n\n## Runs\n`;

describe('upsertRunSection', () => {
  const run = (rows: string[], details: string) => ({ id: 'r1', rowPrefix: '| 06:40 | 10k |', rows, details });

  it('creates the file from the template with the rows above the marker and the details at the end', () => {
    const out = upsertRunSection('', TEMPLATE, MARKER, run(['| 06:40 | 10k | ycloud |'], '### run 1\n- figures'));
    expect(out).toContain(`| --- | --- |\n| 06:40 | 10k | ycloud |\n${MARKER}`);
    expect(out.trimEnd().endsWith('<!-- run:r1 -->\n### run 1\n- figures\n<!-- /run:r1 -->')).toBe(true);
  });

  it("replaces the run's earlier rows and details in place, leaving other runs alone", () => {
    let text = upsertRunSection(TEMPLATE, TEMPLATE, MARKER, {
      id: 'old',
      rowPrefix: '| 05:00 | 1k |',
      rows: ['| 05:00 | 1k | ycloud |'],
      details: 'old run',
    });
    text = upsertRunSection(text, TEMPLATE, MARKER, run(['| 06:40 | 10k | ycloud | partial |'], 'partial'));
    text = upsertRunSection(
      text,
      TEMPLATE,
      MARKER,
      run(['| 06:40 | 10k | ycloud | final |', '| 06:40 | 10k | nftables | failed |'], 'final'),
    );
    expect(text).not.toContain('partial');
    expect(text.match(/<!-- run:r1 -->/g)).toHaveLength(1);
    const lines = text.split('\n');
    const at = lines.indexOf(MARKER);
    expect(lines.slice(at - 3, at)).toEqual([
      '| 05:00 | 1k | ycloud |',
      '| 06:40 | 10k | ycloud | final |',
      '| 06:40 | 10k | nftables | failed |',
    ]);
    expect(text.indexOf('old run')).toBeLessThan(text.indexOf('final\n<!-- /run:r1 -->'));
  });

  it('keeps a file that has lost its marker readable by putting the template first', () => {
    const out = upsertRunSection('hand-written notes\n', TEMPLATE, MARKER, run(['| 06:40 | 10k | x |'], 'd'));
    expect(out.startsWith('# Title')).toBe(true);
    expect(out).toContain('hand-written notes');
    expect(out).toContain(`| 06:40 | 10k | x |\n${MARKER}`);
  });
});
