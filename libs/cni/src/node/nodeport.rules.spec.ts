import type { V1Service } from '@kubernetes/client-node';
import { RecordedCommandRunner } from '../ovs/command-runner';
import { NodePortProgrammer } from './nodeport.programmer';
import { nodePortRules, nodePortRulesOf, renderNodePortTable } from './nodeport.rules';

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

describe('NodePortProgrammer', () => {
  it('applies with one nft transaction and skips an unchanged table that still exists', async () => {
    const runner = new RecordedCommandRunner();
    let services = [web];
    const p = new NodePortProgrammer(runner, () => services);
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
    const p = new NodePortProgrammer(runner, () => [web]);
    await p.sync();
    await p.sync();
    expect(runner.lines().filter((l) => l === 'nft -f -')).toHaveLength(2);
  });
});
