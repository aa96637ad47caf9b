import { run } from '@ycloud/testbed';
import { repoRoot } from '@ycloud/testbed/k8s';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * The images as an operator gets them: `bash scripts/images.sh` (no container engine) builds both OCI archives;
 * each is unpacked with umoci into an OCI runtime bundle and its programs are started with runc, as a container
 * runtime would, checking --version and --help. Not part of `npm test` (a cold build takes about 8 minutes on 2
 * cores): `npx jest test/images --selectProjects images`.
 */
const root = repoRoot();
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Bundle {
  bundle: string;
  config: Json;
}
const env = Object.fromEntries(
  readFileSync(path.join(root, 'docker/images.env'), 'utf8')
    .split('\n')
    .filter((l) => /^\w+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]),
);

describe('images built by scripts/images.sh, run with runc', () => {
  let work = '';
  let out = '';
  let n = 0;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'ycloud-images-'));
    out = path.join(work, 'out');
    await run('bash', [path.join(root, 'scripts/images.sh')], {
      env: { ...process.env, YCLOUD_IMAGES_DIR: out },
      timeoutMs: 40 * 60_000,
    });
  }, 45 * 60_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Unpacks an OCI archive's image into a runtime bundle; returns the bundle and its image config's process. */
  async function bundleOf(archive: string, ref: string): Promise<Bundle> {
    const layout = path.join(work, `layout-${++n}`);
    mkdirSync(layout);
    await run('tar', ['-C', layout, '-xf', archive]);
    const bundle = path.join(work, `bundle-${n}`);
    await run('umoci', ['unpack', '--image', `${layout}:${ref}`, bundle], { timeoutMs: 5 * 60_000 });
    return { bundle, config: JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) };
  }

  /** Runs the bundle's process with `args` (default: the image's entrypoint and command) under runc. */
  async function runc(b: Bundle, args?: string[]) {
    const config = structuredClone(b.config);
    config.process.terminal = false;
    if (args) config.process.args = args;
    writeFileSync(path.join(b.bundle, 'config.json'), JSON.stringify(config));
    const id = `ycloud-images-test-${process.pid}-${++n}`;
    return run('runc', ['--root', path.join(work, 'runc'), 'run', '--bundle', b.bundle, id], {
      allowFailure: true,
      timeoutMs: 120_000,
    });
  }

  it('ycloud image: every program answers --version and --help; the entrypoint runs as 65532', async () => {
    const b = await bundleOf(path.join(out, `ycloud-${version}.oci.tar`), version);
    expect(b.config.process.user).toMatchObject({ uid: 65532, gid: 65532 });
    const entry = await runc(b);
    expect(entry.code).toBe(0);
    expect(entry.stdout).toMatch(/Usage: ycloud-controller/);
    for (const program of ['ycloud-controller', 'ycloud-cni-agent', 'ycloud', 'ycloud-cni']) {
      const v = await runc(b, [program, '--version']);
      expect([program, v.code, v.stdout.trim()]).toEqual([program, 0, version]);
      const h = await runc(b, [program, '--help']);
      expect([program, h.code]).toEqual([program, 0]);
      expect(h.stdout).toMatch(/--version/);
    }
    // What the agent's init container and the agent run: Node 20 and the tools it drives.
    const node = await runc(b, ['node', '--version']);
    expect(node.stdout.trim()).toMatch(/^v20\./);
    const tools = await runc(b, ['sh', '-c', 'for t in ovs-vsctl ip nsenter devlink ethtool; do command -v $t; done']);
    expect(tools.stdout.trim().split('\n')).toHaveLength(5);
  });

  it('OVN image: the entrypoint answers --version (OVN 23.03) and --help', async () => {
    const b = await bundleOf(path.join(out, `ovn-${env.OVN_TAG}.oci.tar`), env.OVN_TAG);
    const v = await runc(b, ['/usr/local/bin/ovn-entrypoint.sh', '--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/ovn-northd.*23\.03/);
    const h = await runc(b, ['/usr/local/bin/ovn-entrypoint.sh', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/nb \| sb/);
    const bad = await runc(b, ['/usr/local/bin/ovn-entrypoint.sh', 'nonsense']);
    expect(bad.code).toBe(2);
  });
});
