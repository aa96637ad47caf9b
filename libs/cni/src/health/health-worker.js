'use strict';
// The node's Service health checks and the proxy's /healthz and /livez, served from inside the node's network
// namespace (`ip netns exec <ns> node health-worker.js`, or plainly on a real node). The agent writes the whole
// state as one JSON line on stdin whenever it changes (HealthState in service-health.ts); the worker opens and
// closes listeners to match and answers from the latest state. It reports each listener as a JSON line on
// stdout: {"port":N,"listening":true,"host":"::"} or {"port":N,"error":"EADDRINUSE ..."}.
// Plain JavaScript (no TypeScript loader), like the probe worker: it runs wherever the agent's node runs.
const http = require('http');
const readline = require('readline');

let state = { proxy: undefined, services: [] };
const servers = new Map(); // port -> { server, kind: 'proxy' | 'service' }

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

// A dual-stack Service answers with the count of the family the probe came over (IPv4 arrives on '::' mapped).
function localEndpointsFor(check, localAddress) {
  if (!check.byFamily) return check.localEndpoints;
  const ipv4 = localAddress.startsWith('::ffff:') || !localAddress.includes(':');
  return ipv4 ? check.byFamily.ipv4 : check.byFamily.ipv6;
}

function serviceHandler(port) {
  return (req, res) => {
    const check = state.services.find((s) => s.port === port);
    if (!check) return send(res, 503, '{}');
    const healthy = !!(state.proxy && state.proxy.healthy);
    const count = localEndpointsFor(check, req.socket.localAddress || '');
    const status = count > 0 && healthy ? 200 : 503;
    const body = {
      service: { namespace: check.namespace, name: check.name },
      localEndpoints: count,
      serviceProxyHealthy: healthy,
    };
    send(res, status, JSON.stringify(body, null, 2));
  };
}

function proxyHandler(req, res) {
  const p = state.proxy || { healthy: false, nodeEligible: false, lastUpdated: new Date(0).toISOString() };
  const now = new Date().toISOString();
  const path = (req.url || '').split('?')[0];
  if (path === '/healthz') {
    const ok = p.healthy && p.nodeEligible;
    return send(
      res,
      ok ? 200 : 503,
      JSON.stringify({ lastUpdated: ok ? now : p.lastUpdated, currentTime: now, nodeEligible: p.nodeEligible }),
    );
  }
  if (path === '/livez') {
    return send(
      res,
      p.healthy ? 200 : 503,
      JSON.stringify({ lastUpdated: p.healthy ? now : p.lastUpdated, currentTime: now }),
    );
  }
  send(res, 404, '{}');
}

// kube-proxy's health listeners (Go, on the unspecified address) take both families; '::' does the same here (IPv4
// arrives mapped), so a dual-stack node answers on its IPv6 addresses too. A kernel without IPv6 cannot open '::':
// IPv4 only then.
const LISTEN_HOSTS = ['::', '0.0.0.0'];
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

function open(port, kind, hosts = LISTEN_HOSTS) {
  const server = http.createServer(kind === 'proxy' ? proxyHandler : serviceHandler(port));
  servers.set(port, { server, kind });
  server.on('error', (e) => {
    if (servers.get(port)?.server !== server) return;
    servers.delete(port);
    if (hosts.length > 1 && NO_IPV6.has(e.code)) return open(port, kind, hosts.slice(1));
    process.stdout.write(JSON.stringify({ port, error: `${e.code || ''} ${e.message}`.trim() }) + '\n');
  });
  server.listen({ port, host: hosts[0], ipv6Only: false }, () => {
    process.stdout.write(JSON.stringify({ port, listening: true, host: hosts[0] }) + '\n');
  });
}

function apply(next) {
  state = { proxy: next.proxy, services: Array.isArray(next.services) ? next.services : [] };
  const want = new Map(state.services.map((s) => [s.port, 'service']));
  if (state.proxy && state.proxy.port > 0) want.set(state.proxy.port, 'proxy');
  for (const [port, s] of servers) {
    if (want.get(port) !== s.kind) {
      s.server.close();
      servers.delete(port);
    }
  }
  for (const [port, kind] of want) if (!servers.has(port)) open(port, kind);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  try {
    apply(JSON.parse(line));
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: `bad state line: ${e.message}` }) + '\n');
  }
});
process.stdin.on('end', () => process.exit(0));
