import type { V1Service } from '@kubernetes/client-node';
import type { CommandResult, CommandRunner } from '../ovs/command-runner';
import {
  AffinityRescue,
  commandRescueOvs,
  servicesUseAffinityTimeout,
  AffinityRescueOvs,
  affinityTableOf,
  flushStuckConnectionArgs,
  learnedAffinitySessions,
  stuckConnections,
} from './affinity-rescue';

// Shapes as printed by ovs-ofctl / ovs-appctl of OVS 3.1 and 3.5 (docs/kube-proxy-parity.md, the measurement).
const LEARN_STAGE =
  ' cookie=0x5a1b, table=21, priority=100,ct_state=+new+trk,tcp,reg1=0xac1e000a,reg9=0/0x40,metadata=0x1,' +
  'nw_dst=10.0.0.6,tp_dst=8080 actions=learn(table=78,idle_timeout=10,delete_learned,OXM_OF_METADATA[],' +
  'eth_type=0x800,NXM_OF_IP_SRC[],ip_dst=172.30.0.10,nw_proto=6,tcp_dst=80,load:0x1->NXM_NX_REG10[14],' +
  'load:0xa000006->NXM_NX_REG4[],load:0x1f90->NXM_NX_REG8[0..15])';
const LEARNED_V4 =
  ' table=78, idle_timeout=10, tcp,metadata=0x1,nw_src=10.0.0.5,nw_dst=172.30.0.10,tp_dst=80 ' +
  'actions=load:0x1->NXM_NX_REG10[14],load:0xa000006->NXM_NX_REG4[],load:0x1f90->NXM_NX_REG8[0..15]';
const LEARNED_V6 =
  ' table=78, n_packets=0, n_bytes=0, idle_timeout=60, tcp6,metadata=0x2,ipv6_src=fd00::5,ipv6_dst=fd00:96::a,' +
  'tp_dst=443 actions=load:0x1->NXM_NX_REG10[14]';
const LEARNED_UDP_BY_NUMBER =
  ' table=78, idle_timeout=10, ip,metadata=0x1,nw_src=10.0.0.8,nw_dst=172.30.0.11,nw_proto=17,tp_dst=53 actions=drop';

const SYN_SENT =
  'tcp,orig=(src=10.0.0.5,dst=172.30.0.10,sport=48032,dport=80),reply=(src=10.0.0.7,dst=10.0.0.5,sport=8080,' +
  'dport=48032),zone=4,mark=2,protoinfo=(state=SYN_SENT)';
const ESTABLISHED =
  'tcp,orig=(src=10.0.0.5,dst=172.30.0.10,sport=48000,dport=80),reply=(src=10.0.0.6,dst=10.0.0.5,sport=8080,' +
  'dport=48000),zone=4,mark=2,protoinfo=(state=ESTABLISHED)';
const OTHER_VIP_SYN_SENT =
  'tcp,orig=(src=10.0.0.5,dst=172.30.0.99,sport=48100,dport=80),reply=(src=10.0.0.6,dst=10.0.0.5,sport=8080,' +
  'dport=48100),zone=4,protoinfo=(state=SYN_SENT)';
const BACKEND_ZONE_SYN_SENT =
  'tcp,orig=(src=10.0.0.5,dst=10.0.0.7,sport=48032,dport=8080),reply=(src=10.0.0.7,dst=10.0.0.5,sport=8080,' +
  'dport=48032),zone=6,protoinfo=(state=SYN_SENT)';
const V6_SYN_SENT =
  'tcp6,orig=(src=fd00::5,dst=fd00:96::a,sport=51000,dport=443),reply=(src=fd00::7,dst=fd00::5,sport=8443,' +
  'dport=51000),zone=9,mark=2,protoinfo=(state=SYN_SENT)';

