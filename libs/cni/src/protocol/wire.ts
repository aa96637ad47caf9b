/**
 * The shim <-> agent wire format over the agent's unix socket, simple enough for a POSIX sh shim:
 * request  = `NAME=value\n` per CNI_* variable, an empty line, then the stdin bytes; the shim half-closes.
 * response = `<exit code>\n` then the bytes the shim prints on stdout.
 */
export interface WireRequest {
  env: Record<string, string>;
  stdin: string;
}

export function encodeWireRequest(req: WireRequest): string {
  const lines = Object.entries(req.env)
    .filter(([k]) => k.startsWith('CNI_'))
    .map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}\n`);
  return `${lines.join('')}\n${req.stdin}`;
}

export function decodeWireRequest(raw: string): WireRequest {
  const env: Record<string, string> = {};
  let pos = 0;
  for (;;) {
    const nl = raw.indexOf('\n', pos);
    if (nl < 0) return { env, stdin: '' };
    const line = raw.slice(pos, nl);
    pos = nl + 1;
    if (line === '') break;
    const eq = line.indexOf('=');
    if (eq > 0) {
      const key = line.slice(0, eq);
      if (key.startsWith('CNI_')) env[key] = line.slice(eq + 1);
    }
  }
  return { env, stdin: raw.slice(pos) };
}

export function encodeWireReply(exitCode: number, stdout: string): string {
  return `${exitCode}\n${stdout}`;
}

export function decodeWireReply(raw: string): { exitCode: number; stdout: string } {
  const nl = raw.indexOf('\n');
  const code = Number(nl < 0 ? raw : raw.slice(0, nl));
  if (nl < 0 || !Number.isInteger(code)) throw new Error('malformed reply from the ycloud CNI agent');
  return { exitCode: code, stdout: raw.slice(nl + 1) };
}
