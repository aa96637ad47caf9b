import { crdResources, OWNER_KINDS, type NetworkProbe } from '@ycloud/api';
import type { KubeObject } from '@ycloud/k8s';
import { Prober, listProbePorts, plugProbePort, unplugProbePort, type ProbePortHost } from '@ycloud/probe';
import type { ControllerBuilder, ControllerRegistration, Reconciler } from '../common/registration';
import { TOPOLOGY_RESOURCES } from '../topology/topology-objects.controller';
import { NetworkProbeController, resolveTarget } from './network-probe.controller';
import { ProbePortController } from './probe-port.controller';

/** Where probes run: this process, on a node with OVS (the leader's node, ADR 0003). */
export interface ProbeRuntimeOptions {
  /** The node (OVN chassis) this process runs on; probe ports are bound here. */
  nodeName: string;
  /** The local OVS and command runner probe ports are plugged with. */
  host: ProbePortHost;
  /**
   * Probe namespace name prefix (`<prefix><vpc>`; default `ycloud-probe-`). Namespace names are global on a host:
   * controllers or test suites sharing one host need distinct prefixes (none a prefix of another).
   */
  netnsPrefix?: string;
  prober?: Prober;
}

/**
 * NetworkProbes (ADR 0003), run only where a probe runtime is configured (a node with OVS): the NetworkProbe
 * controller (keyed by object) and beside it the probe-port controller (keyed by VPC, owner `ProbePort/<vpc>`),
 * wired together: probe changes re-queue ports and probes, a plugged port re-queues the probes, pod changes
 * re-resolve every probe. Before any controller runs, probe ports of ours on this host that no VPC wants any more
 * are removed, and the addresses the probe ports hold in NB are re-recorded in the IPAM. At stop: the prober,
 * its timers and this node's probe ports (the next leader plugs them on its node; requested-chassis moves).
 */
export const networkProbeRegistration: ControllerRegistration = {
  name: 'network-probe',
  requires: [...Object.values(TOPOLOGY_RESOURCES), crdResources.NetworkProbe],
  enabled: (env) => env.probe !== undefined,
  setup: (b) => setupNetworkProbes(b, b.env.probe!),
  // No prober here, so nothing plugs these ports: remove them (their addresses go back to the pods' IPAM).
  async notRun(env) {
    for (const owner of env.northbound.view.allOwners().filter((o) => o.kind === OWNER_KINDS.ProbePort)) {
      await env.northbound.applier.apply({ owner, rows: [], memberships: [], mapEntries: [] }, 'NetworkProbes not run');
    }
  },
};

