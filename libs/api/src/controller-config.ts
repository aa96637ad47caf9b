import { cidrContains, parseCidr, parseIp } from './ipam/ip';
import { DEFAULT_LOAD_BALANCER_CLASS } from './names';

/** A subnet the controller creates itself (the default pod subnet, the join subnet). */
export interface BuiltinSubnetConfig {
  /** Subnet name (and OVN switch `subnet-<name>`). */
  name: string;
  /** One IPv4 and/or one IPv6 CIDR. */
  cidrBlocks: string[];
  /** One gateway per family; default: first host of each CIDR. */
  gateways?: string[];
  excludeIps?: string[];
}

/** The controller's typed configuration. Build it with `parseControllerConfig`. */
export interface ControllerConfig {
  /** Name of the VPC that serves every namespace no other Vpc claims. */
  defaultVpc: string;
  /** The default VPC's pod subnet. */
  defaultSubnet: BuiltinSubnetConfig;
  /** Node addresses on the default VPC router (node ports, host-to-pod and host-to-ClusterIP traffic). */
  joinSubnet: BuiltinSubnetConfig;
  /** Kubernetes Service CIDRs (one per family), as given to the apiserver. */
  serviceCIDRs: string[];
  /** OVN Northbound remote, e.g. `tcp:10.0.0.2:6641`, `ssl:...`, `unix:/run/ovn/ovnnb_db.sock`. */
  nbRemote: string;
  /** Pod interface MTU (underlay MTU minus Geneve overhead). */
  mtu: number;
  offload: {
    /** Set Load_Balancer.selection_fields so OVS uses `hash` instead of `dp_hash` (offloadable NICs). */
    selectionFields: boolean;
  };
  eip: {
    /** EipPool the default VPC uses for north-south traffic, if any. */
    defaultPool?: string;
    /** Link network of every EipPool's transit switch (gateway router + VPC gateway ports). */
    transitCIDR: string;
    /**
     * `spec.loadBalancerClass` of the LoadBalancer Services ycloud gives EIPs to, besides those with no class;
     * Services of any other class belong to another load-balancer provider and are left alone.
     */
    loadBalancerClass: string;
  };
  serviceGateway: {
    /**
     * System range the service-gateway's link networks (one /30 per YusurService and link) are allocated from
     * (docs/adr/0004-service-gateway.md); disjoint from the other networks.
     */
    linkCIDR: string;
  };
  /**
   * The periodic full reconcile: every key of every controller is queued again, so drift the Northbound monitor did
   * not show is repaired too (nothing is written when nothing drifted).
   */
  resync: {
    /** Seconds between full reconciles (default 300); 0 turns them off. */
    intervalSeconds: number;
    /** Each wait is lengthened by up to this fraction, at random, so replicas and restarts do not align (0.1). */
    jitter: number;
  };
  drift: {
    /**
     * Repair an owned row as soon as the Northbound monitor shows another writer changed it (default true). false:
     * drift is only counted (`ycloud_nb_drift_detected_total`) and logged, e.g. while someone debugs OVN by hand;
     * the periodic resync and any change of the Kubernetes object still rewrite the rows.
     */
    repairOnChange: boolean;
  };
  northbound: {
    /**
     * Append `nb_cfg += 1` on NB_Global to each transaction ycloud commits (default true): OVN's own "installed on
     * every node" barrier (what `ovn-nbctl --wait=hv` uses), from which `ycloud_network_programming_duration_seconds`
     * measures to the nodes' flows. false: ycloud never writes NB_Global (e.g. when another tool owns nb_cfg); that
     * histogram then stays empty and only the NB commit stage is measured.
     */
    nbCfgBarrier: boolean;
  };
}

export const DEFAULT_CONTROLLER_CONFIG: ControllerConfig = {
  defaultVpc: 'default',
  defaultSubnet: { name: 'default', cidrBlocks: ['10.16.0.0/16'] },
  joinSubnet: { name: 'join', cidrBlocks: ['100.64.0.0/16'] },
  serviceCIDRs: ['10.96.0.0/12'],
  nbRemote: 'unix:/var/run/ovn/ovnnb_db.sock',
  mtu: 1400,
  offload: { selectionFields: false },
  eip: { transitCIDR: '100.65.0.0/16', loadBalancerClass: DEFAULT_LOAD_BALANCER_CLASS },
  serviceGateway: { linkCIDR: '100.66.0.0/16' },
  resync: { intervalSeconds: 300, jitter: 0.1 },
  drift: { repairOnChange: true },
  northbound: { nbCfgBarrier: true },
};

