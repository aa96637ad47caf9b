/**
 * What apply needs to know about a database schema (RFC 7047 `.ovsschema` JSON): the shape of each column and
 * which columns reference which tables. Read straight from the schema JSON so it works with any client.
 */

export type ColumnShape = 'scalar' | 'set' | 'map';

export interface ColumnInfo {
  shape: ColumnShape;
  /** Referenced table of the key (or of the value for maps), if this column holds row references. */
  refTable?: string;
  refType?: 'strong' | 'weak';
}

export interface RefColumn {
  table: string;
  column: string;
  refTable: string;
  refType: 'strong' | 'weak';
}

interface RawBaseType {
  type?: string;
  refTable?: string;
  refType?: 'strong' | 'weak';
}
interface RawType {
  key: string | RawBaseType;
  value?: string | RawBaseType;
  min?: number;
  max?: number | 'unlimited';
}
export interface RawSchema {
  name: string;
  version?: string;
  tables: Record<string, { columns: Record<string, { type: string | RawType }>; isRoot?: boolean }>;
}

export class SchemaInfo {
  private readonly columns = new Map<string, Map<string, ColumnInfo>>();
  private readonly roots = new Set<string>();
  /** Every column that references rows, for the reverse-reference index. */
  readonly refColumns: RefColumn[] = [];

  constructor(readonly raw: RawSchema) {
    for (const [table, def] of Object.entries(raw.tables)) {
      if (def.isRoot) this.roots.add(table);
      const cols = new Map<string, ColumnInfo>();
      for (const [column, { type }] of Object.entries(def.columns)) {
        const info = SchemaInfo.columnInfo(type);
        cols.set(column, info);
        if (info.refTable) {
          this.refColumns.push({ table, column, refTable: info.refTable, refType: info.refType ?? 'strong' });
        }
      }
      this.columns.set(table, cols);
    }
  }

  private static columnInfo(type: string | RawType): ColumnInfo {
    if (typeof type === 'string') return { shape: 'scalar' };
    const min = type.min ?? 1;
    const max = type.max ?? 1;
    const shape: ColumnShape = type.value !== undefined ? 'map' : min === 1 && max === 1 ? 'scalar' : 'set';
    const refSource = [type.value, type.key].find((b): b is RawBaseType => typeof b === 'object' && !!b?.refTable);
    return refSource ? { shape, refTable: refSource.refTable, refType: refSource.refType ?? 'strong' } : { shape };
  }

  hasColumn(table: string, column: string): boolean {
    return this.columns.get(table)?.has(column) ?? false;
  }

  hasTable(table: string): boolean {
    return this.columns.has(table);
  }

  isRoot(table: string): boolean {
    return this.roots.has(table);
  }

  column(table: string, column: string): ColumnInfo {
    const info = this.columns.get(table)?.get(column);
    if (!info) throw new Error(`schema ${this.raw.name} has no column ${table}.${column}`);
    return info;
  }

  /** Columns of other tables that reference `table`. */
  referrersOf(table: string): RefColumn[] {
    return this.refColumns.filter((c) => c.refTable === table);
  }
}
