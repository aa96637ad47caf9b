import { DurationParseError, parseDuration, parseSince } from './duration';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1h30m', 5_400_000],
    [' 5m ', 300_000],
  ])('%s is %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['', '1', 'h', '1w', '-1h', '1.5h', '1 h', 'abc'])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow(DurationParseError);
  });
});

describe('parseSince', () => {
  const now = new Date('2026-11-23T12:00:00Z');

  it('takes a duration back from now', () => {
    expect(parseSince('1h', now)).toEqual(new Date('2026-11-23T11:00:00Z'));
    expect(parseSince('30s', now)).toEqual(new Date('2026-11-23T11:59:30Z'));
  });

  it('takes ISO timestamps', () => {
    expect(parseSince('2026-11-22T08:30:00Z', now)).toEqual(new Date('2026-11-22T08:30:00Z'));
    expect(parseSince('2026-11-22T08:30:00.250+02:00', now)).toEqual(new Date('2026-11-22T06:30:00.250Z'));
    expect(parseSince('2026-11-22', now)).toEqual(new Date('2026-11-22T00:00:00Z'));
  });

  it('explains what it accepts on bad input', () => {
    expect(() => parseSince('yesterday', now)).toThrow(
      'invalid --since "yesterday": use a duration (30s, 15m, 1h, 2d) or an ISO timestamp (2026-11-23T10:00:00Z)',
    );
    expect(() => parseSince('2026-13-45', now)).toThrow(DurationParseError);
    expect(() => parseSince('2026-02-31', now)).toThrow(DurationParseError);
    expect(parseSince('2028-02-29', now)).toEqual(new Date('2028-02-29T00:00:00Z'));
    expect(() => parseSince('10x', now)).toThrow(DurationParseError);
  });
});
