import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectTrace, summariseTrace, traceMicroflow } from './trace.collector';

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

  /** Real `ovn-trace --detailed --ct=new` output of a pod -> ClusterIP packet on the sandbox (captured 2026-12-07). */
  const captured = (name: string) => readFileSync(join(__dirname, 'fixtures', `ovn-trace-${name}.txt`), 'utf8');

  it('23.03 and 25.03, healthy: load-balanced to both backends, through the router, delivered to a backend', () => {
    for (const [release, port] of [
      ['23.03-healthy', 'pod.diag.web-1'],
      ['25.03-healthy', 'pod.diag.web-1'],
    ]) {
      expect(summariseTrace(captured(release), 'm')).toEqual({
        lbBackends: ['10.16.0.3:8080', '10.16.0.4:8080'],
        outputs: ['subnet-default-to-router', 'router-to-subnet-default', port],
        delivered: port,
        dropped: false,
        rejected: false,
        microflow: 'm',
      });
    }
  });

  it('the LB group detached from the client switch: not load-balanced, dropped by the router', () => {
    expect(summariseTrace(captured('23.03-lb-group-detached'), 'm')).toEqual({
      outputs: ['subnet-default-to-router'],
      dropped: true,
      dropAt: { datapath: 'vpc-default', stage: 'lr_in_ip_routing' },
      rejected: false,
      microflow: 'm',
    });
  });

  it("a VIP's backend edited in NB: load-balanced there, then the router ARPs for it (the flood is not delivery)", () => {
    expect(summariseTrace(captured('23.03-vip-edited'), 'm')).toEqual({
      lbBackends: ['10.16.250.250:8080'],
      outputs: [
        'subnet-default-to-router',
        'router-to-subnet-default',
        'pod.diag.client',
        'pod.diag.web-0',
        'pod.diag.web-1',
      ],
      dropped: false,
      replacedBy: { action: 'arp', datapath: 'vpc-default', stage: 'lr_in_arp_request' },
      rejected: false,
      microflow: 'm',
    });
  });

  it("23.03's ovn-trace on 25.03's Southbound: misreads a newer action as a drop in the router", () => {
    expect(summariseTrace(captured('23.03-tool-on-25.03-sb'), 'm', '')).toMatchObject({
      lbBackends: ['10.16.0.3:8080', '10.16.0.4:8080'],
      dropAt: { datapath: 'vpc-default', stage: 'lr_in_learn_neighbor' },
    });
    // What that ovn-trace printed on stderr (real, first lines): the flows it could not parse.
    const stderr = readFileSync(join(__dirname, 'fixtures', 'ovn-trace-23.03-tool-on-25.03-sb.stderr.txt'), 'utf8');
    expect(summariseTrace(captured('23.03-tool-on-25.03-sb'), 'm', stderr).warnings).toEqual([
      '8 warning(s), 7 flow(s) not parsed',
      "ovntrace|WARN|((ip4 && icmp4.type == 3 && icmp4.code == 4) || (ip6 && icmp6.type ... : parsing expression failed (Syntax error at `flags.tunnel_rx' expecting field name.)",
      expect.stringMatching(/^ovntrace\|WARN\|nd_ns_mcast .*: parsing expression failed/),
      expect.stringMatching(/^ovntrace\|WARN\|ct_commit .*: parsing actions failed/),
    ]);
  });

  it('runs the configured ovn-trace command with --detailed --ct=new', async () => {
    const calls: string[][] = [];
    const runner = {
      run: (cmd: string, args: string[]) => {
        calls.push([cmd, ...args]);
        return Promise.resolve({ code: 0, stdout: captured('23.03-healthy'), stderr: '' });
      },
    };
    const t = await collectTrace(runner, 'unix:/sb.sock', q, ['chroot', '/root-25.03', 'ovn-trace']);
    expect(t.delivered).toBe('pod.diag.web-1');
    expect(calls[0].slice(0, 6)).toEqual([
      'chroot',
      '/root-25.03',
      'ovn-trace',
      '--db=unix:/sb.sock',
      '--detailed',
      '--ct=new',
    ]);
  });
});
