import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { CHASSIS_ANNOTATION, SERVICE_NAME_LABEL } from '@ycloud/api';
import { translateChassisTemplateVar, translateService, type ServiceNode } from '../service';
import type { KubeObject } from './manifest-loader';
import { kindOf, vpcOfNamespace, type ManifestTranslator } from './manifest-translator';

/** NodePort VIPs listen on a node's InternalIPs; the chassis is the node name unless annotated. */
export function serviceNodeOf(node: V1Node): ServiceNode {
  return {
    name: node.metadata?.name ?? '',
    chassis: node.metadata?.annotations?.[CHASSIS_ANNOTATION] ?? node.metadata?.name ?? '',
    addresses: (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
  };
}

/** Services with their EndpointSlices, and Nodes (NodePort addresses, Chassis_Template_Var rows). */
export const serviceManifestTranslator: ManifestTranslator = {
  name: 'service',
  kinds: ['Service', 'discovery.k8s.io/EndpointSlice', 'Node'],
  prepare(objects, ctx) {
    for (const o of objects) if (kindOf(o) === 'Node') ctx.nodes.push(serviceNodeOf(o as unknown as V1Node));
  },
  translate(objects, ctx) {
    const slices = new Map<string, V1EndpointSlice[]>();
    for (const o of objects.filter((x) => kindOf(x) === 'discovery.k8s.io/EndpointSlice')) {
      const id = `${o.metadata.namespace ?? 'default'}/${o.metadata.labels?.[SERVICE_NAME_LABEL] ?? ''}`;
      slices.set(id, [...(slices.get(id) ?? []), o as unknown as V1EndpointSlice]);
    }
    const out = objects
      .filter((o: KubeObject) => kindOf(o) === 'Service')
      .map((o) => {
        const service = o as unknown as V1Service;
        const ns = service.metadata?.namespace ?? 'default';
        const vpc = vpcOfNamespace(ctx, ns);
        return translateService(service, slices.get(`${ns}/${service.metadata?.name}`) ?? [], {
          vpc,
          lbGroupKey: ctx.lbGroupKey,
          ipFamilies: ctx.vpcFamilies.get(vpc),
          offloadSelectionFields: ctx.offloadSelectionFields,
          nodes: ctx.nodes,
        });
      })
      // The preview prints a warning as object, field and message.
      .map(({ state, warnings }) => ({
        state,
        warnings: warnings.map(({ object, field, message }) => ({ object, field, message })),
      }));
    for (const node of ctx.nodes) out.push({ state: translateChassisTemplateVar(node), warnings: [] });
    return out;
  },
};
