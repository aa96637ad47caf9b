'use strict';
// The node's Service health checks and the proxy's /healthz and /livez, served from inside the node's network
// namespace (`ip netns exec <ns> node health-worker.js`, or plainly on a real node). The agent writes the whole
// state as one JSON line on stdin whenever it changes (HealthState in service-health.ts); the worker opens and
// closes listeners to match and answers from the latest state. It reports each listener as a JSON line on
// stdout: {"port":N,"listening":true} or {"port":N,"error":"EADDRINUSE ..."}.
// Plain JavaScript (no TypeScript loader), like the probe worker: it runs wherever the agent's node runs.
const http = require('http');
const readline = require('readline');

let state = { proxy: undefined, services: [] };
const servers = new Map(); // port -> { server, kind: 'proxy' | 'service' }

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

function serviceHandler(port) {
  return (_req, res) => {
    const check = state.services.find((s) => s.port === port);
    if (!check) return send(res, 503, '{}');
    const healthy = !!(state.proxy && state.proxy.healthy);
    const status = check.localEndpoints > 0 && healthy ? 200 : 503;
    const body = {
      service: { namespace: check.namespace, name: check.name },
      localEndpoints: check.localEndpoints,
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

function open(port, kind) {
  const server = http.createServer(kind === 'proxy' ? proxyHandler : serviceHandler(port));
  servers.set(port, { server, kind });
  server.on('error', (e) => {
    servers.delete(port);
    process.stdout.write(JSON.stringify({ port, error: `${e.code || ''} ${e.message}`.trim() }) + '\n');
  });
  server.listen({ port, host: '0.0.0.0' }, () => {
    process.stdout.write(JSON.stringify({ port, listening: true }) + '\n');
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
