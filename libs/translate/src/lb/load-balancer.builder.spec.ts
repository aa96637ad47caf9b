import type { YusurService } from '@ycloud/api';
import { translateService } from '../service/service.translator';
import { parseIpAddress, type ParsedIp } from '@ycloud/api';
import { translateYusurService } from '../yusur/yusur-service.translator';
import {
  DRAIN_VIP_ADDRESS,
  buildLoadBalancers,
  drainVips,
  ownHostBackendsViaJoin,
  selectBackends,
} from './load-balancer.builder';
import { lbOptions, type LbOptionsIssue } from './lb-options';
import type { LbBackend, LoadBalancerSpec } from './load-balancer.model';

const ip = (text: string): ParsedIp => parseIpAddress(text) as ParsedIp;
const backend = (address: string, extra: Partial<LbBackend> = {}): LbBackend => ({
  address: ip(address),
  port: 8080,
  ready: true,
  serving: true,
  terminating: false,
  ...extra,
});
const owner = { kind: 'Test', name: 'ns/t' };

describe('lbOptions', () => {
  it('rejects without backends and keeps affinity within OVN 16-bit timeout', () => {
    const issues: LbOptionsIssue[] = [];
    const o = lbOptions({ affinity: { timeoutSeconds: 600, field: 'f' } }, (i) => issues.push(i));
    expect(o).toEqual({ reject: true, affinityTimeout: 600, selectionFields: [] });
    expect(issues).toEqual([]);
  });

  it('warns about an unusable timeout and uses the default', () => {
    const issues: LbOptionsIssue[] = [];
    const o = lbOptions({ affinity: { timeoutSeconds: 0, field: 'f' } }, (i) => issues.push(i));
    expect(o).toEqual({ reject: true, selectionFields: ['ip_src'] });
    expect(issues).toEqual([expect.objectContaining({ reason: 'InvalidAffinityTimeout', field: 'f' })]);
  });

  it('serves the default timeout (3 h) and longer ones up to 65535 s by a client-address hash, silently', () => {
    for (const t of [undefined, 10800, 65535]) {
      const issues: LbOptionsIssue[] = [];
      const o = lbOptions({ affinity: { timeoutSeconds: t, field: 'f' } }, (i) => issues.push(i));
      expect(o).toEqual({ reject: true, selectionFields: ['ip_src'] });
      expect(issues).toEqual([]);
    }
    const short = lbOptions({ affinity: { timeoutSeconds: 10799, field: 'f' } }, () => undefined);
    expect(short).toEqual({ reject: true, affinityTimeout: 10799, selectionFields: [] });
  });

  it('serves a timeout above 65535 by hashing on the client address, with a warning', () => {
    const issues: LbOptionsIssue[] = [];
    const o = lbOptions({ affinity: { timeoutSeconds: 86400, field: 'f' }, offloadSelectionFields: true }, (i) =>
      issues.push(i),
    );
    expect(o).toEqual({ reject: true, selectionFields: ['ip_src'] });
    expect(issues.map((i) => i.reason)).toEqual(['AffinityTimeoutTooLong']);
  });
});

describe('selectBackends', () => {
  it('takes ready healthy backends, else serving-terminating ones, per node when asked', () => {
    const all = [
      backend('10.0.0.3', { node: 'a' }),
      backend('10.0.0.2', { node: 'a', healthy: false }),
      backend('10.0.0.4', { node: 'b', ready: false, terminating: true }),
      backend('fd00::1', { node: 'a' }),
    ];
    expect(selectBackends(all, 4).map((b) => b.ip.address)).toEqual(['10.0.0.3']);
    expect(selectBackends(all, 4, 'b').map((b) => b.ip.address)).toEqual(['10.0.0.4']);
    expect(selectBackends(all, 6).map((b) => b.ip.address)).toEqual(['fd00::1']);
  });
});

