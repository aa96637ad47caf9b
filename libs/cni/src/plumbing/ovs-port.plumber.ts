import { CommandRunner, runChecked } from '../ovs/command-runner';
import { OvsVsctl } from '../ovs/ovs-vsctl';
import { CniError, CniErrorCode } from '../protocol/cni-error';
import { CniRequest } from '../protocol/cni-types';
import { deleteLinkInNetns, ipBatchInNetns, moveLinkToNetns, podInterfaceBatch, readLinkInNetns } from './netns-config';
import { PlumbRequest, PlumbResult, PodPlumber, podExternalIds } from './pod-plumber';

/** Runs `work` while ovn-controller installs the port; fails with a clear error when it does not in time. */
export async function plugAndAwaitOvnInstalled(
  ovs: OvsVsctl,
  ovsInterface: string,
  deadline: number,
  work: () => Promise<void>,
): Promise<void> {
  const abort = new AbortController();
  const installed = ovs.waitOvnInstalled(ovsInterface, Math.max(1000, deadline - Date.now()), abort.signal);
  try {
    await work();
  } catch (err) {
    abort.abort();
    await installed;
    throw err;
  }
  if (!(await installed)) {
    throw new CniError(
      CniErrorCode.OvnInstallTimeout,
      `ovn-controller did not set external_ids:ovn-installed=true on interface ${ovsInterface} in time`,
      'is ovn-controller running and connected to the southbound database, and does the logical switch port exist?',
    );
  }
}

/**
 * Mode `none`: the pod's interface is an OVS port on br-int.
 * - `netdev` bridge (userspace datapath): an OVS internal port, i.e. a tap, moved into the pod's namespace.
 * - `system` bridge: a veth pair, host end on br-int.
 */
export class OvsPortPlumber implements PodPlumber {
  readonly mode = 'none';

  constructor(
    private readonly runner: CommandRunner,
    private readonly ovs: OvsVsctl,
    private readonly bridge: string,
    private readonly datapathType: 'netdev' | 'system',
  ) {}

  async add(p: PlumbRequest): Promise<PlumbResult> {
    const { req, alloc, hostIfName } = p;
    const ids = podExternalIds(p);
    try {
      if (this.datapathType === 'netdev') {
        // A leftover from an interrupted ADD of this same sandbox is replaced.
        await deleteLinkInNetns(this.runner, req.netns, req.ifname);
        await this.ovs.delPort(hostIfName);
        await this.ovs.addPort({
          bridge: this.bridge,
          name: hostIfName,
          type: 'internal',
          externalIds: ids,
          mtuRequest: alloc.mtu,
        });
        await plugAndAwaitOvnInstalled(this.ovs, hostIfName, p.deadline, async () => {
          await moveLinkToNetns(this.runner, hostIfName, req.netns);
          await ipBatchInNetns(this.runner, req.netns, podInterfaceBatch(hostIfName, req.ifname, alloc));
        });
        return {
          interfaces: [{ name: req.ifname, mac: alloc.mac, mtu: alloc.mtu, sandbox: req.netns }],
          containerIndex: 0,
        };
      }
      const peer = `${hostIfName}c`;
      await this.runner.run('ip', ['link', 'del', 'dev', hostIfName]);
      await runChecked(this.runner, 'ip', [
        'link',
        'add',
        hostIfName,
        'mtu',
        String(alloc.mtu),
        'type',
        'veth',
        'peer',
        'name',
        peer,
        'mtu',
        String(alloc.mtu),
      ]);
      await moveLinkToNetns(this.runner, peer, req.netns);
      await ipBatchInNetns(this.runner, req.netns, podInterfaceBatch(peer, req.ifname, alloc));
      await runChecked(this.runner, 'ip', ['link', 'set', 'dev', hostIfName, 'up']);
      const hostMac = (await readLinkInNetns(this.runner, '/proc/self/ns/net', hostIfName))?.mac;
      await this.ovs.addPort({ bridge: this.bridge, name: hostIfName, externalIds: ids });
      await plugAndAwaitOvnInstalled(this.ovs, hostIfName, p.deadline, () => Promise.resolve());
      return {
        interfaces: [
          { name: hostIfName, mac: hostMac },
          { name: req.ifname, mac: alloc.mac, mtu: alloc.mtu, sandbox: req.netns },
        ],
        containerIndex: 1,
      };
    } catch (err) {
      await this.del(req, hostIfName).catch(() => undefined);
      if (err instanceof CniError) throw err;
      throw new CniError(CniErrorCode.PlumbingFailed, `attaching ${req.ifname} failed: ${(err as Error).message}`);
    }
  }

  async del(req: CniRequest, hostIfName: string): Promise<void> {
    await this.ovs.delPort(hostIfName);
    if (this.datapathType === 'system') await this.runner.run('ip', ['link', 'del', 'dev', hostIfName]);
    await deleteLinkInNetns(this.runner, req.netns, req.ifname);
  }

  async check(p: PlumbRequest): Promise<void> {
    const { req, alloc, hostIfName } = p;
    const [iface] = await this.ovs.findInterfaces({ 'ycloud-sandbox': req.containerId, 'ycloud-ifname': req.ifname });
    const fail = (msg: string): never => {
      throw new CniError(CniErrorCode.PlumbingFailed, `CHECK ${req.ifname}: ${msg}`);
    };
    if (!iface || iface.name !== hostIfName) return fail(`no OVS interface ${hostIfName} on ${this.bridge}`);
    if (iface.externalIds['iface-id'] !== alloc.logicalSwitchPort) fail(`iface-id is not ${alloc.logicalSwitchPort}`);
    if (iface.externalIds['ovn-installed'] !== 'true') fail('ovn-controller has not installed the port');
    const link = await readLinkInNetns(this.runner, req.netns, req.ifname);
    if (!link) return fail(`no interface ${req.ifname} in ${req.netns}`);
    if (link.mac !== alloc.mac) fail(`MAC is ${link.mac}, want ${alloc.mac}`);
    if (!link.addresses.includes(alloc.ip)) fail(`address ${alloc.ip} missing (has ${link.addresses.join(', ')})`);
    if (link.mtu !== alloc.mtu) fail(`MTU is ${link.mtu}, want ${alloc.mtu}`);
    if (!link.up) fail('interface is down');
  }
}
