import { DiagnoseCommandRunner } from './command';
import { decodeWire } from './ovsdb-json';

/** The outcome of one real TCP connection attempt from a node or a pod to a VIP. */
export interface ConnectFacts {
  connected: boolean;
  ms: number;
  detail: string;
}

const ADDRESS = /^[0-9a-fA-F:.]+$/;
const PORT_NAME = /^[A-Za-z0-9_.:-]+$/;
const NETNS_PATH = /^\/[A-Za-z0-9_./-]+$/;
/** Where the CNI handler records a pod's network namespace on its OVS interface (libs/cni pod-plumber). */
const NETNS_KEY = 'ycloud-netns';

/**
 * The network namespace (path, as CNI_NETNS gave it) of the pod whose OVS interface carries `iface-id=<lsp>`:
 * ycloud's CNI handler records it in the interface's external_ids. Throws with the reason when there is none.
 */
export async function podNetns(runner: DiagnoseCommandRunner, ovsDb: string, lsp: string): Promise<string> {
  if (!PORT_NAME.test(lsp)) throw new Error(`bad logical port ${JSON.stringify(lsp)}`);
  const r = await runner.run(
    'ovs-vsctl',
    [
      ...(ovsDb ? [`--db=${ovsDb}`] : []),
      '--timeout=5',
      '--format=json',
      '--columns=external_ids',
      'find',
      'Interface',
      `external_ids:iface-id=${lsp}`,
    ],
    { timeoutMs: 10_000 },
  );
  if (r.code !== 0) throw new Error(`ovs-vsctl: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  const rows = (JSON.parse(r.stdout) as { data: unknown[][] }).data;
  if (!rows.length) throw new Error(`no OVS interface of ${lsp} on this node`);
  const netns = (decodeWire(rows[0][0]) as Record<string, string>)[NETNS_KEY];
  if (!netns || !NETNS_PATH.test(netns)) throw new Error(`the interface of ${lsp} names no network namespace`);
  return netns;
}

/**
 * Connects to `ip:port` over TCP with `nc -z`: from the node (the agent's node network namespace), or with
 * `netns` from inside that pod's network namespace (the path a pod's own packets take).
 */
export async function collectConnect(
  runner: DiagnoseCommandRunner,
  ip: string,
  port: number,
  timeoutS = 3,
  netns?: string,
): Promise<ConnectFacts> {
  if (!ADDRESS.test(ip) || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`bad address ${ip}:${port}`);
  if (netns !== undefined && !NETNS_PATH.test(netns)) throw new Error(`bad network namespace ${netns}`);
  const nc = ['nc', '-z', '-w', String(timeoutS), ip, String(port)];
  const [cmd, ...args] = netns ? ['nsenter', `--net=${netns}`, ...nc] : nc;
  const t0 = performance.now();
  const r = await runner.run(cmd, args, { timeoutMs: (timeoutS + 2) * 1000 });
  const ms = Math.round(performance.now() - t0);
  const detail = (r.stderr || r.stdout).trim().split('\n')[0];
  return {
    connected: r.code === 0,
    ms,
    detail: r.code === 0 ? 'connected' : detail || `no connection within ${timeoutS} s`,
  };
}
