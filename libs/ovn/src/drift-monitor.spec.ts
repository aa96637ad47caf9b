import { readFileSync } from 'fs';
import { join } from 'path';
import { Registry } from 'prom-client';
import { OWNERSHIP, Owner } from './desired-state';
import { DriftMetrics, DriftMonitor, OwnWrites, RESYNC_REASON, driftReason } from './drift-monitor';
import { IndexedRowView } from './indexed-row-view';
import { ApplyRecord } from './nb-applier';
import { Row } from './row-view';
import { RawSchema, SchemaInfo } from './schema-info';

const schema = new SchemaInfo(
  JSON.parse(readFileSync(join(__dirname, '../test-fixtures/ovn-nb.ovsschema'), 'utf8')) as RawSchema,
);
const web: Owner = { kind: 'Service', name: 'default/web' };
const subnet: Owner = { kind: 'Subnet', name: 'default' };

function ids(owner: Owner, key: string): Record<string, string> {
  return {
    [OWNERSHIP.controller]: 'ycloud',
    [OWNERSHIP.ownerKind]: owner.kind,
    [OWNERSHIP.owner]: owner.name,
    [OWNERSHIP.key]: key,
  };
}

/** The applier's view of its own transaction in flight, set by each test. */
class InFlight implements OwnWrites {
  uuids = new Set<string>();
  inserts = new Set<string>();
  isOwnChange(table: string, uuid: string, key: string | undefined): boolean {
    return this.uuids.has(uuid) || (key !== undefined && this.inserts.has(`${table}\0${key}`));
  }
  isWriting(uuid: string): boolean {
    return this.uuids.has(uuid);
  }
}

const lb: Row = { _uuid: 'lb-1', name: 'Service_default/web_TCP', vips: { '10.96.0.10:80': '10.16.0.5:8080' } };
lb.external_ids = ids(web, 'lb:default/web:TCP');
const ls: Row = { _uuid: 'ls-1', name: 'subnet-default', load_balancer: ['lb-1'], external_ids: ids(subnet, 'ls') };
const foreign: Row = { _uuid: 'lb-x', name: 'theirs', vips: {}, external_ids: { owner: 'someone-else' } };

function setup() {
  const view = new IndexedRowView(schema);
  for (const [t, r] of [
    ['Load_Balancer', lb],
    ['Logical_Switch', ls],
    ['Load_Balancer', foreign],
  ] as const)
    view.upsert(t, r);
  const own = new InFlight();
  return { view, own, monitor: new DriftMonitor(schema, view, own) };
}

describe('DriftMonitor', () => {
  it('reports the owner of an owned row deleted or edited by another client', () => {
    const { monitor } = setup();
    expect(monitor.drifts({ table: 'Load_Balancer', uuid: 'lb-1', old: lb })).toEqual([
      { owner: web, table: 'Load_Balancer', uuid: 'lb-1', change: 'deleted' },
    ]);
    const edited = { ...lb, vips: { '10.96.0.10:80': '10.16.0.99:8080' } };
    expect(monitor.drifts({ table: 'Load_Balancer', uuid: 'lb-1', old: lb, new: edited })).toEqual([
      { owner: web, table: 'Load_Balancer', uuid: 'lb-1', change: 'updated' },
    ]);
  });

  it('ignores rows ycloud does not own, and changes its own transaction in flight makes', () => {
    const { monitor, own } = setup();
    expect(
      monitor.drifts({ table: 'Load_Balancer', uuid: 'lb-x', old: foreign, new: { ...foreign, vips: {} } }),
    ).toEqual([]);
    expect(
      monitor.drifts({ table: 'Load_Balancer', uuid: 'lb-y', new: { _uuid: 'lb-y', name: 'new-foreign' } }),
    ).toEqual([]);
    own.uuids.add('lb-1');
    expect(monitor.drifts({ table: 'Load_Balancer', uuid: 'lb-1', old: lb })).toEqual([]);
    own.inserts.add('Load_Balancer\0lb:default/other:TCP');
    const inserted = { _uuid: 'lb-2', name: 'x', external_ids: ids(web, 'lb:default/other:TCP') };
    expect(monitor.drifts({ table: 'Load_Balancer', uuid: 'lb-2', new: inserted })).toEqual([]);
  });

  it('reports the owner of a row taken out of a container, beside the container owner', () => {
    const { monitor } = setup();
    const drifts = monitor.drifts({
      table: 'Logical_Switch',
      uuid: 'ls-1',
      old: ls,
      new: { ...ls, load_balancer: [] },
    });
    expect(drifts.map((d) => [d.owner.kind, d.change])).toEqual([
      ['Subnet', 'updated'],
      ['Service', 'detached'],
    ]);
  });

  it('does not count as drift a weak reference the server removed because ycloud deleted the row', () => {
    const { monitor, own } = setup();
    own.uuids.add('lb-1'); // our transaction deletes the LB; the switch loses it by itself
    expect(
      monitor.drifts({ table: 'Logical_Switch', uuid: 'ls-1', old: ls, new: { ...ls, load_balancer: [] } }),
    ).toEqual([]);
  });

  it('ignores the port state OVN writes into owned ports', () => {
    const { monitor } = setup();
    const lsp: Row = { _uuid: 'p-1', name: 'pod', up: false, external_ids: ids({ kind: 'Pod', name: 'a/b' }, 'lsp') };
    expect(monitor.drifts({ table: 'Logical_Switch_Port', uuid: 'p-1', old: lsp, new: { ...lsp, up: true } })).toEqual(
      [],
    );
  });
});

describe('DriftMetrics', () => {
  const record = (reason: string, written = true): ApplyRecord => ({
    owner: web,
    reason,
    written,
    operations: 1,
    touched: [{ table: 'Load_Balancer', key: 'k', action: 'insert' }],
    latencyMs: 1,
    at: new Date(),
  });

  it('is pre-registered at zero and counts rows written by drift- and resync-queued reconciles only', async () => {
    const registry = new Registry();
    const m = new DriftMetrics(registry, ['Load_Balancer', 'Logical_Switch']);
    const value = async (labels: { table: string; trigger: string }) =>
      (await m.repaired.get()).values.find(
        (v) => v.labels.table === labels.table && v.labels.trigger === labels.trigger,
      )?.value;
    expect(await value({ table: 'Logical_Switch', trigger: 'monitor' })).toBe(0);
    const drift = { owner: web, table: 'Load_Balancer', uuid: 'lb-1', change: 'deleted' as const };
    m.observeApply(record(driftReason(drift)));
    m.observeApply(record(RESYNC_REASON));
    m.observeApply(record('Service changed'));
    m.observeApply(record(driftReason(drift), false));
    expect(await value({ table: 'Load_Balancer', trigger: 'monitor' })).toBe(1);
    expect(await value({ table: 'Load_Balancer', trigger: 'resync' })).toBe(1);
  });
});
