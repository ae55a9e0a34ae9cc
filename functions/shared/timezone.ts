// IANA time-zone arithmetic on top of Intl: local calendar fields of an instant, and the
// instant(s) of a local wall-clock time (none in a spring-forward gap, two in a fall-back
// overlap). Used by rule windows and the schedule evaluator; DST-correct by construction.

export interface LocalTime {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of `ms` in `timeZone`. */
export function localTime(ms: number, timeZone: string): LocalTime {
  const out: LocalTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    switch (part.type) {
      case 'year':
        out.year = Number(part.value);
        break;
      case 'month':
        out.month = Number(part.value);
        break;
      case 'day':
        out.day = Number(part.value);
        break;
      case 'hour':
        out.hour = Number(part.value);
        break;
      case 'minute':
        out.minute = Number(part.value);
        break;
      case 'second':
        out.second = Number(part.value);
        break;
      case 'weekday':
        out.weekday = WEEKDAYS[part.value] ?? 0;
        break;
      default:
        break;
    }
  }
  return out;
}

/** UTC offset of `timeZone` at instant `ms`, in ms (local = utc + offset). */
export function offsetAt(ms: number, timeZone: string): number {
  const t = localTime(ms, timeZone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return asUtc - (ms - (ms % 1000 + 1000) % 1000);
}

/**
 * Every instant whose wall-clock time in `timeZone` is the given local time, ascending: one
 * normally, none inside a spring-forward gap, two inside a fall-back overlap.
 */
export function instantsOf(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number[] {
  const naive = Date.UTC(year, month - 1, day, hour, minute, 0);
  const candidates = new Set<number>();
  for (const probe of [naive - 36 * 3_600_000, naive, naive + 36 * 3_600_000]) {
    candidates.add(naive - offsetAt(probe, timeZone));
  }
  const out: number[] = [];
  for (const candidate of candidates) {
    const t = localTime(candidate, timeZone);
    if (t.year === year && t.month === month && t.day === day && t.hour === hour && t.minute === minute) out.push(candidate);
  }
  return out.sort((a, b) => a - b);
}

/** The instant local midnight starts the given local date (the first instant of that day, even when midnight itself is skipped). */
export function startOfLocalDay(year: number, month: number, day: number, timeZone: string): number {
  for (let minutes = 0; minutes < 24 * 60; minutes += 15) {
    const found = instantsOf(year, month, day, Math.floor(minutes / 60), minutes % 60, timeZone);
    if (found.length > 0) return found[0];
  }
  throw new RangeError(`No start of day for ${year}-${month}-${day} in ${timeZone}`);
}

/** Calendar arithmetic on a local date (no time zone involved). */
export function addDays(year: number, month: number, day: number, days: number): { year: number; month: number; day: number } {
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * The instant an ISO 8601 time with a zone names (`2026-11-24T10:00:00Z`, `2026-11-24T05:00-05:00`),
 * or null: any other text, a time without a zone (whose zone would be the machine's), or fields
 * that name no real time (`2026-02-30T10:00Z`, which Date.parse reads as March 2; `T24:00`).
 */
export function parseIsoInstant(text: string): number | null {
  const m = ISO_WITH_ZONE.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  if (m[8] !== 'Z' && (Number(m[9]) > 23 || Number(m[10]) > 59)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}
