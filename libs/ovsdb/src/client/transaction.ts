/** A small typed builder for one OVSDB `transact` request. */
import { columnOf, encodeAtom, encodeKeySet, encodeRow, encodeValue } from '../ovsdb/codec';
import { OvsdbCodecError } from '../ovsdb/errors';
import type { ColumnSchema, DatabaseSchema, TableSchema } from '../ovsdb/schema';
import type { Row } from '../cache/table-cache';
import type { TableMap, TableRef } from '../model/table-ref';

export type ConditionFunction = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'includes' | 'excludes';
/** `[column, function, value]`; the value is a plain JS value of the column's type. */
export type Condition = [column: string, fn: ConditionFunction, value: unknown];
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
/**
 * `[column, mutator, value]`. Set insert/delete take an array (or one element). Map insert takes an object and
 * never overwrites a key; map delete takes an object (key and value must match) or an array of keys.
 */
export type Mutation = [column: string, mutator: Mutator, value: unknown];
export type RowInput<R> = Partial<Omit<R, '_uuid' | '_version'>>;

export interface TransactionResult {
  /** The server's result objects, one per operation. */
  results: unknown[];
  /** Real uuids of inserted rows, by the token insert() returned. */
  uuids: Record<string, string>;
}

/** What the client provides to the builder. */
export interface TransactionHost {
  readonly databaseName: string;
  schema(): DatabaseSchema;
  commitTransaction(ops: unknown[], described: unknown[]): Promise<TransactionResult>;
}

/** A table name of the database's model, or a typed handle (`NB.Load_Balancer`). */
export type TableArg<T extends TableMap> = (keyof T & string) | TableRef<unknown>;
/** The row type of a table argument: typed for model names and handles, loose otherwise. */
export type RowOf<T extends TableMap, K> = K extends TableRef<infer R> ? R : K extends keyof T ? T[K] : Row;

function tableName(t: string | TableRef<unknown>): string {
  return typeof t === 'string' ? t : t.name;
}

/**
 * Collects operations; `commit()` sends them in one transaction. Operation indexes in errors are the order of
 * the calls (0-based). Rows, conditions and mutations take plain JS values encoded by the schema.
 */
export class Transaction<T extends TableMap = Record<string, Row>> {
  private readonly ops: Array<() => unknown> = [];
  private readonly described: unknown[] = [];
  private readonly prefix: string;
  private nextRow = 0;

  /**
   * `id` numbers the host's transactions: it makes insert() tokens distinct between them, so a token used in the
   * wrong transaction fails on the server instead of naming another row.
   */
  constructor(
    private readonly host: TransactionHost,
    id: number,
  ) {
    this.prefix = `ycl${id}_`;
  }

  /** Number of operations so far. */
  get size(): number {
    return this.ops.length;
  }

  private table(name: string): TableSchema {
    const t = this.host.schema().tables[name];
    if (!t) throw new OvsdbCodecError(`database ${this.host.databaseName} has no table ${name}`);
    return t;
  }

  private add(describe: unknown, build: () => unknown): number {
    this.described.push(describe);
    this.ops.push(build);
    return this.ops.length - 1;
  }

  /** Inserts a row; returns a named-uuid token usable as a uuid value anywhere in this transaction. */
  insert<K extends TableArg<T>>(table: K, row: RowInput<RowOf<T, K>>, uuidName?: string): string {
    const name = tableName(table);
    const token = uuidName ?? `${this.prefix}${this.nextRow++}`;
    this.add({ op: 'insert', table: name }, () => ({
      op: 'insert',
      table: name,
      row: encodeRow(this.table(name), row as Record<string, unknown>),
      'uuid-name': token,
    }));
    return token;
  }

  /**
   * Safe "create if absent": a `wait` (timeout 0) that no row matches `absentWhere` (typically an owner key in
   * external_ids), then the insert. If such a row exists the transaction fails with OvsdbTransactionError whose
   * `error` is "timed out" at the wait's index; nothing is written.
   */
  insertIfAbsent<K extends TableArg<T>>(table: K, absentWhere: Condition[], row: RowInput<RowOf<T, K>>): string {
    this.wait(table, absentWhere, ['_uuid'], '==', [], 0);
    return this.insert(table, row);
  }

  select<K extends TableArg<T>>(table: K, where: Condition[], columns?: string[]): number {
    const name = tableName(table);
    return this.add({ op: 'select', table: name }, () => ({
      op: 'select',
      table: name,
      where: encodeWhere(this.table(name), where),
      ...(columns ? { columns } : {}),
    }));
  }

