import { DiagnoseTarget, NorthboundFacts, TargetKind } from './facts';
import { DIAGNOSE_QUERY as Q, DIAGNOSE_ROUTES, queryList } from './routes';
import { NbRowSource, collectNorthbound } from './collect/northbound.collector';
import { DiagnoseCommandRunner } from './collect/command';
import { collectSouthbound } from './collect/southbound.collector';
import { TraceQuery, collectTrace } from './collect/trace.collector';
import { collectConnect, podNetns } from './collect/connect.collector';
import { collectNodePorts } from './collect/nodeport.collector';
import { ipOfHostPort } from './service-path';
import { NodeCollectorOptions, collectNode } from './collect/node.collector';
import { registerBackendPacketMetrics } from './diagnose-metrics';
import { Registry } from 'prom-client';

type Route = (url: URL) => Promise<{ status: number; body: unknown }>;

/** Anything with `addRoute` (the ops server of @ycloud/k8s). */
export interface RouteHost {
  addRoute(path: string, route: Route): unknown;
}

export interface ControllerDiagnoseDeps {
  /** The replicated NB tables while this replica leads; undefined on a standby or before the first sync. */
  northbound: () => { rows: NbRowSource; connected: boolean } | undefined;
  /** The journal's newest entry for an owner, when the controller keeps a journal. */
  lastChange?: (ownerKind: string, owner: string) => Promise<{ time: string; summary: string } | undefined>;
}

const TARGET_KINDS: TargetKind[] = ['Service', 'YusurService'];

const fail = (status: number, message: string) => ({ status, body: { error: message } });

/** Registers the controller's diagnose route (Northbound facts of one target). */
export function registerControllerDiagnoseRoutes(host: RouteHost, deps: ControllerDiagnoseDeps): void {
  host.addRoute(DIAGNOSE_ROUTES.northbound, async (url) => {
    const kind = url.searchParams.get(Q.kind) as TargetKind;
    const namespace = url.searchParams.get(Q.namespace) ?? '';
    const name = url.searchParams.get(Q.name) ?? '';
    if (!TARGET_KINDS.includes(kind) || !namespace || !name) {
      return fail(400, `need ${Q.kind} (${TARGET_KINDS.join('|')}), ${Q.namespace} and ${Q.name}`);
    }
    const nb = deps.northbound();
    if (!nb) return { status: 503, body: { standby: true, error: 'this replica does not lead: no Northbound view' } };
    const target: DiagnoseTarget = { kind, namespace, name };
    const [eip, pool, vpc] = [Q.eip, Q.pool, Q.vpc].map((k) => url.searchParams.get(k) ?? '');
    const eipPath = eip && pool && vpc ? { address: eip, pool, vpc } : undefined;
    const facts: NorthboundFacts = collectNorthbound(nb.rows, target, queryList(url.searchParams.get(Q.vips)), eipPath);
    facts.connected = nb.connected;
    const last = await deps.lastChange?.(kind, `${namespace}/${name}`).catch(() => undefined);
    if (last) facts.lastChange = last;
    return { status: 200, body: facts };
  });
}

export interface AgentDiagnoseDeps extends NodeCollectorOptions {
  runner: DiagnoseCommandRunner;
  /** OVN Southbound remote(s) of this node (external_ids:ovn-remote). */
  sbRemote: string;
  /** The command that runs ovn-trace (default `ovn-trace`): it must be of northd's OVN release. */
  ovnTrace?: string[];
}

/**
 * Registers the node agent's diagnose routes (Southbound facts; this node's OVS facts) and, with a registry, the
 * per-backend packet counters of this node's load-balancer groups.
 */
export function registerAgentDiagnoseRoutes(host: RouteHost, deps: AgentDiagnoseDeps, registry?: Registry): void {
  if (registry) registerBackendPacketMetrics(registry, () => collectNode(deps.runner, deps));
  const sbRemote = async () => (deps.sbRemote || (await ovnRemoteOfNode(deps.runner))).split(',')[0];
  host.addRoute(DIAGNOSE_ROUTES.trace, async (url) => {
    const remote = await sbRemote();
    if (!remote) return fail(503, 'no Southbound remote');
    const q = Object.fromEntries(url.searchParams) as unknown as TraceQuery;
    try {
      return { status: 200, body: await collectTrace(deps.runner, remote, q, deps.ovnTrace) };
    } catch (err) {
      return fail(400, err instanceof Error ? err.message : String(err));
    }
  });
  host.addRoute(DIAGNOSE_ROUTES.southbound, async (url) => {
    const remote = await sbRemote();
    if (!remote)
      return fail(503, 'no Southbound remote: neither the agent config nor external_ids:ovn-remote names one');
    try {
      const facts = await collectSouthbound(deps.runner, remote, {
        vips: queryList(url.searchParams.get(Q.vips)),
        ports: queryList(url.searchParams.get(Q.ports)),
      });
      return { status: 200, body: facts };
    } catch (err) {
      return fail(502, err instanceof Error ? err.message : String(err));
    }
  });
  host.addRoute(DIAGNOSE_ROUTES.connect, async (url) => {
    const vip = url.searchParams.get(Q.vips) ?? '';
    const pod = url.searchParams.get(Q.pod);
    try {
      const port = Number(vip.slice(vip.lastIndexOf(':') + 1));
      // From a pod: inside its network namespace, found through its OVS interface on this node.
      const netns = pod ? await podNetns(deps.runner, deps.ovsDb ?? '', pod) : undefined;
      return { status: 200, body: await collectConnect(deps.runner, ipOfHostPort(vip), port, 3, netns) };
    } catch (err) {
      return fail(400, err instanceof Error ? err.message : String(err));
    }
  });
  host.addRoute(DIAGNOSE_ROUTES.nodePort, async () => {
    try {
      return { status: 200, body: await collectNodePorts(deps.runner, deps.node) };
    } catch (err) {
      return fail(502, err instanceof Error ? err.message : String(err));
    }
  });
  host.addRoute(DIAGNOSE_ROUTES.node, async (url) => {
    const vips = url.searchParams.has(Q.vips) ? queryList(url.searchParams.get(Q.vips)) : undefined;
    try {
      return { status: 200, body: await collectNode(deps.runner, deps, vips) };
    } catch (err) {
      return fail(400, err instanceof Error ? err.message : String(err));
    }
  });
}

/** external_ids:ovn-remote of the node's Open vSwitch (what ovn-controller connects to). */
async function ovnRemoteOfNode(runner: DiagnoseCommandRunner): Promise<string> {
  const r = await runner.run('ovs-vsctl', [
    '--timeout=5',
    '--if-exists',
    'get',
    'Open_vSwitch',
    '.',
    'external_ids:ovn-remote',
  ]);
  return r.code === 0 ? r.stdout.trim().replace(/^"|"$/g, '') : '';
}
