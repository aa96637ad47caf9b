import { QueryFailedError } from 'typeorm';
import { isDatabaseUnreachable } from './typeorm-journal.store';

/** Errors shaped as node-postgres and TypeORM raise them. */
function pgError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('isDatabaseUnreachable', () => {
  it.each([
    ['a refused connection', pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset socket', pgError('read ECONNRESET', 'ECONNRESET')],
    ['a connection that ended under a query', pgError('Connection terminated unexpectedly')],
    ['a pool that timed out connecting', pgError('timeout exceeded when trying to connect')],
    [
      'a server shutting down (57P01), wrapped by TypeORM',
      new QueryFailedError('INSERT ...', [], pgError('terminating connection due to administrator command', '57P01')),
    ],
    ['a server starting up (57P03)', pgError('the database system is starting up', '57P03')],
    ['a connection exception (class 08)', pgError('connection failure', '08006')],
    ['a cause chain', new Error('write failed', { cause: pgError('connect EHOSTUNREACH', 'EHOSTUNREACH') })],
  ])('says yes for %s', (_what, err) => {
    expect(isDatabaseUnreachable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', new QueryFailedError('INSERT ...', [], pgError('duplicate key value', '23505'))],
    ['a value too long', pgError('value too long for type character varying(63)', '22001')],
    ['a missing table', pgError('relation "journal_entry" does not exist', '42P01')],
    ['a disk full on the SQLite file', pgError('ENOSPC: no space left on device', 'ENOSPC')],
    ['a non-error', 'boom'],
    ['nothing', undefined],
  ])('says no for %s (the database refused, or it is not a database error)', (_what, err) => {
    expect(isDatabaseUnreachable(err)).toBe(false);
  });
});
