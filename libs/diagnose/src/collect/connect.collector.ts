import { DiagnoseCommandRunner } from './command';

/** The outcome of one real TCP connection attempt from a node to a VIP. */
export interface ConnectFacts {
  connected: boolean;
  ms: number;
  detail: string;
}

const ADDRESS = /^[0-9a-fA-F:.]+$/;

/** Connects to `ip:port` over TCP with `nc -z` from the node (the agent's node network namespace). */
export async function collectConnect(
  runner: DiagnoseCommandRunner,
  ip: string,
  port: number,
  timeoutS = 3,
): Promise<ConnectFacts> {
  if (!ADDRESS.test(ip) || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`bad address ${ip}:${port}`);
  const t0 = performance.now();
  const r = await runner.run('nc', ['-z', '-w', String(timeoutS), ip, String(port)], {
    timeoutMs: (timeoutS + 2) * 1000,
  });
  const ms = Math.round(performance.now() - t0);
  const detail = (r.stderr || r.stdout).trim().split('\n')[0];
  return {
    connected: r.code === 0,
    ms,
    detail: r.code === 0 ? 'connected' : detail || `no connection within ${timeoutS} s`,
  };
}
