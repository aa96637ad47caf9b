'use strict';
// The "container" of a simulated pod: answers with the pod name so a user sees which backend replied.
//   node pod-server.js --name NAME --netns NETNS --serve http:8080 --serve tcp:9000 --serve udp:5353
// tcp: writes "NAME\n" on connect and closes; http: 200 with body "NAME\n"; udp: replies "NAME\n" to each datagram.
// Started inside the pod's network namespace (ip netns exec); --netns only labels the process for leak checks.
const net = require('net');
const http = require('http');
const dgram = require('dgram');

const args = process.argv.slice(2);
let name = '';
const serve = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--name') name = args[++i];
  else if (args[i] === '--serve') serve.push(args[++i]);
  else if (args[i] === '--netns') i++;
}
if (!name || !serve.length) {
  console.error('usage: pod-server.js --name NAME --serve tcp:PORT|http:PORT|udp:PORT ...');
  process.exit(2);
}
const reply = name + '\n';
// Each server listens on 0.0.0.0 (must work) and, IPv6-only, on :: (dual-stack pods; skipped where the namespace
// has no IPv6), so IPv4 clients keep seeing plain IPv4 addresses.
for (const spec of serve) {
  const [proto, portText] = spec.split(':');
  const port = Number(portText);
  const ready = () => console.log(`listening ${proto}:${port}`);
  const fail = (e) => {
    console.error(`${spec}: ${e.message}`);
    process.exit(1);
  };
  const listen = (host, onReady, onError) => {
    const ipv6Only = host === '::';
    if (proto === 'tcp') {
      net
        .createServer((s) => {
          s.on('error', () => {});
          s.end(reply);
        })
        .on('error', onError)
        .listen({ port, host, ipv6Only }, onReady);
    } else if (proto === 'http') {
      http
        .createServer((req, res) => {
          req.resume();
          res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
          res.end(reply);
        })
        .on('error', onError)
        .listen({ port, host, ipv6Only }, onReady);
    } else if (proto === 'udp') {
      const sock = dgram.createSocket({ type: ipv6Only ? 'udp6' : 'udp4', ipv6Only });
      sock.on('message', (_msg, from) => sock.send(reply, from.port, from.address));
      sock.on('error', onError);
      sock.bind(port, host, onReady);
    } else {
      fail(new Error(`unknown protocol ${proto} (tcp, http, udp)`));
    }
  };
  listen('0.0.0.0', ready, fail);
  listen(
    '::',
    () => undefined,
    () => undefined,
  );
}
process.on('SIGTERM', () => process.exit(0));
