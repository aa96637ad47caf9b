import type { V1Pod } from '@kubernetes/client-node';
import { crdResources, type ControllerConfig, type NetworkProbe, type Subnet } from '@ycloud/api';
import { Informer, KubeClient, type Controller, type KubeObject, type Logger } from '@ycloud/k8s';
import type { NorthboundApplier } from '@ycloud/ovn';
import { Prober, listProbePorts, plugProbePort, unplugProbePort, type ProbePortHost } from '@ycloud/probe';
import type { ObjectCache } from '../common/ports';
import type { SubnetIpam } from '../ipam/subnet-ipam';
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

export interface NetworkProbeWiring {
  kube: KubeClient;
  log: Logger;
  runtime: ProbeRuntimeOptions;
  pods: ObjectCache<V1Pod>;
  subnets(): Subnet[];
  ipam: SubnetIpam;
  applier: NorthboundApplier;
  config: Pick<ControllerConfig, 'mtu'>;
  vpcForNamespace(ns: string): string;
  /** The probe ports' LSP `addresses` in NB at start, by VPC (restored into the IPAM before pods allocate). */
  existingPorts: Array<{ vpc: string; addresses: string[] }>;
  /** ControllerManager's controller factory (metrics, workers, cache waits). */
  controller(name: string, reconcile: (key: string) => Promise<unknown>): Controller;
}

/**
 * Starts the NetworkProbe informer, the probe-port controller (keyed by VPC) and the NetworkProbe controller
 * (keyed by object), wired together: probe changes re-queue ports and probes, a plugged port re-queues the
 * probes. Before returning (so before any controller runs): probe ports of ours on this host that no VPC wants
 * any more are removed, and the addresses the probe ports hold in NB are re-recorded in the IPAM. Returns the
 * informer (for the manager's list) and a stop function (prober, workers, timers, this node's probe ports).
 */
export async function startNetworkProbes(w: NetworkProbeWiring): Promise<{
  informer: Informer<KubeObject>;
  /** Re-resolves every probe (backends changed: pods got or lost addresses). */
  backendsChanged(): void;
  stop(): Promise<void>;
}> {
  const informer = new Informer<NetworkProbe & KubeObject>(w.kube, crdResources.NetworkProbe, {
    logger: w.log.child({ part: 'informer' }),
  });
  informer.start();
  await informer.waitForSync();
  const prober = w.runtime.prober ?? new Prober();
  const plugged = new Map<string, string>();
  const resolve = (t: NetworkProbe['spec']['targets'][number], ns: string) => resolveTarget({ pods: w.pods }, t, ns);
  const wantedVpcs = () => {
    const vpcs = new Set<string>();
    for (const p of informer.store.list()) {
      const ns = p.metadata.namespace ?? '';
      for (const t of p.spec.targets ?? []) {
        const r = resolve(t, ns);
        if (!('error' in r)) vpcs.add(r.vpc ?? w.vpcForNamespace(ns));
      }
    }
    return vpcs;
  };
  const probes = new NetworkProbeController({
    probes: informer.store,
    resolve,
    vpcForNamespace: w.vpcForNamespace,
    probeNetns: (vpc) => plugged.get(vpc),
    prober,
    patchStatus: async (ns, name, status) => {
      await w.kube.mergePatch(crdResources.NetworkProbe, ns, name, { status }, 'status');
    },
    onError: (key, err) => w.log.warn('NetworkProbe status write failed', { key, error: String(err) }),
  });
  const probeController = w.controller('network-probe', (key) => probes.reconcile(key));
  const enqueueProbes = () => informer.store.keys().forEach((k) => probeController.enqueue(k));
  const { host, netnsPrefix } = w.runtime;
  const unplug = (vpc: string) =>
    unplugProbePort(host, vpc, netnsPrefix).catch((err: unknown) =>
      w.log.warn('probe port unplug failed', { vpc, error: String(err) }),
    );
  // Ports of ours left on this host (an earlier leader here): the unwanted go now, the rest are re-plugged.
  const found = await listProbePorts(host, netnsPrefix).catch((err: unknown) => {
    w.log.warn('cannot list the probe ports on this host', { error: String(err) });
    return [] as string[];
  });
  const leftover = new Set(found);
  const wantedAtStart = wantedVpcs();
  for (const vpc of [...leftover].filter((v) => !wantedAtStart.has(v))) {
    leftover.delete(vpc);
    await unplug(vpc);
  }
  const ports = new ProbePortController({
    subnets: w.subnets,
    ipam: w.ipam,
    applier: w.applier,
    config: w.config,
    nodeName: w.runtime.nodeName,
    wantedVpcs,
    publish: async (vpc, plug) => {
      if (plug) plugged.set(vpc, await plugProbePort(host, { ...plug, prefix: netnsPrefix }));
      else if (plugged.delete(vpc) || leftover.has(vpc)) await unplugProbePort(host, vpc, netnsPrefix);
      leftover.delete(vpc);
      enqueueProbes();
    },
  });
  // Before any pod allocates (controllers start after this): the probe ports keep their addresses.
  for (const { vpc, addresses } of w.existingPorts) {
    const problem = ports.restore(vpc, addresses);
    if (problem) w.log.warn('probe port address not restored; a new one will be allocated', { vpc, problem });
  }
  const portController = w.controller('probe-port', (vpc) => ports.reconcile(vpc, 'NetworkProbe targets changed'));
  const enqueuePorts = () =>
    new Set([...wantedVpcs(), ...plugged.keys(), ...leftover]).forEach((v) => portController.enqueue(v));
  const onProbe = (o: KubeObject) => {
    probeController.enqueue(`${o.metadata?.namespace}/${o.metadata?.name}`);
    enqueuePorts();
  };
  // A status-only update (our own results, every probe transition) cannot change which VPCs need a port: re-plugging
  // on each would run ovs-vsctl and ip several times per probe result.
  const onProbeUpdate = (o: KubeObject, n: KubeObject) => {
    if (o.metadata?.generation !== undefined && o.metadata.generation === n.metadata?.generation) {
      probeController.enqueue(`${n.metadata?.namespace}/${n.metadata?.name}`);
    } else onProbe(n);
  };
  informer.addHandler({ onAdd: onProbe, onUpdate: onProbeUpdate, onDelete: onProbe });
  return {
    informer: informer as unknown as Informer<KubeObject>,
    backendsChanged: () => {
      enqueueProbes();
      enqueuePorts();
    },
    /** Also unplugs this node's probe ports: the next leader plugs them on its node (requested-chassis moves). */
    stop: async () => {
      probes.stop();
      await prober.stop();
      const vpcs = [...plugged.keys()];
      plugged.clear();
      for (const vpc of vpcs) await unplug(vpc);
    },
  };
}

/** The `addresses` of a probe port's Logical_Switch_Port among an owner's NB rows (a set: array or one value). */
export function probePortAddresses(rows: Array<{ table: string; row: Record<string, unknown> }>): string[] {
  const lsp = rows.find((r) => r.table === 'Logical_Switch_Port')?.row;
  const a = lsp?.addresses;
  if (Array.isArray(a)) return a.filter((x): x is string => typeof x === 'string');
  return typeof a === 'string' ? [a] : [];
}
