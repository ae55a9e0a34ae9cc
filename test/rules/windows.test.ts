// Windows against hand-computed ranges, in New York and Berlin, across DST changes.
import { describe, expect, it } from 'vitest';
import { readRanges, resolveWindow } from '../../functions/rules/windows';
import type { WindowName } from '../../functions/rules/vocabulary';

const at = (iso: string): number => Date.parse(iso);
const range = (name: WindowName, tz: string, now: string, lifetimeStart?: string): [string, string] => {
  const w = resolveWindow(name, tz, at(now), lifetimeStart ? at(lifetimeStart) : undefined);
  return [new Date(w.startMs).toISOString(), new Date(w.endMs).toISOString()];
};
const queryRanges = (w: ReturnType<typeof resolveWindow>, now: number) => readRanges(w, now).ranges;

describe('windows', () => {
  // 2026-11-24T15:30:00Z = 10:30 EST on Tuesday 24 November in New York.
  const NOW = '2026-11-24T15:30:00Z';

  it.each([
    ['today', ['2026-11-24T05:00:00.000Z', '2026-11-24T15:30:00.000Z']],
    ['yesterday', ['2026-11-23T05:00:00.000Z', '2026-11-24T05:00:00.000Z']],
    ['last_3_days', ['2026-11-21T05:00:00.000Z', '2026-11-24T05:00:00.000Z']],
    ['last_7_days', ['2026-11-17T05:00:00.000Z', '2026-11-24T05:00:00.000Z']],
    ['last_14_days', ['2026-11-10T05:00:00.000Z', '2026-11-24T05:00:00.000Z']],
    // 30 days back crosses the 1 November fall-back: 25 October starts at 04:00Z (EDT).
    ['last_30_days', ['2026-10-25T04:00:00.000Z', '2026-11-24T05:00:00.000Z']],
    ['this_month', ['2026-11-01T04:00:00.000Z', '2026-11-24T15:30:00.000Z']],
    ['last_6_hours', ['2026-11-24T09:00:00.000Z', '2026-11-24T15:00:00.000Z']],
  ] as const)('%s in America/New_York at 10:30 on 24 Nov 2026', (name, expected) => {
    expect(range(name, 'America/New_York', NOW)).toEqual(expected);
  });

  it('lifetime runs from the campaign start to now', () => {
    expect(range('lifetime', 'America/New_York', NOW, '2026-10-02T12:00:00Z')).toEqual(['2026-10-02T12:00:00.000Z', '2026-11-24T15:30:00.000Z']);
  });

  it('yesterday is 23 hours long on the spring-forward day and 25 on the fall-back day (New York)', () => {
    const spring = resolveWindow('yesterday', 'America/New_York', at('2026-03-09T15:00:00Z'));
    expect((spring.endMs - spring.startMs) / 3_600_000).toBe(23);
    const fall = resolveWindow('yesterday', 'America/New_York', at('2026-11-02T15:00:00Z'));
    expect((fall.endMs - fall.startMs) / 3_600_000).toBe(25);
  });

  it('last_7_days across the Berlin spring change starts at 23:00Z then ends at 22:00Z', () => {
    expect(range('last_7_days', 'Europe/Berlin', '2026-04-01T10:00:00Z')).toEqual(['2026-03-24T23:00:00.000Z', '2026-03-31T22:00:00.000Z']);
  });

  it('today in Berlin after the autumn change', () => {
    expect(range('today', 'Europe/Berlin', '2026-10-26T09:00:00Z')).toEqual(['2026-10-25T23:00:00.000Z', '2026-10-26T09:00:00.000Z']);
  });

  it('reads whole UTC hours: a :30 zone widens to the enclosing hour', () => {
    // Midnight in Kolkata (UTC+5:30) is 18:30Z.
    const now = at('2026-11-24T06:00:00Z');
    const w = resolveWindow('yesterday', 'Asia/Kolkata', now);
    expect(range('yesterday', 'Asia/Kolkata', '2026-11-24T06:00:00Z')).toEqual(['2026-11-22T18:30:00.000Z', '2026-11-23T18:30:00.000Z']);
    expect(readRanges(w, now)).toEqual({
      ranges: [{ startSeconds: at('2026-11-22T18:00:00Z') / 1000, endSeconds: at('2026-11-23T19:00:00Z') / 1000 }],
      startMs: at('2026-11-22T18:00:00Z'),
      endMs: at('2026-11-23T19:00:00Z'),
      note: 'widened to whole UTC hours',
    });
  });

  it('today ends at the last complete hour, never in the current one, and says so', () => {
    const read = readRanges(resolveWindow('today', 'America/New_York', at(NOW)), at(NOW));
    expect(read.ranges).toEqual([{ startSeconds: at('2026-11-24T05:00:00Z') / 1000, endSeconds: at('2026-11-24T15:00:00Z') / 1000 }]);
    expect(read.note).toBe('cut at the last complete hour (15:00 UTC)');
  });

  it('no range ever ends after the time of the run', () => {
    for (const name of ['today', 'this_month', 'lifetime', 'last_6_hours', 'yesterday'] as const) {
      const now = at('2026-11-24T15:59:59Z');
      for (const r of queryRanges(resolveWindow(name, 'Asia/Kolkata', now, at('2026-01-01T00:00:00Z')), now)) {
        expect(r.endSeconds * 1000).toBeLessThanOrEqual(now);
        expect(r.startSeconds % 3600).toBe(0);
        expect(r.endSeconds % 3600).toBe(0);
      }
    }
  });

  it('splits lifetime into ranges of at most 366 days', () => {
    const now = at('2026-11-24T15:30:00Z');
    const ranges = queryRanges(resolveWindow('lifetime', 'UTC', now, at('2024-01-01T00:00:00Z')), now);
    expect(ranges.map((r) => [new Date(r.startSeconds * 1000).toISOString(), new Date(r.endSeconds * 1000).toISOString()])).toEqual([
      ['2024-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
      ['2025-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z'],
      ['2026-01-02T00:00:00.000Z', '2026-11-24T15:00:00.000Z'],
    ]);
    for (const r of ranges) expect(r.endSeconds - r.startSeconds).toBeLessThanOrEqual(366 * 86_400);
  });

  it('a window with no complete hour yet needs no read, and says why', () => {
    const now = at('2026-11-24T00:20:00Z');
    const read = readRanges(resolveWindow('today', 'UTC', now), now);
    expect(read.ranges).toEqual([]);
    expect(read.note).toMatch(/^empty: no complete hour yet/);
  });
});
