/** One step of a Service path and what diagnose found there. */
export type HopStatus = 'ok' | 'broken' | 'unknown';

export type HopLayer = 'kubernetes' | 'northbound' | 'southbound' | 'node' | 'trace' | 'connect';

export interface Hop {
  layer: HopLayer;
  /** Stable identifier, e.g. `kubernetes/endpoints`, `node/node-1/ovn-controller`. */
  id: string;
  status: HopStatus;
  /** What was seen (counts, names, values). */
  evidence: string;
  /** What a user would try; set on broken and unknown hops. */
  fix?: string;
  /** The same evidence as fields, for `-o json` readers (the trace hops: backends, port reached, drop stage). */
  detail?: Record<string, string | string[]>;
}

export interface Diagnosis {
  target: string;
  source: string;
  /** VIPs (ip:port/protocol) on the path. */
  vips: string[];
  hops: Hop[];
  verdict: {
    status: 'ok' | 'broken';
    /** The id of the first broken hop. */
    firstBroken?: string;
    unknown: number;
  };
}

export const ok = (layer: HopLayer, id: string, evidence: string): Hop => ({ layer, id, status: 'ok', evidence });
export const broken = (layer: HopLayer, id: string, evidence: string, fix: string): Hop => ({
  layer,
  id,
  status: 'broken',
  evidence,
  fix,
});
export const unknown = (layer: HopLayer, id: string, evidence: string, fix?: string): Hop => ({
  layer,
  id,
  status: 'unknown',
  evidence,
  ...(fix ? { fix } : {}),
});

/** The process exit code of a diagnosis: 0 when nothing is broken, 1 when a hop is. */
export function exitCodeOf(d: Diagnosis): number {
  return d.verdict.status === 'broken' ? 1 : 0;
}
