import { isRowRef, ownerId, type ColumnValue, type DesiredState, type Scalar } from '@ycloud/ovn';
import type { KubeObject } from './manifest-loader';
import {
  createManifestContext,
  kindOf,
  type ManifestContextOptions,
  type ManifestTranslator,
  type ManifestWarning,
} from './manifest-translator';
import { topologyManifestTranslator } from '../topology/topology.manifest-translator';
import { serviceManifestTranslator } from './service.manifest-translator';
import { yusurManifestTranslator } from '../yusur/yusur.manifest-translator';

/** Translators `ycloud translate` runs. Others plug in by adding theirs here (order does not matter). */
export function defaultManifestTranslators(): ManifestTranslator[] {
  return [topologyManifestTranslator, serviceManifestTranslator, yusurManifestTranslator];
}

type Rendered = Scalar | Rendered[] | { [k: string]: Rendered };

/** A row as `ycloud translate` prints it: references as `@<key>`. */
export interface RenderedRow {
  key: string;
  /** `Kind:name` of the owner; absent for a row only referenced here (owned by something not in the manifests). */
  owner?: string;
  parent?: { table: string; key: string; column: string };
  columns: Record<string, Rendered>;
  /** Contributions of other owners to this row's set and map columns, by owner. */
  contributions?: Record<string, Record<string, Rendered>>;
}

export interface TranslateOutput {
  /** Table name -> rows, sorted by key. */
  tables: Record<string, RenderedRow[]>;
  warnings: ManifestWarning[];
  /** Kinds no translator consumes, as `kind namespace/name`. */
  ignored: string[];
}

function render(v: ColumnValue): Rendered {
  if (isRowRef(v)) return `@${v.ref.key}`;
  if (Array.isArray(v)) return v.map((x) => render(x as ColumnValue));
  if (typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, render(x as ColumnValue)]));
  }
  return v;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

class TableBuilder {
  private readonly tables = new Map<string, Map<string, RenderedRow>>();

  private row(table: string, key: string): RenderedRow {
    let rows = this.tables.get(table);
    if (!rows) this.tables.set(table, (rows = new Map()));
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { key, columns: {} }));
    return row;
  }

  add(state: DesiredState): void {
    for (const r of state.rows) {
      const row = this.row(r.table, r.key);
      row.owner = `${r.owner.kind}:${r.owner.name}`;
      if (r.parent) row.parent = r.parent;
      row.columns = Object.fromEntries(Object.entries(r.columns).map(([k, v]) => [k, render(v)]));
    }
    for (const m of state.memberships) this.contribute(m.table, m.key, ownerId(m.owner), m.column, render(m.members));
    for (const m of state.mapEntries ?? []) {
      this.contribute(m.table, m.key, ownerId(m.owner), m.column, render(m.entries));
    }
  }

  private contribute(table: string, key: string, owner: string, column: string, value: Rendered): void {
    const row = this.row(table, key);
    row.contributions ??= {};
    row.contributions[owner] = { ...row.contributions[owner], [column]: value };
  }

  build(): Record<string, RenderedRow[]> {
    const out: Record<string, RenderedRow[]> = {};
    for (const table of [...this.tables.keys()].sort(cmp)) {
      out[table] = [...(this.tables.get(table) as Map<string, RenderedRow>).values()]
        .sort((a, b) => cmp(a.key, b.key))
        .map((r) => ({
          key: r.key,
          owner: r.owner,
          parent: r.parent,
          columns: r.columns,
          contributions: r.contributions
            ? Object.fromEntries(Object.entries(r.contributions).sort(([a], [b]) => cmp(a, b)))
            : undefined,
        }));
    }
    return out;
  }
}

/**
 * Runs the translators over parsed manifests and renders every desired row by table. Pure and deterministic.
 */
export function translateManifests(
  objects: KubeObject[],
  options: ManifestContextOptions = {},
  translators: ManifestTranslator[] = defaultManifestTranslators(),
): TranslateOutput {
  const ctx = createManifestContext(options);
  const objectsFor = (t: ManifestTranslator): KubeObject[] => objects.filter((o) => t.kinds.includes(kindOf(o)));
  for (const t of translators) t.prepare?.(objectsFor(t), ctx);
  const tables = new TableBuilder();
  const warnings: ManifestWarning[] = [];
  for (const t of translators) {
    for (const result of t.translate(objectsFor(t), ctx)) {
      tables.add(result.state);
      warnings.push(...result.warnings);
    }
  }
  const consumed = new Set(translators.flatMap((t) => t.kinds));
  const ignored = objects
    .filter((o) => !consumed.has(kindOf(o)))
    .map((o) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`)
    .sort(cmp);
  return { tables: tables.build(), warnings, ignored };
}
