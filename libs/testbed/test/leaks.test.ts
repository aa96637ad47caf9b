import { cleanupStale, isClean, listLeaks, OvnTestbed } from '@ycloud/testbed';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');

describe('teardown leaves nothing behind', () => {
  it('a full start/stop (gateway node, pod, external network) leaves no process, namespace, device or dir', async () => {
    const bed = await OvnTestbed.start({ nodes: ['node-1'], gatewayNodes: ['node-1'] });
    const dir = bed.dir;
    const node = bed.node('node-1');
    try {
      await bed.central.nbctl('ls-add', 'sw0');
      await bed.central.nbctl('lsp-add', 'sw0', 'p1', '--', 'lsp-set-addresses', 'p1', '0a:58:0a:00:00:05 10.0.0.5');
      await node.plugPod({ netns: 'p1', ifaceId: 'p1', mac: '0a:58:0a:00:00:05', ips: ['10.0.0.5/24'] });
      await node.attachExternalNetwork({ network: 'external', netns: 'ext', ip: '172.16.0.100/24' });
      const during = await listLeaks({ runDir: dir });
      // The check can see what it must: 3 node daemons + nb, sb, northd; node, pod and external namespaces.
      expect(during.processes.length).toBeGreaterThanOrEqual(6);
      expect(during.netns.sort()).toEqual([node.netns, node.netnsName('ext'), node.netnsName('p1')].sort());
    } finally {
      await bed.stop();
    }
    const after = await listLeaks({ runDir: dir });
    expect(after).toEqual({ processes: [], netns: [], devices: [], dirs: [] });
    expect(isClean(after)).toBe(true);
  }, 180_000);

  it('cleanupStale removes what a crashed (SIGKILLed) run left, and nothing of live runs', async () => {
    const live = await OvnTestbed.start({ nodes: ['node-1'] });
    try {
      // A separate Node process starts a bed and is SIGKILLed: its daemons and namespaces are orphaned.
      const script = `require('@ycloud/testbed').OvnTestbed.start({ nodes: ['node-x'] }).then((b) => console.log('DIR ' + b.dir))`;
      const child = spawn(
        process.execPath,
        ['-r', './scripts/register.js', '-e', script + '; setInterval(() => {}, 1000)'],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const dir = await new Promise<string>((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error(`crashing child did not report its bed: ${out}`)), 120_000);
        child.stdout.on('data', (d: Buffer) => {
          out += String(d);
          const m = /DIR (\S+)/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]);
          }
        });
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const orphaned = await listLeaks({ runDir: dir });
      expect(orphaned.processes.length).toBeGreaterThanOrEqual(6);
      expect(orphaned.netns.length).toBe(1);

      const removed = await cleanupStale();
      expect(removed.dirs).toContain(dir);
      expect(await listLeaks({ runDir: dir })).toEqual({ processes: [], netns: [], devices: [], dirs: [] });
      // The live bed is untouched.
      expect((await listLeaks({ runDir: live.dir })).processes.length).toBeGreaterThanOrEqual(6);
      await live.central.nbctl('ls-list');
    } finally {
      await live.stop();
    }
    expect(isClean(await listLeaks({ runDir: live.dir }))).toBe(true);
  }, 240_000);
});
