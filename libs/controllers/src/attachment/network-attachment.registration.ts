import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { OWNER_KINDS, type BareMetalServer, type Subnet, type VNic } from '@ycloud/api';
import { isNotFound, type KubeObject } from '@ycloud/k8s';
import type { ControllerRegistration } from '../common/registration';
import { TOPOLOGY_RESOURCES } from '../topology/topology-objects.controller';
import { YUSUR_RESOURCES } from '../yusur/yusur-resources';
import { NetworkAttachmentController } from './network-attachment.controller';

/** NB owner kinds of attachment rows; the controller's keys are these owners' names. */
export const ATTACHMENT_OWNER_KINDS = [OWNER_KINDS.BareMetalServer, OWNER_KINDS.VNic] as const;

/**
 * Network attachments of BareMetalServers and VNics (ADR 0006). Setup re-records the attached addresses in the
 * IPAM, so it runs before the pod controller allocates (setups all run before any controller starts).
 */
export const networkAttachmentRegistration: ControllerRegistration = {
  name: 'network-attachment',
  requires: [
    ...Object.values(TOPOLOGY_RESOURCES),
    YUSUR_RESOURCES.YusurService,
    YUSUR_RESOURCES.BareMetalServer,
    YUSUR_RESOURCES.VNic,
  ],
  ownerKey: (owner) => ((ATTACHMENT_OWNER_KINDS as readonly string[]).includes(owner.kind) ? owner.name : undefined),
  async setup(b) {
    const env = b.env;
    const bareMetalServers = env.informers.get<BareMetalServer & KubeObject>(YUSUR_RESOURCES.BareMetalServer);
    const vnics = env.informers.get<VNic & KubeObject>(YUSUR_RESOURCES.VNic);
    const subnetObjects = env.informers.get<Subnet & KubeObject>(TOPOLOGY_RESOURCES.Subnet);
    const pods = env.caches.pods;
    const nodes = env.caches.nodes;
    await Promise.all([
      nodes.waitForSync(),
      bareMetalServers.waitForSync(),
      vnics.waitForSync(),
      subnetObjects.waitForSync(),
    ]);
    const attachments = new NetworkAttachmentController({
      bareMetalServers: bareMetalServers.store,
      vnics: vnics.store,
      pods: pods.store,
      nodes: nodes.store,
      subnets: () => env.subnets(),
      ipam: env.ipam,
      applier: env.northbound.applier,
      config: env.config,
      writeStatus: async (kind, namespace, name, status) => {
        try {
          await env.kube.mergePatch(YUSUR_RESOURCES[kind], namespace, name, { status }, 'status');
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      },
    });
    attachments.restoreAll();
    // A freed address may resolve another attachment's conflict.
    const onDeleteRetry = {
      onDelete: () => attachments.conflictedKeys().forEach((k) => b.enqueue(k, 'address freed')),
    };
    b.watch(bareMetalServers, 'BareMetalServer changed').watch(vnics, 'VNic changed');
    for (const inf of [bareMetalServers, vnics, pods]) inf.addHandler(onDeleteRetry);
    b.watch(subnetObjects, 'Subnet changed', () => attachments.allKeys());
    // A VNic attached to a pod follows the pod's node.
    b.watch<V1Pod & KubeObject>(pods, 'Pod changed', (pod) =>
      vnics.store
        .list()
        .filter(
          (v) =>
            v.metadata.namespace === pod.metadata?.namespace &&
            v.spec?.attachedTo?.kind === 'Pod' &&
            v.spec.attachedTo.name === pod.metadata?.name,
        )
        .map((v) => `${v.metadata.namespace}/${v.metadata.name}`),
    );
    // A BareMetalServer waiting for its spec.node (NodeNotFound) recovers when the Node appears, and is told when it goes.
    b.watch<V1Node & KubeObject>(nodes, 'Node changed', (node) =>
      bareMetalServers.store
        .list()
        .filter((s) => s.spec?.node === node.metadata?.name)
        .map((s) => s.metadata.name),
    );
    b.resyncKeys(() => attachments.allKeys());
    return (key, ctx) => attachments.reconcile(key, ctx);
  },
};
