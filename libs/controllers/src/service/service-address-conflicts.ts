import type { V1Service } from '@kubernetes/client-node';
import { firstHost, formatIp, parseCidr, parseIp, type IpFamily, type Subnet } from '@ycloud/api';

/** Who else holds addresses a Service may ask for (all from caches). */
export interface AddressHolders {
  services: V1Service[];
  /** VPC router ports (subnet gateways), e.g. `{ address: '10.16.0.1', what: 'the router port of Subnet default' }`. */
  routerAddresses: Array<{ address: string; what: string }>;
  /** The pod holding an address (`namespace/name`), if any. */
  podOf(ip: string): string | undefined;
}

const canon = (text: string | undefined): string | undefined => {
  const ip = text ? parseIp(text) : undefined;
  return ip && formatIp(ip);
};
const keyOf = (s: V1Service) => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
const clusterIPsOf = (s: V1Service): string[] =>
  (s.spec?.clusterIPs ?? [s.spec?.clusterIP]).map(canon).filter((x): x is string => !!x);
/** RFC 3339 text (the caches hold the apiserver's JSON; client-node's types say Date). */
const createdAt = (s: V1Service): string => {
  const v = s.metadata?.creationTimestamp as unknown;
  return v instanceof Date ? v.toISOString() : String(v ?? '');
};
/** Of two Services asking for one address, the older (then the first by key) has it. */
const precedes = (a: V1Service, b: V1Service): boolean => {
  const ta = createdAt(a);
  const tb = createdAt(b);
  return ta !== tb ? ta < tb : keyOf(a) < keyOf(b);
};

/** Whether a Service asks for an address something else may hold: externalIPs, or a LoadBalancer's loadBalancerIP. */
export function asksForAddresses(svc: V1Service): boolean {
  return (svc.spec?.externalIPs ?? []).length > 0 || (svc.spec?.type === 'LoadBalancer' && !!svc.spec?.loadBalancerIP);
}

/**
 * Addresses a Service asks for that something else already has: an externalIP that is another Service's ClusterIP,
 * a VPC router port's or a pod's address (two things would answer for it), and a loadBalancerIP an older
 * LoadBalancer Service asks for too. Pure; each message names the field, the address and the holder. The Service
 * is still programmed (kube-proxy programs such Services too): these become Warning Events (AddressConflict).
 */
export function serviceAddressConflicts(svc: V1Service, holders: AddressHolders): string[] {
  const out: string[] = [];
  if (!asksForAddresses(svc)) return out;
  const me = keyOf(svc);
  const others = holders.services.filter((s) => keyOf(s) !== me);
  (svc.spec?.externalIPs ?? []).forEach((text, i) => {
    const ip = canon(text);
    if (!ip) return;
    const field = `spec.externalIPs[${i}]`;
    const owner = others.find((s) => clusterIPsOf(s).includes(ip));
    if (owner) out.push(`${field}: ${ip} is the ClusterIP of Service ${keyOf(owner)}`);
    const router = holders.routerAddresses.find((r) => canon(r.address) === ip);
    if (router) out.push(`${field}: ${ip} is the address of ${router.what}`);
    const pod = holders.podOf(ip);
    if (pod) out.push(`${field}: ${ip} is the address of pod ${pod}`);
  });
  const lbIP = svc.spec?.type === 'LoadBalancer' ? canon(svc.spec?.loadBalancerIP) : undefined;
  if (lbIP) {
    const first = others
      .filter((s) => s.spec?.type === 'LoadBalancer' && canon(s.spec?.loadBalancerIP) === lbIP)
      .find((s) => precedes(s, svc));
    if (first) {
      out.push(
        `spec.loadBalancerIP: ${lbIP} is asked for by Service ${keyOf(first)} too, which has it (older or first by name)`,
      );
    }
  }
  return out;
}

/** A Service's VPC and the address families its Subnets have (from their cidrBlocks). */
export interface ServiceVpcFamilies {
  vpc: string;
  families: IpFamily[];
}

/**
 * ClusterIPs of a family the Service's VPC has no Subnet for (an IPv6 ClusterIP in an IPv4-only VPC): no pod there
 * has an address of that family to reach it from. Pure; each message names the field, the address and the VPC. The
 * Service is still programmed (its other families work): these become Warning Events (IPFamilyNotInVpc). A VPC
 * with no Subnet at all says nothing either way.
 */
export function serviceFamilyMismatches(svc: V1Service, vpc: ServiceVpcFamilies): string[] {
  if (!vpc.families.length) return [];
  const have = [...new Set(vpc.families)].sort().map((f) => `IPv${f}`);
  const ips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []);
  const field = svc.spec?.clusterIPs ? 'spec.clusterIPs' : 'spec.clusterIP';
  return ips.flatMap((text, i) => {
    const ip = parseIp(text);
    if (!ip || vpc.families.includes(ip.family)) return [];
    const at = field === 'spec.clusterIPs' ? `${field}[${i}]` : field;
    return [`${at}: ${formatIp(ip)} is IPv${ip.family}, but the Subnets of Vpc ${vpc.vpc} are ${have.join('/')} only`];
  });
}

/** The address families of a VPC's Subnets. */
export function vpcFamiliesOf(vpc: string, subnets: Subnet[]): ServiceVpcFamilies {
  const families = new Set<IpFamily>();
  for (const s of subnets)
    if (s.spec.vpc === vpc)
      for (const c of s.spec.cidrBlocks ?? []) {
        const cidr = parseCidr(c);
        if (cidr) families.add(cidr.family);
      }
  return { vpc, families: [...families] };
}

/** The VPC router's address on each subnet: its gateways, else the first host of each CIDR. */
export function routerAddressesOf(subnets: Subnet[]): AddressHolders['routerAddresses'] {
  return subnets.flatMap((s) => {
    const what = `the VPC router port of Subnet ${s.metadata.name}`;
    const cidrs = (s.spec.cidrBlocks ?? []).map((c) => parseCidr(c)).filter((c) => c !== undefined);
    const gateways = s.spec.gateways?.length ? s.spec.gateways : cidrs.map((c) => formatIp(firstHost(c)));
    return gateways.map((address) => ({ address, what }));
  });
}