async function setupNetworkProbes(b: ControllerBuilder, runtime: ProbeRuntimeOptions): Promise<Reconciler> {
  const env = b.env;
  const informer = env.informers.get<NetworkProbe & KubeObject>(crdResources.NetworkProbe);
  await informer.waitForSync();
  const pods = env.caches.pods.store;
  const prober = runtime.prober ?? new Prober();
  const plugged = new Map<string, string>();
  const resolve = (t: NetworkProbe['spec']['targets'][number], ns: string) => resolveTarget({ pods }, t, ns);
  const wantedVpcs = () => {
    const vpcs = new Set<string>();
    for (const p of informer.store.list()) {
      const ns = p.metadata.namespace ?? '';
      for (const t of p.spec.targets ?? []) {
        const r = resolve(t, ns);
        if (!('error' in r)) vpcs.add(r.vpc ?? env.vpcForNamespace(ns));
      }
    }
    return vpcs;
  };
  const probes = new NetworkProbeController({
    probes: informer.store,
    resolve,
    vpcForNamespace: (ns) => env.vpcForNamespace(ns),
    probeNetns: (vpc) => plugged.get(vpc),
    prober,
    patchStatus: async (ns, name, status) => {
      await env.kube.mergePatch(crdResources.NetworkProbe, ns, name, { status }, 'status');
    },
    onError: (key, err) => env.log.warn('NetworkProbe status write failed', { key, error: String(err) }),
  });
  const enqueueProbes = (reason: string) => informer.store.keys().forEach((k) => b.enqueue(k, reason));
  const { host, netnsPrefix } = runtime;
  const unplug = (vpc: string) =>
    unplugProbePort(host, vpc, netnsPrefix).catch((err: unknown) =>
      env.log.warn('probe port unplug failed', { vpc, error: String(err) }),
    );
  // Ports of ours left on this host (an earlier leader here): the unwanted go now, the rest are re-plugged.
  const found = await listProbePorts(host, netnsPrefix).catch((err: unknown) => {
    env.log.warn('cannot list the probe ports on this host', { error: String(err) });
    return [] as string[];
  });
  const leftover = new Set(found);
  const wantedAtStart = wantedVpcs();
  for (const vpc of [...leftover].filter((v) => !wantedAtStart.has(v))) {
    leftover.delete(vpc);
    await unplug(vpc);
  }
  const ports = new ProbePortController({
    subnets: () => env.subnets(),
    ipam: env.ipam,
    applier: env.northbound.applier,
    config: env.config,
    nodeName: runtime.nodeName,
    wantedVpcs,
    publish: async (vpc, plug) => {
      if (plug) plugged.set(vpc, await plugProbePort(host, { ...plug, prefix: netnsPrefix }));
      else if (plugged.delete(vpc) || leftover.has(vpc)) await unplugProbePort(host, vpc, netnsPrefix);
      leftover.delete(vpc);
      enqueueProbes('probe port changed');
    },
  });
  // Before any pod allocates (controllers start after every setup): the probe ports keep their addresses.
  const view = env.northbound.view;
  for (const owner of view.allOwners().filter((o) => o.kind === OWNER_KINDS.ProbePort)) {
    const problem = ports.restore(owner.name, probePortAddresses(view.ownedBy(owner)));
    if (problem)
      env.log.warn('probe port address not restored; a new one will be allocated', { vpc: owner.name, problem });
  }
  const portController = b.controller('probe-port', (vpc, ctx) => ports.reconcile(vpc, ctx), {
    ownerKey: (owner) => (owner.kind === OWNER_KINDS.ProbePort ? owner.name : undefined),
  });
  const enqueuePorts = (reason: string) =>
    new Set([...wantedVpcs(), ...plugged.keys(), ...leftover]).forEach((v) => portController.enqueue(v, reason));
  const onProbe = (o: KubeObject) => {
    b.enqueue(`${o.metadata?.namespace}/${o.metadata?.name}`, 'NetworkProbe changed');
    enqueuePorts('NetworkProbe targets changed');
  };
  // A status-only update (our own results, every probe transition) cannot change which VPCs need a port: re-plugging
  // on each would run ovs-vsctl and ip several times per probe result.
  const onProbeUpdate = (o: KubeObject, n: KubeObject) => {
    if (o.metadata?.generation !== undefined && o.metadata.generation === n.metadata?.generation) {
      b.enqueue(`${n.metadata?.namespace}/${n.metadata?.name}`, 'NetworkProbe changed');
    } else onProbe(n);
  };
  informer.addHandler({ onAdd: onProbe, onUpdate: onProbeUpdate, onDelete: onProbe });
  b.waitFor(informer);
  // Backends changed (pods got or lost addresses): re-resolve every probe.
  const backendsChanged = () => {
    enqueueProbes('Pod changed');
    enqueuePorts('Pod changed');
  };
  env.caches.pods.addHandler({ onAdd: backendsChanged, onUpdate: backendsChanged, onDelete: backendsChanged });
  b.resyncKeys(() => informer.store.keys());
  b.onStop(async () => {
    probes.stop();
    await prober.stop();
    const vpcs = [...plugged.keys()];
    plugged.clear();
    for (const vpc of vpcs) await unplug(vpc);
  });
  return (key) => probes.reconcile(key);
}

/** The `addresses` of a probe port's Logical_Switch_Port among an owner's NB rows (a set: array or one value). */
export function probePortAddresses(rows: Array<{ table: string; row: Record<string, unknown> }>): string[] {
  const lsp = rows.find((r) => r.table === 'Logical_Switch_Port')?.row;
  const a = lsp?.addresses;
  if (Array.isArray(a)) return a.filter((x): x is string => typeof x === 'string');
  return typeof a === 'string' ? [a] : [];
}
