import { summariseTrace, traceMicroflow } from './trace.collector';

describe('trace collector', () => {
  const q = {
    datapath: 'subnet-default',
    inport: 'web.client',
    ethSrc: '0e:00:00:00:00:09',
    ethDst: '0e:79:0a:10:00:01',
    ipSrc: '10.16.0.9',
    vip: '10.96.0.10:80',
    protocol: 'tcp' as const,
  };

  it('builds the microflow of a first packet to the VIP', () => {
    expect(traceMicroflow(q)).toBe(
      'inport == "web.client" && eth.src == 0e:00:00:00:00:09 && eth.dst == 0e:79:0a:10:00:01 && ip4.src == 10.16.0.9 && ip4.dst == 10.96.0.10 && ip.ttl == 64 && tcp.src == 40000 && tcp.dst == 80',
    );
  });

  it('refuses values that are not names or addresses', () => {
    expect(() => traceMicroflow({ ...q, inport: 'x" || 1' })).toThrow(/bad inport/);
  });

  it('summarises the LB action, the outputs, drops and rejects', () => {
    const text = [
      'ingress(dp="subnet-default", inport="web.client") {',
      '    ct_lb_mark(backends=10.16.0.6:8080,10.16.0.5:8080);',
      '    egress(dp="subnet-default", inport="web.client", outport="web.a") {',
      '        /* output to "web.a", type "" */;',
      '    };',
      '};',
    ].join('\n');
    expect(summariseTrace(text, 'm')).toEqual({
      lbBackends: ['10.16.0.5:8080', '10.16.0.6:8080'],
      outputs: ['web.a'],
      dropped: false,
      rejected: false,
      microflow: 'm',
    });
    expect(summariseTrace('ingress(dp="s") {\n    drop;\n};', 'm')).toEqual({
      outputs: [],
      dropped: true,
      rejected: false,
      microflow: 'm',
    });
  });
});
