// Not '@ycloud/cni': its index loads @kubernetes/client-node, about 0.3 s of CPU at the controller's start.
import { runChecked, type CommandRunner } from '@ycloud/cni/ovs/command-runner';

/** Default prefix of probe namespace names (`ycloud-probe-<vpc>`). */
export const DEFAULT_PROBE_NETNS_PREFIX = 'ycloud-probe-';

/**
 * Name of the network namespace a VPC's probes are sent from: `<prefix><vpc>`. Namespace names are global on a
 * host, so two controllers (or test suites) on one host use different prefixes.
 */
export function probeNetnsName(vpc: string, prefix = DEFAULT_PROBE_NETNS_PREFIX): string {
  return `${prefix}${vpc}`;
}

/** Name of the VPC's probe Logical_Switch_Port (the OVS interface's iface-id). */
export function probeLspName(vpc: string): string {
  return `probe.${vpc}`;
}

/** Where and how to plug one VPC's probe port (what the controller allocated for `probe.<vpc>`). */
export interface ProbePortPlug {
  vpc: string;
  mac: string;
  /** Address with prefix length, e.g. `10.1.0.250/24`. */
  ipCidr: string;
  gateway: string;
  mtu?: number;
  /** Namespace name prefix; default `ycloud-probe-` (namespace `ycloud-probe-<vpc>`). */
  prefix?: string;
  bridge?: string;
}

export interface ProbePortHost {
  /** ovs-vsctl with the node's database (arguments after --db/--timeout). */
  vsctl(args: string[]): Promise<string>;
  runner: CommandRunner;
  /** Namespace the OVS datapath creates internal devices in (undefined: the caller's, i.e. the host). */
  datapathNetns?: string;
}

/** OVS port / Linux interface name: at most 15 characters, stable per (prefix, VPC). */
export function probeIfName(vpc: string, prefix = DEFAULT_PROBE_NETNS_PREFIX): string {
  let h = 0;
  for (const c of `${prefix}${vpc}`) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `ycpr${h.toString(16).padStart(8, '0')}`.slice(0, 15);
}

/**
 * Plugs a VPC's probe port on this node: an OVS internal port on br-int with `iface-id=probe.<vpc>`, moved into
 * namespace `<prefix><vpc>` with the allocated MAC/address and a default route via the subnet gateway.
 * Idempotent: an existing namespace and port are reconfigured. Returns the namespace name.
 */
export async function plugProbePort(host: ProbePortHost, plug: ProbePortPlug): Promise<string> {
  const prefix = plug.prefix ?? DEFAULT_PROBE_NETNS_PREFIX;
  const netns = probeNetnsName(plug.vpc, prefix);
  const ifname = probeIfName(plug.vpc, prefix);
  const run = (cmd: string, args: string[]) => runChecked(host.runner, cmd, args);
  const ipDp = (...a: string[]) => run('ip', host.datapathNetns ? ['-n', host.datapathNetns, ...a] : a);
  const ipNs = (...a: string[]) => run('ip', ['-n', netns, ...a]);
  const existing = (await run('ip', ['netns', 'list'])).split('\n').some((l) => l.split(' ')[0] === netns);
  if (!existing) await run('ip', ['netns', 'add', netns]);
  await run('ip', ['netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  await ipNs('link', 'set', 'lo', 'up');
  await host.vsctl([
    '--may-exist',
    'add-port',
    plug.bridge ?? 'br-int',
    ifname,
    '--',
    'set',
    'Interface',
    ifname,
    'type=internal',
    `mac="${plug.mac}"`,
    `external_ids:iface-id="${probeLspName(plug.vpc)}"`,
    // Found again by listProbePorts (start-up clean-up of ports this prefix no longer wants).
    `external_ids:${PREFIX_KEY}="${prefix}"`,
    `external_ids:${VPC_KEY}="${plug.vpc}"`,
    ...(plug.mtu ? [`mtu_request=${plug.mtu}`] : []),
  ]);
  const inNs = await host.runner.run('ip', ['-n', netns, 'link', 'show', ifname]);
  if (inNs.code !== 0) {
    // The datapath creates the device asynchronously.
    for (let i = 0; ; i++) {
      const r = await host.runner.run('ip', [
        ...(host.datapathNetns ? ['-n', host.datapathNetns] : []),
        'link',
        'show',
        ifname,
      ]);
      if (r.code === 0) break;
      if (i > 200) throw new Error(`OVS internal port ${ifname} did not appear`);
      await new Promise((res) => setTimeout(res, 50));
    }
    await ipDp('link', 'set', ifname, 'netns', netns);
  }
  await ipNs('link', 'set', ifname, 'address', plug.mac);
  await ipNs('addr', 'replace', plug.ipCidr, 'dev', ifname);
  await ipNs('link', 'set', ifname, 'up');
  await ipNs('route', 'replace', 'default', 'via', plug.gateway, 'dev', ifname);
  return netns;
}

const PREFIX_KEY = 'ycloud-probe-prefix';
const VPC_KEY = 'ycloud-probe-vpc';

/** Removes the probe port and its namespace (both may already be gone). */
export async function unplugProbePort(
  host: ProbePortHost,
  vpc: string,
  prefix = DEFAULT_PROBE_NETNS_PREFIX,
): Promise<void> {
  await host.vsctl(['--if-exists', 'del-port', probeIfName(vpc, prefix)]);
  await host.runner.run('ip', ['netns', 'del', probeNetnsName(vpc, prefix)]);
}

/**
 * VPCs with a probe namespace or OVS port of this prefix on this host (left by an earlier run of this or another
 * leader), so the caller can remove the ones it does not want. Namespaces are matched by name prefix, so the
 * prefixes of controllers sharing a host must not be prefixes of one another; ports carry their exact prefix.
 */
export async function listProbePorts(host: ProbePortHost, prefix = DEFAULT_PROBE_NETNS_PREFIX): Promise<string[]> {
  const vpcs = new Set<string>();
  const netns = await runChecked(host.runner, 'ip', ['netns', 'list']);
  for (const line of netns.split('\n')) {
    const name = line.split(' ')[0];
    if (name.startsWith(prefix) && name.length > prefix.length) vpcs.add(name.slice(prefix.length));
  }
  const marker = `external_ids:${PREFIX_KEY}="${prefix}"`;
  const uuids = (await host.vsctl(['--bare', '--columns=_uuid', 'find', 'Interface', marker])).split(/\s+/);
  for (const uuid of uuids.filter(Boolean)) {
    const vpc = await host.vsctl(['--if-exists', 'get', 'Interface', uuid, `external_ids:${VPC_KEY}`]);
    const name = vpc.trim().replace(/^"(.*)"$/, '$1');
    if (name) vpcs.add(name);
  }
  return [...vpcs].sort();
}
