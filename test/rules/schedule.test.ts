// EventBridge schedule expressions: syntax checks, and fire times in real time zones across DST.
import { describe, expect, it } from 'vitest';
import { ScheduleSyntaxError } from '../../functions/rules/errors';
import { fireTimesBetween, nextFireAfter, parseSchedule, schedulePeriodSeconds } from '../../functions/rules/schedule';

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000', '');
const fires = (expression: string, tz: string, from: string, to: string): string[] =>
  fireTimesBetween(parseSchedule(expression), tz, Date.parse(from), Date.parse(to)).map(iso);

describe('parseSchedule', () => {
  it.each([
    ['rate(1 minute)', 60],
    ['rate(15 minutes)', 900],
    ['rate(1 hour)', 3_600],
    ['rate(6 hours)', 21_600],
    ['rate(2 days)', 172_800],
  ])('%s has a period of %i s', (expression, seconds) => {
    expect(schedulePeriodSeconds(parseSchedule(expression), 'UTC')).toBe(seconds);
  });

  it.each([
    ['every 5 minutes', 'expected rate(...) or cron(...)'],
    ['rate(1 minutes)', 'wants the singular for 1: rate(1 minute)'],
    ['rate(5 minute)', 'wants the plural: rate(5 minutes)'],
    ['rate(0 minutes)', 'positive whole number'],
    ['rate(2 weeks)', 'minute(s), hour(s) or day(s)'],
    ['cron(0 22 * * *)', 'has 6 fields'],
    ['cron(0 22 * * * *)', 'one of day-of-month and day-of-week must be ?'],
    ['cron(0 22 ? * ? *)', 'one of day-of-month and day-of-week must be ?'],
    ['cron(60 22 * * ? *)', 'minutes: 60 is out of range 0–59'],
    ['cron(0 24 * * ? *)', 'hours: 24 is out of range 0–23'],
    ['cron(0 9 ? * MOX *)', 'day-of-week: "MOX" is not a number or a name'],
    ['cron(0 9 ? * 2#6 *)', '"#6" must be 1–5'],
    ['cron(0 9 1 FOO ? *)', 'month: "FOO"'],
    ['cron(0 9 1 * ? 1969)', 'year: 1969 is out of range 1970–2199'],
    ['cron(0 9-7 * * ? *)', 'range "9-7" runs backwards'],
    ['cron(0/0 * * * ? *)', 'step "/0" must be a positive whole number'],
  ])('%s is refused: %s', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(ScheduleSyntaxError);
    expect(() => parseSchedule(expression)).toThrow(message);
  });
});