describe('buildLoadBalancers', () => {
  const spec = (over: Partial<LoadBalancerSpec>): LoadBalancerSpec => ({
    key: 'lb:t',
    name: 'T',
    protocol: 'tcp',
    attachment: { kind: 'switch-group', key: 'lbg:blue' },
    externalIds: { 'ycloud.io/z': '1', 'ycloud.io/a': '2' },
    options: { reject: true, selectionFields: [] },
    frontends: [],
    ...over,
  });

  it('builds one row per spec with frontends, attached where the spec says, first VIP wins', () => {
    const issues: string[] = [];
    const built = buildLoadBalancers(
      owner,
      [
        spec({
          frontends: [
            { address: ip('10.96.0.2'), port: 80, scope: 'cluster', backends: [backend('10.0.0.1')] },
            { address: ip('10.96.0.1'), port: 80, scope: 'cluster', backends: [] },
            { address: ip('10.96.0.2'), port: 80, scope: 'external', backends: [] },
          ],
        }),
        spec({ key: 'lb:r', attachment: { kind: 'vpc-router', key: 'lr:blue' }, frontends: [] }),
        spec({
          key: 'lb:gw',
          attachment: { kind: 'service-gateway' },
          frontends: [{ address: ip('172.16.0.1'), port: 80, scope: 'external', backends: [] }],
        }),
      ],
      [],
      (i) => issues.push(i.reason),
    );
    expect(built.rows.map((r) => r.key)).toEqual(['lb:gw', 'lb:t']);
    const t = built.rows[1].columns;
    expect(t.vips).toEqual({ '10.96.0.1:80': '', '10.96.0.2:80': '10.0.0.1:8080' });
    expect(Object.keys(t.vips as object)).toEqual(['10.96.0.1:80', '10.96.0.2:80']);
    expect(Object.keys(t.external_ids as object)).toEqual(['ycloud.io/a', 'ycloud.io/z']);
    expect(issues).toEqual(['DuplicateVip']);
    // The service-gateway's LB is referenced by its router row, not by a membership; it must hash on the 5-tuple.
    expect(built.rows[0].columns.selection_fields).toEqual(['ip_dst', 'ip_src', 'tp_dst', 'tp_src']);
    expect(built.memberships).toEqual([
      expect.objectContaining({ table: 'Load_Balancer_Group', key: 'lbg:blue', members: [expect.anything()] }),
    ]);
  });

  it("gives a per-chassis LB one backends variable per chassis with that node's backends", () => {
    const built = buildLoadBalancers(
      owner,
      [
        spec({
          perChassis: { family: 4 },
          frontends: [
            {
              address: ip('10.96.0.1'),
              port: 80,
              scope: 'cluster',
              backends: [backend('10.0.0.1', { node: 'a' }), backend('10.0.0.2', { node: 'b' })],
            },
          ],
        }),
      ],
      [
        { name: 'a', chassis: 'ch-a' },
        { name: 'b', chassis: 'ch-b' },
      ],
    );
    expect(built.rows[0].columns.options).toEqual({ 'address-family': 'ipv4', reject: 'true', template: 'true' });
    expect(built.mapEntries.map((m) => [m.key, Object.values(m.entries)])).toEqual([
      ['ctv:ch-a', ['10.0.0.1:8080', '10.96.0.1']],
      ['ctv:ch-b', ['10.0.0.2:8080', '10.96.0.1']],
    ]);
  });

  it('gives every chassis all backends, its own host-network one at its join address', () => {
    const built = buildLoadBalancers(
      owner,
      [
        spec({
          perChassis: { family: 4 },
          frontends: [
            {
              address: ip('10.96.0.1'),
              port: 80,
              scope: 'cluster',
              hostNetworkBackends: true,
              backends: [backend('192.168.0.1', { node: 'a' }), backend('192.168.0.2', { node: 'b' })],
            },
          ],
        }),
      ],
      [
        { name: 'a', chassis: 'ch-a', addresses: [ip('192.168.0.1')], joinAddresses: [ip('100.64.0.2')] },
        { name: 'b', chassis: 'ch-b', addresses: [ip('192.168.0.2')], joinAddresses: [ip('100.64.0.3')] },
      ],
    );
    expect(Object.values(built.rows[0].columns.vips as object)).toEqual([expect.stringMatching(/_ALL_BACKENDS4$/)]);
    expect(built.mapEntries.map((m) => [m.key, Object.values(m.entries)])).toEqual([
      ['ctv:ch-a', ['100.64.0.2:8080,192.168.0.2:8080', '10.96.0.1']],
      ['ctv:ch-b', ['100.64.0.3:8080,192.168.0.1:8080', '10.96.0.1']],
    ]);
  });
});

