import { collectNorthbound, NbRow } from './northbound.collector';
import { addGroupStats, groupIdsOfFlows, parseGroups, vipFlowMatch } from './node.collector';
import { southboundFacts, southboundTransaction, vipOfMatch } from './southbound.collector';

describe('node collector parsers', () => {
  const desc = [
    'OFPST_GROUP_DESC reply (OF1.5) (xid=0x2):',
    ' group_id=1,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:100,actions=ct(commit,table=15,zone=NXM_NX_REG13[0..15],nat(dst=10.16.0.5:8080),exec(load:0x1->NXM_NX_CT_MARK[1])),bucket=bucket_id:1,weight:100,actions=ct(commit,table=15,zone=NXM_NX_REG13[0..15],nat(dst=10.16.0.6:8080),exec(load:0x1->NXM_NX_CT_MARK[1]))',
    ' group_id=2,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:100,actions=ct(commit,table=15,zone=NXM_NX_REG13[0..15],nat(dst=[fd00::5]:80),exec(load:0x1->NXM_NX_CT_MARK[1]))',
  ].join('\n');
  const stats = [
    'OFPST_GROUP reply (OF1.5) (xid=0x6):',
    ' group_id=1,duration=12.345s,ref_count=1,packet_count=7,byte_count=518,bucket0:packet_count=3,byte_count=222,bucket1:packet_count=4,byte_count=296',
  ].join('\n');

  it('reads each bucket backend and its counters', () => {
    expect(addGroupStats(parseGroups(desc), stats)).toEqual([
      {
        id: 1,
        buckets: [
          { backend: '10.16.0.5:8080', packets: 3, bytes: 222 },
          { backend: '10.16.0.6:8080', packets: 4, bytes: 296 },
        ],
      },
      { id: 2, buckets: [{ backend: '[fd00::5]:80', packets: 0, bytes: 0 }] },
    ]);
  });
});

describe('node collector: the groups of one VIP', () => {
  it("matches the VIP's load-balancing flows and reads their groups", () => {
    expect(vipFlowMatch('10.96.0.10:80', 'tcp')).toBe('tcp,nw_dst=10.96.0.10,tp_dst=80');
    expect(vipFlowMatch('[fd00::10]:53', 'udp')).toBe('udp6,ipv6_dst=fd00::10,tp_dst=53');
    expect(() => vipFlowMatch('10.96.0.10:80;x', 'tcp')).toThrow(/bad VIP/);
    const flows = [
      ' cookie=0x9eea7670, duration=614.697s, table=20, n_packets=0, n_bytes=0, idle_age=614, priority=120,ct_state=+new+trk,tcp,metadata=0x3,nw_dst=10.96.103.188,tp_dst=80 actions=set_field:0/0x2000000000000000000000000->xxreg0,group:2',
      ' cookie=0x9eea7670, duration=614.697s, table=20, n_packets=0, n_bytes=0, idle_age=614, priority=120,ct_state=+new+trk,tcp,metadata=0x2,nw_dst=10.96.103.188,tp_dst=80 actions=set_field:0/0x2000000000000000000000000->xxreg0,group:2',
    ].join('\n');
    expect(groupIdsOfFlows(flows)).toEqual([2]);
  });
});

