import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Repository root (this file is libs/sandbox/src/sandbox-state.ts). */
export function repoRoot(): string {
  return path.resolve(__dirname, '../../..');
}

/** The sandbox directory: `YCLOUD_SANDBOX_DIR` when set (read at call time), else `<repo>/.sandbox`. */
export function sandboxDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.YCLOUD_SANDBOX_DIR || path.join(repoRoot(), '.sandbox'));
}

/** One simulated node as the other commands need it. */
export interface SandboxNodeState {
  name: string;
  /** The node's host network namespace (its OVS, ovn-controller, agent's node port). */
  netns: string;
  /** Its Open_vSwitch db (`unix:…`). */
  ovsRemote: string;
  /** Node InternalIP (tunnel endpoint). */
  ip: string;
  /** The node agent's CNI socket. */
  cniSocket: string;
  agentPid: number;
  agentLog: string;
  /** The node agent's ops server (metrics, diagnose routes), e.g. `http://127.0.0.1:40123`. */
  opsUrl?: string;
}

/** What `Sandbox.up()` writes to `<dir>/state.json`; every other command reads it. */
export interface SandboxState {
  version: 1;
  /** pid of the `sandbox up` process (signal it to stop the sandbox). */
  pid: number;
  startedAt: string;
  dir: string;
  kubeconfig: string;
  apiServer: string;
  /** Prefix of every network namespace of this sandbox (`ycn-<runId>-`). */
  netnsPrefix: string;
  /** `release`: the OVN / OVS versions it runs ('OVN 23.03.1 / OVS 3.1.0 (system packages)'). */
  testbed: { dir: string; runId: string; nbRemote: string; sbRemote: string; release?: string };
  controlPlane: { dir: string; pids: number[] };
  controller: { pid: number; log: string; config: string; health: string; journal: string };
  nodes: SandboxNodeState[];
  external: { netns: string; ip: string };
  cni: { binDir: string; pluginConf: Record<string, unknown> };
  serviceCIDR: string;
  podCIDR: string;
  /** A dual-stack sandbox's IPv6 ranges and the external client's IPv6 address (with prefix). */
  ipv6?: { serviceCIDR: string; podCIDR: string; external: string };
}

/** A pod the SimulatedKubelet runs, kept in `<dir>/pods/<namespace>.<name>.json`. */
export interface SimulatedPodRecord {
  namespace: string;
  name: string;
  node: string;
  netns: string;
  containerId: string;
  ip: string;
  /** Every address of the pod (dual stack: IPv4 first); absent in records of single-stack sandboxes. */
  ips?: string[];
  servers: { serve: string[]; pid: number; log: string } | null;
}

export const STATE_FILE = 'state.json';

export function statePath(dir: string): string {
  return path.join(dir, STATE_FILE);
}

/** Reads state.json; undefined when the sandbox is not up. */
export async function readState(dir: string = sandboxDir()): Promise<SandboxState | undefined> {
  const text = await fs.readFile(statePath(dir), 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as SandboxState) : undefined;
}

/** Reads state.json or throws a message telling the user how to start the sandbox. */
export async function requireState(dir: string = sandboxDir()): Promise<SandboxState> {
  const s = await readState(dir);
  if (!s) throw new Error(`no sandbox running (no ${statePath(dir)}); start one with: ycloud sandbox up`);
  return s;
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await fs.rename(tmp, file);
}
