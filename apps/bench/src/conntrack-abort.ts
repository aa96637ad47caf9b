/**
 * Tries to make ovs-vswitchd abort in userspace conntrack (`conn_update_state()`, README known limitations) on the
 * release YCLOUD_OVN chooses: an EIP-like path (gateway router with an identity dnat, VPC router load balancer on
 * its distributed gateway port) with connections that are refused or reset — a VIP whose second backend has no
 * server (the pod answers RST) and a VIP with no backends (`reject=true`: OVN answers RST) — plus the serving
 * backend stopped and started between rounds. Prints one line per round and a summary; exit 0 whether or not it
 * aborted (it measures), non-zero only if the test bed could not be built.
 *
 *   YCLOUD_OVN=25.03 node -r ./scripts/register.js apps/bench/src/conntrack-abort.ts [rounds] [connections per round]
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { netnsExec, OvnTestbed, TcpServer, type OvnNode } from '@ycloud/testbed';

const SIGNATURE = 'failed in conn_update_state';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 20);
  const perRound = Number(process.argv[3] ?? 100);
  const bed = await OvnTestbed.start({ nodes: ['node-1'], gatewayNodes: ['node-1'] });
  const servers: TcpServer[] = [];
  try {
    const node = bed.node('node-1');
    const ext = await buildTopology(bed, node);
    let server = await TcpServer.start(bed.node('node-1').netnsName('pod-a'), 8080, 'pod-a');
    servers.push(server);
    const started = Date.now();
    let attempts = 0;
    let answered = 0;
    let aborted = false;
    for (let r = 1; r <= rounds && !aborted; r++) {
      // Both VIPs, one connection each per iteration: one backend answers, the other resets; the empty VIP rejects.
      const once = (vip: string) => `nc -z -w1 ${vip} 80 && echo ok || echo failed`;
      const loop = `for i in $(seq ${perRound}); do ${once('172.16.0.50')}; ${once('172.16.0.51')}; done`;
      const out = await netnsExec(ext, ['sh', '-c', loop], { timeoutMs: perRound * 10_000, allowFailure: true });
      attempts += 2 * perRound;
      answered += out.stdout.split('\n').filter((l) => l === 'ok').length;
      if (r % 2 === 1) {
        await server.stop();
      } else {
        server = await TcpServer.start(node.netnsName('pod-a'), 8080, 'pod-a');
        servers.push(server);
      }
      const log = await fs.readFile(path.join(node.dir, 'vswitchd.log'), 'utf8').catch(() => '');
      aborted = !node.datapathRunning || log.includes(SIGNATURE);
      console.log(
        `round ${r}: ${attempts} connections (${answered} answered), vswitchd ${aborted ? 'ABORTED' : 'running'}`,
      );
    }
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    console.log(
      `${bed.release.description}: ${attempts} connections (${answered} answered, the rest refused or reset) in ` +
        `${minutes} min through a router ` +
        `LB; ovs-vswitchd ${aborted ? 'aborted (conn_update_state)' : 'did not abort'}`,
    );
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    await bed.stop();
  }
}

/** eip-datapath's topology (test/e2e/eip-datapath.test.ts): returns the external client's namespace. */
async function buildTopology(bed: OvnTestbed, node: OvnNode): Promise<string> {
  const nb = (...a: string[]) => bed.central.nbctl(...a);
  const routerLsp = (sw: string, lsp: string, lrp: string) =>
    nb('lsp-add', sw, lsp, '--', 'lsp-set-type', lsp, 'router', '--', 'lsp-set-addresses', lsp, 'router', '--',
      'lsp-set-options', lsp, `router-port=${lrp}`); // prettier-ignore
  await nb('lr-add', 'vr');
  await nb('ls-add', 'sub');
  await nb('lrp-add', 'vr', 'vr-sub', '0a:58:0a:01:00:01', '10.1.0.1/24');
  await routerLsp('sub', 'sub-vr', 'vr-sub');
  await nb('ls-add', 'transit');
  await nb('lrp-add', 'vr', 'vr-transit', '0a:58:64:41:00:02', '100.65.0.2/16');
  await nb('lrp-set-gateway-chassis', 'vr-transit', 'node-1', '10');
  await routerLsp('transit', 'transit-vr', 'vr-transit');
  await nb('lr-route-add', 'vr', '0.0.0.0/0', '100.65.0.1', 'vr-transit');
  await nb('lr-add', 'gw', '--', 'set', 'Logical_Router', 'gw', 'options:chassis=node-1');
  await nb('lrp-add', 'gw', 'gw-transit', '0a:58:64:41:00:01', '100.65.0.1/16');
  await routerLsp('transit', 'transit-gw', 'gw-transit');
  await nb('lrp-add', 'gw', 'gw-ext', '0a:58:ac:10:00:01', '172.16.0.1/24');
  await nb('ls-add', 'ext');
  await routerLsp('ext', 'ext-gw', 'gw-ext');
  await nb('lsp-add', 'ext', 'ext-localnet', '--', 'lsp-set-type', 'ext-localnet', 'localnet', '--',
    'lsp-set-addresses', 'ext-localnet', 'unknown', '--', 'lsp-set-options', 'ext-localnet', 'network_name=external'); // prettier-ignore
  for (const [name, ip, mac] of [
    ['pod-a', '10.1.0.5', '0a:58:0a:01:00:05'],
    ['pod-b', '10.1.0.6', '0a:58:0a:01:00:06'],
  ]) {
    await nb('lsp-add', 'sub', name, '--', 'lsp-set-addresses', name, `${mac} ${ip}`);
    await node.plugPod({ netns: name, ifaceId: name, mac, ips: [`${ip}/24`], gateway: '10.1.0.1' });
  }
  const ext = await node.attachExternalNetwork({
    network: 'external',
    netns: 'ext',
    ip: '172.16.0.100/24',
    gateway: '172.16.0.1',
  });
  for (const vip of ['172.16.0.50', '172.16.0.51']) {
    await nb('lr-route-add', 'gw', `${vip}/32`, '100.65.0.2', 'gw-transit');
    await nb('lr-nat-add', 'gw', 'dnat', vip, vip);
  }
  await nb('lb-add', 'eip-lb', '172.16.0.50:80', '10.1.0.5:8080,10.1.0.6:8080', 'tcp');
  await nb(
    'create',
    'Load_Balancer',
    'name=empty-lb',
    'protocol=tcp',
    'vips:"172.16.0.51:80"=""',
    'options:reject=true',
  );
  await nb('lr-lb-add', 'vr', 'eip-lb');
  await nb('lr-lb-add', 'vr', 'empty-lb');
  await nb('--wait=hv', 'sync');
  return ext.netns;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
