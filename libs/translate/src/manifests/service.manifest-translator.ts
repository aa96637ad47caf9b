import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL } from '@ycloud/api';
import {
  nodeReplyRouteContextOf,
  translateNodeChassis,
  translateNodeReplyGateway,
  translateServiceFrom,
  type ServiceInputs,
} from '../service';
import { kindOf, vpcOfNamespace, type ManifestTranslator } from './manifest-translator';

/**
 * Services with their EndpointSlices, and Nodes (NodePort addresses, Chassis_Template_Var rows): the manifests
 * back the same ServiceInputs the controller backs with its caches.
 */
export const serviceManifestTranslator: ManifestTranslator = {
  name: 'service',
  kinds: ['Service', 'discovery.k8s.io/EndpointSlice', 'Node'],
  prepare(objects, ctx) {
    for (const o of objects) if (kindOf(o) === 'Node') ctx.nodes.push(o as unknown as V1Node);
  },
  translate(objects, ctx) {
    const slices = new Map<string, V1EndpointSlice[]>();
    for (const o of objects.filter((x) => kindOf(x) === 'discovery.k8s.io/EndpointSlice')) {
      const id = `${o.metadata.namespace ?? 'default'}/${o.metadata.labels?.[SERVICE_NAME_LABEL] ?? ''}`;
      slices.set(id, [...(slices.get(id) ?? []), o as unknown as V1EndpointSlice]);
    }
    const nodeReplyRoutesOf = (vpc: string) =>
      nodeReplyRouteContextOf(vpc, {
        defaultVpc: ctx.defaultVpc,
        ownIpv4DefaultRoute: ctx.eipDefaultPool,
        cidrsOf: (v) => ctx.vpcCidrs.get(v) ?? [],
        joinCidrsOf: (v) => ctx.joinCidrs.get(v) ?? [],
      });
    const inputs: ServiceInputs = {
      endpointSlicesFor: (namespace, name) => slices.get(`${namespace}/${name}`) ?? [],
      nodes: () => ctx.nodes,
      vpcForNamespace: (namespace) => vpcOfNamespace(ctx, namespace),
      ipFamiliesOf: (vpc) => ctx.vpcFamilies.get(vpc),
      lbGroupKey: ctx.lbGroupKey,
      offloadSelectionFields: ctx.offloadSelectionFields,
      nodeReplyRoutesOf,
    };
    const out = objects
      .filter((o) => kindOf(o) === 'Service')
      .map((o) => translateServiceFrom(o as unknown as V1Service, inputs))
      // The preview prints a warning as object, field and message.
      .map(({ state, warnings }) => ({
        state,
        warnings: warnings.map(({ object, field, message }) => ({ object, field, message })),
      }));
    for (const node of ctx.nodes) out.push({ state: translateNodeChassis(node), warnings: [] });
    const gateway = translateNodeReplyGateway(ctx.defaultVpc, nodeReplyRoutesOf(ctx.defaultVpc));
    if (gateway.rows.length) out.push({ state: gateway, warnings: [] });
    return out;
  },
};