describe('fire times', () => {
  it('cron(0 22 * * ? *) in New York fires at 22:00 local across the March DST change', () => {
    // DST starts Sunday 2026-03-08: 22:00 EST = 03:00Z before, 22:00 EDT = 02:00Z after.
    expect(fires('cron(0 22 * * ? *)', 'America/New_York', '2026-03-06T00:00:00Z', '2026-03-10T23:59:00Z')).toEqual([
      '2026-03-06T03:00:00Z',
      '2026-03-07T03:00:00Z',
      '2026-03-08T03:00:00Z',
      '2026-03-09T02:00:00Z',
      '2026-03-10T02:00:00Z',
    ]);
  });

  it('cron(0 22 * * ? *) in New York fires at 22:00 local across the November DST change', () => {
    expect(fires('cron(0 22 * * ? *)', 'America/New_York', '2026-10-30T00:00:00Z', '2026-11-03T12:00:00Z')).toEqual([
      '2026-10-30T02:00:00Z',
      '2026-10-31T02:00:00Z',
      '2026-11-01T02:00:00Z',
      '2026-11-02T03:00:00Z',
      '2026-11-03T03:00:00Z',
    ]);
  });

  it('skips a local time that DST skips (02:30 on 2026-03-08 in New York), like EventBridge Scheduler', () => {
    expect(fires('cron(30 2 * * ? *)', 'America/New_York', '2026-03-07T00:00:00Z', '2026-03-09T12:00:00Z')).toEqual(['2026-03-07T07:30:00Z', '2026-03-09T06:30:00Z']);
  });

  it('fires once for a local time DST repeats (01:30 on 2026-11-01 in New York)', () => {
    expect(fires('cron(30 1 * * ? *)', 'America/New_York', '2026-10-31T12:00:00Z', '2026-11-02T12:00:00Z')).toEqual(['2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z']);
  });

  it('handles Europe/Berlin, which changes on other dates (2026-03-29, 2026-10-25)', () => {
    expect(fires('cron(0 7 * * ? *)', 'Europe/Berlin', '2026-03-28T00:00:00Z', '2026-03-30T23:00:00Z')).toEqual(['2026-03-28T06:00:00Z', '2026-03-29T05:00:00Z', '2026-03-30T05:00:00Z']);
    expect(fires('cron(0 7 * * ? *)', 'Europe/Berlin', '2026-10-24T00:00:00Z', '2026-10-26T23:00:00Z')).toEqual(['2026-10-24T05:00:00Z', '2026-10-25T06:00:00Z', '2026-10-26T06:00:00Z']);
  });

  it.each([
    ['cron(0 9 ? * MON-FRI *)', 'UTC', '2026-11-20T00:00:00Z', '2026-11-24T23:00:00Z', ['2026-11-20T09:00:00Z', '2026-11-23T09:00:00Z', '2026-11-24T09:00:00Z']],
    ['cron(0/20 9 * * ? *)', 'UTC', '2026-11-24T00:00:00Z', '2026-11-24T23:00:00Z', ['2026-11-24T09:00:00Z', '2026-11-24T09:20:00Z', '2026-11-24T09:40:00Z']],
    ['cron(0 12 L * ? *)', 'UTC', '2026-01-15T00:00:00Z', '2026-03-15T00:00:00Z', ['2026-01-31T12:00:00Z', '2026-02-28T12:00:00Z']],
    ['cron(0 12 LW * ? *)', 'UTC', '2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z', ['2026-05-29T12:00:00Z']],
    ['cron(0 12 15W * ? *)', 'UTC', '2026-08-01T00:00:00Z', '2026-09-01T00:00:00Z', ['2026-08-14T12:00:00Z']],
    ['cron(0 12 ? * 6L *)', 'UTC', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z', ['2026-11-27T12:00:00Z']],
    ['cron(0 12 ? * 3#2 *)', 'UTC', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z', ['2026-11-10T12:00:00Z']],
    ['cron(0 0 1 JAN,JUL ? 2027)', 'UTC', '2026-01-01T00:00:00Z', '2029-01-01T00:00:00Z', ['2027-01-01T00:00:00Z', '2027-07-01T00:00:00Z']],
  ])('%s in %s', (expression, tz, from, to, expected) => {
    expect(fires(expression, tz, from, to)).toEqual(expected);
  });

  it('rate schedules fire on multiples of their period since the epoch', () => {
    const s = parseSchedule('rate(15 minutes)');
    expect(iso(nextFireAfter(s, 'America/New_York', Date.parse('2026-11-24T10:07:13Z')) as number)).toBe('2026-11-24T10:15:00Z');
    expect(iso(nextFireAfter(s, 'UTC', Date.parse('2026-11-24T10:15:00Z')) as number)).toBe('2026-11-24T10:30:00Z');
  });

  it('returns null when a cron never fires again', () => {
    expect(nextFireAfter(parseSchedule('cron(0 0 1 1 ? 2020)'), 'UTC', Date.parse('2026-01-01T00:00:00Z'))).toBeNull();
  });

  it('a daily cron has a period of 23 h in a DST zone (its shortest gap)', () => {
    expect(schedulePeriodSeconds(parseSchedule('cron(0 22 * * ? *)'), 'America/New_York')).toBe(23 * 3_600);
    expect(schedulePeriodSeconds(parseSchedule('cron(0 22 * * ? *)'), 'UTC')).toBe(24 * 3_600);
  });
});