describe('affinity rescue: parsing', () => {
  it('finds the affinity table in the learn stage’s action, and none without affinity', () => {
    expect(affinityTableOf(`${LEARNED_V4}\n${LEARN_STAGE}\n`)).toBe(78);
    expect(affinityTableOf(' table=0, priority=100,in_port=1 actions=resubmit(,8)\n')).toBeUndefined();
  });

  it('reads client, VIP, port and protocol of learned flows (IPv4, IPv6, protocol by number)', () => {
    const dump = `NXST_FLOW reply (xid=0x4):\n${LEARNED_V4}\n${LEARNED_V6}\n${LEARNED_UDP_BY_NUMBER}\n`;
    expect(learnedAffinitySessions(dump)).toEqual([
      { client: '10.0.0.5', vip: '172.30.0.10', port: 80, protocol: 'tcp' },
      { client: 'fd00::5', vip: 'fd00:96::a', port: 443, protocol: 'tcp' },
      { client: '10.0.0.8', vip: '172.30.0.11', port: 53, protocol: 'udp' },
    ]);
  });

  it('skips flows that are not sessions (no client or no port)', () => {
    expect(learnedAffinitySessions(' table=78, priority=0 actions=drop\n')).toEqual([]);
  });

  it('picks only the session’s SYN_SENT entries: never an established one, another VIP or a backend zone', () => {
    const ct = [SYN_SENT, ESTABLISHED, OTHER_VIP_SYN_SENT, BACKEND_ZONE_SYN_SENT, V6_SYN_SENT].join('\n');
    const sessions = learnedAffinitySessions(`${LEARNED_V4}\n${LEARNED_V6}`);
    expect(stuckConnections(ct, sessions)).toEqual([
      { zone: 4, orig: { src: '10.0.0.5', dst: '172.30.0.10', sport: 48032, dport: 80 } },
      { zone: 9, orig: { src: 'fd00::5', dst: 'fd00:96::a', sport: 51000, dport: 443 } },
    ]);
  });

  it('leaves UDP sessions alone (no state tells a stuck entry from a live one)', () => {
    const udp =
      'udp,orig=(src=10.0.0.8,dst=172.30.0.11,sport=5000,dport=53),reply=(src=10.0.0.6,dst=10.0.0.8,sport=53,dport=5000),zone=4';
    expect(stuckConnections(udp, learnedAffinitySessions(LEARNED_UDP_BY_NUMBER))).toEqual([]);
  });

  it('flushes exactly one entry: its zone and full original 5-tuple', () => {
    const [v4, v6] = stuckConnections(
      `${SYN_SENT}\n${V6_SYN_SENT}`,
      learnedAffinitySessions(`${LEARNED_V4}\n${LEARNED_V6}`),
    );
    expect(flushStuckConnectionArgs(v4)).toEqual([
      'dpctl/flush-conntrack',
      'zone=4',
      'ct_nw_src=10.0.0.5,ct_nw_dst=172.30.0.10,ct_nw_proto=6,ct_tp_src=48032,ct_tp_dst=80',
    ]);
    expect(flushStuckConnectionArgs(v6)).toEqual([
      'dpctl/flush-conntrack',
      'zone=9',
      'ct_ipv6_src=fd00::5,ct_ipv6_dst=fd00:96::a,ct_nw_proto=6,ct_tp_src=51000,ct_tp_dst=443',
    ]);
  });
});

class RecordedOvs implements AffinityRescueOvs {
  allFlows = '';
  table = '';
  conntrack = '';
  readonly calls: string[] = [];
  dumpFlows(table?: number): Promise<string> {
    this.calls.push(table === undefined ? 'dump-flows' : `dump-flows table=${table}`);
    return Promise.resolve(table === undefined ? this.allFlows : this.table);
  }
  vswitchd(args: string[]): Promise<string> {
    this.calls.push(args.join(' '));
    return Promise.resolve(args[0] === 'dpctl/dump-conntrack' ? this.conntrack : '');
  }
}

