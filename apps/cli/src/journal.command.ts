import { Command, CommanderError, Option } from 'commander';
import {
  DEFAULT_JOURNAL_SQLITE_PATH,
  DurationParseError,
  Journal,
  JournalConfigError,
  JournalDatabaseConfig,
  JournalQuery,
  JournalRecord,
  JournalUnavailableError,
  formatJournalTable,
  journalDatabaseFromString,
  parseJournalConfig,
  parseSince,
} from '@ycloud/journal';

/** What `ycloud journal` needs from a journal; a fake in tests. */
export interface JournalReader {
  query(q: JournalQuery): Promise<JournalRecord[]>;
  close(): Promise<void>;
}

/** Side effects of `runJournal`, injectable for tests. */
export interface JournalCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Read for `YCLOUD_JOURNAL_DB` (the default of `--db`). */
  env: NodeJS.ProcessEnv;
  now: () => Date;
  openJournal: (db: JournalDatabaseConfig) => Promise<JournalReader>;
}

/** Exit code of a usage error (bad flag or value). */
export const EXIT_USAGE = 2;

const defaultIo = (): JournalCommandIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  now: () => new Date(),
  openJournal: (db) => Journal.open(parseJournalConfig(db), { readOnly: true }),
});

class UsageError extends Error {}

interface JournalFlags {
  service?: string;
  since?: string;
  db?: string;
  output: 'table' | 'json';
  limit: string;
}

function buildCommand(io: JournalCommandIo): Command {
  return new Command('journal')
    .description('Show what the controller changed in the OVN northbound database: when, for which object, and why.')
    .option('--service <namespace/name>', 'only changes made for this Service')
    .option('--since <when>', 'only changes since a duration ago (30s, 15m, 1h, 2d) or an ISO timestamp')
    .option(
      '--db <path|url>',
      `journal SQLite file or postgres:// URL (default $YCLOUD_JOURNAL_DB or ${DEFAULT_JOURNAL_SQLITE_PATH})`,
    )
    .addOption(new Option('--output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--limit <n>', 'at most this many transactions, newest first', '50')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
}

function toQuery(flags: JournalFlags, now: Date): JournalQuery {
  const q: JournalQuery = {};
  if (flags.service !== undefined) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(flags.service)) {
      throw new UsageError(`invalid --service "${flags.service}": use namespace/name, e.g. default/web`);
    }
    q.ownerKind = 'Service';
    q.owner = flags.service;
  }
  if (flags.since !== undefined) q.since = parseSince(flags.since, now);
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new UsageError(`invalid --limit "${flags.limit}": use an integer from 1 to 10000`);
  }
  q.limit = limit;
  return q;
}

/**
 * `ycloud journal [--service ns/name] [--since 1h] [--db <path|url>] [--output table|json] [--limit n]`.
 * `argv` are the arguments after `journal`. Returns the exit code: 0 ok, 1 journal unavailable, 2 usage.
 */
export async function runJournal(
  argv: readonly string[],
  ioOverrides: Partial<JournalCommandIo> = {},
): Promise<number> {
  const io = { ...defaultIo(), ...ioOverrides };
  const cmd = buildCommand(io);
  let query: JournalQuery;
  let db: JournalDatabaseConfig;
  let flags: JournalFlags;
  try {
    cmd.parse([...argv], { from: 'user' });
    flags = cmd.opts<JournalFlags>();
    query = toQuery(flags, io.now());
    db = journalDatabaseFromString(flags.db ?? io.env.YCLOUD_JOURNAL_DB ?? DEFAULT_JOURNAL_SQLITE_PATH);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE; // commander printed it
    if (err instanceof UsageError || err instanceof DurationParseError || err instanceof JournalConfigError) {
      io.stderr(`ycloud journal: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }

  let journal: JournalReader;
  try {
    journal = await io.openJournal(db);
  } catch (err) {
    if (!(err instanceof JournalUnavailableError)) throw err;
    io.stderr(`ycloud journal: ${err.message}\n`);
    return 1;
  }
  try {
    const records = await journal.query(query);
    io.stdout(flags.output === 'json' ? JSON.stringify(records, null, 2) + '\n' : formatJournalTable(records));
    return 0;
  } catch (err) {
    io.stderr(`ycloud journal: reading the journal failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await journal.close();
  }
}
