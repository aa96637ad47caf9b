/** A tiny SVG writer for the benchmark reports: grouped bars on a log or linear axis, no dependencies. */

export interface BarGroup {
  /** Label under the group (e.g. a system name). */
  label: string;
  /** One value per series (same order as `series`); NaN or undefined leaves a gap. */
  values: Array<number | undefined>;
}

export interface BarChartOptions {
  title: string;
  unit: string;
  series: string[];
  groups: BarGroup[];
  log?: boolean;
  width?: number;
  height?: number;
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmt(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

/** Grouped bar chart as an SVG document; each bar is labelled with its value. */
export function barChartSvg(o: BarChartOptions): string {
  const W = o.width ?? 760;
  const H = o.height ?? 360;
  const m = { l: 70, r: 20, t: 40, b: 70 };
  const all = o.groups
    .flatMap((g) => g.values)
    .filter((v): v is number => v !== undefined && Number.isFinite(v) && v > 0);
  const max = all.length ? Math.max(...all) : 1;
  const min = all.length ? Math.min(...all) : 1;
  const lo = o.log ? 10 ** Math.floor(Math.log10(min)) : 0;
  const hi = o.log ? 10 ** Math.ceil(Math.log10(max)) : max * 1.1;
  const plotH = H - m.t - m.b;
  const y = (v: number): number =>
    m.t +
    plotH -
    (o.log ? ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH : (v / hi) * plotH);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`);
  // axis ticks
  const ticks: number[] = [];
  if (o.log) for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  else for (let i = 0; i <= 5; i++) ticks.push((hi * i) / 5);
  for (const t of ticks) {
    const ty = y(o.log ? t : t || 0);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${ty}" y2="${ty}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${ty + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  parts.push(
    `<text x="14" y="${m.t + plotH / 2}" transform="rotate(-90 14 ${m.t + plotH / 2})" text-anchor="middle">${esc(o.unit)}${o.log ? ' (log)' : ''}</text>`,
  );
  const gw = (W - m.l - m.r) / Math.max(1, o.groups.length);
  const bw = (gw * 0.8) / Math.max(1, o.series.length);
  o.groups.forEach((g, gi) => {
    const gx = m.l + gi * gw + gw * 0.1;
    g.values.forEach((v, si) => {
      if (v === undefined || !Number.isFinite(v) || v <= 0) return;
      const x = gx + si * bw;
      const top = y(Math.max(v, o.log ? lo : 0));
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(m.t + plotH - top).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`,
      );
      parts.push(
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="9">${fmt(v)}</text>`,
      );
    });
    parts.push(
      `<text x="${(gx + gw * 0.4).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  o.series.forEach((s, si) => {
    const lx = m.l + si * 130;
    parts.push(`<rect x="${lx}" y="${H - 24}" width="10" height="10" fill="${COLORS[si % COLORS.length]}"/>`);
    parts.push(`<text x="${lx + 14}" y="${H - 15}">${esc(s)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
