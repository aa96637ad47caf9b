import { IpAllocation, POD_ALLOCATION_ANNOTATION, parseIpAllocation } from '../k8s/allocation-annotation';
import { KubeApi, pollUntil } from '../k8s/kube-api';
import { OvsVsctl } from '../ovs/ovs-vsctl';
import { hostInterfaceName } from '../plumbing/netns-config';
import { PlumbRequest, PodPlumber } from '../plumbing/pod-plumber';
import { CniError, CniErrorCode } from '../protocol/cni-error';
import { parseCniRequest, replyVersion } from '../protocol/cni-request';
import { CniReply, CniRequest, CniResult, LATEST_CNI_VERSION, SUPPORTED_CNI_VERSIONS } from '../protocol/cni-types';
import { WireRequest } from '../protocol/wire';
import { KeyedMutex } from './keyed-mutex';

export interface CniHandlerOptions {
  /** How long ADD waits for the controller's allocation annotation. */
  allocationTimeoutMs: number;
  /** How long ADD waits for ovn-controller (or the DPU) once the interface is plugged. */
  plugTimeoutMs: number;
  /** Resolves to a reason when the node cannot serve ADD (STATUS answers 50 with it), undefined when ready. */
  notReadyReason: () => Promise<string | undefined>;
  log?: (line: string) => void;
}

/** Operation counters and latencies, exported as metrics by the app. */
export interface CniHandlerObserver {
  observe(command: string, exitCode: number, seconds: number): void;
}

