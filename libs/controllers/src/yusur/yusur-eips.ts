import {
  API_VERSION,
  YUSUR_SERVICE_EIP_LABEL,
  type ControllerConfig,
  type Eip,
  type Vpc,
  type YusurService,
} from '@ycloud/api';
import { isNotFound, type KubeClient } from '@ycloud/k8s';
import type { ObjectCache } from '../common/ports';
import { TOPOLOGY_RESOURCES } from '../topology/topology-objects.controller';

export type EipOutcome =
  { ok: true; address: string; pool: string } | { ok: false; reason: string; message: string } | { ok: 'none' };

export interface YusurEipDeps {
  eips: ObjectCache<Eip>;
  vpcs: ObjectCache<Vpc>;
  config: ControllerConfig;
  kube: KubeClient;
}

/** Name of the Eip the controller creates for a YusurService (address or pool given). */
export function yusurEipName(namespace: string, name: string): string {
  return `ysvc-${namespace}-${name}`.slice(0, 253);
}

/**
 * YusurService ↔ Eip, reusing the Eip machinery (the topology controller's EipAddressBook allocates; the Eip's
 * status carries the address): a named Eip is bound to the service; an address or pool gets an Eip the
 * controller creates and deletes with the service.
 */
export class YusurEips {
  constructor(private readonly deps: YusurEipDeps) {}

  async ensure(svc: YusurService, vpc: string): Promise<EipOutcome> {
    const want = svc.spec.scenarios?.eip;
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name;
    if (!want) {
      await this.releaseAll(ns, name);
      return { ok: 'none' };
    }
    const eip = want.eipName ? await this.bindNamed(ns, name, want.eipName) : await this.ensureOwn(svc, vpc);
    // Only Eips other than the one wanted now (which may have just been created and not be in the cache yet).
    await this.releaseAll(ns, name, want.eipName ?? yusurEipName(ns, name));
    if ('ok' in eip) return eip;
    const address = eip.status?.address;
    if (!address) {
      const ready = eip.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False');
      return ready
        ? { ok: false, reason: ready.reason, message: `Eip ${eip.metadata.name}: ${ready.message ?? ready.reason}` }
        : { ok: false, reason: 'AddressPending', message: `Eip ${eip.metadata.name} has no address yet` };
    }
    return { ok: true, address, pool: eip.spec.pool };
  }

  /** Frees every Eip bound to the service except `keep`. */
  async releaseAll(namespace: string, name: string, keep?: string): Promise<void> {
    const bound = this.deps.eips
      .list()
      .filter(
        (e) =>
          e.spec.binding?.kind === 'YusurService' &&
          e.spec.binding.namespace === namespace &&
          e.spec.binding.name === name &&
          e.metadata.name !== keep,
      );
    for (const e of bound) {
      if (e.metadata.labels?.[YUSUR_SERVICE_EIP_LABEL]) await this.delete(e.metadata.name);
      else await this.patch(e.metadata.name, { spec: { binding: null } });
    }
  }

  private async bindNamed(namespace: string, name: string, eipName: string): Promise<Eip | EipOutcome> {
    const eip = this.deps.eips.get(eipName);
    if (!eip) return { ok: false, reason: 'EipNotFound', message: `Eip ${eipName} does not exist` };
    const b = eip.spec.binding;
    if (b && (b.kind !== 'YusurService' || b.namespace !== namespace || b.name !== name)) {
      return {
        ok: false,
        reason: 'EipInUse',
        message: `Eip ${eipName} is bound to ${b.kind} ${b.namespace}/${b.name}`,
      };
    }
    if (!b) await this.patch(eipName, { spec: { binding: { kind: 'YusurService', namespace, name } } });
    return eip;
  }

  private async ensureOwn(svc: YusurService, vpcName: string): Promise<Eip | EipOutcome> {
    const namespace = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name;
    const want = svc.spec.scenarios.eip!;
    const pool =
      want.pool ?? this.deps.vpcs.get(vpcName)?.spec.externalGateway?.eipPool ?? this.deps.config.eip.defaultPool;
    if (!pool) {
      return {
        ok: false,
        reason: 'NoEipPool',
        message: 'no EipPool: set spec.scenarios.eip.pool, the Vpc external gateway or eip.defaultPool',
      };
    }
    const eipName = yusurEipName(namespace, name);
    const existing = this.deps.eips.get(eipName);
    if (existing && (existing.spec.pool !== pool || existing.spec.address !== want.address)) {
      await this.delete(eipName); // pool and address are immutable: replace it
      return { ok: false, reason: 'AddressPending', message: `replacing Eip ${eipName}` };
    }
    if (existing) return existing;
    const eip: Eip = {
      apiVersion: API_VERSION,
      kind: 'Eip',
      metadata: { name: eipName, labels: { [YUSUR_SERVICE_EIP_LABEL]: `${namespace}.${name}` } },
      spec: {
        pool,
        ...(want.address ? { address: want.address } : {}),
        binding: { kind: 'YusurService', namespace, name },
      },
    };
    await this.deps.kube.create(TOPOLOGY_RESOURCES.Eip, undefined, eip as never);
    return { ok: false, reason: 'AddressPending', message: `Eip ${eipName} created, waiting for its address` };
  }

  private async patch(name: string, body: unknown): Promise<void> {
    try {
      await this.deps.kube.mergePatch(TOPOLOGY_RESOURCES.Eip, undefined, name, body as never);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async delete(name: string): Promise<void> {
    try {
      await this.deps.kube.delete(TOPOLOGY_RESOURCES.Eip, undefined, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
