import { SERVICE_HEADLESS_LABEL, SERVICE_PROXY_NAME_LABEL } from '@ycloud/api';
import { DiagnoseFacts, EndpointFact } from '../facts';
import { Hop, broken, ok } from '../hop';
import { backendPods, expectedVips, selectedPorts } from '../service-path';

const L = 'kubernetes' as const;

/** Kubernetes hops in path order: object, proxy labels, port, selector, endpoints, controller events, probes. */
export function kubernetesHops(facts: DiagnoseFacts): Hop[] {
  const { kube } = facts;
  const t = kube.target;
  const what = `${t.kind} ${t.namespace}/${t.name}`;
  const svc = kube.service;
  if (!svc) {
    return [
      broken(
        L,
        'kubernetes/object',
        kube.error ?? `${what} not found`,
        `check the name and namespace: kubectl get ${t.kind.toLowerCase()} -n ${t.namespace}`,
      ),
    ];
  }
  const hops: Hop[] = [];
  const vipsText = svc.clusterIPs.length ? svc.clusterIPs.join(',') : 'none';
  if (svc.type === 'ExternalName') {
    hops.push(
      broken(
        L,
        'kubernetes/object',
        `${what} is ExternalName: DNS only, no VIP to load-balance`,
        'use a ClusterIP Service to reach pods through a VIP',
      ),
    );
    return hops;
  }
  if (!svc.clusterIPs.length || svc.clusterIPs[0] === 'None') {
    hops.push(
      broken(
        L,
        'kubernetes/object',
        `${what} is headless (clusterIP None): no VIP`,
        'clients resolve pod addresses by DNS; give the Service a ClusterIP to get a VIP',
      ),
    );
    return hops;
  }
  hops.push(ok(L, 'kubernetes/object', `${what} type ${svc.type}, cluster IP ${vipsText}`));

  const proxyName = svc.labels[SERVICE_PROXY_NAME_LABEL];
  if (proxyName !== undefined || svc.labels[SERVICE_HEADLESS_LABEL] !== undefined) {
    const label = proxyName !== undefined ? `${SERVICE_PROXY_NAME_LABEL}=${proxyName}` : SERVICE_HEADLESS_LABEL;
    hops.push(
      broken(
        L,
        'kubernetes/proxy-labels',
        `labelled ${label}: Service proxies (ycloud, kube-proxy) leave it alone`,
        `remove the label if ycloud should serve it: kubectl label service -n ${t.namespace} ${t.name} ${label.split('=')[0]}-`,
      ),
    );
  } else hops.push(ok(L, 'kubernetes/proxy-labels', 'no service-proxy-name or headless label'));

  const ports = selectedPorts(facts);
  if (!ports.length) {
    const have = svc.ports.map((p) => `${p.name ? p.name + ' ' : ''}${p.port}/${p.protocol}`).join(', ') || 'none';
    hops.push(
      broken(
        L,
        'kubernetes/port',
        `no port ${facts.port ?? ''} on the ${t.kind} (has ${have})`.replace('  ', ' '),
        'pass --port with one of its ports',
      ),
    );
    return hops;
  }
  hops.push(
    ok(L, 'kubernetes/port', ports.map((p) => `${p.port}/${p.protocol}->${p.targetPort ?? p.port}`).join(', ')),
  );

  if (svc.selector === undefined) {
    hops.push(ok(L, 'kubernetes/selector', 'no selector: EndpointSlices are managed by hand'));
  } else {
    const sel = Object.entries(svc.selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = kube.selectedPods;
    if (!pods.length) {
      hops.push(
        broken(
          L,
          'kubernetes/selector',
          `selector ${sel} matches no pod in ${t.namespace}`,
          `compare with the pods' labels: kubectl get pods -n ${t.namespace} --show-labels`,
        ),
      );
    } else {
      const ready = pods.filter((p) => p.ready).length;
      hops.push(ok(L, 'kubernetes/selector', `selector ${sel} matches ${pods.length} pod(s), ${ready} ready`));
    }
  }

  hops.push(endpointsHop(facts));
  hops.push(eventsHop(facts));
  hops.push(probesHop(facts));
  return hops;
}

function endpointsHop(facts: DiagnoseFacts): Hop {
  const { kube } = facts;
  const all: EndpointFact[] = kube.endpointSlices.flatMap((s) => s.endpoints);
  const count = (f: (e: EndpointFact) => boolean) => all.filter(f).length;
  const ready = count((e) => e.ready !== false && e.terminating !== true);
  const serving = count((e) => e.serving !== false);
  const terminating = count((e) => e.terminating === true);
  const counts = `${kube.endpointSlices.length} EndpointSlice(s), ${all.length} endpoint(s): ${ready} ready, ${serving} serving, ${terminating} terminating`;
  if (!all.length) {
    const fix = kube.service?.selector
      ? 'no pod behind the selector is reported yet: check the pods and kube-controller-manager'
      : 'a Service without selector needs EndpointSlices made by hand (label kubernetes.io/service-name)';
    return broken(L, 'kubernetes/endpoints', `no endpoints (${counts})`, fix);
  }
  const vips = expectedVips(facts);
  const empty = vips.filter((v) => !v.backends.length);
  if (empty.length) {
    const notReady = kube.selectedPods.filter((p) => !p.ready).map((p) => p.name);
    const who = notReady.length
      ? `; not ready: ${notReady.slice(0, 5).join(', ')}${notReady.length > 5 ? ', ...' : ''}`
      : '';
    return broken(
      L,
      'kubernetes/endpoints',
      `no usable endpoint for ${empty.map((v) => `${v.key}/${v.protocol}`).join(', ')} (${counts}${who})`,
      notReady.length
        ? `the pods are not Ready (readiness probe failing?): kubectl describe pod -n ${kube.target.namespace} ${notReady[0]}`
        : "the endpoints have no port of that name: compare the Service port names with the pods' ports",
    );
  }
  return ok(L, 'kubernetes/endpoints', counts);
}

function eventsHop(facts: DiagnoseFacts): Hop {
  const ycloud = facts.kube.events.filter((e) => (e.source ?? '').includes('ycloud'));
  const last = ycloud[ycloud.length - 1];
  if (last?.type === 'Warning') {
    return broken(
      L,
      'kubernetes/events',
      `ycloud's last Event: Warning ${last.reason}: ${last.message} (x${last.count})`,
      'fix what the Event names; the controller retries by itself',
    );
  }
  const failing = (facts.kube.service?.conditions ?? []).filter((c) => c.type === 'Ready' && c.status === 'False');
  if (failing.length) {
    const c = failing[0];
    return broken(
      L,
      'kubernetes/events',
      `condition Ready=False ${c.reason ?? ''}: ${c.message ?? ''}`.trim(),
      'fix what the condition names',
    );
  }
  const warnings = ycloud.filter((e) => e.type === 'Warning').length;
  return ok(
    L,
    'kubernetes/events',
    last
      ? `ycloud's last Event: ${last.type} ${last.reason}${warnings ? ` (${warnings} earlier warning(s))` : ''}`
      : 'no Events from ycloud',
  );
}

function probesHop(facts: DiagnoseFacts): Hop {
  const backends = backendPods(facts.kube);
  const relevant = facts.kube.probes.filter((p) => p.address && backends.has(p.address));

  if (!relevant.length) return ok(L, 'kubernetes/network-probes', 'no NetworkProbe watches these backends');
  const failing = relevant.filter((p) => !p.healthy);
  if (failing.length) {
    const f = failing[0];
    return broken(
      L,
      'kubernetes/network-probes',
      `${failing.length} of ${relevant.length} probed backend(s) unhealthy: ${failing.map((p) => `${p.address} (${p.probe}: ${p.message ?? 'failing'})`).join('; ')}`,
      `the backend ${backends.get(f.address!)?.pod ?? f.address} does not answer its probe: check it serves the probed port`,
    );
  }
  return ok(L, 'kubernetes/network-probes', `${relevant.length} probed backend(s) healthy`);
}
