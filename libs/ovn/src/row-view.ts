import { Owner } from './desired-state';

/** A database row as the OVSDB cache holds it: `_uuid` plus columns decoded by the schema. */
export type Row = { _uuid: string } & Record<string, unknown>;

export interface Referrer {
  table: string;
  column: string;
  row: Row;
}

/** The read side apply needs: ycloud's rows by key and by owner, and who references a row. */
export interface RowView {
  get(table: string, uuid: string): Row | undefined;
  byKey(table: string, key: string): Row | undefined;
  ownedBy(owner: Owner): Array<{ table: string; row: Row }>;
  referrers(uuid: string): Referrer[];
  /** Rows whose map column holds keys starting with `prefix` (an owner's entries in shared rows). */
  mapKeyHolders(prefix: string): Array<{ table: string; column: string; row: Row }>;
}
