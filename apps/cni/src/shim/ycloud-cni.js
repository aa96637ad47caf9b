#!/usr/bin/env node
// The CNI plugin binary (install as /opt/cni/bin/ycloud): forwards CNI_* and stdin to the node's ycloud
// agent over its unix socket and prints the reply. Only `net` is loaded so start-up stays near Node's minimum.
// VERSION is answered here so the runtime can probe the plugin even while the agent is down.
'use strict';

const net = require('net');

const SUPPORTED = ['1.0.0', '1.1.0'];
const socketPath = process.env.YCLOUD_CNI_SOCKET || '/run/ycloud/cni.sock';
const timeoutMs = Number(process.env.YCLOUD_CNI_TIMEOUT_MS) || 150000;
const command = process.env.CNI_COMMAND || '';

function versionOf(stdin) {
  try {
    const v = JSON.parse(stdin).cniVersion;
    return typeof v === 'string' && v ? v : '1.1.0';
  } catch {
    return '1.1.0';
  }
}

function fail(stdin, code, msg, details) {
  const out = { cniVersion: versionOf(stdin), code, msg };
  if (details) out.details = details;
  process.stdout.write(JSON.stringify(out));
  process.exitCode = 1;
}

function forward(stdin) {
  if (command === 'VERSION') {
    const v = versionOf(stdin);
    process.stdout.write(
      JSON.stringify({ cniVersion: SUPPORTED.includes(v) ? v : '1.1.0', supportedVersions: SUPPORTED }),
    );
    return;
  }
  let header = '';
  for (const k of Object.keys(process.env)) {
    if (k.startsWith('CNI_')) header += k + '=' + String(process.env[k]).replace(/\n/g, ' ') + '\n';
  }
  const chunks = [];
  let finished = false;
  const sock = net.createConnection(socketPath);
  const timer = setTimeout(() => {
    finished = true;
    sock.destroy();
    fail(stdin, 11, 'the ycloud CNI agent did not answer within ' + timeoutMs / 1000 + 's', socketPath);
  }, timeoutMs);
  sock.on('connect', () => sock.end(header + '\n' + stdin));
  sock.on('data', (d) => chunks.push(d));
  sock.on('error', (err) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    fail(
      stdin,
      command === 'STATUS' ? 50 : 11,
      'the ycloud CNI agent is not reachable: ' + err.message,
      'socket ' + socketPath,
    );
  });
  sock.on('close', () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const nl = raw.indexOf('\n');
    const code = nl < 0 ? NaN : Number(raw.slice(0, nl));
    if (!Number.isInteger(code)) {
      fail(stdin, 11, 'the ycloud CNI agent closed the connection without an answer', 'socket ' + socketPath);
      return;
    }
    process.stdout.write(raw.slice(nl + 1));
    process.exitCode = code;
  });
}

// Stamped with package.json's version when an image is built (scripts/images.sh); from the sources, read it.
const STAMPED_VERSION = '@YCLOUD_VERSION@';
function ownVersion() {
  if (STAMPED_VERSION !== '@' + 'YCLOUD_VERSION@') return STAMPED_VERSION;
  try {
    return require(require('path').join(__dirname, '../../../../package.json')).version;
  } catch {
    return 'unknown';
  }
}

// Container runtimes run CNI plugins without arguments; an operator checking the installed file gets these.
const arg = process.argv[2];
if (arg === '--version' || arg === '--help' || arg === '-h') {
  process.stdout.write(
    arg === '--version'
      ? ownVersion() + '\n'
      : 'ycloud CNI plugin ' +
          ownVersion() +
          ': run by the container runtime (CNI_COMMAND and the network configuration on stdin); forwards to the\n' +
          'ycloud agent on ' +
          socketPath +
          ' (YCLOUD_CNI_SOCKET). Options: --version, --help.\n',
  );
  process.exit(0);
}

const input = [];
process.stdin.on('data', (d) => input.push(d));
process.stdin.on('end', () => forward(Buffer.concat(input).toString('utf8')));
process.stdin.on('error', () => forward(''));