describe('ownHostBackendsViaJoin', () => {
  const at = (address: string, port = 8080) => ({ ip: ip(address), port });
  const node = {
    name: 'a',
    chassis: 'ch-a',
    addresses: [ip('192.168.0.1'), ip('fd00::1')],
    joinAddresses: [ip('100.64.0.2')],
  };

  it("puts the node's own host-network backends at its join address of the family, others unchanged", () => {
    const out = ownHostBackendsViaJoin([at('192.168.0.2'), at('192.168.0.1'), at('10.16.0.5')], node);
    expect(out.map((b) => `${b.ip.address}:${b.port}`)).toEqual([
      '10.16.0.5:8080',
      '100.64.0.2:8080',
      '192.168.0.2:8080',
    ]);
  });

  it('leaves a backend of a family without a join address, and every backend of a node without one', () => {
    expect(ownHostBackendsViaJoin([at('fd00::1')], node).map((b) => b.ip.address)).toEqual(['fd00::1']);
    const bare = { name: 'a', chassis: 'ch-a', addresses: [ip('192.168.0.1')] };
    expect(ownHostBackendsViaJoin([at('192.168.0.1')], bare).map((b) => b.ip.address)).toEqual(['192.168.0.1']);
  });

  it('deduplicates when the join address is a backend already', () => {
    const out = ownHostBackendsViaJoin([at('192.168.0.1'), at('100.64.0.2')], node);
    expect(out).toEqual([at('100.64.0.2')]);
  });
});