describe('AffinityRescue', () => {
  it('does nothing at all while disabled', async () => {
    const ovs = new RecordedOvs();
    const rescue = new AffinityRescue(ovs, { enabled: () => false });
    expect(await rescue.tick()).toBe(5_000);
    expect(ovs.calls).toEqual([]);
  });

  it('only searches br-int for the table while no LB has affinity, then polls that table alone', async () => {
    const ovs = new RecordedOvs();
    const rescue = new AffinityRescue(ovs, { pollMs: 250, discoverMs: 5_000 });
    expect(await rescue.tick()).toBe(5_000);
    ovs.allFlows = LEARN_STAGE;
    expect(await rescue.tick()).toBe(250);
    expect(await rescue.tick()).toBe(250);
    expect(ovs.calls).toEqual(['dump-flows', 'dump-flows', 'dump-flows table=78', 'dump-flows table=78']);
    expect(rescue.watchedTable).toBe(78);
  });

  it('flushes a newly learned session’s SYN_SENT entry once, and looks at conntrack only for new sessions', async () => {
    const ovs = new RecordedOvs();
    ovs.allFlows = LEARN_STAGE;
    ovs.conntrack = `${SYN_SENT}\n${ESTABLISHED}`;
    const rescue = new AffinityRescue(ovs);
    await rescue.tick();
    ovs.table = LEARNED_V4;
    ovs.calls.length = 0;
    await rescue.tick();
    await rescue.tick();
    expect(ovs.calls).toEqual([
      'dump-flows table=78',
      'dpctl/dump-conntrack',
      'dpctl/flush-conntrack zone=4 ct_nw_src=10.0.0.5,ct_nw_dst=172.30.0.10,ct_nw_proto=6,ct_tp_src=48032,ct_tp_dst=80',
      'dump-flows table=78',
    ]);
    expect(rescue.stats).toEqual({ rescued: 1, failures: 0 });
  });

  it('keeps looking for a new session’s entry a few polls, then gives up', async () => {
    const ovs = new RecordedOvs();
    ovs.allFlows = LEARN_STAGE;
    ovs.table = LEARNED_V4;
    const rescue = new AffinityRescue(ovs, { attempts: 2 });
    await rescue.tick();
    await rescue.tick();
    await rescue.tick();
    expect(ovs.calls.filter((c) => c === 'dpctl/dump-conntrack')).toHaveLength(2);
  });

  it('treats a session learned again after it idled out as new', async () => {
    const ovs = new RecordedOvs();
    ovs.allFlows = LEARN_STAGE;
    ovs.conntrack = SYN_SENT;
    ovs.table = LEARNED_V4;
    const rescue = new AffinityRescue(ovs);
    await rescue.tick();
    ovs.table = '';
    await rescue.tick();
    ovs.table = LEARNED_V4;
    await rescue.tick();
    expect(rescue.stats.rescued).toBe(2);
  });
});

describe('servicesUseAffinityTimeout', () => {
  const svc = (spec: V1Service['spec']): V1Service => ({ metadata: { name: 's', namespace: 'n' }, spec });
  it('is true only for ClientIP affinity with a timeout that OVN’s affinity_timeout serves (under 3 h)', () => {
    const clientIP = (timeoutSeconds?: number) =>
      svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds } } });
    expect(servicesUseAffinityTimeout([])).toBe(false);
    expect(servicesUseAffinityTimeout([svc({ sessionAffinity: 'None' })])).toBe(false);
    expect(servicesUseAffinityTimeout([clientIP(undefined)])).toBe(false); // default 3 h: a hash
    expect(servicesUseAffinityTimeout([clientIP(10800)])).toBe(false);
    expect(servicesUseAffinityTimeout([clientIP(0)])).toBe(false); // invalid: the default
    expect(servicesUseAffinityTimeout([svc({}), clientIP(10)])).toBe(true);
  });
});

describe('commandRescueOvs', () => {
  class Runner implements CommandRunner {
    readonly calls: string[][] = [];
    constructor(private readonly result: CommandResult) {}
    run(cmd: string, args: string[]): Promise<CommandResult> {
      this.calls.push([cmd, ...args]);
      return Promise.resolve(this.result);
    }
  }

  it('reads the bridge through its management socket and talks to vswitchd through its control socket', async () => {
    const runner = new Runner({ code: 0, stdout: 'out', stderr: '' });
    const ovs = commandRescueOvs(runner, '/run/ovs/br-int.mgmt', () => Promise.resolve('/run/ovs/vswitchd.ctl'));
    expect(await ovs.dumpFlows()).toBe('out');
    await ovs.dumpFlows(78);
    await ovs.vswitchd(['dpctl/dump-conntrack']);
    expect(runner.calls).toEqual([
      ['ovs-ofctl', '--no-stats', 'dump-flows', 'unix:/run/ovs/br-int.mgmt'],
      ['ovs-ofctl', '--no-stats', 'dump-flows', 'unix:/run/ovs/br-int.mgmt', 'table=78'],
      ['ovs-appctl', '-T', '5', '-t', '/run/ovs/vswitchd.ctl', 'dpctl/dump-conntrack'],
    ]);
  });

  it('turns a failed command into an error naming it', async () => {
    const ovs = commandRescueOvs(new Runner({ code: 1, stdout: '', stderr: 'no such bridge' }), '/x.mgmt', () =>
      Promise.resolve('/s'),
    );
    await expect(ovs.dumpFlows()).rejects.toThrow(/ovs-ofctl .*: no such bridge/);
  });
});
