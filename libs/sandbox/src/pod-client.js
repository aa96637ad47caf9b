'use strict';
// Traffic generator run inside a namespace (ip netns exec … node pod-client.js): `count` sequential requests,
// each on a new connection (new source port), and a JSON summary on stdout:
//   {"replies":{"hello-1":4,...},"errors":[{"code":"ECONNREFUSED","ms":2,"attempt":0}]}
//   node pod-client.js tcp|http|udp HOST PORT COUNT [TIMEOUT_MS]
const net = require('net');
const http = require('http');
const dgram = require('dgram');

const [proto, host, portText, countText, timeoutText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText || 1);
const timeoutMs = Number(timeoutText || 3000);

function once() {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (reply, code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(reply !== undefined ? { reply: reply.trim() } : { code, ms: Date.now() - t0 });
    };
    let cleanup = () => {};
    const timer = setTimeout(() => {
      cleanup();
      finish(undefined, 'TIMEOUT');
    }, timeoutMs);
    if (proto === 'tcp') {
      const s = net.connect({ host, port });
      let out = '';
      cleanup = () => s.destroy();
      s.on('data', (d) => (out += d));
      s.on('end', () => finish(out));
      s.on('error', (e) => finish(undefined, e.code || e.message));
    } else if (proto === 'http') {
      const req = http.get({ host, port, path: '/', agent: false }, (res) => {
        let out = '';
        res.on('data', (d) => (out += d));
        res.on('end', () => finish(out));
      });
      cleanup = () => req.destroy();
      req.on('error', (e) => finish(undefined, e.code || e.message));
    } else if (proto === 'udp') {
      const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      cleanup = () => s.close();
      s.on('message', (m) => {
        s.close();
        finish(String(m));
      });
      s.on('error', (e) => finish(undefined, e.code || e.message));
      s.send('hello\n', port, host);
    } else {
      finish(undefined, `unknown protocol ${proto}`);
    }
  });
}

(async () => {
  const summary = { replies: {}, errors: [] };
  for (let i = 0; i < count; i++) {
    const r = await once();
    if (r.reply !== undefined) summary.replies[r.reply] = (summary.replies[r.reply] || 0) + 1;
    else summary.errors.push({ code: r.code, ms: r.ms, attempt: i });
  }
  process.stdout.write(JSON.stringify(summary) + '\n');
})();
