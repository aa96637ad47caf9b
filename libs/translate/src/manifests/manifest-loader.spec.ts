import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests, ManifestError, parseManifests } from './manifest-loader';

describe('parseManifests', () => {
  it('reads multi-document YAML, skips empty documents and flattens Lists', () => {
    const objects = parseManifests(
      `apiVersion: v1\nkind: Service\nmetadata: { name: a }\n---\n---\napiVersion: v1\nkind: List\nitems:\n` +
        `  - { apiVersion: v1, kind: Node, metadata: { name: n1 } }\n`,
      'm.yaml',
    );
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Service/a', 'Node/n1']);
  });

  it('reads JSON', () => {
    expect(parseManifests('{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"}}', 'n.json')).toHaveLength(1);
  });

  it.each([
    ['- a\n- b\n', 'm.yaml: document 1: expected a Kubernetes object, found a list'],
    ['kind: Service\nmetadata: { name: a }\n', 'm.yaml: document 1: Service has no apiVersion'],
    ['apiVersion: v1\nkind: Service\nmetadata: {}\n', 'm.yaml: document 1: Service has no metadata.name'],
    ['apiVersion: v1\nkind: List\nitems: [{ apiVersion: v1 }]\n', 'm.yaml: document 1 items[0]: missing kind'],
  ])('rejects %j', (text, message) => {
    expect(() => parseManifests(text, 'm.yaml')).toThrow(new ManifestError(message));
  });
});

describe('loadManifests', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ycloud-manifests-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a directory recursively in name order, only manifest extensions', async () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'b.yaml'), 'apiVersion: v1\nkind: Node\nmetadata: { name: b }\n');
    writeFileSync(join(dir, 'a.yml'), 'apiVersion: v1\nkind: Node\nmetadata: { name: a }\n');
    writeFileSync(join(dir, 'sub', 'c.json'), '{"apiVersion":"v1","kind":"Node","metadata":{"name":"c"}}');
    writeFileSync(join(dir, 'README.md'), '# not a manifest');
    const names = (await loadManifests([dir])).map((o) => o.metadata.name);
    expect(names).toEqual(['a', 'b', 'c']);
  });

  it('rejects the same object twice and an empty input', async () => {
    const node = 'apiVersion: v1\nkind: Node\nmetadata: { name: a }\n';
    writeFileSync(join(dir, 'a.yaml'), `${node}---\n${node}`);
    await expect(loadManifests([dir])).rejects.toThrow('Node /a is defined twice');
    rmSync(join(dir, 'a.yaml'));
    await expect(loadManifests([dir])).rejects.toThrow(`no Kubernetes objects found in ${dir}`);
  });
});