describe('southbound collector', () => {
  it('reads the VIP of an ls_in_lb match', () => {
    expect(vipOfMatch('ct.new && ip4.dst == 10.96.0.10 && tcp.dst == 80')).toBe('10.96.0.10:80');
    expect(vipOfMatch('ct.new && ip6.dst == fd00::10 && udp.dst == 53')).toBe('[fd00::10]:53');
    expect(vipOfMatch('ct.new && ip4.dst == 10.96.0.10')).toBe('10.96.0.10');
    expect(vipOfMatch('reg0[1] == 1')).toBeUndefined();
  });

  it('asks one Port_Binding select per logical port', () => {
    const t = southboundTransaction({ vips: [], ports: ['a', 'b'] });
    expect(t[0]).toBe('OVN_Southbound');
    expect(t.slice(7, 9)).toEqual([
      {
        op: 'select',
        table: 'Port_Binding',
        where: [['logical_port', '==', 'a']],
        columns: ['logical_port', 'chassis', 'up', 'type'],
      },
      {
        op: 'select',
        table: 'Port_Binding',
        where: [['logical_port', '==', 'b']],
        columns: ['logical_port', 'chassis', 'up', 'type'],
      },
    ]);
  });

  it('turns the wire results into facts, keeping only the asked VIPs', () => {
    const results = [
      { rows: [{ nb_cfg: 4 }] },
      {
        rows: [
          {
            logical_datapath: ['set', []],
            logical_dp_group: ['uuid', 'g1'],
            match: 'ct.new && ip4.dst == 10.96.0.10 && tcp.dst == 80',
            actions: 'ct_lb_mark(backends=10.16.0.5:8080);',
          },
          {
            logical_datapath: ['uuid', 'd3'],
            logical_dp_group: ['set', []],
            match: 'ct.new && ip4.dst == 10.96.0.11 && tcp.dst == 80',
            actions: 'x',
          },
        ],
      },
      {
        rows: [
          {
            _uuid: ['uuid', 'g1'],
            datapaths: [
              'set',
              [
                ['uuid', 'd1'],
                ['uuid', 'd2'],
              ],
            ],
          },
        ],
      },
      {
        rows: [
          { _uuid: ['uuid', 'd1'], external_ids: ['map', [['name', 'subnet-default']]] },
          { _uuid: ['uuid', 'd2'], external_ids: ['map', [['name', 'subnet-join']]] },
          { _uuid: ['uuid', 'd4'], external_ids: ['map', [['name', 'vpc-default']]] },
        ],
      },
      { rows: [{ _uuid: ['uuid', 'c1'], name: 'node-1', hostname: 'node-1' }] },
      { rows: [{ name: 'node-1', nb_cfg: 4 }] },
      { rows: [{ logical_port: 'web.a', chassis: ['uuid', 'c1'], up: ['set', [true]] }] },
      { rows: [] },
      { rows: [{ logical_port: 'cr-vpc-default-to-eip-ext', chassis: ['uuid', 'c1'], type: 'chassisredirect' }] },
      {
        rows: [
          {
            logical_datapath: ['uuid', 'd4'],
            logical_dp_group: ['set', []],
            match:
              'ct.new && !ct.rel && ip4 && ip4.dst == 172.16.0.50 && tcp && tcp.dst == 80 && is_chassis_resident("cr-vpc-default-to-eip-ext")',
            actions: 'ct_lb_mark(backends=10.16.0.5:8080);',
          },
          {
            logical_datapath: ['uuid', 'd4'],
            logical_dp_group: ['set', []],
            match: 'ip && ip4.dst == 172.16.0.50 && tcp && tcp.dst == 80',
            actions: 'ct_dnat;',
          },
        ],
      },
    ];
    const q = { vips: ['10.96.0.10:80', '172.16.0.50:80'], ports: ['web.a', 'web.b', 'cr-vpc-default-to-eip-ext'] };
    expect(southboundFacts(results, q)).toEqual({
      nbCfg: 4,
      lflows: [
        {
          vip: '10.96.0.10:80',
          stage: 'ls_in_lb',
          datapaths: ['subnet-default', 'subnet-join'],
          actions: 'ct_lb_mark(backends=10.16.0.5:8080);',
        },
        {
          vip: '172.16.0.50:80',
          stage: 'lr_in_dnat',
          datapaths: ['vpc-default'],
          actions: 'ct_lb_mark(backends=10.16.0.5:8080);',
        },
      ],
      portBindings: [
        { logicalPort: 'web.a', chassis: 'node-1', up: true },
        { logicalPort: 'cr-vpc-default-to-eip-ext', chassis: 'node-1', type: 'chassisredirect' },
      ],
      chassis: [{ name: 'node-1', hostname: 'node-1', nbCfg: 4 }],
    });
  });
});