  update<K extends TableArg<T>>(table: K, where: Condition[], row: RowInput<RowOf<T, K>>): number {
    const name = tableName(table);
    return this.add({ op: 'update', table: name }, () => {
      const t = this.table(name);
      return {
        op: 'update',
        table: name,
        where: encodeWhere(t, where),
        row: encodeRow(t, row as Record<string, unknown>),
      };
    });
  }

  mutate<K extends TableArg<T>>(table: K, where: Condition[], mutations: Mutation[]): number {
    const name = tableName(table);
    return this.add({ op: 'mutate', table: name }, () => {
      const t = this.table(name);
      return {
        op: 'mutate',
        table: name,
        where: encodeWhere(t, where),
        mutations: mutations.map((m) => encodeMutation(t, m)),
      };
    });
  }

  delete<K extends TableArg<T>>(table: K, where: Condition[]): number {
    const name = tableName(table);
    return this.add({ op: 'delete', table: name }, () => ({
      op: 'delete',
      table: name,
      where: encodeWhere(this.table(name), where),
    }));
  }

  /**
   * `wait`: the rows matching `where`, projected on `columns`, must (until '==') or must not (until '!=') equal
   * `rows`. timeout 0 fails at once ("timed out"); undefined lets the server hold the transaction.
   */
  wait<K extends TableArg<T>>(
    table: K,
    where: Condition[],
    columns: string[],
    until: '==' | '!=',
    rows: RowInput<RowOf<T, K>>[],
    timeout?: number,
  ): number {
    const name = tableName(table);
    return this.add({ op: 'wait', table: name }, () => {
      const t = this.table(name);
      return {
        op: 'wait',
        table: name,
        where: encodeWhere(t, where),
        columns,
        until,
        rows: rows.map((r) => encodeRow(t, r as Record<string, unknown>)),
        ...(timeout !== undefined ? { timeout } : {}),
      };
    });
  }

  comment(text: string): number {
    return this.add({ op: 'comment' }, () => ({ op: 'comment', comment: text }));
  }

  /** `commit` with durable true/false. */
  commitOp(durable: boolean): number {
    return this.add({ op: 'commit' }, () => ({ op: 'commit', durable }));
  }

  abort(): number {
    return this.add({ op: 'abort' }, () => ({ op: 'abort' }));
  }

  /** Fails the transaction unless this client holds `lock`. */
  assert(lock: string): number {
    return this.add({ op: 'assert' }, () => ({ op: 'assert', lock }));
  }

  /** The encoded operations (throws OvsdbCodecError for values that do not fit the schema). */
  encode(): unknown[] {
    return this.ops.map((b) => b());
  }

  /**
   * Sends the transaction. Resolves after the server's reply, with the updates it caused already in the
   * cache. Rejects with OvsdbTransactionError, OvsdbUnknownOutcomeError (connection lost after sending) or
   * OvsdbConnectionError (never sent).
   */
  commit(): Promise<TransactionResult> {
    let ops: unknown[];
    try {
      ops = this.encode();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.host.commitTransaction(ops, this.described);
  }
}

function encodeCondValue(c: ColumnSchema, fn: ConditionFunction, v: unknown, what: string): unknown {
  if (c.kind === 'atom' || ((fn === '<' || fn === '<=' || fn === '>' || fn === '>=') && !Array.isArray(v))) {
    return c.kind === 'atom' ? encodeValue(v, c, what) : encodeAtom(v, c.type.key, what);
  }
  return encodeValue(v, c, what);
}

export function encodeWhere(t: TableSchema, where: Condition[]): unknown[] {
  return where.map(([col, fn, v]) => {
    const c = columnOf(t, col);
    return [col, fn, encodeCondValue(c, fn, v, `${t.name}.${col}`)];
  });
}

function encodeMutation(t: TableSchema, [col, mutator, v]: Mutation): unknown[] {
  const c = columnOf(t, col);
  const what = `${t.name}.${col}`;
  if (mutator === 'insert' || mutator === 'delete') {
    if (c.kind === 'map' && mutator === 'delete' && Array.isArray(v)) return [col, mutator, encodeKeySet(v, c, what)];
    if (c.kind === 'map') return [col, mutator, encodeValue(v, c, what)];
    return [col, mutator, encodeKeySet(v, c, what)];
  }
  return [col, mutator, encodeAtom(v, c.type.key, what)];
}
