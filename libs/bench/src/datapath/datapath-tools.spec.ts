import { busyCores, parseAb, parseIperf3, parseSockperf } from './datapath-tools';

describe('data-path tool output', () => {
  it('iperf3 TCP: receiver bits per second', () => {
    const j = JSON.stringify({ end: { sum_received: { bits_per_second: 2.5e9, seconds: 5 }, sum_sent: {} } });
    expect(parseIperf3(j)).toEqual({ gbps: 2.5 });
  });

  it('iperf3 UDP: datagrams the receiver got per second (its packet count minus the lost ones)', () => {
    const j = JSON.stringify({
      end: {
        sum_received: { bits_per_second: 1.5e7, seconds: 1, packets: 109663, lost_packets: 79293, lost_percent: 72.3 },
      },
    });
    expect(parseIperf3(j)).toEqual({ gbps: 0.015, pps: 30370, lossPercent: 72.3 });
    expect(() => parseIperf3(JSON.stringify({ error: 'unable to connect' }))).toThrow('iperf3: unable to connect');
  });

  it('sockperf ping-pong: round trip = twice the one-way percentiles', () => {
    const out = 'sockperf: ---> percentile 99.000 =       12.345\nsockperf: ---> percentile 50.000 =        3.500\n';
    expect(parseSockperf(out)).toEqual({ p50Us: 7, p99Us: 24.69 });
  });

  it('ab: requests per second, and failed requests are an error', () => {
    expect(parseAb('Failed requests:        0\nRequests per second:    2769.12 [#/sec] (mean)\n')).toBe(2769.12);
    expect(() => parseAb('Failed requests:        3\nRequests per second:    10 [#/sec] (mean)\n')).toThrow('3 failed');
  });

  it('busy cores from two /proc/stat readings', () => {
    const a = 'cpu  100 0 100 1000 0 0 0 0 0 0\n';
    const b = 'cpu  200 0 200 1100 0 0 0 0 0 0\n';
    expect(busyCores(a, b, 1)).toBeCloseTo(2);
  });
});
