import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runTranslate } from './translate.command';

describe('ycloud translate', () => {
  let dir: string;
  let out: string;
  let err: string;
  const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t) };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ycloud-translate-'));
    out = '';
    err = '';
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const service = (extra = '') => `apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  clusterIPs: [10.96.0.10]
  ports: [{ port: 80${extra} }]
`;

  it('prints Load_Balancer rows for a Service and exits 0', async () => {
    writeFileSync(join(dir, 'svc.yaml'), service());
    expect(await runTranslate([dir], io)).toBe(0);
    const output = JSON.parse(out);
    expect(output.tables.Load_Balancer[0].columns.vips).toEqual({ '10.96.0.10:80': '' });
    expect(err).toBe('');
  });

  it('exits 1 naming the file and document on a manifest without a kind', async () => {
    writeFileSync(join(dir, 'bad.yaml'), `${service()}---\napiVersion: v1\nmetadata: { name: x }\n`);
    expect(await runTranslate([join(dir, 'bad.yaml')], io)).toBe(1);
    expect(err).toBe(`error: ${join(dir, 'bad.yaml')}: document 2: missing kind\n`);
    expect(out).toBe('');
  });

  it('exits 1 on YAML syntax errors and missing paths', async () => {
    writeFileSync(join(dir, 'broken.yaml'), 'kind: [Service\n');
    expect(await runTranslate([dir], io)).toBe(1);
    expect(err).toMatch(/^error: .*broken\.yaml: document 1: /);
    err = '';
    expect(await runTranslate([join(dir, 'nope')], io)).toBe(1);
    expect(err).toBe(`error: ${join(dir, 'nope')}: no such file or directory\n`);
  });

  it('exits 1 on a bad option', async () => {
    writeFileSync(join(dir, 'svc.yaml'), service());
    expect(await runTranslate([dir, '--ip-families', 'ipv5'], io)).toBe(1);
    expect(err).toContain('--ip-families');
  });

  it('prints warnings on stderr; --strict makes them exit 2', async () => {
    writeFileSync(join(dir, 'svc.yaml'), service(', protocol: ICMP'));
    expect(await runTranslate([dir], io)).toBe(0);
    expect(err).toBe(
      'warning: Service default/web: spec.ports[0].protocol: protocol ICMP is not supported (TCP, UDP, SCTP)\n',
    );
    expect(await runTranslate([dir, '--strict'], io)).toBe(2);
  });
  const yusur = (clusterIP: string) => `apiVersion: sdn.ycloud.io/v1alpha1
kind: YusurService
metadata: { name: web, namespace: shop }
spec:
  backends: [{ kind: Pod, selector: { matchLabels: { app: web } } }]
  ports: [{ name: http, protocol: TCP, port: 80, targetPort: 8080 }]
  scenarios: { clusterIP: {${clusterIP}} }
`;
  const pod = `apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: shop, labels: { app: web } }
status: { podIP: 10.16.0.7 }
`;

  it('previews a YusurService with its Pod backends and the ClusterIP it asks for', async () => {
    writeFileSync(join(dir, 'ys.yaml'), `${yusur(' address: 10.96.0.50 ')}---\n${pod}`);
    expect(await runTranslate([dir], io)).toBe(0);
    const lbs = JSON.parse(out).tables.Load_Balancer as Array<{ columns: { vips: Record<string, string> } }>;
    expect(lbs.map((l) => l.columns.vips)).toContainEqual({ '10.96.0.50:80': '10.16.0.7:8080' });
    expect(err).toBe('');
  });

  it('says what a YusurService preview cannot show: an allocated ClusterIP, backends not in the manifests', async () => {
    writeFileSync(join(dir, 'ys.yaml'), yusur(''));
    expect(await runTranslate([dir, '--strict'], io)).toBe(2);
    expect(err).toContain('spec.scenarios.clusterIP.address: AllocatedAtRunTime');
    expect(err).toContain('spec.backends: NoBackendsInManifests');
  });
  it('takes -f like kubectl (repeatable) and prints YAML with --format yaml', async () => {
    writeFileSync(join(dir, 'a.yaml'), service());
    writeFileSync(join(dir, 'b.yaml'), service().replace('name: web', 'name: api').replace('10.96.0.10', '10.96.0.11'));
    expect(await runTranslate(['-f', join(dir, 'a.yaml'), '-f', join(dir, 'b.yaml'), '--format', 'yaml'], io)).toBe(0);
    const rows = (parse(out) as { tables: { Load_Balancer: Array<{ columns: { vips: object } }> } }).tables
      .Load_Balancer;
    expect(rows.map((r) => r.columns.vips)).toEqual(
      expect.arrayContaining([{ '10.96.0.10:80': '' }, { '10.96.0.11:80': '' }]),
    );
    expect(rows).toHaveLength(2);
  });

  it('exits 1 without any manifest and on an unknown --format', async () => {
    expect(await runTranslate([], io)).toBe(1);
    expect(err).toBe('error: no manifests: give paths or -f FILE_OR_DIR\n');
    writeFileSync(join(dir, 'svc.yaml'), service());
    expect(await runTranslate([dir, '--format', 'xml'], io)).toBe(1);
    expect(err).toContain('Allowed choices are json, yaml');
  });
});
