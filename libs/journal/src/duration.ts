const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A `--since` value that is neither a duration nor an ISO timestamp. */
export class DurationParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationParseError';
  }
}

/** Parses `30s`, `15m`, `1h`, `2d` (also `1h30m`) to milliseconds. */
export function parseDuration(input: string): number {
  const s = input.trim();
  if (!/^(\d+[smhd])+$/.test(s)) {
    throw new DurationParseError(`invalid duration "${input}": use e.g. 30s, 15m, 1h, 2d`);
  }
  let ms = 0;
  for (const m of s.matchAll(/(\d+)([smhd])/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  if (!Number.isSafeInteger(ms)) throw new DurationParseError(`duration "${input}" is too large`);
  return ms;
}

// Full ISO 8601 date or date-time; a date-time without offset is read as local time (as Date does).
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

// Date() rolls 2026-02-31 over to March 3rd; an operator typing it meant something else.
function isCalendarDate(s: string): boolean {
  const [y, m, d] = s.slice(0, 10).split('-').map(Number);
  return m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * Parses a `--since` value: a duration before `now` (`30s`, `15m`, `1h`, `2d`) or an ISO timestamp
 * (`2026-11-23T10:00:00Z`, `2026-11-23`).
 */
export function parseSince(input: string, now: Date = new Date()): Date {
  const s = input.trim();
  if (/^\d/.test(s) && /[smhd]$/.test(s) && !s.includes('-')) return new Date(now.getTime() - parseDuration(s));
  if (ISO_TIMESTAMP.test(s) && isCalendarDate(s)) {
    const t = new Date(s);
    if (!Number.isNaN(t.getTime())) return t;
  }
  throw new DurationParseError(
    `invalid --since "${input}": use a duration (30s, 15m, 1h, 2d) or an ISO timestamp (2026-11-23T10:00:00Z)`,
  );
}
