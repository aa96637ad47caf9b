import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { CLIENT_ADDRESS_KEPT_CONDITION } from '@ycloud/api';
import { RecordedCommandRunner } from '../ovs/command-runner';
import { NodePortProgrammer } from './nodeport.programmer';
import {
  conntrackDeleteArgs,
  localEndpointsOf,
  nodePortRules,
  nodePortRuleSet,
  nodePortRulesOf,
  renderNodePortTable,
  renderNodePortTables,
  staleConntrackEntries,
  type NodePortRule,
} from './nodeport.rules';

const svc = (name: string, spec: V1Service['spec']): V1Service => ({ metadata: { namespace: 'ns', name }, spec });

const web = svc('web', {
  type: 'NodePort',
  clusterIP: '10.96.0.20',
  clusterIPs: ['10.96.0.20'],
  ports: [
    { name: 'http', port: 80, targetPort: 8080, nodePort: 30080 },
    { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
  ],
});

describe('nodeport rules', () => {
  it('maps each port with a nodePort to a DNAT onto the ClusterIP', () => {
    expect(nodePortRulesOf(web)).toEqual([
      { protocol: 'tcp', nodePort: 30080, clusterIP: '10.96.0.20', port: 80, source: 'ns/web:http' },
      { protocol: 'udp', nodePort: 30053, clusterIP: '10.96.0.20', port: 53, source: 'ns/web:dns' },
    ]);
  });

  it('skips ClusterIP-only, headless, IPv6-only Services and ports without a nodePort', () => {
    expect(nodePortRulesOf(svc('a', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] }))).toEqual([]);
    expect(nodePortRulesOf(svc('b', { clusterIP: 'None', ports: [{ port: 80, nodePort: 30001 }] }))).toEqual([]);
    expect(nodePortRulesOf(svc('c', { clusterIPs: ['fd00::1'], ports: [{ port: 80, nodePort: 30002 }] }))).toEqual([]);
  });

  it('uses the IPv4 ClusterIP of a dual-stack Service', () => {
    const dual = svc('d', { clusterIPs: ['fd00::1', '10.96.0.9'], ports: [{ port: 80, nodePort: 30003 }] });
    expect(nodePortRulesOf(dual)[0].clusterIP).toBe('10.96.0.9');
  });

  it('is deterministic and keeps one rule per protocol/port', () => {
    const clash = svc('aaa', { clusterIP: '10.96.0.30', ports: [{ port: 81, nodePort: 30080 }] });
    const rules = nodePortRules([web, clash]);
    expect(rules.map((r) => `${r.protocol}/${r.nodePort} ${r.source}`)).toEqual([
      'udp/30053 ns/web:dns',
      'tcp/30080 ns/aaa:81',
    ]);
    expect(nodePortRules([clash, web])).toEqual(rules);
  });

  it('renders a self-replacing table: DNAT on local addresses, masquerade out of ycloud0', () => {
    const text = renderNodePortTable(nodePortRules([web]));
    expect(text.split('\n').slice(0, 3)).toEqual(['table ip ycloud', 'delete table ip ycloud', 'table ip ycloud {']);
    expect(text).toContain('    tcp dport 30080 dnat to 10.96.0.20:80 comment "ns/web:http"');
    expect(text).toContain('    udp dport 30053 dnat to 10.96.0.20:53 comment "ns/web:dns"');
    expect(text).toContain('fib daddr type local jump nodeports');
    expect(text).toContain('oifname "ycloud0" ct status dnat masquerade');
    expect(renderNodePortTable([])).not.toContain('dport');
  });
});

