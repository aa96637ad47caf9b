/**
 * What the Local reply routes and the reply gateway cost in OpenFlow flows on a chassis (docs/adr/0011, 0012):
 * `node -r ./scripts/register.js apps/bench/src/reply-route-flows.ts -- --endpoints 4,40` (YCLOUD_OVN picks the
 * release). Real OVN central and one node (ovs-vswitchd + ovn-controller); the default VPC's router with a pod
 * subnet and the join subnet (both families) and one pod port bound on the node, so the router is local to it.
 * Rows are written with ovn-nbctl, then `ovn-nbctl --wait=hv sync` and a stable `ovs-ofctl dump-flows br-int`
 * count. Two forms are compared on the same topology:
 *  - before: reply routes `<ip>.src == <ep> && tcp.src == <port> && <ip>.dst != {<VPC CIDRs>}` and the IPv6 drop
 *    `ip6 && ip6.dst != {<VPC IPv6 CIDRs>}` (the ::/0 route to a node's join address);
 *  - after: what nodeReplyGateway gives now (sink routes, drops on the next-hop register, one allow per family at
 *    priority 1001) and reply routes without the != clause.
 * Prints a Markdown table; the figures go into results/reply-route-flows.md by hand.
 */
import { rmSync } from 'node:fs';
import { Command } from 'commander';
import { NODE_REPLY_ROUTE_PRIORITY, nodeReplyGateway, nodeReplyRouteContextOf } from '@ycloud/translate';
import { OvnCentral, OvnNode, OvnRelease, makeRunDir, runIdOf } from '@ycloud/testbed';

const ROUTER = 'vpc-default';
const POD4 = '10.16.0.0/16';
const POD6 = 'fd00:10:16::/64';
const JOIN4 = '100.64.0.0/16';
const JOIN6 = 'fd00:100:64::/64';
const NODE_JOIN4 = '100.64.0.2';
const NODE_JOIN6 = 'fd00:100:64::2';

