import { NODEPORT_TABLE } from '@ycloud/cni/node/nodeport.rules';
import { NodePortFacts } from '../facts';
import { DiagnoseCommandRunner } from './command';

/** The rules of the `nodeports` chain in `nft list table` output: protocol, port and DNAT target. Pure. */
export function parseNodePortRules(text: string): NodePortFacts['rules'] {
  const out: NodePortFacts['rules'] = [];
  let inChain = false;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (/^chain nodeports \{/.test(t)) inChain = true;
    else if (t === '}') inChain = false;
    else if (inChain) {
      const m = /^(tcp|udp|sctp) dport (\d+)\b(?:.*\bdnat to (\S+))?/.exec(t);
      if (m) out.push({ protocol: m[1], nodePort: Number(m[2]), ...(m[3] ? { dnatTo: m[3] } : {}) });
    }
  }
  return out;
}

/** Reads the agent's NodePort table and IPv4 forwarding in the node's host namespace (the agent's runner). */
export async function collectNodePorts(runner: DiagnoseCommandRunner, node: string): Promise<NodePortFacts> {
  const [table, forward] = await Promise.all([
    runner.run('nft', ['list', 'table', 'ip', NODEPORT_TABLE], { timeoutMs: 10_000 }),
    runner.run('sysctl', ['-n', 'net.ipv4.ip_forward'], { timeoutMs: 10_000 }),
  ]);
  const exists = table.code === 0;
  return {
    node,
    table: exists,
    rules: exists ? parseNodePortRules(table.stdout) : [],
    ipForward: forward.code === 0 && forward.stdout.trim() === '1',
    detail: exists
      ? `table ip ${NODEPORT_TABLE}`
      : `no table ip ${NODEPORT_TABLE}: ${(table.stderr || table.stdout).trim().split('\n')[0] || `exit ${table.code}`}`,
  };
}
