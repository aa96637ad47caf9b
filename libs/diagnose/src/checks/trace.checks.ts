import { DiagnoseFacts, isUnavailable } from '../facts';
import { Hop, broken, ok, unknown } from '../hop';
import { expectedVips } from '../service-path';

const L = 'trace' as const;

/** `--trace`: what ovn-trace did with a first packet from the source to each VIP. */
export function traceHops(facts: DiagnoseFacts): Hop[] {
  if (!facts.trace) return [];
  return expectedVips(facts).map((v) => {
    const id = `trace/${v.key}`;
    const t = facts.trace![v.key];
    if (!t) return unknown(L, id, 'not traced', 'ovn-trace runs from a pod source only');
    if (isUnavailable(t)) return unknown(L, id, `ovn-trace not run: ${t.unavailable}`);
    if (t.rejected && !t.lbBackends)
      return broken(L, id, 'ovn-trace: the VIP rejects the packet (no backend)', 'see the endpoints hop');
    if (!t.lbBackends) {
      return broken(
        L,
        id,
        `ovn-trace: the packet is not load-balanced${t.dropped ? ' and dropped' : ''}`,
        'see the northbound and southbound hops',
      );
    }
    const want = v.backends.join(',');
    if (t.lbBackends.join(',') !== want) {
      return broken(
        L,
        id,
        `ovn-trace: load-balanced to [${t.lbBackends.join(' ')}], expected [${v.backends.join(' ')}]`,
        'see the northbound backends hop',
      );
    }
    const out = t.outputs.length ? `, delivered to ${t.outputs[t.outputs.length - 1]}` : '';
    return ok(L, id, `ovn-trace: load-balanced to ${t.lbBackends.length} backend(s)${out}`);
  });
}

/** `--connect`: a real TCP connection from the source node to each TCP VIP. */
export function connectHops(facts: DiagnoseFacts): Hop[] {
  if (!facts.connect) return [];
  return expectedVips(facts).map((v) => {
    const id = `connect/${v.key}`;
    const c = facts.connect![v.key];
    if (!c) return unknown('connect', id, 'no connection attempted', 'diagnose --connect from a node, on a TCP port');
    if (isUnavailable(c)) return unknown('connect', id, `no connection attempted: ${c.unavailable}`);
    if (c.connected) return ok('connect', id, `TCP connection from the source node in ${c.ms} ms`);
    return broken(
      'connect',
      id,
      `TCP connection from the source node failed after ${c.ms} ms: ${c.detail}`,
      'every hop above passed: check that the backends listen on the target port and answer (curl from the node)',
    );
  });
}
