import { formatTxtar, parseTxtar } from './txtar';
import { runTranslateScript } from './translate-script';

const service = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { clusterIPs: [10.96.0.1], ports: [{ port: 80 }] }
`;

describe('txtar', () => {
  it('round-trips script and sections byte for byte', () => {
    const text = '# comment\nk8s add a.yaml\n\n-- a.yaml --\nx: 1\n\n-- b.json --\n[]\n';
    const archive = parseTxtar(text);
    expect([...archive.sections.keys()]).toEqual(['a.yaml', 'b.json']);
    expect(archive.sections.get('b.json')).toBe('[]\n');
    expect(formatTxtar(archive)).toBe(text);
  });
});

describe('runTranslateScript', () => {
  const script = (lbs: string): string =>
    `k8s add svc.yaml\ntranslate\nnb compare Load_Balancer lbs.json\n-- svc.yaml --\n${service}-- lbs.json --\n${lbs}`;

  it('reports a section that differs from the translation, with the script line', () => {
    const { failures } = runTranslateScript(script('[]\n'));
    expect(failures).toEqual([expect.objectContaining({ line: 3, section: 'lbs.json', want: '[]\n' })]);
    expect(failures[0].got).toContain('"10.96.0.1:80": ""');
  });

  it('rewrites the section when updating, and then passes', () => {
    const { archive } = runTranslateScript(script('[]\n'), true);
    expect(runTranslateScript(formatTxtar(archive)).failures).toEqual([]);
  });

  it.each([
    ['frobnicate\n-- x --\n', 'unknown command'],
    ['k8s add missing.yaml\n-- x --\n', 'no section missing.yaml'],
    ['compare x\n-- x --\n', 'compare before translate'],
    ['k8s delete Service default/none\n-- x --\n', 'no Service default/none'],
  ])('rejects a malformed script: %j', (text, message) => {
    expect(() => runTranslateScript(text)).toThrow(message);
  });
});