describe('drain VIPs of a VPC router LB', () => {
  const eip = ip('172.16.0.50');
  const routerSpec = (backends: LbBackend[], attachment: LoadBalancerSpec['attachment']): LoadBalancerSpec => ({
    key: 'lb:r',
    name: 'R',
    protocol: 'tcp',
    attachment,
    externalIds: {},
    options: { reject: true, selectionFields: [] },
    frontends: [{ address: eip, port: 80, scope: 'external', backends }],
  });
  const vipsOf = (s: LoadBalancerSpec) => buildLoadBalancers(owner, [s]).rows[0].columns.vips;
  const router = { kind: 'vpc-router' as const, key: 'lr:blue' };

  it('keeps a TCP backend that takes no new connections under 0.0.0.0, so its replies are still un-DNATed', () => {
    const backends = [
      backend('10.0.0.2'),
      backend('10.0.0.1', { ready: false, terminating: true }),
      backend('10.0.0.3', { ready: false, serving: false }),
      backend('fd00::1', { ready: false, terminating: true }),
    ];
    expect(vipsOf(routerSpec(backends, router))).toEqual({
      '172.16.0.50:80': '10.0.0.2:8080',
      [`${DRAIN_VIP_ADDRESS}:80`]: '10.0.0.1:8080,10.0.0.3:8080',
    });
    // Elsewhere OVN un-DNATs by conntrack alone (switches, gateway routers): no drain VIP.
    expect(vipsOf(routerSpec(backends, { kind: 'switch-group', key: 'lbg:blue' }))).toEqual({
      '172.16.0.50:80': '10.0.0.2:8080',
    });
    expect(vipsOf(routerSpec(backends, { kind: 'service-gateway' }))).toEqual({ '172.16.0.50:80': '10.0.0.2:8080' });
    // UDP and SCTP entries toward a backend leaving the set are flushed instead, as kube-proxy does.
    expect(vipsOf({ ...routerSpec(backends, router), protocol: 'udp' })).toEqual({ '172.16.0.50:80': '10.0.0.2:8080' });
  });

  it('has none in a steady state, nor for the serving-terminating fallback, which the VIP itself lists', () => {
    expect(vipsOf(routerSpec([backend('10.0.0.1'), backend('10.0.0.2')], router))).toEqual({
      '172.16.0.50:80': '10.0.0.1:8080,10.0.0.2:8080',
    });
    const onlyTerminating = [backend('10.0.0.1', { ready: false, terminating: true })];
    expect(vipsOf(routerSpec(onlyTerminating, router))).toEqual({ '172.16.0.50:80': '10.0.0.1:8080' });
  });

  it('lists a backend once per port, and not when another VIP of the row selects it', () => {
    const a = { address: eip, port: 80, scope: 'external' as const };
    const frontends = [
      { ...a, backends: [backend('10.0.0.1'), backend('10.0.0.2', { ready: false })] },
      { ...a, port: 443, backends: [backend('10.0.0.1', { port: 8443 }), backend('10.0.0.2', { ready: false })] },
      { ...a, address: ip('172.16.0.51'), backends: [backend('10.0.0.2', { ready: false })] },
    ];
    const selected = [
      { ip: ip('10.0.0.1'), port: 8080 },
      { ip: ip('10.0.0.1'), port: 8443 },
    ];
    expect(drainVips(frontends, selected)).toEqual({ '0.0.0.0:80': '10.0.0.2:8080', '0.0.0.0:443': '10.0.0.2:8080' });
    expect(drainVips(frontends, [selected[0], { ip: ip('10.0.0.2'), port: 8080 }])).toEqual({
      '0.0.0.0:443': '10.0.0.1:8443',
    });
  });
});

describe('one LB policy for Services and YusurServices', () => {
  it('both warn about a bad affinity timeout and both use the default', () => {
    const service = translateService(
      {
        metadata: { name: 'web', namespace: 'shop' },
        spec: {
          clusterIPs: ['10.96.0.1'],
          ports: [{ port: 80 }],
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: -5 } },
        },
      },
      [],
      { vpc: 'blue', lbGroupKey: 'lbg:blue' },
    );
    const yusur = translateYusurService(
      {
        apiVersion: 'sdn.ycloud.io/v1alpha1',
        kind: 'YusurService',
        metadata: { name: 'web', namespace: 'shop' },
        spec: { backends: [], ports: [{ port: 80 }], sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: -5 },
      } as unknown as YusurService,
      { vpc: 'blue', vpcs: [], eipPools: [], backends: [], clusterIPs: ['10.96.0.2'] },
    );
    expect(service.warnings.map((w) => w.field)).toEqual(['spec.sessionAffinityConfig.clientIP.timeoutSeconds']);
    expect(yusur.result.ok && yusur.result.warnings.map((w) => w.reason)).toEqual(['InvalidAffinityTimeout']);
    const options = (rows: Array<{ columns: Record<string, unknown> }>) => rows.map((r) => r.columns.options);
    expect(options(service.state.rows)).toEqual([{ reject: 'true' }]);
    expect(yusur.result.ok && options(yusur.result.state.rows)).toEqual([{ reject: 'true' }]);
    const fields = (rows: Array<{ columns: Record<string, unknown> }>) => rows.map((r) => r.columns.selection_fields);
    expect(fields(service.state.rows)).toEqual([['ip_src']]);
    expect(yusur.result.ok && fields(yusur.result.state.rows)).toEqual([['ip_src']]);
  });
});