async function settledFlows(node: OvnNode, central: OvnCentral): Promise<number> {
  await central.nbctl('--wait=hv', 'sync');
  let last = -1;
  for (;;) {
    const n = (await node.ofctl('dump-flows', 'br-int')).split('\n').filter((l) => l.includes('actions=')).length;
    if (n === last) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 1_500));
  }
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--endpoints <list>', 'Local endpoints per family, comma-separated', '4,40')
    .parse(process.argv)
    .opts<{ endpoints: string }>();
  const counts = opts.endpoints.split(',').map(Number);
  const release = await OvnRelease.resolve();
  const dir = await makeRunDir();
  const central = await OvnCentral.start({ dir, release });
  let node: OvnNode | undefined;
  try {
    node = await OvnNode.start({
      name: 'node-1',
      sbRemote: central.sbRemote,
      runDir: dir,
      runId: runIdOf(dir),
      release,
    });
    const nb = (...a: string[]) => central.nbctl(...a);
    await nb('lr-add', ROUTER);
    for (const [sw, mac, nets] of [
      ['pods', '0a:58:0a:10:00:01', ['10.16.0.1/16', 'fd00:10:16::1/64']],
      ['join', '0a:58:64:40:00:01', ['100.64.0.1/16', 'fd00:100:64::1/64']],
    ] as const) {
      await nb('ls-add', sw, '--', 'lrp-add', ROUTER, `${ROUTER}-${sw}`, mac, ...nets);
      await central.addRouterLsp(sw, `${sw}-${ROUTER}`, `${ROUTER}-${sw}`);
    }
    await nb('lsp-add', 'pods', 'probe', '--', 'lsp-set-addresses', 'probe', '0a:58:0a:10:00:02 10.16.0.2');
    await node.plugPod({ netns: 'probe', ifaceId: 'probe', mac: '0a:58:0a:10:00:02', ips: ['10.16.0.2/16'] });
    const base = await settledFlows(node, central);

    const clear = async () => {
      await nb('lr-policy-del', ROUTER);
      await nb('lr-route-del', ROUTER);
    };
    const policy = (priority: number, match: string, action: string, hop?: string) =>
      nb('lr-policy-add', ROUTER, String(priority), match, action, ...(hop ? [hop] : []));
    const replyRoutes = async (n: number, outside: { 4: string; 6: string }) => {
      for (let i = 0; i < n; i++) {
        const ep4 = `10.16.${1 + (i >> 8)}.${i & 255}`;
        const ep6 = `fd00:10:16::1:${i.toString(16)}`;
        await policy(
          NODE_REPLY_ROUTE_PRIORITY,
          `ip4.src == ${ep4} && tcp.src == 8080${outside[4]}`,
          'reroute',
          NODE_JOIN4,
        );
        await policy(
          NODE_REPLY_ROUTE_PRIORITY,
          `ip6.src == ${ep6} && tcp.src == 8080${outside[6]}`,
          'reroute',
          NODE_JOIN6,
        );
      }
    };

    // Before: the IPv6 half of ADR 0011 as first written, the IPv4 half of ADR 0012, reply routes with !=.
    const before = async (n: number) => {
      await clear();
      await nb('lr-route-add', ROUTER, '::/0', NODE_JOIN6);
      await policy(100, `ip6 && ip6.dst != {${JOIN6}, ${POD6}}`, 'drop');
      await nb('lr-route-add', ROUTER, '0.0.0.0/0', '100.64.255.255');
      await policy(100, 'ip4 && reg0 == 100.64.255.255', 'drop');
      await replyRoutes(n, { 4: ` && ip4.dst != {${POD4}, ${JOIN4}}`, 6: ` && ip6.dst != {${JOIN6}, ${POD6}}` });
      return settledFlows(node!, central);
    };
    // After: the gateway rows exactly as nodeReplyGateway gives them, reply routes without the clause.
    const ctx = nodeReplyRouteContextOf('default', {
      defaultVpc: 'default',
      ownIpv4DefaultRoute: false,
      cidrsOf: () => [POD4, POD6, JOIN4, JOIN6],
      joinCidrsOf: () => [JOIN4, JOIN6],
    })!;
    const after = async (n: number) => {
      await clear();
      for (const row of nodeReplyGateway('default', ctx)) {
        const c = row.columns as Record<string, unknown>;
        if (row.table === 'Logical_Router_Static_Route') {
          await nb('lr-route-add', ROUTER, String(c.ip_prefix), String(c.nexthop));
        } else await policy(Number(c.priority), String(c.match), String(c.action));
      }
      await replyRoutes(n, { 4: '', 6: '' });
      return settledFlows(node!, central);
    };

    const rows: string[] = [];
    for (const [form, f] of [
      ['before', before],
      ['after', after],
    ] as const) {
      const gateway = await f(0);
      const cells = [`${gateway - base}`];
      for (const n of counts) {
        const total = await f(n);
        cells.push(`${total - base} (+${total - gateway})`);
      }
      rows.push(`| ${form} | ${cells.join(' | ')} |`);
    }
    // Where routing leaves the next hop (the drops match it): the catch-all routes' and the drops' logical flows.
    await after(0);
    const lflows = (await central.sbctl('lflow-list', ROUTER)).split('\n');
    for (const l of lflows.filter((x) => /lr_in_ip_routing .*(::\/0|0\.0\.0\.0\/0|prefix 0)|reg0 == /.test(x))) {
      console.log(`lflow: ${l.trim()}`);
    }
    for (const l of lflows.filter(
      (x) => /lr_in_ip_routing/.test(x) && /\bip6\b/.test(x) && /xxreg0 = fd00:100:64::;/.test(x),
    )) {
      console.log(`lflow: ${l.trim()}`);
    }
    console.log(`${release.description}; br-int flows with the topology alone: ${base}`);
    console.log(`| form | gateway only | ${counts.map((n) => `gateway + ${n} endpoints per family`).join(' | ')} |`);
    console.log(`|---|---|${counts.map(() => '---').join('|')}|`);
    for (const r of rows) console.log(r);
  } finally {
    await node?.stop();
    await central.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
