// Metric windows, computed in the rule's time zone (DST-correct), and the hour-aligned UTC
// ranges an insights read needs for them. The API's data is hourly in UTC, so a window edge that
// is not a whole UTC hour (zones with :30 or :45 offsets) is widened to the enclosing hour; the
// range actually read is reported next to the window.
import { addDays, localTime, startOfLocalDay } from '../shared/timezone';
import { HOURS_WINDOW, MAX_HOURS_WINDOW, type WindowName } from './vocabulary';

const HOUR_MS = 3_600_000;
export const MAX_RANGE_MS = 366 * 86_400_000;

export interface ResolvedWindow {
  name: WindowName;
  timezone: string;
  /** Unix ms, inclusive. */
  startMs: number;
  /** Unix ms, exclusive. */
  endMs: number;
}

export interface QueryRange {
  startSeconds: number;
  endSeconds: number;
}

export function isWindowName(name: string): name is WindowName {
  if (HOURS_WINDOW.test(name)) return Number(HOURS_WINDOW.exec(name)?.[1]) <= MAX_HOURS_WINDOW;
  return ['today', 'yesterday', 'last_3_days', 'last_7_days', 'last_14_days', 'last_30_days', 'this_month', 'lifetime'].includes(name);
}

/**
 * The window `name` at `nowMs` in `timeZone`. `lifetimeStartMs` is the campaign start (or the
 * earliest start among the entities read) for `lifetime`.
 */
export function resolveWindow(name: WindowName, timeZone: string, nowMs: number, lifetimeStartMs?: number): ResolvedWindow {
  const today = localTime(nowMs, timeZone);
  const dayStart = (offsetDays: number): number => {
    const d = addDays(today.year, today.month, today.day, offsetDays);
    return startOfLocalDay(d.year, d.month, d.day, timeZone);
  };
  const make = (startMs: number, endMs: number): ResolvedWindow => ({ name, timezone: timeZone, startMs, endMs: Math.max(startMs, endMs) });
  const hours = HOURS_WINDOW.exec(name);
  if (hours) {
    const currentHour = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
    return make(currentHour - Number(hours[1]) * HOUR_MS, currentHour);
  }
  switch (name) {
    case 'today':
      return make(dayStart(0), nowMs);
    case 'yesterday':
      return make(dayStart(-1), dayStart(0));
    case 'last_3_days':
      return make(dayStart(-3), dayStart(0));
    case 'last_7_days':
      return make(dayStart(-7), dayStart(0));
    case 'last_14_days':
      return make(dayStart(-14), dayStart(0));
    case 'last_30_days':
      return make(dayStart(-30), dayStart(0));
    case 'this_month':
      return make(startOfLocalDay(today.year, today.month, 1, timeZone), nowMs);
    case 'lifetime':
      return make(Math.min(lifetimeStartMs ?? nowMs, nowMs), nowMs);
    default:
      throw new RangeError(`Unknown window "${name}"`);
  }
}

/** Hour-aligned UTC ranges covering the window, each at most 366 days (the API's limit). Empty for an empty window. */
export function queryRanges(window: Pick<ResolvedWindow, 'startMs' | 'endMs'>): QueryRange[] {
  const start = Math.floor(window.startMs / HOUR_MS) * HOUR_MS;
  const end = Math.ceil(window.endMs / HOUR_MS) * HOUR_MS;
  const out: QueryRange[] = [];
  for (let s = start; s < end; s += MAX_RANGE_MS) {
    out.push({ startSeconds: s / 1000, endSeconds: Math.min(end, s + MAX_RANGE_MS) / 1000 });
  }
  return out;
}

/** A window as it is recorded on a decision. */
export function describeWindow(window: ResolvedWindow): { name: string; timezone: string; start: string; end: string } {
  return { name: window.name, timezone: window.timezone, start: new Date(window.startMs).toISOString(), end: new Date(window.endMs).toISOString() };
}
