import { Northbound, recordNorthboundFeatures } from '@ycloud/controllers';
import { ref, type ApplyRecord, type DesiredState, type Owner } from '@ycloud/ovn';
import { NB_SCHEMA, OvnRelease, runText, startOvsdbServer, type OvsdbServerHandle } from '@ycloud/testbed';
import { Registry } from 'prom-client';

/**
 * The applier's group commit against a real NB ovsdb-server: applies that arrive while a transaction is in flight
 * go out together, each caller still gets its own record, a member list shared by every owner (a VPC's
 * Load_Balancer_Group) ends up with everyone's members, and an owner the server rejects fails alone.
 */
describe('NorthboundApplier group commit (real NB ovsdb-server)', () => {
  let server: OvsdbServerHandle;
  let nb: Northbound;

  const GROUP: Owner = { kind: 'Vpc', name: 'blue' };
  const groupState = (): DesiredState => ({
    owner: GROUP,
    rows: [
      {
        table: 'Load_Balancer_Group',
        key: 'vpc/blue/lb-group',
        owner: GROUP,
        columns: { name: 'vpc-blue-lbg' },
      },
    ],
    memberships: [],
  });
  const service = (i: number, protocol = 'tcp'): DesiredState => {
    const owner = { kind: 'Service', name: `ns/svc-${i}` };
    const key = `service/ns/svc-${i}/tcp`;
    return {
      owner,
      rows: [
        {
          table: 'Load_Balancer',
          key,
          owner,
          columns: {
            name: `svc-${i}`,
            protocol,
            vips: { [`10.96.${i >> 8}.${i & 255}:80`]: `10.1.0.${(i % 200) + 2}:8080` },
          },
        },
      ],
      memberships: [
        {
          owner,
          table: 'Load_Balancer_Group',
          key: 'vpc/blue/lb-group',
          column: 'load_balancer',
          members: [ref('Load_Balancer', key)],
        },
      ],
    };
  };
  const nbctl = (...args: string[]) => runText('ovn-nbctl', ['--db', server.unixRemote, ...args]);
  const countLbs = async () =>
    (await nbctl('--bare', '--columns=name', 'list', 'Load_Balancer')).split('\n').filter(Boolean).length;
  const groupMembers = async () =>
    (await nbctl('--bare', '--columns=load_balancer', 'list', 'Load_Balancer_Group')).split(/\s+/).filter(Boolean)
      .length;

  beforeAll(async () => {
    server = await startOvsdbServer({ schema: NB_SCHEMA, name: 'nb' });
    await runText('ovn-nbctl', ['--db', server.unixRemote, 'init']);
    nb = await Northbound.connect({ remotes: server.unixRemote });
    await nb.applier.apply(groupState(), 'test');
  });

  afterAll(async () => {
    await nb?.close();
    await server?.stop();
  });

  it('writes 300 concurrent owners in fewer transactions, each with its own record', async () => {
    const before = nb.applier.transactions;
    const records = await Promise.all(Array.from({ length: 300 }, (_, i) => nb.applier.apply(service(i), 'created')));
    const transactions = nb.applier.transactions - before;

    expect(records.every((r) => r.written && r.transaction !== undefined)).toBe(true);
    expect(new Set(records.map((r) => r.owner.name)).size).toBe(300);
    // The first apply goes alone; the rest wait behind it and share transactions.
    expect(transactions).toBeGreaterThan(1);
    expect(transactions).toBeLessThan(300);
    expect(Math.max(...records.map((r) => r.transaction!.owners))).toBeGreaterThan(1);
    expect(await countLbs()).toBe(300);
    expect(await groupMembers()).toBe(300);

    // The same states again: nothing to write, no transaction.
    const again = await Promise.all(Array.from({ length: 300 }, (_, i) => nb.applier.apply(service(i), 'resync')));
    expect(again.filter((r) => r.written)).toEqual([]);
    expect(nb.applier.transactions - before).toBe(transactions);
  });

  it('fails only the owner the server rejects; the others in its group commit', async () => {
    const applies = Array.from({ length: 40 }, (_, i) =>
      nb.applier.apply(service(1000 + i, i === 17 ? 'bogus' : 'tcp'), 'created').then(
        (r): ApplyRecord | Error => r,
        (err: Error) => err,
      ),
    );
    const results = await Promise.all(applies);
    const failed = results.flatMap((r, i) => (r instanceof Error ? [i] : []));
    expect(failed).toEqual([17]);
    expect((results[17] as Error).message).toMatch(/constraint|bogus/i);
    expect(await countLbs()).toBe(300 + 39);
    expect(await groupMembers()).toBe(300 + 39);
  });

  it('applies one owner twice in a row in order: the later state wins', async () => {
    const first = service(5);
    const second = service(5);
    second.rows[0].columns.vips = { '10.96.0.5:80': '10.1.0.99:8080' };
    const [a, b] = await Promise.all([nb.applier.apply(first, 'unchanged'), nb.applier.apply(second, 'moved')]);
    expect(a.written).toBe(false);
    expect(b.written).toBe(true);
    expect(await nbctl('--bare', '--columns=vips', 'find', 'Load_Balancer', 'name=svc-5')).toContain('10.1.0.99:8080');
  });

  it('reports the optional features the NB schema of the server has, in a metric', async () => {
    const release = await OvnRelease.resolve();
    const served = await runText(
      ...release.command('ovsdb-client', ['get-schema-version', server.unixRemote, 'OVN_Northbound']),
    );
    expect(nb.features.schemaVersion).toBe(served);
    // 23.03 (NB 7.0.0) has health checks, groups and templates; 25.03 (NB 7.11.0) adds the rest.
    const newer = release.series === '25.03';
    expect(nb.features.features).toMatchObject({
      lb_health_check: true,
      lb_group: true,
      lb_template: true,
      lb_selection_fields_ipv6: newer,
      lb_incremental_processing: newer,
      use_stateless_nat: newer,
      nat_match: newer,
    });
    const registry = new Registry();
    const fields = recordNorthboundFeatures(registry, nb.features);
    expect(fields.schemaVersion).toBe(served);
    const text = await registry.metrics();
    expect(text).toContain(`ycloud_ovn_nb_schema_info{version="${served}"} 1`);
    expect(text).toContain(`ycloud_ovn_nb_feature{feature="use_stateless_nat"} ${newer ? 1 : 0}`);
  });
});
