import { histogramDelta, histogramQuantile, parseHistogram, parseScalar } from './histogram';

const TEXT = `# HELP kubeproxy_network_programming_duration_seconds x
kubeproxy_network_programming_duration_seconds_bucket{le="0.25"} 10
kubeproxy_network_programming_duration_seconds_bucket{le="0.5"} 30
kubeproxy_network_programming_duration_seconds_bucket{le="1"} 90
kubeproxy_network_programming_duration_seconds_bucket{le="2"} 100
kubeproxy_network_programming_duration_seconds_bucket{le="+Inf"} 100
kubeproxy_network_programming_duration_seconds_sum 70
kubeproxy_network_programming_duration_seconds_count 100
kubeproxy_sync_proxy_rules_endpoint_changes_pending{ip_family="IPv4"} 3
`;

describe('kube-proxy histograms', () => {
  it('parses buckets, sum and count', () => {
    const h = parseHistogram(TEXT, 'kubeproxy_network_programming_duration_seconds');
    expect(h.count).toBe(100);
    expect(h.sum).toBe(70);
    expect(h.buckets[h.buckets.length - 1]).toEqual([Infinity, 100]);
  });

  it('interpolates quantiles inside the bucket as histogram_quantile does', () => {
    const h = parseHistogram(TEXT, 'kubeproxy_network_programming_duration_seconds');
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(0.5 + 0.5 * (20 / 60));
    expect(histogramQuantile(h, 0.99)).toBeCloseTo(1 + 0.9);
  });

  it('subtracts an earlier snapshot, so only the observations in between count', () => {
    const after = parseHistogram(TEXT, 'kubeproxy_network_programming_duration_seconds');
    const before = parseHistogram(
      TEXT.replace(/ 90$/m, ' 40').replace(/} 100$/gm, '} 50'),
      'kubeproxy_network_programming_duration_seconds',
    );
    const d = histogramDelta(after, before);
    expect(d.buckets.find(([le]) => le === 1)?.[1]).toBe(50);
    expect(histogramQuantile({ buckets: [], sum: 0, count: 0 }, 0.5)).toBeNaN();
  });

  it('reads gauges by name and labels', () => {
    expect(parseScalar(TEXT, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', { ip_family: 'IPv4' })).toBe(3);
    expect(parseScalar(TEXT, 'absent')).toBeNaN();
  });
});
