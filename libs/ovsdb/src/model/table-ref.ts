/** A typed handle on a table: `nb.table(NB.Load_Balancer)` returns rows typed as `R`. */
export interface TableRef<R> {
  readonly name: string;
  /** Phantom: carries the row type only. */
  readonly __row?: R;
}

export function tableRef<R>(name: string): TableRef<R> {
  return { name };
}

/** Maps table names to row types (generated per database). */
export type TableMap = Record<string, { _uuid: string }>;
