import { EXTERNAL_IDS } from '@ycloud/api';
import { DiagnoseFacts, NbLoadBalancerFact, NorthboundFacts } from '../facts';
import { Hop, broken, ok } from '../hop';
import { ExpectedVip, expectedVips } from '../service-path';

const L = 'northbound' as const;
const DRIFT_FIX =
  'ycloud rewrites the rows it owns when it next reconciles the Service (a change to it or its endpoints, or a controller restart); `ycloud journal` shows what it wrote last';

/** Northbound hops: load balancer rows, each VIP, its backends, options, LB group attachment, journal. */
export function northboundHops(facts: DiagnoseFacts, nb: NorthboundFacts): Hop[] {
  const hops: Hop[] = [];
  const vips = expectedVips(facts);
  const t = facts.kube.target;
  const protocols = [...new Set(vips.map((v) => v.protocol))];
  // Only the load balancers of the protocols on the path (--port may pick one).
  const lbs = nb.loadBalancers.filter((lb) => lb.owned && protocols.includes((lb.protocol ?? 'tcp') as never));
  const lbOf = (v: ExpectedVip): NbLoadBalancerFact | undefined =>
    lbs.find((lb) => (lb.protocol ?? 'tcp') === v.protocol && v.key in lb.vips) ??
    lbs.find((lb) => (lb.protocol ?? 'tcp') === v.protocol);
  const missing = protocols.filter((p) => !lbs.some((lb) => (lb.protocol ?? 'tcp') === p));
  if (missing.length) {
    hops.push(
      broken(
        L,
        'northbound/load-balancer',
        `no Load_Balancer of ${t.kind} ${t.namespace}/${t.name} for ${missing.join(', ')} (${lbs.length} owned row(s))`,
        'check the controller is the leader and the Service is not labelled away; `kubectl get events` for the Service',
      ),
    );
    return hops;
  }
  hops.push(ok(L, 'northbound/load-balancer', lbs.map((lb) => `${lb.name} (${lb.protocol ?? 'tcp'})`).join(', ')));

  const noVip = vips.filter((v) => !(v.key in (lbOf(v)?.vips ?? {})));
  if (noVip.length) {
    hops.push(
      broken(
        L,
        'northbound/vips',
        `VIP ${noVip.map((v) => `${v.key}/${v.protocol}`).join(', ')} missing from ${lbOf(noVip[0])?.name}`,
        DRIFT_FIX,
      ),
    );
    return hops;
  }
  hops.push(ok(L, 'northbound/vips', vips.map((v) => `${v.key}/${v.protocol}`).join(', ')));

  const wrong: string[] = [];
  for (const v of vips) {
    const actual = (lbOf(v)!.vips[v.key] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .sort();
    const extra = actual.filter((b) => !v.backends.includes(b));
    const absent = v.backends.filter((b) => !actual.includes(b));
    if (extra.length || absent.length) {
      wrong.push(`${v.key}: NB has [${actual.join(' ')}], ready endpoints are [${v.backends.join(' ')}]`);
    }
  }
  if (wrong.length) hops.push(broken(L, 'northbound/backends', wrong.join('; '), DRIFT_FIX));
  else
    hops.push(ok(L, 'northbound/backends', vips.map((v) => `${v.key} -> ${v.backends.length} backend(s)`).join(', ')));

  hops.push(optionsHop(facts, vips, lbOf));
  hops.push(groupHop(nb, lbs));
  hops.push(
    nb.lastChange
      ? ok(L, 'northbound/journal', `last change ${nb.lastChange.time}: ${nb.lastChange.summary}`)
      : ok(L, 'northbound/journal', 'no journal entry (journal off or nothing written yet)'),
  );
  return hops;
}

function optionsHop(
  facts: DiagnoseFacts,
  vips: ExpectedVip[],
  lbOf: (v: ExpectedVip) => NbLoadBalancerFact | undefined,
): Hop {
  const issues: string[] = [];
  const shown: string[] = [];
  for (const v of vips) {
    const lb = lbOf(v)!;
    const reject = lb.options.reject === 'true';
    if (!v.backends.length && !reject)
      issues.push(`${lb.name}: ${v.key} has no backend but reject is not set (clients hang instead of being refused)`);
    shown.push(`${lb.name}: reject=${reject}`);
  }
  const svc = facts.kube.service!;
  if (svc.sessionAffinity === 'ClientIP') {
    for (const lb of new Set(vips.map(lbOf))) {
      if (!lb) continue;
      const aff = lb.options.affinity_timeout;
      if (!aff && !lb.selectionFields.includes('ip_src'))
        issues.push(`${lb.name}: ClientIP affinity asked, no affinity_timeout or ip_src hash`);
      else shown.push(`${lb.name}: affinity ${aff ? `${aff}s` : 'ip_src hash'}`);
    }
  }
  if (issues.length) return broken(L, 'northbound/options', issues.join('; '), DRIFT_FIX);
  return ok(L, 'northbound/options', [...new Set(shown)].join(', '));
}

function groupHop(nb: NorthboundFacts, lbs: NbLoadBalancerFact[]): Hop {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const lb of lbs) {
    const vpc = lb.externalIds[EXTERNAL_IDS.vpc];
    const switches = vpc ? (nb.vpcSwitches[vpc] ?? []) : [];
    const groups = nb.groups.filter((g) => lb.groups.includes(g.name));
    if (!groups.length && !lb.switches.length) {
      problems.push(`${lb.name} is in no Load_Balancer_Group and on no switch`);
      continue;
    }
    const reached = new Set([...lb.switches, ...groups.flatMap((g) => g.switches)]);
    const unreached = switches.filter((s) => !reached.has(s));
    if (unreached.length) {
      problems.push(
        `${lb.name} (group ${groups.map((g) => g.name).join(',') || 'none'}) does not reach switch(es) ${unreached.join(', ')} of VPC ${vpc}`,
      );
    } else
      seen.push(`${lb.name} via ${groups.map((g) => g.name).join(',') || 'switch rows'} on ${reached.size} switch(es)`);
  }
  if (problems.length) {
    return broken(
      L,
      'northbound/lb-group',
      problems.join('; '),
      `re-attach the group: ovn-nbctl add Logical_Switch <switch> load_balancer_group <group> (ycloud also does when it next reconciles the switch's Subnet, e.g. at controller start)`,
    );
  }
  return ok(L, 'northbound/lb-group', seen.join('; '));
}