/** Thrown by `parseControllerConfig`; `errors` lists every problem as `path: message`. */
export class ControllerConfigError extends Error {
  constructor(readonly errors: string[]) {
    super(`invalid controller config:\n  ${errors.join('\n  ')}`);
    this.name = 'ControllerConfigError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_RE =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const REMOTE_RE =
  /^(tcp|ssl):(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}(,(tcp|ssl):(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5})*$|^unix:\S+$/;

/**
 * Validates a plain object (parsed YAML/JSON, keys as in `ControllerConfig`) and fills defaults.
 * Unknown keys are errors, so typos do not pass silently. Throws `ControllerConfigError` listing every problem.
 */
export function parseControllerConfig(input: unknown): ControllerConfig {
  const errors: string[] = [];
  const obj = input === undefined || input === null ? {} : input;
  if (!isObj(obj)) throw new ControllerConfigError(['(root): must be an object']);
  const d = DEFAULT_CONTROLLER_CONFIG;
  checkKeys(obj, Object.keys(d), '', errors);

  const str = (o: Obj, k: string, path: string, def?: string): string => {
    const v = o[k];
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== 'string' || v === '') errors.push(`${path}${k}: must be a non-empty string`);
    return typeof v === 'string' ? v : (def ?? '');
  };
  const cidrList = (v: unknown, path: string, def: string[]): string[] => {
    if (v === undefined) return def;
    if (!Array.isArray(v) || v.length === 0 || v.length > 2) {
      errors.push(`${path}: must be a list of one or two CIDRs (one per family)`);
      return def;
    }
    const fams = new Set<number>();
    for (const [i, c] of v.entries()) {
      const p = typeof c === 'string' ? parseCidr(c, true) : undefined;
      if (!p) errors.push(`${path}[${i}]: ${JSON.stringify(c)} is not a CIDR with host bits zero`);
      else if (fams.has(p.family)) errors.push(`${path}[${i}]: a second IPv${p.family} CIDR`);
      else fams.add(p.family);
    }
    return v as string[];
  };
  const subnet = (k: 'defaultSubnet' | 'joinSubnet'): BuiltinSubnetConfig => {
    const v = obj[k];
    if (v === undefined) return d[k];
    if (!isObj(v)) {
      errors.push(`${k}: must be an object`);
      return d[k];
    }
    checkKeys(v, ['name', 'cidrBlocks', 'gateways', 'excludeIps'], `${k}.`, errors);
    const name = str(v, 'name', `${k}.`, d[k].name);
    if (!NAME_RE.test(name)) errors.push(`${k}.name: ${JSON.stringify(name)} is not a DNS label`);
    const cidrBlocks = cidrList(v.cidrBlocks, `${k}.cidrBlocks`, d[k].cidrBlocks);
    const out: BuiltinSubnetConfig = { name, cidrBlocks };
    if (v.gateways !== undefined) {
      const gws = Array.isArray(v.gateways) ? v.gateways : [];
      if (!Array.isArray(v.gateways)) errors.push(`${k}.gateways: must be a list of IPs`);
      gws.forEach((g, i) => {
        const ip = typeof g === 'string' ? parseIp(g) : undefined;
        const inside =
          ip &&
          cidrBlocks.some((c) => {
            const p = parseCidr(c);
            return p !== undefined && cidrContains(p, ip);
          });
        if (!inside) errors.push(`${k}.gateways[${i}]: ${JSON.stringify(g)} is not an IP inside cidrBlocks`);
      });
      out.gateways = gws as string[];
    }
    if (v.excludeIps !== undefined) {
      if (!Array.isArray(v.excludeIps) || v.excludeIps.some((x) => typeof x !== 'string')) {
        errors.push(`${k}.excludeIps: must be a list of strings`);
      } else out.excludeIps = v.excludeIps as string[];
    }
    return out;
  };

  const defaultVpc = str(obj, 'defaultVpc', '', d.defaultVpc);
  if (!NAME_RE.test(defaultVpc)) errors.push(`defaultVpc: ${JSON.stringify(defaultVpc)} is not a DNS label`);
  const nbRemote = str(obj, 'nbRemote', '', d.nbRemote);
  if (nbRemote && !REMOTE_RE.test(nbRemote)) {
    errors.push(`nbRemote: ${JSON.stringify(nbRemote)} is not tcp:HOST:PORT, ssl:HOST:PORT or unix:PATH`);
  }
  let mtu = d.mtu;
  if (obj.mtu !== undefined) {
    if (typeof obj.mtu !== 'number' || !Number.isInteger(obj.mtu) || obj.mtu < 1280 || obj.mtu > 9000) {
      errors.push('mtu: must be an integer between 1280 and 9000');
    } else mtu = obj.mtu;
  }
  const selectionFields = parseOffload(obj.offload, errors);
  const eip = parseEip(obj.eip, errors);
  const serviceGateway = parseServiceGateway(obj.serviceGateway, errors);
  const resync = parseResync(obj.resync, errors);
  const drift = parseDrift(obj.drift, errors);
  const northbound = parseNorthbound(obj.northbound, errors);
  const config: ControllerConfig = {
    defaultVpc,
    defaultSubnet: subnet('defaultSubnet'),
    joinSubnet: subnet('joinSubnet'),
    serviceCIDRs: cidrList(obj.serviceCIDRs, 'serviceCIDRs', d.serviceCIDRs),
    nbRemote,
    mtu,
    offload: { selectionFields },
    eip,
    serviceGateway,
    resync,
    drift,
    northbound,
  };
  if (config.defaultSubnet.name === config.joinSubnet.name)
    errors.push('joinSubnet.name: must differ from defaultSubnet.name');
  checkDisjoint(config, errors);
  if (errors.length) throw new ControllerConfigError(errors);
  return config;
}

function parseOffload(v: unknown, errors: string[]): boolean {
  if (v === undefined) return DEFAULT_CONTROLLER_CONFIG.offload.selectionFields;
  if (!isObj(v)) {
    errors.push('offload: must be an object');
    return false;
  }
  checkKeys(v, ['selectionFields'], 'offload.', errors);
  const sf = v.selectionFields;
  if (sf === undefined) return DEFAULT_CONTROLLER_CONFIG.offload.selectionFields;
  if (typeof sf !== 'boolean') errors.push('offload.selectionFields: must be true or false');
  return sf === true;
}

function parseEip(v: unknown, errors: string[]): ControllerConfig['eip'] {
  const eip = { ...DEFAULT_CONTROLLER_CONFIG.eip };
  if (v === undefined) return eip;
  if (!isObj(v)) {
    errors.push('eip: must be an object');
    return eip;
  }
  checkKeys(v, ['defaultPool', 'transitCIDR', 'loadBalancerClass'], 'eip.', errors);
  if (v.loadBalancerClass !== undefined) {
    // The apiserver's rule for the field: a label-style qualified name with a prefix (`example.com/name`).
    const ok = typeof v.loadBalancerClass === 'string' && QUALIFIED_NAME_RE.test(v.loadBalancerClass);
    if (!ok) errors.push('eip.loadBalancerClass: must be a prefixed name like ycloud.io/eip');
    else eip.loadBalancerClass = v.loadBalancerClass as string;
  }
  if (v.defaultPool !== undefined) {
    if (typeof v.defaultPool !== 'string' || !NAME_RE.test(v.defaultPool))
      errors.push('eip.defaultPool: must be an EipPool name');
    else eip.defaultPool = v.defaultPool;
  }
  if (v.transitCIDR !== undefined) {
    const p = typeof v.transitCIDR === 'string' ? parseCidr(v.transitCIDR, true) : undefined;
    if (!p || p.family !== 4 || p.prefix > 29) errors.push('eip.transitCIDR: must be an IPv4 CIDR of /29 or larger');
    else eip.transitCIDR = p.text;
  }
  return eip;
}

function parseServiceGateway(v: unknown, errors: string[]): ControllerConfig['serviceGateway'] {
  const out = { ...DEFAULT_CONTROLLER_CONFIG.serviceGateway };
  if (v === undefined) return out;
  if (!isObj(v)) {
    errors.push('serviceGateway: must be an object');
    return out;
  }
  checkKeys(v, ['linkCIDR'], 'serviceGateway.', errors);
  if (v.linkCIDR !== undefined) {
    const p = typeof v.linkCIDR === 'string' ? parseCidr(v.linkCIDR, true) : undefined;
    if (!p || p.family !== 4 || p.prefix > 30)
      errors.push('serviceGateway.linkCIDR: must be an IPv4 CIDR of /30 or larger');
    else out.linkCIDR = p.text;
  }
  return out;
}

function parseResync(v: unknown, errors: string[]): ControllerConfig['resync'] {
  const out = { ...DEFAULT_CONTROLLER_CONFIG.resync };
  if (v === undefined) return out;
  if (!isObj(v)) {
    errors.push('resync: must be an object');
    return out;
  }
  checkKeys(v, ['intervalSeconds', 'jitter'], 'resync.', errors);
  if (v.intervalSeconds !== undefined) {
    if (typeof v.intervalSeconds !== 'number' || !Number.isFinite(v.intervalSeconds) || v.intervalSeconds < 0)
      errors.push('resync.intervalSeconds: must be a number of seconds, 0 or more (0: off)');
    else out.intervalSeconds = v.intervalSeconds;
  }
  if (v.jitter !== undefined) {
    if (typeof v.jitter !== 'number' || !(v.jitter >= 0 && v.jitter <= 1))
      errors.push('resync.jitter: must be a fraction between 0 and 1');
    else out.jitter = v.jitter;
  }
  return out;
}

function parseDrift(v: unknown, errors: string[]): ControllerConfig['drift'] {
  const out = { ...DEFAULT_CONTROLLER_CONFIG.drift };
  if (v === undefined) return out;
  if (!isObj(v)) {
    errors.push('drift: must be an object');
    return out;
  }
  checkKeys(v, ['repairOnChange'], 'drift.', errors);
  if (v.repairOnChange !== undefined) {
    if (typeof v.repairOnChange !== 'boolean') errors.push('drift.repairOnChange: must be true or false');
    else out.repairOnChange = v.repairOnChange;
  }
  return out;
}

function parseNorthbound(v: unknown, errors: string[]): ControllerConfig['northbound'] {
  const out = { ...DEFAULT_CONTROLLER_CONFIG.northbound };
  if (v === undefined) return out;
  if (!isObj(v)) {
    errors.push('northbound: must be an object');
    return out;
  }
  checkKeys(v, ['nbCfgBarrier'], 'northbound.', errors);
  if (v.nbCfgBarrier !== undefined) {
    if (typeof v.nbCfgBarrier !== 'boolean') errors.push('northbound.nbCfgBarrier: must be true or false');
    else out.nbCfgBarrier = v.nbCfgBarrier;
  }
  return out;
}

function checkKeys(o: Obj, allowed: string[], path: string, errors: string[]): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) errors.push(`${path}${k}: unknown key (allowed: ${allowed.join(', ')})`);
}

/** The default, join, service and transit networks must not overlap: the routers would be ambiguous. */
function checkDisjoint(c: ControllerConfig, errors: string[]): void {
  const named: Array<[string, string]> = [
    ...c.defaultSubnet.cidrBlocks.map((x): [string, string] => ['defaultSubnet.cidrBlocks', x]),
    ...c.joinSubnet.cidrBlocks.map((x): [string, string] => ['joinSubnet.cidrBlocks', x]),
    ...c.serviceCIDRs.map((x): [string, string] => ['serviceCIDRs', x]),
    ['eip.transitCIDR', c.eip.transitCIDR],
    ['serviceGateway.linkCIDR', c.serviceGateway.linkCIDR],
  ];
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      const a = parseCidr(named[i][1]);
      const b = parseCidr(named[j][1]);
      if (a && b && a.family === b.family && a.network <= b.last && b.network <= a.last) {
        errors.push(`${named[j][0]}: ${named[j][1]} overlaps ${named[i][0]} ${named[i][1]}`);
      }
    }
  }
}
