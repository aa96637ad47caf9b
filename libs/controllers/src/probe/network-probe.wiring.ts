import type { V1Pod } from '@kubernetes/client-node';
import { crdResources, type ControllerConfig, type NetworkProbe, type Subnet } from '@ycloud/api';
import { Informer, KubeClient, type Controller, type KubeObject, type Logger } from '@ycloud/k8s';
import type { NorthboundApplier } from '@ycloud/ovn';
import { Prober, plugProbePort, unplugProbePort, type ProbePortHost } from '@ycloud/probe';
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
  /** ControllerManager's controller factory (metrics, workers, cache waits). */
  controller(name: string, reconcile: (key: string) => Promise<unknown>): Controller;
}

/**
 * Starts the NetworkProbe informer, the probe-port controller (keyed by VPC) and the NetworkProbe controller
 * (keyed by object), wired together: probe changes re-queue ports and probes, a plugged port re-queues the
 * probes. Returns the informer (for the manager's list) and a stop function (prober, workers, timers).
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
  const ports = new ProbePortController({
    subnets: w.subnets,
    ipam: w.ipam,
    applier: w.applier,
    config: w.config,
    nodeName: w.runtime.nodeName,
    wantedVpcs,
    publish: async (vpc, plug) => {
      if (plug) plugged.set(vpc, await plugProbePort(w.runtime.host, { ...plug, prefix: w.runtime.netnsPrefix }));
      else if (plugged.delete(vpc)) await unplugProbePort(w.runtime.host, vpc, w.runtime.netnsPrefix);
      enqueueProbes();
    },
  });
  const portController = w.controller('probe-port', (vpc) => ports.reconcile(vpc, 'NetworkProbe targets changed'));
  const enqueuePorts = () => new Set([...wantedVpcs(), ...plugged.keys()]).forEach((v) => portController.enqueue(v));
  const onProbe = (o: KubeObject) => {
    probeController.enqueue(`${o.metadata?.namespace}/${o.metadata?.name}`);
    enqueuePorts();
  };
  informer.addHandler({ onAdd: onProbe, onUpdate: (_o, n) => onProbe(n), onDelete: onProbe });
  return {
    informer: informer as unknown as Informer<KubeObject>,
    backendsChanged: () => {
      enqueueProbes();
      enqueuePorts();
    },
    stop: async () => {
      probes.stop();
      await prober.stop();
    },
  };
}
