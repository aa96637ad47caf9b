/** @ycloud/ovsdb: an OVSDB client (RFC 7047 plus ovsdb-server's extensions) with a replicated cache. */
export { OvsdbClient, TableView } from './client/client';
export type { OvsdbClientOptions, MonitorTableOptions, ClientEvents } from './client/client';
export { Transaction } from './client/transaction';
export type {
  Condition,
  ConditionFunction,
  Mutation,
  Mutator,
  RowInput,
  RowOf,
  TableArg,
  TransactionResult,
} from './client/transaction';
export { matchesWhere, matchesCondition } from './client/condition';
export type { Row, RowChange, IndexSpec } from './cache/table-cache';
export { TableCache, applyDiff } from './cache/table-cache';
export {
  OvsdbError,
  OvsdbConnectionError,
  OvsdbRpcError,
  OvsdbTransactionError,
  OvsdbUnknownOutcomeError,
  OvsdbCodecError,
} from './ovsdb/errors';
export { JsonSplitter, stringifyJson } from './ovsdb/json-splitter';
export { decodeValue, encodeValue, defaultValue, isUuid, ZERO_UUID } from './ovsdb/codec';
export type { Atom, Value } from './ovsdb/codec';
export { parseSchema } from './ovsdb/schema';
export type { DatabaseSchema, TableSchema, ColumnSchema, ColumnType, BaseType } from './ovsdb/schema';
export { parseRemotes } from './ovsdb/transport';
export type { Remote, TlsOptions } from './ovsdb/transport';
export { RpcConnection } from './ovsdb/rpc-connection';
export { tableRef } from './model/table-ref';
export type { TableRef, TableMap } from './model/table-ref';
export * as NBModel from './generated/ovn-nb';
export * as SBModel from './generated/ovn-sb';
export * as VSwitchModel from './generated/vswitch';
export * as ServerModel from './generated/server';
export { NB, type NBTables } from './generated/ovn-nb';
export { SB, type SBTables } from './generated/ovn-sb';
export { VSwitch, type VSwitchTables } from './generated/vswitch';
export { Server, type ServerTables } from './generated/server';
