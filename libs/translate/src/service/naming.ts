/** Names and keys of the rows a Service owns. Stable: they are how apply finds rows again. */
import type { LbProtocol } from '../lb/load-balancer.model';

/** The per-protocol load balancer: every cluster-wide VIP of the Service for that protocol, both families. */
export function serviceLbKey(namespace: string, name: string, protocol: LbProtocol): string {
  return `lb:Service:${namespace}/${name}:${protocol}`;
}

export function serviceLbName(namespace: string, name: string, protocol: LbProtocol): string {
  return `Service_${namespace}/${name}_${protocol.toUpperCase()}`;
}

/** The template load balancer for node-local traffic (one per protocol and family: `address-family` is per LB). */
export function serviceLocalLbKey(namespace: string, name: string, protocol: LbProtocol, family: 4 | 6): string {
  return `lb:Service:${namespace}/${name}:${protocol}:local:ipv${family}`;
}

export function serviceLocalLbName(namespace: string, name: string, protocol: LbProtocol, family: 4 | 6): string {
  return `Service_${namespace}/${name}_${protocol.toUpperCase()}_local_v${family}`;
}

/** Key of the Chassis_Template_Var row of a chassis (owned by the Node; Services add map entries to it). */
export function chassisTemplateVarKey(chassis: string): string {
  return `ctv:${chassis}`;
}
