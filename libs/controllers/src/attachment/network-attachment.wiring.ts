import type { V1Pod } from '@kubernetes/client-node';
import type { BareMetalServer, ControllerConfig, Subnet, VNic } from '@ycloud/api';
import {
  isNotFound,
  type Controller,
  type EventHandler,
  type Informer,
  type KeyMapper,
  type KubeClient,
  type KubeObject,
} from '@ycloud/k8s';
import type { NorthboundApplier } from '@ycloud/ovn';
import type { SubnetIpam } from '../ipam/subnet-ipam';
import { YUSUR_RESOURCES } from '../yusur/yusur-resources';
import { NetworkAttachmentController } from './network-attachment.controller';

type Inf<T> = Pick<Informer<T & KubeObject>, 'store' | 'addHandler'>;

/** What the manager lends the attachment controller. */
export interface NetworkAttachmentWiring {
  kube: KubeClient;
  config: Pick<ControllerConfig, 'mtu'>;
  applier: NorthboundApplier;
  ipam: SubnetIpam;
  /** Subnets whose switches exist (built-in and Ready Subnet resources). */
  subnets(): Subnet[];
  /** The caches the YusurService wiring already keeps (one informer per resource). */
  bareMetalServers: Inf<BareMetalServer>;
  vnics: Inf<VNic>;
  pods: Inf<V1Pod>;
  /** Subnet resources: a Subnet appearing or becoming Ready can attach what waited for it. */
  subnetObjects: Inf<Subnet>;
  controller(name: string, reconcile: (key: string) => Promise<unknown>): Controller;
  noting<T extends KubeObject>(c: Controller, reason: string, map?: KeyMapper<T>): EventHandler<T>;
  /** The reason a key was queued (the change journal). */
  reasonOf(key: string): string;
}

/** NB owner kinds of attachment rows; the controller's keys are these owners' names (start-up repair). */
export const ATTACHMENT_OWNER_KINDS = ['BareMetalServer', 'VNic'] as const;

/**
 * Creates the attachment controller, re-records the attached addresses in the IPAM (call before the pod controller
 * starts allocating) and hooks the informers. Returns the controller.
 */
export function wireNetworkAttachments(w: NetworkAttachmentWiring): Controller {
  const attachments = new NetworkAttachmentController({
    bareMetalServers: w.bareMetalServers.store,
    vnics: w.vnics.store,
    pods: w.pods.store,
    subnets: () => w.subnets(),
    ipam: w.ipam,
    applier: w.applier,
    config: w.config,
    writeStatus: async (kind, namespace, name, status) => {
      try {
        await w.kube.mergePatch(YUSUR_RESOURCES[kind], namespace, name, { status }, 'status');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  });
  attachments.restoreAll();
  const c = w.controller('network-attachment', (key) => attachments.reconcile(key, w.reasonOf(key)));
  // A freed address may resolve another attachment's conflict.
  const freed = (): string[] => attachments.conflictedKeys();
  const retryConflicts = w.noting<KubeObject>(c, 'address freed', freed);
  const onDeleteRetry: EventHandler<KubeObject> = { onDelete: (o) => retryConflicts.onDelete?.(o) };
  w.bareMetalServers.addHandler(w.noting(c, 'BareMetalServer changed'));
  w.vnics.addHandler(w.noting(c, 'VNic changed'));
  for (const inf of [w.bareMetalServers, w.vnics, w.pods] as Array<Inf<unknown>>) inf.addHandler(onDeleteRetry);
  w.subnetObjects.addHandler(w.noting(c, 'Subnet changed', () => attachments.allKeys()));
  // A VNic attached to a pod follows the pod's node.
  w.pods.addHandler(
    w.noting<V1Pod & KubeObject>(c, 'Pod changed', (pod) =>
      w.vnics.store
        .list()
        .filter(
          (v) =>
            v.metadata.namespace === pod.metadata?.namespace &&
            v.spec?.attachedTo?.kind === 'Pod' &&
            v.spec.attachedTo.name === pod.metadata?.name,
        )
        .map((v) => `${v.metadata.namespace}/${v.metadata.name}`),
    ),
  );
  return c;
}