/** Does the work of one CNI invocation: ADD / DEL / CHECK / VERSION / STATUS / GC. */
export class CniHandler {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly kube: KubeApi,
    private readonly plumber: PodPlumber,
    private readonly ovs: OvsVsctl,
    private readonly opts: CniHandlerOptions,
    private readonly observer?: CniHandlerObserver,
  ) {}

  /** Never throws: every failure becomes the spec's error JSON with a non-zero exit code. */
  async handle(wire: WireRequest): Promise<CniReply> {
    const started = Date.now();
    const command = wire.env.CNI_COMMAND ?? '?';
    let reply: CniReply;
    try {
      const req = parseCniRequest(wire.env, wire.stdin);
      const out = await this.dispatch(req);
      reply = { exitCode: 0, stdout: out === undefined ? '' : JSON.stringify(out) };
    } catch (err) {
      const e = CniError.from(err);
      reply = { exitCode: 1, stdout: JSON.stringify(e.toResult(replyVersion(wire.stdin))) };
    }
    const secs = (Date.now() - started) / 1000;
    this.observer?.observe(command, reply.exitCode, secs);
    this.opts.log?.(
      `cni ${command} container=${(wire.env.CNI_CONTAINERID ?? '').slice(0, 12)} exit=${reply.exitCode} ` +
        `${secs.toFixed(3)}s${reply.exitCode ? ' ' + reply.stdout : ''}`,
    );
    return reply;
  }

  private dispatch(req: CniRequest): Promise<unknown> {
    switch (req.command) {
      case 'VERSION':
        return Promise.resolve({
          cniVersion: SUPPORTED_CNI_VERSIONS.includes(req.conf.cniVersion as never)
            ? req.conf.cniVersion
            : LATEST_CNI_VERSION,
          supportedVersions: [...SUPPORTED_CNI_VERSIONS],
        });
      case 'ADD':
        return this.mutex.run(req.containerId, () => this.add(req));
      case 'DEL':
        return this.mutex.run(req.containerId, () => this.del(req));
      case 'CHECK':
        return this.mutex.run(req.containerId, () => this.check(req));
      case 'STATUS':
        return this.status();
      case 'GC':
        return this.gc(req);
    }
  }

  private podOf(req: CniRequest): { namespace: string; name: string } {
    const namespace = req.args.K8S_POD_NAMESPACE;
    const name = req.args.K8S_POD_NAME;
    if (!namespace || !name) {
      throw new CniError(
        CniErrorCode.InvalidEnvironment,
        'CNI_ARGS must carry K8S_POD_NAMESPACE and K8S_POD_NAME',
        `got CNI_ARGS keys: ${Object.keys(req.args).join(', ') || '(none)'}`,
      );
    }
    return { namespace, name };
  }

  private async waitAllocation(namespace: string, name: string, deadline: number): Promise<IpAllocation> {
    let seenPod = false;
    const raw = await pollUntil(async () => {
      const pod = await this.kube.getPod(namespace, name);
      seenPod ||= pod !== undefined;
      return pod?.annotations[POD_ALLOCATION_ANNOTATION];
    }, deadline);
    if (raw === undefined) {
      const secs = (this.opts.allocationTimeoutMs / 1000).toFixed(0);
      throw new CniError(
        CniErrorCode.TryAgainLater,
        seenPod
          ? `pod ${namespace}/${name} has no ${POD_ALLOCATION_ANNOTATION} annotation after ${secs}s`
          : `pod ${namespace}/${name} not found in the apiserver within ${secs}s`,
        'the ycloud controller allocates the address; is it running?',
      );
    }
    return parseIpAllocation(raw, `pod ${namespace}/${name}`);
  }

  private plumbRequest(req: CniRequest, alloc: IpAllocation, ns: string, name: string): PlumbRequest {
    return {
      req,
      alloc,
      podKey: `${ns}/${name}`,
      podNamespace: ns,
      podName: name,
      hostIfName: hostInterfaceName(req.containerId, req.ifname),
      deadline: Date.now() + this.opts.plugTimeoutMs,
    };
  }

  private async add(req: CniRequest): Promise<CniResult> {
    const { namespace, name } = this.podOf(req);
    const alloc = await this.waitAllocation(namespace, name, Date.now() + this.opts.allocationTimeoutMs);
    const p = this.plumbRequest(req, alloc, namespace, name);
    const plumbed = await this.plumber.add(p);
    const ips: CniResult['ips'] = alloc.addresses.map((a) => ({
      address: a.cidr,
      ...(a.gateway ? { gateway: a.gateway } : {}),
      interface: plumbed.containerIndex,
    }));
    const routes: CniResult['routes'] = alloc.addresses
      .filter((a) => a.gateway)
      .map((a) => ({ dst: a.family === 4 ? '0.0.0.0/0' : '::/0', gw: a.gateway }));
    return { cniVersion: req.conf.cniVersion, interfaces: plumbed.interfaces, ips, routes, dns: req.conf.dns ?? {} };
  }

  private async del(req: CniRequest): Promise<undefined> {
    try {
      await this.plumber.del(req, hostInterfaceName(req.containerId, req.ifname));
    } catch (err) {
      throw new CniError(CniErrorCode.IoFailure, `DEL ${req.containerId}: ${(err as Error).message}`);
    }
    return undefined;
  }

  /** CHECK: the plugged state must still match prevResult (and the pod's allocation when it is readable). */
  private async check(req: CniRequest): Promise<undefined> {
    const prev = req.conf.prevResult;
    if (!prev || !Array.isArray(prev.ips) || !prev.ips.length) {
      throw new CniError(CniErrorCode.InvalidNetworkConfig, 'CHECK needs prevResult with ips');
    }
    const { namespace, name } = this.podOf(req);
    const pod = await this.kube.getPod(namespace, name);
    const raw = pod?.annotations[POD_ALLOCATION_ANNOTATION];
    if (!raw) throw new CniError(CniErrorCode.UnknownContainer, `pod ${namespace}/${name} has no allocation any more`);
    const alloc = parseIpAllocation(raw, `pod ${namespace}/${name}`);
    if (prev.ips[0].address !== alloc.ip) {
      throw new CniError(
        CniErrorCode.InvalidNetworkConfig,
        `prevResult address ${prev.ips[0].address} != allocation ${alloc.ip}`,
      );
    }
    await this.plumber.check(this.plumbRequest(req, alloc, namespace, name));
    return undefined;
  }

  private async status(): Promise<undefined> {
    const reason = await this.opts.notReadyReason();
    if (reason) throw new CniError(CniErrorCode.NotAvailable, reason);
    return undefined;
  }

  /** GC (1.1): removes ycloud pod ports whose (container, ifname) the runtime no longer lists. */
  private async gc(req: CniRequest): Promise<undefined> {
    const valid = new Set((req.conf['cni.dev/valid-attachments'] ?? []).map((a) => `${a.containerID}/${a.ifname}`));
    const ours = await this.ovs.findInterfaces({ 'ycloud-network': req.conf.name });
    for (const i of ours) {
      const cid = i.externalIds['ycloud-sandbox'];
      const ifname = i.externalIds['ycloud-ifname'];
      if (!cid || !ifname || valid.has(`${cid}/${ifname}`)) continue;
      const stale: CniRequest = {
        ...req,
        command: 'DEL',
        containerId: cid,
        ifname,
        netns: i.externalIds['ycloud-netns'] ?? '',
      };
      await this.mutex.run(cid, () => this.plumber.del(stale, i.name));
    }
    return undefined;
  }
}