describe('nodeport rules with externalTrafficPolicy: Local', () => {
  const ep = (ip: string, nodeName: string, conditions: object = { ready: true }) => ({
    addresses: [ip],
    nodeName,
    conditions,
  });
  const slice: V1EndpointSlice = {
    addressType: 'IPv4',
    metadata: { namespace: 'ns', name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'dns', port: 5353, protocol: 'UDP' },
    ],
    endpoints: [
      ep('10.16.0.5', 'n1'),
      ep('10.16.0.6', 'n1'),
      ep('10.16.0.7', 'n2'),
      ep('10.16.0.8', 'n1', { ready: false }),
    ],
  };
  const local = svc('web', { ...web.spec, externalTrafficPolicy: 'Local' });

  it("keeps only this node's ready endpoints, falling back to serving-and-terminating ones", () => {
    expect(localEndpointsOf([slice], 'n1', 'http', 'TCP')).toEqual(['10.16.0.5:8080', '10.16.0.6:8080']);
    expect(localEndpointsOf([slice], 'n2', 'dns', 'UDP')).toEqual(['10.16.0.7:5353']);
    expect(localEndpointsOf([slice], 'n3', 'http', 'TCP')).toEqual([]);
    const terminating = {
      ...slice,
      endpoints: [ep('10.16.0.9', 'n1', { ready: false, serving: true, terminating: true })],
    };
    expect(localEndpointsOf([terminating], 'n1', 'http', 'TCP')).toEqual(['10.16.0.9:8080']);
  });

  it('DNATs to a random local endpoint, straight to the only one, or drops without one', () => {
    const rulesOn = (node: string) => nodePortRules([local], { nodeName: node, slicesOf: () => [slice] });
    const n1 = renderNodePortTable(rulesOn('n1'));
    expect(n1).toContain(
      'tcp dport 30080 numgen random mod 2 vmap { 0 : goto np-tcp-30080-0, 1 : goto np-tcp-30080-1 } comment "ns/web:http"',
    );
    expect(n1).toContain('  chain np-tcp-30080-1 {\n    meta l4proto tcp dnat to 10.16.0.6:8080\n  }');
    expect(n1).toContain('udp dport 30053 numgen random mod 2 vmap');
    const n2 = renderNodePortTable(rulesOn('n2'));
    expect(n2).toContain('tcp dport 30080 dnat to 10.16.0.7:8080');
    expect(n2).toContain('udp dport 30053 dnat to 10.16.0.7:5353');
    expect(n2).not.toContain('10.96.0.20');
    const n3 = renderNodePortTable(rulesOn('n3'));
    expect(n3).toContain('tcp dport 30080 drop');
    expect(n3).toContain('udp dport 30053 drop');
  });

  const routed = { conditions: [{ type: CLIENT_ADDRESS_KEPT_CONDITION, status: 'True' }] } as V1Service['status'];

  it('keeps the client address (no masquerade) for a Local NodePort once the controller routes its replies', () => {
    const unrouted = renderNodePortTable(nodePortRules([local, web], { nodeName: 'n1', slicesOf: () => [slice] }));
    expect(unrouted).toContain('oifname "ycloud0" ct status dnat masquerade');
    const n1 = renderNodePortTable(
      nodePortRules([{ ...local, status: routed }, web], { nodeName: 'n1', slicesOf: () => [slice] }),
    );
    expect(n1).toContain(
      'oifname "ycloud0" ct status dnat meta l4proto . ip daddr . th dport != ' +
        '{ tcp . 10.16.0.5 . 8080, tcp . 10.16.0.6 . 8080, udp . 10.16.0.5 . 5353, udp . 10.16.0.6 . 5353 } masquerade',
    );
  });

  it('masquerades a Local LoadBalancer with an address (its replies go back through the EIP)', () => {
    const lb: V1Service = {
      ...svc('web', { ...local.spec, type: 'LoadBalancer' }),
      status: { ...routed, loadBalancer: { ingress: [{ ip: '172.16.0.50' }] } },
    };
    const rules = nodePortRules([lb], { nodeName: 'n1', slicesOf: () => [slice] });
    expect(rules[0].localEndpoints).toHaveLength(2);
    expect(rules.some((r) => r.keepClientAddress)).toBe(false);
    expect(renderNodePortTable(rules)).toContain('oifname "ycloud0" ct status dnat masquerade');
    // Before it has an address it keeps the client address like a NodePort.
    const pending = nodePortRules([{ ...lb, status: routed }], { nodeName: 'n1', slicesOf: () => [slice] });
    expect(pending.every((r) => r.keepClientAddress)).toBe(true);
  });

  it('captures IPv4 externalIPs of any Service type: DNAT to the ClusterIP, or to local endpoints with Local', () => {
    const ext = svc('ext', {
      clusterIP: '10.96.0.21',
      externalIPs: ['192.0.2.10', 'fd00::10'],
      ports: [{ name: 'http', port: 80 }],
    });
    const cluster = renderNodePortTable(nodePortRules([ext]));
    expect(cluster).toContain(
      '  chain externalips {\n    ip daddr 192.0.2.10 tcp dport 80 dnat to 10.96.0.21:80 comment "ns/ext:http/192.0.2.10"\n  }',
    );
    expect(cluster).not.toContain('fd00');
    expect(cluster).toContain('    jump externalips\n    fib daddr type local jump nodeports');
    expect(cluster).toContain('oifname "ycloud0" ct status dnat masquerade');
    const localExt = {
      ...ext,
      metadata: { namespace: 'ns', name: 'web' },
      spec: { ...ext.spec, externalTrafficPolicy: 'Local' },
      status: routed,
    };
    const rules = nodePortRules([localExt], { nodeName: 'n2', slicesOf: () => [slice] });
    expect(rules).toEqual([
      expect.objectContaining({ externalIP: '192.0.2.10', nodePort: 80, localEndpoints: ['10.16.0.7:8080'] }),
    ]);
    const text = renderNodePortTable(rules);
    expect(text).toContain('ip daddr 192.0.2.10 tcp dport 80 dnat to 10.16.0.7:8080');
    expect(text).toContain('!= { tcp . 10.16.0.7 . 8080 } masquerade');
    // A UDP externalIP endpoint that goes away is flushed by its address too.
    const udpExt = (eps: string[]): NodePortRule => ({ ...rules[0], protocol: 'udp', localEndpoints: eps });
    expect(staleConntrackEntries([udpExt(['10.16.0.7:53'])], [udpExt([])])).toEqual([
      { protocol: 'udp', nodePort: 80, externalIP: '192.0.2.10', endpoint: '10.16.0.7:53' },
    ]);
    expect(
      conntrackDeleteArgs({ protocol: 'udp', nodePort: 80, externalIP: '192.0.2.10', endpoint: '10.16.0.7:53' }),
    ).toContain('--orig-dst');
  });

  it('ignores slices for a Cluster-policy Service', () => {
    const rules = nodePortRules([web], { nodeName: 'n1', slicesOf: () => [slice] });
    expect(rules.every((r) => r.localEndpoints === undefined)).toBe(true);
  });
});

