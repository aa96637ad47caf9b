import { JournalConfigError, journalDatabaseFromString, parseJournalConfig } from './journal.config';

describe('parseJournalConfig', () => {
  it('defaults to a bounded SQLite journal', () => {
    expect(parseJournalConfig({})).toEqual({
      type: 'sqlite',
      path: '/var/lib/ycloud/journal.sqlite',
      retention: { maxAgeHours: 168, maxRows: 100_000 },
      bufferSize: 10_000,
      flushIntervalMs: 1_000,
      pruneIntervalMs: 300_000,
    });
  });

  it('takes PostgreSQL and explicit limits; null or 0 turns one limit off', () => {
    const c = parseJournalConfig({
      type: 'postgres',
      url: 'postgresql://ycloud:secret@db:5432/ycloud',
      retention: { maxAgeHours: 0, maxRows: 5_000 },
      bufferSize: 256,
      flushIntervalMs: 250,
    });
    expect(c).toMatchObject({ type: 'postgres', retention: { maxAgeHours: null, maxRows: 5_000 }, bufferSize: 256 });
  });

  it.each([
    [null, 'journal config must be an object'],
    [{ type: 'mysql' }, 'journal.type must be "sqlite" or "postgres", got "mysql"'],
    [{ type: 'sqlite', path: '' }, 'journal.path must be a non-empty file path'],
    [{ type: 'postgres', url: 'mysql://x' }, 'journal.url must be a postgres:// or postgresql:// URL'],
    [{ type: 'postgres' }, 'journal.url must be a postgres:// or postgresql:// URL'],
    [{ bufferSize: 0 }, 'journal.bufferSize must be an integer >= 1, got 0'],
    [{ bufferSize: '10' }, 'journal.bufferSize must be an integer >= 1, got "10"'],
    [{ flushIntervalMs: 1 }, 'journal.flushIntervalMs must be an integer >= 10'],
    [{ retention: { maxRows: 1.5 } }, 'journal.retention.maxRows must be a positive integer or null'],
    [{ retention: { maxAgeHours: -1 } }, 'journal.retention.maxAgeHours must be a positive number or null'],
    [{ retention: { maxAgeHours: null, maxRows: 0 } }, 'journal.retention needs maxAgeHours or maxRows'],
  ])('rejects %j', (input, message) => {
    expect(() => parseJournalConfig(input)).toThrow(JournalConfigError);
    expect(() => parseJournalConfig(input)).toThrow(message);
  });

  it('never puts a postgres URL (it may hold a password) in an error', () => {
    expect(() => parseJournalConfig({ type: 'postgres', url: 'postgres://u:hunter2@' })).toThrow(
      /^journal\.url is not a valid URL$/,
    );
  });
});

describe('journalDatabaseFromString', () => {
  it('reads a postgres URL or a file path', () => {
    expect(journalDatabaseFromString('postgres://db/j')).toEqual({ type: 'postgres', url: 'postgres://db/j' });
    expect(journalDatabaseFromString('./j.sqlite')).toEqual({ type: 'sqlite', path: './j.sqlite' });
  });
});
