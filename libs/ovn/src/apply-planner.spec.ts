import { readFileSync } from 'fs';
import { join } from 'path';
import { ApplyPlan, ApplyPlanError, planApply } from './apply-planner';
import { DesiredState, OWNERSHIP, Owner, ownerMapKeyPrefix, ref } from './desired-state';
import { IndexedRowView } from './indexed-row-view';
import { PlanValue, isNewRowRef, nameIdentity } from './row-values';
import { Row } from './row-view';
import { RawSchema, SchemaInfo } from './schema-info';

const schema = new SchemaInfo(
  JSON.parse(readFileSync(join(__dirname, '../test-fixtures/ovn-nb.ovsschema'), 'utf8')) as RawSchema,
);
const vpc: Owner = { kind: 'Vpc', name: 'default' };
const svc: Owner = { kind: 'Service', name: 'default/web' };

function ids(owner: Owner, key: string): Record<string, string> {
  return {
    [OWNERSHIP.controller]: 'ycloud',
    [OWNERSHIP.ownerKind]: owner.kind,
    [OWNERSHIP.owner]: owner.name,
    [OWNERSHIP.key]: key,
  };
}

let uuidSeq = 0;
/** Applies a plan to the view the way the database would, so a second plan shows what is left to do. */
function commit(view: IndexedRowView, plan: ApplyPlan): void {
  const created: string[] = [];
  const val = (v: PlanValue): unknown => (isNewRowRef(v) ? created[v.newRow] : Array.isArray(v) ? v.map(val) : v);
  for (const op of plan.ops) {
    if (op.op === 'insert') {
      const uuid = `u-${++uuidSeq}`;
      created[op.index] = uuid;
      const row: Row = { _uuid: uuid };
      for (const [c, v] of Object.entries(op.row))
        row[c] = typeof v === 'object' && !Array.isArray(v) && !isNewRowRef(v) ? v : val(v);
      view.upsert(op.table, row);
    } else if (op.op === 'update') {
      view.upsert(op.table, { ...view.get(op.table, op.uuid)!, ...op.columns });
    } else if (op.op === 'mutate') {
      const row = view.get(op.table, op.uuid)!;
      const cur = (row[op.column] as string[]) ?? [];
      const next = [...cur.filter((u) => !op.delete.includes(u)), ...(op.insert.map(val) as string[])];
      view.upsert(op.table, { ...row, [op.column]: next });
    } else if (op.op === 'mapUpdate') {
      const row = view.get(op.table, op.uuid)!;
      const next = { ...(row[op.column] as Record<string, string>) };
      for (const k of op.deleteKeys) delete next[k];
      view.upsert(op.table, { ...row, [op.column]: { ...next, ...op.insert } });
    } else {
      view.remove(op.table, op.uuid);
    }
  }
}

function baseView(): IndexedRowView {
  const view = new IndexedRowView(schema);
  view.upsert('Load_Balancer_Group', {
    _uuid: 'g-1',
    name: nameIdentity(vpc, 'lbg:default'),
    load_balancer: [],
  });
  view.upsert('Logical_Switch', {
    _uuid: 'ls-1',
    name: 'subnet-default',
    ports: [],
    load_balancer_group: ['g-1'],
    external_ids: ids(vpc, 'ls:default'),
  });
  return view;
}

function webState(vips: Record<string, string>): DesiredState {
  return {
    owner: svc,
    rows: [
      {
        table: 'Load_Balancer',
        key: 'lb:default/web:tcp',
        owner: svc,
        columns: { name: 'Service_default/web_TCP', protocol: ['tcp'], vips, options: { reject: 'true' } },
      },
    ],
    memberships: [
      {
        owner: svc,
        table: 'Load_Balancer_Group',
        key: 'lbg:default',
        column: 'load_balancer',
        members: [ref('Load_Balancer', 'lb:default/web:tcp')],
      },
    ],
  };
}

