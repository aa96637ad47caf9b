import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnose } from '../diagnose';
import { DiagnoseFacts } from '../facts';
import { collectOffload, datapathFlows, hwOffloadOf, vipFlowCount } from './offload.collector';

/**
 * Real output of node-1's Open vSwitch 3.5 (userspace datapath) in the sandbox, after a client pod sent to the
 * ClusterIP 10.96.69.197:80 (captured 2026-12-07): `dpctl/dump-flows type=ovs`, `dpctl/show`, and `other_config`;
 * `dpctl/dump-flows type=offloaded` printed nothing (exit 0), with and without hw-offload.
 */
const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
const SOFTWARE = fixture('dpctl-dump-flows-ovs-3.5.txt');
const SHOW = fixture('dpctl-show-3.5.txt');
const OTHER_CONFIG = '{ovn-chassis-idx-node-1="", vlan-limit="0"}\n';
const VIP = '10.96.69.197:80';

function runner(otherConfig: string, offloaded: string) {
  const calls: string[] = [];
  return {
    calls,
    run(cmd: string, args: string[]) {
      const line = [cmd, ...args].join(' ');
      calls.push(line);
      const stdout = line.includes('other_config')
        ? otherConfig
        : line.includes('dpctl/show')
          ? SHOW
          : line.includes('type=offloaded')
            ? offloaded
            : SOFTWARE;
      return Promise.resolve({ code: 0, stdout, stderr: '' });
    },
  };
}

/** The facts of a healthy path whose source node runs in `mode` with these offload facts. */
function withOffload(offload: unknown): DiagnoseFacts {
  return {
    source: { kind: 'node', name: 'node-1' },
    kube: {
      target: { kind: 'Service', namespace: 'diag', name: 'web' },
      service: { type: 'ClusterIP', clusterIPs: ['10.96.69.197'], ports: [{ protocol: 'TCP', port: 80 }], labels: {} },
      selectedPods: [],
      endpointSlices: [
        {
          name: 's',
          addressType: 'IPv4',
          ports: [{ port: 8080, protocol: 'TCP' }],
          endpoints: [{ addresses: ['10.16.0.3'], ready: true }],
        },
      ],
      events: [],
      probes: [],
    },
    northbound: { unavailable: 'not asked' },
    southbound: { unavailable: 'not asked' },
    sourceNode: {
      node: 'node-1',
      ovnController: { running: true, connected: true, detail: 'SB connected' },
      datapath: { reachable: true, detail: 'br-int answers' },
      groups: [{ id: 2, buckets: [{ backend: '10.16.0.3:8080', packets: 1, bytes: 60 }] }],
      offload: offload as never,
    },
    backendNodes: {},
  };
}

describe('offload collector (smartnic / dpu mode)', () => {
  it("counts the VIP's datapath flows in the real userspace dump, and reads hw-offload", () => {
    const flows = datapathFlows(SOFTWARE);
    expect(flows.length).toBe(34); // as `dpctl/show` counted ("flows: 34")
    expect(vipFlowCount(flows, VIP, 'tcp')).toBe(2);
    expect(vipFlowCount(flows, '10.96.69.19:80', 'tcp')).toBe(0);
    expect(vipFlowCount(flows, VIP, 'udp')).toBe(0);
    expect(hwOffloadOf(OTHER_CONFIG)).toBe('');
    expect(hwOffloadOf('{hw-offload="true", vlan-limit="0"}')).toBe('true');
  });

  it('on the userspace datapath: nothing offloaded, so the offload hop is unknown with what was measured', async () => {
    const r = runner(OTHER_CONFIG, '');
    const o = await collectOffload(r, { mode: 'smartnic', ovsDb: 'unix:/db.sock' }, [`${VIP}/tcp`]);
    expect(o).toEqual({
      mode: 'smartnic',
      hwOffload: '',
      datapath: 'netdev@ovs-netdev',
      offloadedFlows: 0,
      vips: { [VIP]: { offloaded: 0, software: 2 } },
    });
    expect(r.calls).toEqual([
      'ovs-vsctl --db=unix:/db.sock --timeout=5 get Open_vSwitch . other_config',
      'ovs-appctl -T 5 dpctl/show',
      'ovs-appctl -T 5 dpctl/dump-flows type=offloaded',
      'ovs-appctl -T 5 dpctl/dump-flows type=ovs',
    ]);
    const hop = diagnose(withOffload(o)).hops.find((h) => h.id === 'node/node-1/offload');
    expect(hop).toEqual({
      layer: 'node',
      id: 'node/node-1/offload',
      status: 'unknown',
      evidence:
        'node-1 (smartnic): VIP flows not seen offloaded: 10.96.69.197:80 0 offloaded / 2 in software; hw-offload unset, datapath netdev@ovs-netdev, dpctl/dump-flows type=offloaded lists 0 flow(s)',
      fix: 'set other_config:hw-offload=true on node-1 (the agent does in smartnic mode) and restart ovs-vswitchd',
    });
    // hw-offload on, still the userspace datapath: unknown, and why.
    const on = await collectOffload(runner('{hw-offload="true"}', ''), { mode: 'dpu' }, [`${VIP}/tcp`]);
    expect(diagnose(withOffload(on)).hops.find((h) => h.id === 'node/node-1/offload')).toMatchObject({
      status: 'unknown',
      fix: 'the userspace (netdev) datapath offloads only through DPDK rte_flow on DPDK ports: there is no TC flower here',
    });
  });

  it('ok only when OVS lists the VIP flows as offloaded; a failed read is unknown, never ok', async () => {
    // What a TC-offloaded node would list: the VIP's flows under type=offloaded (here the userspace lines).
    const vipLines = datapathFlows(SOFTWARE).filter((l) => l.includes('dst=10.96.69.197'));
    const o = await collectOffload(runner('{hw-offload="true"}', vipLines.join('\n')), { mode: 'smartnic' }, [
      `${VIP}/tcp`,
    ]);
    expect(diagnose(withOffload(o)).hops.find((h) => h.id === 'node/node-1/offload')).toMatchObject({
      status: 'ok',
      evidence:
        'node-1 (smartnic): datapath flows 10.96.69.197:80 2 offloaded / 2 in software (dpctl/dump-flows type=offloaded)',
    });
    const failed = diagnose(withOffload({ unavailable: 'ovs-appctl dpctl/show: connection refused' }));
    expect(failed.hops.find((h) => h.id === 'node/node-1/offload')).toMatchObject({
      status: 'unknown',
      evidence: 'offload of the VIP flows on node-1 not measured: ovs-appctl dpctl/show: connection refused',
    });
    // Mode none: no offload facts, no hop.
    expect(diagnose(withOffload(undefined)).hops.some((h) => h.id.endsWith('/offload'))).toBe(false);
  });
});
