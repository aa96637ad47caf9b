/** One Prometheus histogram as cumulative bucket counts (upper bound -> count), with its sum and count. */
export interface HistogramSnapshot {
  buckets: Array<[number, number]>;
  sum: number;
  count: number;
}

function labelsMatch(labels: string, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => labels.includes(`${k}="${v}"`));
}

/** Parses histogram `name` (with labels matching `want`) out of Prometheus text exposition. */
export function parseHistogram(text: string, name: string, want: Record<string, string> = {}): HistogramSnapshot {
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const [, metric, labels = '', value] = m;
    if (!labelsMatch(labels, want)) continue;
    if (metric === `${name}_bucket`) {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (le)
        buckets.set(
          le === '+Inf' ? Infinity : Number(le),
          (buckets.get(le === '+Inf' ? Infinity : Number(le)) ?? 0) + Number(value),
        );
    } else if (metric === `${name}_sum`) sum += Number(value);
    else if (metric === `${name}_count`) count += Number(value);
  }
  return { buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]), sum, count };
}

/** Gauge or counter value (summed over matching label sets), NaN when absent. */
export function parseScalar(text: string, name: string, want: Record<string, string> = {}): number {
  let v = NaN;
  for (const line of text.split('\n')) {
    const m = /^(\S+?)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name || !labelsMatch(m[2] ?? '', want)) continue;
    v = (Number.isNaN(v) ? 0 : v) + Number(m[3]);
  }
  return v;
}

/** `after - before`, bucket by bucket (the observations made in between). */
export function histogramDelta(after: HistogramSnapshot, before: HistogramSnapshot): HistogramSnapshot {
  const prev = new Map(before.buckets);
  return {
    buckets: after.buckets.map(([le, c]) => [le, c - (prev.get(le) ?? 0)]),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/**
 * Quantile q (0..1) by linear interpolation inside the bucket, as PromQL's histogram_quantile does; the
 * resolution is the bucket width (kube-proxy's programming-latency buckets are 0.25 s, then 1 s wide).
 */
export function histogramQuantile(h: HistogramSnapshot, q: number): number {
  const total = h.buckets.length ? h.buckets[h.buckets.length - 1][1] : 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, c] of h.buckets) {
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, c - prevCount);
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}