describe('planApply', () => {
  it('inserts a new LB and attaches it to the VPC group in one plan', () => {
    const plan = planApply(webState({ '10.96.0.10:80': '10.16.0.5:8080' }), baseView(), schema);
    expect(plan.ops.map((o) => o.op)).toEqual(['insert', 'mutate']);
    const [insert, mutate] = plan.ops;
    expect(insert).toMatchObject({ table: 'Load_Balancer', row: { vips: { '10.96.0.10:80': '10.16.0.5:8080' } } });
    expect((insert as { row: Record<string, unknown> }).row.external_ids).toMatchObject(ids(svc, 'lb:default/web:tcp'));
    expect(mutate).toMatchObject({
      table: 'Load_Balancer_Group',
      uuid: 'g-1',
      column: 'load_balancer',
      insert: [{ newRow: 0 }],
      delete: [],
    });
  });

  it('plans nothing once the database holds the desired state (a no-op reconcile writes nothing)', () => {
    const view = baseView();
    commit(view, planApply(webState({ '10.96.0.10:80': '10.16.0.5:8080' }), view, schema));
    expect(planApply(webState({ '10.96.0.10:80': '10.16.0.5:8080' }), view, schema).ops).toEqual([]);
  });

  it('updates only the columns that changed', () => {
    const view = baseView();
    commit(view, planApply(webState({ '10.96.0.10:80': '10.16.0.5:8080' }), view, schema));
    const plan = planApply(webState({ '10.96.0.10:80': '10.16.0.5:8080,10.16.0.6:8080' }), view, schema);
    expect(plan.ops).toHaveLength(1);
    expect(plan.ops[0]).toMatchObject({
      op: 'update',
      table: 'Load_Balancer',
      columns: { vips: { '10.96.0.10:80': '10.16.0.5:8080,10.16.0.6:8080' } },
    });
    expect(Object.keys((plan.ops[0] as { columns: object }).columns)).toEqual(['vips']);
  });

  it('treats a one-element set given as a bare atom as equal', () => {
    const view = baseView();
    commit(view, planApply(webState({}), view, schema));
    const lb = view.byKey('Load_Balancer', 'lb:default/web:tcp')!;
    view.upsert('Load_Balancer', { ...lb, protocol: 'tcp' });
    expect(planApply(webState({}), view, schema).ops).toEqual([]);
  });

  it('deletes the rows of an owner that wants nothing, and nothing else', () => {
    const view = baseView();
    commit(view, planApply(webState({}), view, schema));
    view.upsert('Load_Balancer', { _uuid: 'foreign', name: 'not-ours', external_ids: { owner: 'someone' } });
    const plan = planApply({ owner: svc, rows: [], memberships: [] }, view, schema);
    // Group membership is a weak reference: the database drops it with the row.
    expect(plan.ops).toEqual([
      { op: 'delete', table: 'Load_Balancer', uuid: expect.any(String), key: 'lb:default/web:tcp' },
    ]);
  });

  it('inserts a non-root row together with its parent mutation, and removes it through the parent', () => {
    const view = baseView();
    const pod: Owner = { kind: 'Pod', name: 'default/p1' };
    const want: DesiredState = {
      owner: pod,
      rows: [
        {
          table: 'Logical_Switch_Port',
          key: 'lsp:default/p1',
          owner: pod,
          columns: { name: 'default_p1', addresses: ['0a:58:0a:10:00:05 10.16.0.5'] },
          parent: { table: 'Logical_Switch', key: 'ls:default', column: 'ports' },
        },
      ],
      memberships: [],
    };
    const plan = planApply(want, view, schema);
    expect(plan.ops).toEqual([
      expect.objectContaining({ op: 'insert', table: 'Logical_Switch_Port', index: 0 }),
      { op: 'mutate', table: 'Logical_Switch', uuid: 'ls-1', column: 'ports', insert: [{ newRow: 0 }], delete: [] },
    ]);
    commit(view, plan);
    expect(planApply(want, view, schema).ops).toEqual([]);
    const lsp = view.byKey('Logical_Switch_Port', 'lsp:default/p1')!;
    const gone = planApply({ owner: pod, rows: [], memberships: [] }, view, schema);
    // No explicit delete: OVSDB garbage-collects the port with its last reference, and an explicit delete too
    // would fail the transaction.
    expect(gone.ops).toEqual([
      { op: 'mutate', table: 'Logical_Switch', uuid: 'ls-1', column: 'ports', insert: [], delete: [lsp._uuid] },
    ]);
  });

  it('orders new rows so a new parent holds its new children and references come first', () => {
    const view = new IndexedRowView(schema);
    const owner: Owner = { kind: 'Subnet', name: 'blue' };
    const plan = planApply(
      {
        owner,
        rows: [
          {
            table: 'Logical_Switch',
            key: 'ls:blue',
            owner,
            columns: { name: 'blue', load_balancer_group: [ref('Load_Balancer_Group', 'lbg:blue')] },
          },
          {
            table: 'Logical_Switch_Port',
            key: 'lsp:blue-rtr',
            owner,
            columns: { name: 'blue-rtr', type: 'router' },
            parent: { table: 'Logical_Switch', key: 'ls:blue', column: 'ports' },
          },
          { table: 'Load_Balancer_Group', key: 'lbg:blue', owner, columns: { name: 'blue' } },
        ],
        memberships: [],
      },
      view,
      schema,
    );
    const order = plan.ops.map((o) => (o.op === 'insert' ? o.key : o.op));
    expect(order.indexOf('lbg:blue')).toBeLessThan(order.indexOf('ls:blue'));
    expect(order.indexOf('lsp:blue-rtr')).toBeLessThan(order.indexOf('ls:blue'));
    const ls = plan.ops.find((o) => o.op === 'insert' && o.key === 'ls:blue') as { row: Record<string, unknown> };
    expect(ls.row.ports).toEqual([{ newRow: order.indexOf('lsp:blue-rtr') }]);
    expect(ls.row.load_balancer_group).toEqual([{ newRow: order.indexOf('lbg:blue') }]);
    expect(plan.ops.every((o) => o.op === 'insert')).toBe(true);
  });

  it('detaches a kept LB from a group the desired state no longer names', () => {
    const view = baseView();
    view.upsert('Load_Balancer_Group', {
      _uuid: 'g-2',
      name: 'vpc-blue',
      load_balancer: [],
      external_ids: ids({ kind: 'Vpc', name: 'blue' }, 'lbg:blue'),
    });
    commit(view, planApply(webState({}), view, schema));
    const moved = webState({});
    moved.memberships[0].key = 'lbg:blue';
    const lb = view.byKey('Load_Balancer', 'lb:default/web:tcp')!;
    const plan = planApply(moved, view, schema);
    expect(plan.ops).toEqual(
      expect.arrayContaining([
        {
          op: 'mutate',
          table: 'Load_Balancer_Group',
          uuid: 'g-2',
          column: 'load_balancer',
          insert: [lb._uuid],
          delete: [],
        },
        {
          op: 'mutate',
          table: 'Load_Balancer_Group',
          uuid: 'g-1',
          column: 'load_balancer',
          insert: [],
          delete: [lb._uuid],
        },
      ]),
    );
    expect(plan.ops).toHaveLength(2);
  });

  it('removes strong references from other ycloud rows before deleting a root row', () => {
    const view = baseView();
    const plan = planApply(
      {
        owner: vpc,
        rows: [
          {
            table: 'Logical_Switch',
            key: 'ls:default',
            owner: vpc,
            columns: { name: 'subnet-default', load_balancer_group: [] },
          },
        ],
        memberships: [],
      },
      view,
      schema,
    );
    expect(plan.ops).toEqual([
      { op: 'update', table: 'Logical_Switch', uuid: 'ls-1', key: 'ls:default', columns: { load_balancer_group: [] } },
      {
        op: 'mutate',
        table: 'Logical_Switch',
        uuid: 'ls-1',
        column: 'load_balancer_group',
        insert: [],
        delete: ['g-1'],
      },
      { op: 'delete', table: 'Load_Balancer_Group', uuid: 'g-1', key: 'lbg:default' },
    ]);
  });

  it('refuses a row another owner holds, and a container that does not exist yet', () => {
    const view = baseView();
    const steal: DesiredState = {
      owner: svc,
      rows: [{ table: 'Load_Balancer_Group', key: 'lbg:default', owner: svc, columns: {} }],
      memberships: [],
    };
    expect(() => planApply(steal, view, schema)).toThrow(ApplyPlanError);
    const orphan = webState({});
    orphan.memberships[0].key = 'lbg:missing';
    expect(() => planApply(orphan, view, schema)).toThrow(/lbg:missing does not exist/);
  });

  it('never deletes a row that a row ycloud does not own still references', () => {
    const view = baseView();
    view.upsert('Logical_Router', { _uuid: 'r-x', name: 'theirs', load_balancer_group: ['g-1'], external_ids: {} });
    expect(() =>
      planApply(
        {
          owner: vpc,
          rows: [{ table: 'Logical_Switch', key: 'ls:default', owner: vpc, columns: {} }],
          memberships: [],
        },
        view,
        schema,
      ),
    ).toThrow(/not ycloud's/);
  });

  it("keeps exactly an owner's own keys in a shared map column, and removes them when the owner is gone", () => {
    const view = baseView();
    const node: Owner = { kind: 'Node', name: 'node-1' };
    view.upsert('Chassis_Template_Var', {
      _uuid: 'ctv-1',
      chassis: 'node-1',
      variables: { OTHER_KEY: 'x', [`${ownerMapKeyPrefix({ kind: 'Service', name: 'default/other' })}B`]: 'y' },
      external_ids: ids(node, 'ctv:node-1'),
    });
    const p = ownerMapKeyPrefix(svc);
    const want = (v: string): DesiredState => ({
      owner: svc,
      rows: [],
      memberships: [],
      mapEntries: [
        {
          owner: svc,
          table: 'Chassis_Template_Var',
          key: 'ctv:node-1',
          column: 'variables',
          entries: { [`${p}BACKENDS`]: v },
        },
      ],
    });
    const first = planApply(want('10.16.0.5:80'), view, schema);
    expect(first.ops).toEqual([
      {
        op: 'mapUpdate',
        table: 'Chassis_Template_Var',
        uuid: 'ctv-1',
        column: 'variables',
        deleteKeys: [],
        insert: { [`${p}BACKENDS`]: '10.16.0.5:80' },
      },
    ]);
    commit(view, first);
    expect(planApply(want('10.16.0.5:80'), view, schema).ops).toEqual([]);
    const changed = planApply(want('10.16.0.6:80'), view, schema);
    expect(changed.ops).toEqual([
      expect.objectContaining({ deleteKeys: [`${p}BACKENDS`], insert: { [`${p}BACKENDS`]: '10.16.0.6:80' } }),
    ]);
    commit(view, changed);
    const gone = planApply({ owner: svc, rows: [], memberships: [] }, view, schema);
    expect(gone.ops).toEqual([expect.objectContaining({ op: 'mapUpdate', deleteKeys: [`${p}BACKENDS`], insert: {} })]);
    commit(view, gone);
    expect(Object.keys(view.get('Chassis_Template_Var', 'ctv-1')!.variables as object).sort()).toEqual(
      [`${ownerMapKeyPrefix({ kind: 'Service', name: 'default/other' })}B`, 'OTHER_KEY'].sort(),
    );
  });

  it('keeps ycloud identity in the name of tables without external_ids (Load_Balancer_Group)', () => {
    const view = new IndexedRowView(schema);
    const want: DesiredState = {
      owner: vpc,
      rows: [{ table: 'Load_Balancer_Group', key: 'lbg:x', owner: vpc, columns: { name: 'ignored' } }],
      memberships: [],
    };
    const plan = planApply(want, view, schema);
    expect(plan.ops).toEqual([expect.objectContaining({ op: 'insert', row: { name: 'ycloud|Vpc|default|lbg:x' } })]);
    commit(view, plan);
    expect(view.ownedBy(vpc).map((r) => r.table)).toEqual(['Load_Balancer_Group']);
    expect(planApply(want, view, schema).ops).toEqual([]);
  });

  it("leaves references that other owners declare in their own rows alone (a Subnet's switch naming the VPC group)", () => {
    const view = baseView();
    const subnet: Owner = { kind: 'Subnet', name: 'default' };
    view.upsert('Logical_Switch', {
      ...view.byKey('Logical_Switch', 'ls:default')!,
      external_ids: ids(subnet, 'ls:default'),
    });
    const group = { table: 'Load_Balancer_Group', key: 'lbg:default', owner: vpc, columns: {} };
    expect(planApply({ owner: vpc, rows: [group], memberships: [] }, view, schema).ops).toEqual([]);
  });

  it('lets a non-root child go with its parent instead of deleting it explicitly (Gateway_Chassis of a port)', () => {
    const view = baseView();
    const gw: Owner = { kind: 'VpcGateway', name: 'default' };
    view.upsert('Logical_Router', {
      _uuid: 'r-1',
      name: 'vpc-default',
      ports: ['lrp-1'],
      external_ids: ids(vpc, 'lr:default'),
    });
    view.upsert('Logical_Router_Port', {
      _uuid: 'lrp-1',
      name: 'gw',
      gateway_chassis: ['gc-1'],
      external_ids: ids(gw, 'lrp:gw'),
    });
    view.upsert('Gateway_Chassis', {
      _uuid: 'gc-1',
      name: 'gw-node-1',
      chassis_name: 'node-1',
      external_ids: ids(gw, 'gc:gw'),
    });
    const plan = planApply({ owner: gw, rows: [], memberships: [] }, view, schema);
    expect(plan.ops).toEqual([
      { op: 'mutate', table: 'Logical_Router', uuid: 'r-1', column: 'ports', insert: [], delete: ['lrp-1'] },
    ]);
  });

  it("attaches a new child to its owner's existing parent (else OVSDB would garbage-collect it at commit)", () => {
    const view = new IndexedRowView(schema);
    const pool: Owner = { kind: 'EipPool', name: 'ext' };
    const router = { table: 'Logical_Router', key: 'pool/router', owner: pool, columns: { name: 'pool' } };
    commit(view, planApply({ owner: pool, rows: [router], memberships: [] }, view, schema));
    const routerUuid = view.byKey('Logical_Router', 'pool/router')!._uuid;
    const nat = {
      table: 'NAT',
      key: 'pool/nat/1',
      owner: pool,
      parent: { table: 'Logical_Router', key: 'pool/router', column: 'nat' },
      columns: { type: 'dnat', external_ip: '172.16.0.50', logical_ip: '172.16.0.50' },
    };
    const plan = planApply({ owner: pool, rows: [router, nat], memberships: [] }, view, schema);
    expect(plan.ops).toEqual([
      expect.objectContaining({ op: 'insert', table: 'NAT', index: 0 }),
      { op: 'mutate', table: 'Logical_Router', uuid: routerUuid, column: 'nat', insert: [{ newRow: 0 }], delete: [] },
    ]);
  });
});
