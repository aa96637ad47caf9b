import type { LbOptions } from './load-balancer.model';

/** Kubernetes' default ClientIP affinity (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT = 10800;
/** OVN stores learned affinity flows with a 16-bit idle timeout. */
export const MAX_AFFINITY_TIMEOUT = 65535;
/**
 * From this timeout up (Kubernetes' default, 3 h) ClientIP affinity is a hash on the client address instead of
 * OVN's affinity_timeout: OVN (23.03.1 and 25.03.0) loses the whole first connection of every new affinity session
 * (its learn stage drops the SYN after conntrack committed the DNAT, and that entry sends every retransmit past the
 * learned flow into the drop again; libs/testbed/test/lb-affinity.test.ts). The node agent's affinity rescue
 * (libs/cni/src/conntrack/affinity-rescue.ts) turns that loss into a SYN retransmit's delay (~1 s) for shorter
 * timeouts, whose expiry is the point of asking for them; for hours-long ones the hash costs no delay and an idle
 * expiry of hours is not what a user observes (docs/kube-proxy-parity.md).
 */
export const HASH_AFFINITY_FROM = DEFAULT_AFFINITY_TIMEOUT;
/** The 5-tuple minus the protocol, which the LB fixes. eth_* would only add cost. */
export const OFFLOAD_SELECTION_FIELDS: readonly string[] = ['ip_dst', 'ip_src', 'tp_dst', 'tp_src'];

/** A problem with the requested policy: the named field was replaced by what OVN can do. */
export interface LbOptionsIssue {
  reason: string;
  field: string;
  message: string;
}

/** What a source asks of its load balancers, in source-neutral terms. */
export interface LbPolicyRequest {
  /** ClientIP session affinity, with the timeout as written (validated here) and the field it came from. */
  affinity?: { timeoutSeconds: unknown; field: string };
  /**
   * Offload-friendly hashing: set `selection_fields` so OVS selects buckets with the `hash` method (which TC
   * offload can handle) instead of `dp_hash` (which it cannot).
   */
  offloadSelectionFields?: boolean;
}

/** The LB options of a policy. Never throws: an unusable value is replaced and reported through `warn`. */
export function lbOptions(request: LbPolicyRequest, warn: (issue: LbOptionsIssue) => void): LbOptions {
  const options: LbOptions = {
    reject: true,
    selectionFields: request.offloadSelectionFields ? [...OFFLOAD_SELECTION_FIELDS] : [],
  };
  if (!request.affinity) return options;
  const { field } = request.affinity;
  const requested = request.affinity.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT;
  let timeout = DEFAULT_AFFINITY_TIMEOUT;
  if (typeof requested === 'number' && Number.isInteger(requested) && requested >= 1) {
    timeout = requested;
  } else {
    warn({
      reason: 'InvalidAffinityTimeout',
      field,
      message: `timeout ${String(requested)} is not a positive integer; using ${DEFAULT_AFFINITY_TIMEOUT}`,
    });
  }
  if (timeout < HASH_AFFINITY_FROM) {
    options.affinityTimeout = timeout;
  } else if (timeout <= MAX_AFFINITY_TIMEOUT) {
    // A client stays on one backend for as long as the backend set is stable, and its first connection works.
    options.selectionFields = ['ip_src'];
  } else {
    // Hashing on the client address keeps a client on one backend for as long as the backend set is stable: the
    // nearest OVN offers to an affinity longer than its 16-bit timeout.
    options.selectionFields = ['ip_src'];
    warn({
      reason: 'AffinityTimeoutTooLong',
      field,
      message:
        `OVN supports session affinity timeouts up to ${MAX_AFFINITY_TIMEOUT}s; ${timeout}s is served by ` +
        'hashing on the client address instead (clients move when backends change)',
    });
  }
  return options;
}
