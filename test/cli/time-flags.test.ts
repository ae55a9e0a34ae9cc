// Time flags (--since/--until of audit and report, and the console's since/until): a date is the
// midnight that starts it in the zone times are shown in, DST included; durations count back at
// most ten years; a date that does not exist is refused.
import { describe, expect, it } from 'vitest';
import { MAX_LOOKBACK_DAYS, parseTime } from '../../functions/cli/args';

const NOW_MS = Date.parse('2026-11-21T20:48:00Z');

describe('parseTime', () => {
  it.each([
    ['2026-11-20', 'UTC', '2026-11-20T00:00:00.000Z'],
    ['2026-11-20', 'America/New_York', '2026-11-20T05:00:00.000Z'],
    // The day DST starts in New York is still from 00:00 EST; the day after, from 00:00 EDT.
    ['2026-03-08', 'America/New_York', '2026-03-08T05:00:00.000Z'],
    ['2026-03-09', 'America/New_York', '2026-03-09T04:00:00.000Z'],
    ['2026-11-20', 'Asia/Kolkata', '2026-11-19T18:30:00.000Z'],
    // Where midnight itself is skipped (Santiago springs forward at 00:00), the day starts at 01:00.
    ['2026-09-06', 'America/Santiago', '2026-09-06T04:00:00.000Z'],
  ])('%s in %s starts at %s', (value, zone, iso) => {
    expect(new Date(parseTime(value, NOW_MS, zone) ?? Number.NaN).toISOString()).toBe(iso);
  });

  it('refuses a date the zone skipped whole', () => {
    expect(parseTime('2011-12-30', NOW_MS, 'Pacific/Apia')).toBeNull();
    expect(parseTime('2011-12-31', NOW_MS, 'Pacific/Apia')).toBe(Date.parse('2011-12-30T10:00:00Z'));
  });

  it('reads a time with a zone as that instant, whatever the display zone', () => {
    expect(parseTime('2026-11-24T10:00:00Z', NOW_MS, 'America/New_York')).toBe(Date.parse('2026-11-24T10:00:00Z'));
  });

  it('counts durations back from now, up to ten years', () => {
    expect(parseTime('90m', NOW_MS)).toBe(NOW_MS - 90 * 60_000);
    expect(parseTime(`${MAX_LOOKBACK_DAYS}d`, NOW_MS)).toBe(NOW_MS - MAX_LOOKBACK_DAYS * 86_400_000);
    expect(parseTime(`${MAX_LOOKBACK_DAYS + 1}d`, NOW_MS)).toBeNull();
    expect(parseTime('99999d', NOW_MS)).toBeNull();
  });

  it('reads a time with a numeric offset as that instant', () => {
    expect(parseTime('2026-11-24T05:00-05:00', NOW_MS, 'UTC')).toBe(Date.parse('2026-11-24T10:00:00Z'));
    expect(parseTime('2026-11-24T10:00:00.250Z', NOW_MS)).toBe(Date.parse('2026-11-24T10:00:00.250Z'));
  });

  // Date.parse reads each of these as some instant: `7` (7d without its d) as 2001-07-01, the
  // zone-less forms in the machine's zone (not the zone times are shown in), 2026-02-30T… as March 2.
  it.each(['7', '12', '2026-11-24T10:00', '2026-11-24T10:00:00', '2026-11-24 10:00', 'Nov 24 2026', '2026-11', '2026-02-30T10:00:00Z', '2026-11-24T24:00:00Z', '2026-11-24T10:60Z', '2026-11-24T10:00+25:00'])('refuses the time %j', (value) => {
    expect(parseTime(value, NOW_MS, 'America/New_York')).toBeNull();
  });

  it.each(['2026-02-30', '2026-13-01', 'soon', ''])('refuses %j', (value) => {
    expect(parseTime(value, NOW_MS, 'America/New_York')).toBeNull();
  });
});
