// The probe worker: a long-lived Node process started inside a network namespace (`ip netns exec <ns> node
// probe-worker.js`). It reads one JSON request per line on stdin and writes one JSON reply per line on stdout:
//   {id, type: 'tcp'|'http'|'udp'|'icmp', host, port?, path?, expectedStatus?, timeoutMs, expectReply?}
//   -> {id, ok, message, rttMs}
//   {id, type: 'stats'} -> {id, ok: true, cpuUserMs, cpuSystemMs, rssBytes}
// Plain CommonJS with Node built-ins only, so it runs without a build step.
'use strict';
const net = require('net');
const http = require('http');
const dgram = require('dgram');
const { spawn } = require('child_process');
const readline = require('readline');

function reply(msg) {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

function once(id, started) {
  let done = false;
  return (ok, message) => {
    if (done) return false;
    done = true;
    reply({ id, ok, message, rttMs: Date.now() - started });
    return true;
  };
}

function probeTcp(req, finish) {
  const s = net.connect({ host: req.host, port: req.port });
  const t = setTimeout(() => finish(false, `timeout after ${req.timeoutMs} ms`) && s.destroy(), req.timeoutMs);
  s.on('connect', () => {
    clearTimeout(t);
    finish(true, 'connected');
    s.destroy();
  });
  s.on('error', (e) => {
    clearTimeout(t);
    finish(false, e.code || e.message);
  });
}

function statusOk(req, code) {
  if (req.expectedStatus) return code === req.expectedStatus;
  return code >= 200 && code < 400;
}

function probeHttp(req, finish) {
  const r = http.get({ host: req.host, port: req.port, path: req.path || '/', agent: false, timeout: req.timeoutMs });
  const t = setTimeout(() => finish(false, `timeout after ${req.timeoutMs} ms`) && r.destroy(), req.timeoutMs);
  r.on('response', (res) => {
    clearTimeout(t);
    const code = res.statusCode || 0;
    const want = req.expectedStatus ? String(req.expectedStatus) : '2xx/3xx';
    finish(statusOk(req, code), `HTTP ${code}${statusOk(req, code) ? '' : ` (expected ${want})`}`);
    res.resume();
    r.destroy();
  });
  r.on('error', (e) => {
    clearTimeout(t);
    finish(false, e.code || e.message);
  });
}

// A connected UDP socket gets ECONNREFUSED when the target answers with ICMP port unreachable.
function probeUdp(req, finish) {
  const s = dgram.createSocket('udp4');
  const close = () => {
    try {
      s.close();
    } catch {
      /* closed */
    }
  };
  const t = setTimeout(() => {
    finish(!req.expectReply, req.expectReply ? `no reply within ${req.timeoutMs} ms` : 'no ICMP unreachable');
    close();
  }, req.timeoutMs);
  s.on('error', (e) => {
    clearTimeout(t);
    finish(false, e.code || e.message);
    close();
  });
  s.on('message', () => {
    clearTimeout(t);
    finish(true, 'reply');
    close();
  });
  s.connect(req.port, req.host, () => s.send(Buffer.from(req.payload || 'ycloud-probe')));
}

function probeIcmp(req, finish) {
  const secs = String(Math.max(1, Math.ceil(req.timeoutMs / 1000)));
  const p = spawn('ping', ['-n', '-q', '-c1', '-W', secs, req.host], { stdio: 'ignore' });
  p.on('error', (e) => finish(false, e.message));
  p.on('exit', (code) => finish(code === 0, code === 0 ? 'echo reply' : 'no echo reply'));
}

const probes = { tcp: probeTcp, http: probeHttp, udp: probeUdp, icmp: probeIcmp };

function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  if (req.type === 'stats') {
    const u = process.cpuUsage();
    reply({
      id: req.id,
      ok: true,
      cpuUserMs: u.user / 1000,
      cpuSystemMs: u.system / 1000,
      rssBytes: process.memoryUsage.rss(),
    });
    return;
  }
  const finish = once(req.id, Date.now());
  const probe = probes[req.type];
  if (!probe) return void finish(false, `unknown probe type ${req.type}`);
  try {
    probe(req, finish);
  } catch (e) {
    finish(false, e.message);
  }
}

readline
  .createInterface({ input: process.stdin })
  .on('line', handle)
  .on('close', () => process.exit(0));
reply({ id: 0, ok: true, message: 'ready' });