describe('nodeport rules per address family (dual stack, as kube-proxy: one table per family)', () => {
  const dual = svc('web', {
    type: 'NodePort',
    clusterIP: '10.96.0.20',
    clusterIPs: ['10.96.0.20', 'fd00:10:96::20'],
    ipFamilies: ['IPv4', 'IPv6'],
    externalIPs: ['192.0.2.10', 'fd00:172:16::50'],
    ports: [
      { name: 'http', port: 80, targetPort: 8080, nodePort: 30080 },
      { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
    ],
  });

  it('gives each family its own ClusterIP and externalIPs, and nothing to a family the Service lacks', () => {
    const set = nodePortRuleSet([dual, web]);
    expect(set.ipv4.map((r) => `${r.nodePort} ${r.clusterIP} ${r.externalIP ?? ''}`.trim())).toEqual([
      '30053 10.96.0.20',
      '30080 10.96.0.20',
      '53 10.96.0.20 192.0.2.10',
      '80 10.96.0.20 192.0.2.10',
    ]);
    expect(set.ipv6.map((r) => `${r.nodePort} ${r.clusterIP} ${r.externalIP ?? ''}`.trim())).toEqual([
      '30053 fd00:10:96::20',
      '30080 fd00:10:96::20',
      '53 fd00:10:96::20 fd00:172:16::50',
      '80 fd00:10:96::20 fd00:172:16::50',
    ]);
    // An IPv6-only Service: IPv6 rules only (the IPv4 table stays as it was).
    const v6only = svc('v6', { clusterIPs: ['fd00:10:96::7'], ports: [{ port: 80, nodePort: 30002 }] });
    expect(nodePortRuleSet([v6only])).toEqual({
      ipv4: [],
      ipv6: [{ protocol: 'tcp', nodePort: 30002, clusterIP: 'fd00:10:96::7', port: 80, source: 'ns/v6:80' }],
    });
  });

  it('renders the IPv6 table beside the IPv4 one (golden)', () => {
    const text = renderNodePortTables(nodePortRuleSet([dual]));
    const ip6 = text.slice(text.indexOf('table ip6 ycloud\n'));
    expect(text.startsWith('table ip ycloud\ndelete table ip ycloud\ntable ip ycloud {\n')).toBe(true);
    expect(ip6).toBe(
      [
        'table ip6 ycloud',
        'delete table ip6 ycloud',
        'table ip6 ycloud {',
        '  chain nodeports {',
        '    udp dport 30053 dnat to [fd00:10:96::20]:53 comment "ns/web:dns"',
        '    tcp dport 30080 dnat to [fd00:10:96::20]:80 comment "ns/web:http"',
        '  }',
        '  chain externalips {',
        '    ip6 daddr fd00:172:16::50 udp dport 53 dnat to [fd00:10:96::20]:53 comment "ns/web:dns/fd00:172:16::50"',
        '    ip6 daddr fd00:172:16::50 tcp dport 80 dnat to [fd00:10:96::20]:80 comment "ns/web:http/fd00:172:16::50"',
        '  }',
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        '    jump externalips',
        '    fib daddr type local jump nodeports',
        '  }',
        '  chain output {',
        '    type nat hook output priority -100; policy accept;',
        '    jump externalips',
        '    ip6 daddr != ::1 fib daddr type local jump nodeports',
        '  }',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    oifname "ycloud0" ct status dnat masquerade',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    // The IPv4 table of the same Service is what a single-stack one gets.
    expect(text.slice(0, text.indexOf('table ip6 ycloud\n'))).toBe(renderNodePortTable(nodePortRules([dual])));
  });

  it('leaves IPv6 out while ycloud0 has no IPv6 join address (nothing IPv6 could reach OVN)', () => {
    const set = nodePortRuleSet([dual], undefined, { ipv6: false });
    expect(set.ipv6).toEqual([]);
    expect(set.ipv4).toHaveLength(4);
    expect(renderNodePortTables(set)).not.toContain('fd00');
  });

  it('only removes the IPv6 table when no Service has IPv6 rules', () => {
    const text = renderNodePortTables(nodePortRuleSet([web]));
    expect(text.endsWith('}\ntable ip6 ycloud\ndelete table ip6 ycloud\n')).toBe(true);
    expect(text.match(/table ip6 ycloud \{/)).toBeNull();
  });

  it('DNATs a Local IPv6 NodePort to the IPv6 endpoints on this node, keeping the client address exactly when IPv4 does', () => {
    const slice6: V1EndpointSlice = {
      addressType: 'IPv6',
      metadata: { namespace: 'ns', name: 'web-6', labels: { 'kubernetes.io/service-name': 'web' } },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['fd00:10:16::5'], nodeName: 'n1', conditions: { ready: true } },
        { addresses: ['fd00:10:16::6'], nodeName: 'n1', conditions: { ready: true } },
        { addresses: ['fd00:10:16::7'], nodeName: 'n2', conditions: { ready: true } },
      ],
    };
    const slice4: V1EndpointSlice = {
      ...slice6,
      addressType: 'IPv4',
      metadata: { ...slice6.metadata, name: 'web-4' },
      endpoints: [{ addresses: ['10.16.0.5'], nodeName: 'n1', conditions: { ready: true } }],
    };
    expect(localEndpointsOf([slice6], 'n2', 'http', 'TCP', 6)).toEqual(['[fd00:10:16::7]:8080']);
    expect(localEndpointsOf([slice6], 'n2', 'http', 'TCP', 4)).toEqual([]);
    const status = { conditions: [{ type: CLIENT_ADDRESS_KEPT_CONDITION, status: 'True' }] } as V1Service['status'];
    const local = { ...svc('web', { ...dual.spec, externalTrafficPolicy: 'Local' }), status };
    const set = nodePortRuleSet([local], { nodeName: 'n1', slicesOf: () => [slice6, slice4] });
    expect(set.ipv6.filter((r) => !r.externalIP).every((r) => r.keepClientAddress)).toBe(true);
    expect(set.ipv4.filter((r) => !r.externalIP).every((r) => r.keepClientAddress)).toBe(true);
    // Without the controller's condition both families masquerade.
    const unrouted = nodePortRuleSet([{ ...local, status: {} }], { nodeName: 'n1', slicesOf: () => [slice6, slice4] });
    expect([...unrouted.ipv4, ...unrouted.ipv6].some((r) => r.keepClientAddress)).toBe(false);
    const unroutedText = renderNodePortTables(unrouted);
    expect(unroutedText.slice(unroutedText.indexOf('table ip6 ycloud\n'))).toContain(
      'oifname "ycloud0" ct status dnat masquerade',
    );
    const text = renderNodePortTables(set);
    const ip6 = text.slice(text.indexOf('table ip6 ycloud\n'));
    expect(ip6).toContain(
      'tcp dport 30080 numgen random mod 2 vmap { 0 : goto np-tcp-30080-0, 1 : goto np-tcp-30080-1 } comment "ns/web:http"',
    );
    expect(ip6).toContain('  chain np-tcp-30080-1 {\n    meta l4proto tcp dnat to [fd00:10:16::6]:8080\n  }');
    // nft chain names cannot hold ':'.
    expect(ip6).toContain('goto xip-fd00_172_16__50-tcp-80-0');
    expect(ip6).toContain('udp dport 30053 drop'); // no IPv6 UDP endpoint here
    // Not masqueraded to this node's IPv6 endpoints: the controller routes their replies back to this node.
    expect(ip6).toContain(
      'oifname "ycloud0" ct status dnat meta l4proto . ip6 daddr . th dport != ' +
        '{ tcp . fd00:10:16::5 . 8080, tcp . fd00:10:16::6 . 8080 } masquerade',
    );
  });

  it("flushes a stale IPv6 endpoint in conntrack's IPv6 table", () => {
    const rule = (eps: string[]): NodePortRule => ({
      protocol: 'udp',
      nodePort: 30053,
      clusterIP: 'fd00:10:96::a',
      port: 53,
      source: 'ns/dns:dns',
      localEndpoints: eps,
    });
    const [stale] = staleConntrackEntries([rule(['[fd00:10:16::5]:5353'])], [rule([])]);
    expect(conntrackDeleteArgs(stale)).toEqual([
      '-D',
      '-f',
      'ipv6',
      '-p',
      'udp',
      '--orig-port-dst',
      '30053',
      '--reply-src',
      'fd00:10:16::5',
      '--reply-port-src',
      '5353',
    ]);
  });
});

describe('NodePortProgrammer', () => {
  it('applies both families in one transaction, with IPv6 forwarding only for IPv6 rules', async () => {
    const runner = new RecordedCommandRunner();
    const dual = svc('d', { clusterIPs: ['10.96.0.9', 'fd00:10:96::9'], ports: [{ port: 80, nodePort: 30003 }] });
    const p = new NodePortProgrammer(runner, () => nodePortRuleSet([dual]));
    await p.sync();
    expect(runner.lines()).toEqual([
      'sysctl -qw net.ipv4.ip_forward=1',
      'sysctl -qw net.ipv6.conf.all.forwarding=1',
      'nft -f -',
    ]);
    expect(runner.calls[2].input).toContain('table ip6 ycloud {');
    await p.sync();
    expect(runner.lines().slice(3)).toEqual(['nft list table ip ycloud', 'nft list table ip6 ycloud']);
  });

  it('applies with one nft transaction and skips an unchanged table that still exists', async () => {
    const runner = new RecordedCommandRunner();
    let services = [web];
    const p = new NodePortProgrammer(runner, () => nodePortRuleSet(services));
    await p.sync();
    expect(runner.lines()).toEqual(['sysctl -qw net.ipv4.ip_forward=1', 'nft -f -']);
    expect(runner.calls[1].input).toContain('dport 30080');
    await p.sync();
    expect(runner.lines().slice(2)).toEqual(['nft list table ip ycloud']);
    services = [];
    await p.sync();
    expect(runner.calls.at(-1)?.input).not.toContain('dport');
  });

  it('re-applies when the table was removed behind its back', async () => {
    const runner = new RecordedCommandRunner().on(/^nft list/, { code: 1 });
    const p = new NodePortProgrammer(runner, () => nodePortRuleSet([web]));
    await p.sync();
    await p.sync();
    expect(runner.lines().filter((l) => l === 'nft -f -')).toHaveLength(2);
  });
});

describe('staleConntrackEntries (kube-proxy conntrack cleanup for Local NodePorts)', () => {
  const rule = (protocol: NodePortRule['protocol'], localEndpoints?: string[]): NodePortRule => ({
    protocol,
    nodePort: 30053,
    clusterIP: '10.96.0.10',
    port: 53,
    source: 'ns/dns:dns',
    localEndpoints,
  });

  it('names each UDP/SCTP endpoint a Local rule no longer uses, and nothing for TCP or kept endpoints', () => {
    const before = [rule('udp', ['10.16.0.5:5353', '10.16.0.6:5353']), rule('sctp', ['10.16.0.7:9'])];
    const after = [rule('udp', ['10.16.0.6:5353'])];
    expect(staleConntrackEntries(before, after)).toEqual([
      { protocol: 'udp', nodePort: 30053, endpoint: '10.16.0.5:5353' },
      { protocol: 'sctp', nodePort: 30053, endpoint: '10.16.0.7:9' },
    ]);
    expect(staleConntrackEntries([rule('tcp', ['10.16.0.5:80'])], [])).toEqual([]);
    expect(staleConntrackEntries([rule('udp')], [])).toEqual([]); // Cluster policy: DNAT to the ClusterIP
  });

  it('deletes by node port and the reply source (the endpoint), as conntrack -D takes it', () => {
    expect(conntrackDeleteArgs({ protocol: 'udp', nodePort: 30053, endpoint: '10.16.0.5:5353' })).toEqual([
      '-D',
      '-p',
      'udp',
      '--orig-port-dst',
      '30053',
      '--reply-src',
      '10.16.0.5',
      '--reply-port-src',
      '5353',
    ]);
  });
});
