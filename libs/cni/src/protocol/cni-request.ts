import { CniError, CniErrorCode } from './cni-error';
import {
  CNI_COMMANDS,
  CniCommand,
  CniNetConf,
  CniRequest,
  LATEST_CNI_VERSION,
  SUPPORTED_CNI_VERSIONS,
} from './cni-types';

/** Variables each command needs (spec "Parameters" table). */
const REQUIRED_ENV: Record<CniCommand, string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  VERSION: [],
  STATUS: [],
  GC: [],
};

/** Commands that appeared in 1.1.0. */
const SINCE_1_1: CniCommand[] = ['STATUS', 'GC'];

/** `IgnoreUnknown=1;K8S_POD_NAMESPACE=a;K8S_POD_NAME=b` -> map. */
export function parseCniArgs(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const part of raw.split(';')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CniError(CniErrorCode.InvalidEnvironment, `CNI_ARGS: malformed pair "${part}"`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** The cniVersion to answer errors with: the request's own when it is readable, else the latest. */
export function replyVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && v ? v : LATEST_CNI_VERSION;
  } catch {
    return LATEST_CNI_VERSION;
  }
}

/**
 * Validates one invocation (environment + stdin) and returns it typed. Throws CniError with the spec's code:
 * 4 for a missing/unknown variable, 6 for stdin that is not JSON, 7 for a config without name/type,
 * 1 for a cniVersion we do not speak.
 */
export function parseCniRequest(env: Record<string, string | undefined>, stdin: string): CniRequest {
  const command = env.CNI_COMMAND as CniCommand | undefined;
  if (!command) throw new CniError(CniErrorCode.InvalidEnvironment, 'CNI_COMMAND is not set');
  if (!CNI_COMMANDS.includes(command)) {
    throw new CniError(CniErrorCode.InvalidEnvironment, `unknown CNI_COMMAND "${command}"`);
  }
  let conf: CniNetConf;
  try {
    conf = JSON.parse(stdin) as CniNetConf;
  } catch (err) {
    throw new CniError(CniErrorCode.DecodeFailure, 'network configuration on stdin is not valid JSON', String(err));
  }
  if (!conf || typeof conf !== 'object' || Array.isArray(conf)) {
    throw new CniError(CniErrorCode.DecodeFailure, 'network configuration on stdin is not a JSON object');
  }
  if (command !== 'VERSION') validateConf(command, conf);
  for (const key of REQUIRED_ENV[command]) {
    if (!env[key]) throw new CniError(CniErrorCode.InvalidEnvironment, `${key} is not set (needed by ${command})`);
  }
  const ifname = env.CNI_IFNAME ?? '';
  if (ifname && (ifname.length > 15 || !/^[^\s/:]+$/.test(ifname) || ifname === '.' || ifname === '..')) {
    throw new CniError(CniErrorCode.InvalidEnvironment, `CNI_IFNAME "${ifname}" is not a valid interface name`);
  }
  return {
    command,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname,
    args: parseCniArgs(env.CNI_ARGS),
    path: env.CNI_PATH ?? '',
    conf,
  };
}

function validateConf(command: CniCommand, conf: CniNetConf): void {
  if (typeof conf.cniVersion !== 'string' || !SUPPORTED_CNI_VERSIONS.includes(conf.cniVersion as never)) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `unsupported cniVersion "${String(conf.cniVersion)}"`,
      `supported: ${SUPPORTED_CNI_VERSIONS.join(', ')}`,
    );
  }
  if (SINCE_1_1.includes(command) && conf.cniVersion !== '1.1.0') {
    throw new CniError(CniErrorCode.IncompatibleVersion, `${command} needs cniVersion 1.1.0, got ${conf.cniVersion}`);
  }
  if (typeof conf.name !== 'string' || !conf.name || typeof conf.type !== 'string' || !conf.type) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, 'network configuration needs "name" and "type"');
  }
}
