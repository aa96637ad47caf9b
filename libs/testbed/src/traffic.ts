import * as path from 'node:path';
import { Daemon, runText, waitFor } from './process';
import { netnsExec } from './netns';
import { waitUntil } from './eventually';

// Tiny Node programs run inside namespaces with `ip netns exec … node -e`, so traffic is real TCP from the
// namespace's own stack (no nc flavour differences).
const SERVER_JS = `
const net = require('net');
const [port, reply, host] = [Number(process.argv[1]), process.argv[2], process.argv[3]];
net.createServer((s) => {
  s.on('error', () => {});
  s.once('data', () => s.end(reply + ' ' + s.remoteAddress + '\\n'));
}).listen(port, host, () => console.log('listening ' + port));
`;

const CLIENT_JS = `
const net = require('net');
const [host, port, timeout] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const s = net.connect({ host, port });
let out = '';
const t = setTimeout(() => { console.error('timeout connecting to ' + host + ':' + port); process.exit(3); }, timeout);
s.on('connect', () => s.write('hello\\n'));
s.on('data', (d) => (out += d));
s.on('end', () => { clearTimeout(t); process.stdout.write(out); process.exit(0); });
s.on('error', (e) => { clearTimeout(t); console.error(e.message); process.exit(2); });
`;

/**
 * A TCP server in a namespace answering each connection with `<reply> <client address>`; on 0.0.0.0, or `host`
 * (`::` serves both families, IPv4 clients then showing as `::ffff:a.b.c.d`).
 */
export class TcpServer {
  private constructor(
    readonly netns: string,
    readonly port: number,
    private readonly daemon: Daemon,
  ) {}

  static async start(
    netns: string,
    port: number,
    reply: string,
    logDir = '/tmp',
    host = '0.0.0.0',
  ): Promise<TcpServer> {
    const log = path.join(logDir, `tcp-server-${netns}-${port}.log`);
    const d = await Daemon.spawn({
      name: `tcp server ${netns}:${port}`,
      cmd: 'ip',
      args: ['netns', 'exec', netns, process.execPath, '-e', SERVER_JS, String(port), reply, host],
      consoleLog: log,
    });
    try {
      await waitFor(`tcp server in ${netns} to listen on ${port}`, async () => {
        await d.assertRunning();
        const ss = await runText('ip', ['netns', 'exec', netns, 'ss', '-Htln', `sport = :${port}`]);
        return ss.length > 0;
      });
    } catch (err) {
      await d.kill();
      throw err;
    }
    return new TcpServer(netns, port, d);
  }

  stop(): Promise<void> {
    return this.daemon.stop(2_000);
  }
}

/**
 * Opens a TCP connection from `netns` to host:port, sends a line and returns the server's reply (trimmed).
 * Throws if it cannot connect or get a reply within `timeoutMs`.
 */
export async function tcpRequest(netns: string, host: string, port: number, timeoutMs = 5_000): Promise<string> {
  const r = await netnsExec(netns, [process.execPath, '-e', CLIENT_JS, host, String(port), String(timeoutMs)], {
    timeoutMs: timeoutMs + 10_000,
  });
  return r.stdout.trim();
}

/**
 * Whether UDP datagrams sent from `fromNetns` to `to.address` (IPv4 or IPv6) reach a listener in `to.netns`: three
 * datagrams through socat, the listener up first. For "is this egress forwarded at all?" checks.
 */
export async function udpDatagramsArrive(
  fromNetns: string,
  to: { netns: string; address: string },
  port = 9999,
): Promise<boolean> {
  const v6 = to.address.includes(':');
  const listener = netnsExec(to.netns, ['timeout', '5', 'socat', '-u', `UDP${v6 ? 6 : 4}-RECV:${port}`, '-'], {
    allowFailure: true,
  });
  await waitUntil(
    `the UDP listener on port ${port} in ${to.netns}`,
    async () => (await netnsExec(to.netns, ['ss', '-H', '-uln', `sport = :${port}`], { allowFailure: true })).stdout,
    (out) => out.includes(String(port)),
    5_000,
  );
  const target = v6 ? `[${to.address}]` : to.address;
  for (let i = 0; i < 3; i++) {
    const send = `echo sent-${fromNetns} | socat -u - UDP${v6 ? 6 : 4}-SENDTO:${target}:${port}`;
    await netnsExec(fromNetns, ['sh', '-c', send], { allowFailure: true });
  }
  return (await listener).stdout.includes(`sent-${fromNetns}`);
}
