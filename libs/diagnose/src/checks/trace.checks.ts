import { DiagnoseFacts, TraceFacts, isUnavailable } from '../facts';
import { Hop, broken, ok, unknown } from '../hop';
import { backendPods, expectedVips, ipOfHostPort } from '../service-path';

const L = 'trace' as const;

const where = (a: { datapath: string; stage?: string }) => `${a.datapath}${a.stage ? ` (${a.stage})` : ''}`;

/** What became of the traced packet, in words: delivered, replaced, dropped, or its last output. */
function fateOf(t: TraceFacts): string {
  if (t.delivered) return `delivered to ${t.delivered}`;
  if (t.replacedBy) return `replaced by ${t.replacedBy.action} in ${where(t.replacedBy)}`;
  if (t.dropAt) return `dropped in ${where(t.dropAt)}`;
  return t.outputs.length ? `last output to ${t.outputs[t.outputs.length - 1]}, no VIF reached` : 'never output';
}

/** The trace's findings as fields (`-o json`). */
function traceDetail(t: TraceFacts, backend?: string): Record<string, string | string[]> {
  return {
    ...(t.lbBackends ? { lbBackends: t.lbBackends } : {}),
    ...(backend ? { backend } : {}),
    ...(t.delivered ? { deliveredTo: t.delivered } : {}),
    ...(t.dropAt ? { droppedIn: where(t.dropAt) } : {}),
    ...(t.replacedBy ? { replacedBy: `${t.replacedBy.action} in ${where(t.replacedBy)}` } : {}),
    outputs: t.outputs,
  };
}

/**
 * `--trace`: what ovn-trace did with a first packet from the source pod to each VIP. Ok only when the packet was
 * load-balanced to exactly the ready endpoints and reached the port of one of the backends; otherwise the evidence
 * names where it went wrong (not load-balanced on the source's switch, dropped or replaced at a datapath's stage).
 */
export function traceHops(facts: DiagnoseFacts): Hop[] {
  if (!facts.trace) return [];
  const pods = backendPods(facts.kube);
  return expectedVips(facts).map((v) => {
    const id = `trace/${v.key}`;
    const t = facts.trace![v.key];
    if (!t) return unknown(L, id, 'not traced', 'ovn-trace runs from a pod source only');
    if (isUnavailable(t)) return unknown(L, id, `ovn-trace not run: ${t.unavailable}`);
    const hop = (status: 'ok' | 'broken' | 'unknown', evidence: string, fix: string, backend?: string): Hop => ({
      ...(status === 'ok'
        ? ok(L, id, evidence)
        : status === 'broken'
          ? broken(L, id, evidence, fix)
          : unknown(L, id, evidence, fix)),
      detail: traceDetail(t, backend),
    });
    if (t.rejected && !t.lbBackends)
      return hop('broken', 'ovn-trace: the VIP rejects the packet (no backend)', 'see the endpoints hop');
    if (!t.lbBackends) {
      return hop(
        'broken',
        `ovn-trace: the packet is not load-balanced on ${facts.kube.sourcePod?.logicalSwitch ?? "the source's switch"}: ${fateOf(t)}`,
        "the VIP has no load-balancing flow on the source pod's switch: see the northbound/lb-group and southbound/logical-flows hops",
      );
    }
    if (t.lbBackends.join(',') !== v.backends.join(',')) {
      return hop(
        'broken',
        `ovn-trace: load-balanced to [${t.lbBackends.join(' ')}], expected [${v.backends.join(' ')}]: ${fateOf(t)}`,
        'see the northbound backends hop',
      );
    }
    // The backend the packet reached: the one whose pod owns the port it was delivered to.
    const backend = v.backends.find((b) => {
      const lsp = pods.get(ipOfHostPort(b))?.lsp;
      return !!lsp && lsp === t.delivered;
    });
    if (backend) {
      return hop(
        'ok',
        `ovn-trace: load-balanced to ${t.lbBackends.length} backend(s), reached ${backend} at ${t.delivered}`,
        '',
        backend,
      );
    }
    const evidence = `ovn-trace: load-balanced to ${t.lbBackends.length} backend(s), but ${fateOf(t)}`;
    if (t.warnings?.length) {
      return hop(
        'unknown',
        `${evidence}; ovn-trace warned: ${t.warnings.slice(0, 2).join(', e.g. ')}`,
        "ovn-trace may not read this Southbound's flows: run the ovn-trace of northd's OVN release",
      );
    }
    return hop(
      'broken',
      evidence,
      t.dropAt || t.replacedBy
        ? `the packet is lost after the load balancer, at the stage named: ovn-trace --detailed from the source shows the flow`
        : 'the packet reaches no backend port: see the southbound/port-bindings hop',
    );
  });
}

/** `--connect`: a real TCP connection to each TCP VIP from the source node, or from inside the source pod. */
export function connectHops(facts: DiagnoseFacts): Hop[] {
  if (!facts.connect) return [];
  const from = facts.source.kind === 'pod' ? 'the source pod' : 'the source node';
  return expectedVips(facts).map((v) => {
    const id = `connect/${v.key}`;
    const c = facts.connect![v.key];
    if (!c)
      return unknown('connect', id, 'no connection attempted', 'diagnose --connect from a pod or node, on a TCP port');
    if (isUnavailable(c)) return unknown('connect', id, `no connection attempted: ${c.unavailable}`);
    if (c.connected) return ok('connect', id, `TCP connection from ${from} in ${c.ms} ms`);
    return broken(
      'connect',
      id,
      `TCP connection from ${from} failed after ${c.ms} ms: ${c.detail}`,
      `check that the backends listen on the target port and answer (curl it from ${from})`,
    );
  });
}