describe('northbound collector', () => {
  const owner = (kind: string, name: string, key: string) => ({
    'ycloud.io/controller': 'ycloud',
    'ycloud.io/owner-kind': kind,
    'ycloud.io/owner': name,
    'ycloud.io/key': key,
  });
  const tables: Record<string, NbRow[]> = {
    Load_Balancer: [
      {
        _uuid: 'lb1',
        name: 'Service_web/api_TCP',
        protocol: 'tcp',
        vips: { '10.96.0.10:80': '10.16.0.5:8080' },
        options: { reject: 'true' },
        selection_fields: [],
        external_ids: { ...owner('Service', 'web/api', 'lb:Service:web/api:tcp'), 'ycloud.io/vpc': 'default' },
      },
      {
        _uuid: 'lb2',
        name: 'by-hand',
        protocol: 'tcp',
        vips: { '10.96.0.10:80': '1.2.3.4:80' },
        options: {},
        selection_fields: [],
        external_ids: {},
      },
      {
        _uuid: 'lb3',
        name: 'other',
        protocol: 'tcp',
        vips: { '10.96.0.11:80': '' },
        options: {},
        selection_fields: [],
        external_ids: {},
      },
    ],
    Load_Balancer_Group: [{ _uuid: 'g1', name: 'vpc-default-lbs', load_balancer: ['lb1', 'lb3'] }],
    Logical_Switch: [
      {
        _uuid: 's1',
        name: 'subnet-default',
        load_balancer_group: ['g1'],
        load_balancer: [],
        ports: ['p1', 'p9'],
        external_ids: owner('Subnet', 'default', 'subnet/default/switch'),
      },
      {
        _uuid: 's2',
        name: 'subnet-join',
        load_balancer_group: [],
        load_balancer: ['lb2'],
        ports: ['p2'],
        external_ids: owner('Subnet', 'join', 'subnet/join/switch'),
      },
      { _uuid: 's3', name: 'hand-made', load_balancer_group: [], load_balancer: [], ports: ['p3'], external_ids: {} },
    ],
    Logical_Switch_Port: [
      {
        _uuid: 'p1',
        name: 'subnet-default-to-router',
        type: 'router',
        options: { 'router-port': 'router-to-subnet-default' },
      },
      {
        _uuid: 'p2',
        name: 'subnet-join-to-router',
        type: 'router',
        options: { 'router-port': 'router-to-subnet-join' },
      },
      { _uuid: 'p3', name: 'x', type: 'router', options: { 'router-port': 'router-to-subnet-default' } },
      { _uuid: 'p9', name: 'web.a', type: '', options: {} },
    ],
    Logical_Router: [
      {
        _uuid: 'r1',
        name: 'vpc-default',
        ports: ['l1', 'l2'],
        load_balancer: [],
        load_balancer_group: [],
        external_ids: owner('Vpc', 'default', 'vpc/default/router'),
      },
    ],
    Logical_Router_Port: [
      { _uuid: 'l1', name: 'router-to-subnet-default' },
      { _uuid: 'l2', name: 'router-to-subnet-join' },
    ],
  };
  it('finds the owned LB and any LB on the VIP, the groups and the VPC subnet switches', () => {
    const nb = collectNorthbound({ rows: (t) => tables[t] ?? [] }, { kind: 'Service', namespace: 'web', name: 'api' }, [
      '10.96.0.10:80',
    ]);
    expect(nb.loadBalancers.map((l) => [l.name, l.owned, l.groups, l.switches])).toEqual([
      ['Service_web/api_TCP', true, ['vpc-default-lbs'], []],
      ['by-hand', false, [], ['subnet-join']],
    ]);
    expect(nb.groups).toEqual([{ name: 'vpc-default-lbs', switches: ['subnet-default'], routers: [] }]);
    expect(nb.vpcSwitches).toEqual({ default: ['subnet-default', 'subnet-join'] });
  });
});
