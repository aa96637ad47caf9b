/** Typed errors of the OVSDB client. */

/** Base class: every error this library throws on purpose. */
export class OvsdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The connection could not be established or was lost (no request outcome is implied). */
export class OvsdbConnectionError extends OvsdbError {}

/** A JSON-RPC request got an error reply (other than transact results). */
export class OvsdbRpcError extends OvsdbError {
  constructor(
    readonly method: string,
    readonly error: unknown,
  ) {
    super(`${method} failed: ${typeof error === 'string' ? error : JSON.stringify(error)}`);
  }
}

/**
 * A transaction failed. `index` is the operation that failed (operations are numbered from 0 as added to the
 * builder); for a commit-time error (referential integrity, constraint, index) `index` is -1 and `commitTime`
 * is true. `error` is the server's short error code (e.g. "constraint violation", "timed out").
 */
export class OvsdbTransactionError extends OvsdbError {
  constructor(
    readonly index: number,
    readonly error: string,
    readonly details: string | undefined,
    readonly operation: unknown,
    readonly results: unknown[],
  ) {
    super(
      index < 0
        ? `transaction failed at commit: ${error}${details ? `: ${details}` : ''}`
        : `transaction operation ${index} (${(operation as { op?: string })?.op ?? '?'}) failed: ${error}${details ? `: ${details}` : ''}`,
    );
  }
  get commitTime(): boolean {
    return this.index < 0;
  }
}

/**
 * The connection was lost after the transaction was sent and before its reply arrived: it may or may not
 * have been committed. Make writes idempotent (see Transaction.insertIfAbsent) and check the cache.
 */
export class OvsdbUnknownOutcomeError extends OvsdbError {}

/** A value could not be encoded or decoded by the schema. */
export class OvsdbCodecError extends OvsdbError {}
