// EventBridge Scheduler schedule expressions: `rate(value unit)` and
// `cron(minutes hours day-of-month month day-of-week year)`, parsed, checked with precise
// messages, and evaluated in an IANA time zone the way EventBridge Scheduler does: a local time
// skipped by a spring-forward change does not fire; one repeated by a fall-back change fires
// once (the first). Rate schedules are anchored at the Unix epoch (EventBridge anchors them at
// the schedule's creation), so locally they fire on multiples of their period.
import { addDays, daysInMonth, instantsOf, localTime } from '../shared/timezone';
import { ScheduleSyntaxError } from './errors';

type NumberSet = ReadonlySet<number>;

type DomSpec = { kind: 'any' } | { kind: 'set'; values: NumberSet } | { kind: 'last' } | { kind: 'last_weekday' } | { kind: 'nearest_weekday'; day: number };
/** Day-of-week numbers are EventBridge's: 1 = Sunday … 7 = Saturday. */
type DowSpec = { kind: 'any' } | { kind: 'set'; values: NumberSet } | { kind: 'last_of_month'; dow: number } | { kind: 'nth'; dow: number; n: number };

export type ParsedSchedule =
  | { kind: 'rate'; text: string; periodSeconds: number }
  | { kind: 'cron'; text: string; minutes: NumberSet; hours: NumberSet; dom: DomSpec; months: NumberSet; dow: DowSpec; years: NumberSet | null };

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const UNIT_SECONDS: Record<string, number> = { minute: 60, hour: 3_600, day: 86_400 };

function parseRate(body: string, text: string): ParsedSchedule {
  const match = /^\s*(\d+)\s+([a-z]+)\s*$/i.exec(body);
  if (!match) throw new ScheduleSyntaxError(`"${text}": expected rate(value unit), e.g. rate(15 minutes)`);
  const value = Number(match[1]);
  const unitRaw = (match[2]).toLowerCase();
  const singular = unitRaw.endsWith('s') ? unitRaw.slice(0, -1) : unitRaw;
  const seconds = UNIT_SECONDS[singular];
  if (seconds === undefined) throw new ScheduleSyntaxError(`"${text}": the unit must be minute(s), hour(s) or day(s), found "${match[2]}"`);
  if (value < 1) throw new ScheduleSyntaxError(`"${text}": the value must be a positive whole number`);
  if (value === 1 && unitRaw !== singular) throw new ScheduleSyntaxError(`"${text}": EventBridge wants the singular for 1: rate(1 ${singular})`);
  if (value > 1 && unitRaw === singular) throw new ScheduleSyntaxError(`"${text}": EventBridge wants the plural: rate(${value} ${singular}s)`);
  return { kind: 'rate', text, periodSeconds: value * seconds };
}

function parseNumber(token: string, field: string, min: number, max: number, names?: string[], nameBase = 1): number {
  const upper = token.toUpperCase();
  if (names) {
    const index = names.indexOf(upper);
    if (index >= 0) return index + nameBase;
  }
  if (!/^\d+$/.test(token)) throw new ScheduleSyntaxError(`${field}: "${token}" is not a number${names ? ` or a name (${names.join(', ')})` : ''}`);
  const value = Number(token);
  if (value < min || value > max) throw new ScheduleSyntaxError(`${field}: ${value} is out of range ${min}–${max}`);
  return value;
}

/** A field of numbers: `*`, `a`, `a-b`, `a/n`, `*\/n`, `a-b/n`, comma lists. */
function parseSet(text: string, field: string, min: number, max: number, names?: string[], nameBase = 1): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    if (part === '') throw new ScheduleSyntaxError(`${field}: empty list item in "${text}"`);
    const [rangePart, stepPart, extra] = part.split('/');
    if (extra !== undefined) throw new ScheduleSyntaxError(`${field}: "${part}" has more than one /`);
    let lo: number;
    let hi: number;
    if (rangePart === '*') {
      lo = min;
      hi = max;
    } else if (rangePart?.includes('-')) {
      const [a, b] = rangePart.split('-') as [string, string];
      lo = parseNumber(a, field, min, max, names, nameBase);
      hi = parseNumber(b, field, min, max, names, nameBase);
      if (hi < lo) throw new ScheduleSyntaxError(`${field}: range "${rangePart}" runs backwards`);
    } else {
      lo = parseNumber(rangePart ?? '', field, min, max, names, nameBase);
      hi = stepPart === undefined ? lo : max;
    }
    const step = stepPart === undefined ? 1 : Number(stepPart);
    if (!Number.isInteger(step) || step < 1) throw new ScheduleSyntaxError(`${field}: step "/${stepPart ?? ''}" must be a positive whole number`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function parseDom(text: string): DomSpec {
  if (text === '?') return { kind: 'any' };
  if (text === 'L') return { kind: 'last' };
  if (text === 'LW') return { kind: 'last_weekday' };
  const w = /^(\d{1,2})W$/.exec(text);
  if (w) return { kind: 'nearest_weekday', day: parseNumber(w[1], 'day-of-month', 1, 31) };
  return { kind: 'set', values: parseSet(text, 'day-of-month', 1, 31) };
}

function parseDow(text: string): DowSpec {
  if (text === '?') return { kind: 'any' };
  if (text === 'L') return { kind: 'set', values: new Set([7]) };
  const last = /^([A-Za-z]{3}|\d)L$/.exec(text);
  if (last) return { kind: 'last_of_month', dow: parseNumber(last[1], 'day-of-week', 1, 7, DAY_NAMES) };
  const nth = /^([A-Za-z]{3}|\d)#(\d)$/.exec(text);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw new ScheduleSyntaxError(`day-of-week: "#${n}" must be 1–5`);
    return { kind: 'nth', dow: parseNumber(nth[1], 'day-of-week', 1, 7, DAY_NAMES), n };
  }
  return { kind: 'set', values: parseSet(text, 'day-of-week', 1, 7, DAY_NAMES) };
}

function parseCron(body: string, text: string): ParsedSchedule {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleSyntaxError(`"${text}": EventBridge cron has 6 fields (minutes hours day-of-month month day-of-week year), found ${fields.length}`);
  }
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  try {
    if ((dom === '?') === (dow === '?')) {
      throw new ScheduleSyntaxError('one of day-of-month and day-of-week must be ? (EventBridge does not combine them), e.g. cron(0 22 * * ? *)');
    }
    if (min.includes('?') || hour.includes('?') || month.includes('?') || year.includes('?')) throw new ScheduleSyntaxError('? is only allowed in day-of-month or day-of-week');
    const parsed: ParsedSchedule = {
      kind: 'cron',
      text,
      minutes: parseSet(min, 'minutes', 0, 59),
      hours: parseSet(hour, 'hours', 0, 23),
      dom: parseDom(dom),
      months: parseSet(month, 'month', 1, 12, MONTH_NAMES),
      dow: parseDow(dow),
      years: year === '*' ? null : parseSet(year, 'year', 1970, 2199),
    };
    return parsed;
  } catch (error) {
    if (error instanceof ScheduleSyntaxError) throw new ScheduleSyntaxError(`"${text}": ${error.message}`);
    throw error;
  }
}

/** Parse an EventBridge schedule expression; throws ScheduleSyntaxError with a precise message. */
export function parseSchedule(expression: string): ParsedSchedule {
  const text = expression.trim();
  const match = /^(rate|cron)\((.*)\)$/.exec(text);
  if (!match) throw new ScheduleSyntaxError(`"${expression}": expected rate(...) or cron(...), e.g. rate(15 minutes) or cron(0 22 * * ? *)`);
  return match[1] === 'rate' ? parseRate(match[2], text) : parseCron(match[2], text);
}

function nearestWeekday(year: number, month: number, day: number): number {
  const last = daysInMonth(year, month);
  const target = Math.min(day, last);
  const weekday = new Date(Date.UTC(year, month - 1, target)).getUTCDay();
  if (weekday === 6) return target === 1 ? 3 : target - 1; // Saturday → Friday (or Monday the 3rd)
  if (weekday === 0) return target === last ? target - 2 : target + 1; // Sunday → Monday (or Friday)
  return target;
}

function dayMatches(s: Extract<ParsedSchedule, { kind: 'cron' }>, year: number, month: number, day: number): boolean {
  if (s.years && !s.years.has(year)) return false;
  if (!s.months.has(month)) return false;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay(); // 0 = Sunday
  const last = daysInMonth(year, month);
  switch (s.dom.kind) {
    case 'any':
      break;
    case 'set':
      if (!s.dom.values.has(day)) return false;
      break;
    case 'last':
      if (day !== last) return false;
      break;
    case 'last_weekday': {
      const lastWeekday = new Date(Date.UTC(year, month - 1, last)).getUTCDay();
      const target = lastWeekday === 6 ? last - 1 : lastWeekday === 0 ? last - 2 : last;
      if (day !== target) return false;
      break;
    }
    case 'nearest_weekday':
      if (day !== nearestWeekday(year, month, s.dom.day)) return false;
      break;
  }
  switch (s.dow.kind) {
    case 'any':
      return true;
    case 'set':
      return s.dow.values.has(weekday + 1);
    case 'last_of_month':
      return weekday + 1 === s.dow.dow && day + 7 > last;
    case 'nth':
      return weekday + 1 === s.dow.dow && Math.ceil(day / 7) === s.dow.n;
  }
}

const MAX_SEARCH_DAYS = 366 * 8;

/** The first fire time strictly after `afterMs` (Unix ms), or null when there is none. */
export function nextFireAfter(schedule: ParsedSchedule, timeZone: string, afterMs: number): number | null {
  if (schedule.kind === 'rate') {
    const period = schedule.periodSeconds * 1000;
    return (Math.floor(afterMs / period) + 1) * period;
  }
  const start = localTime(afterMs, timeZone);
  const hours = [...schedule.hours].sort((a, b) => a - b);
  const minutes = [...schedule.minutes].sort((a, b) => a - b);
  const maxYear = schedule.years ? Math.max(...schedule.years) : Number.POSITIVE_INFINITY;
  for (let d = 0; d < MAX_SEARCH_DAYS; d += 1) {
    const date = addDays(start.year, start.month, start.day, d);
    if (date.year > maxYear) return null;
    if (!dayMatches(schedule, date.year, date.month, date.day)) continue;
    for (const hour of hours) {
      // On the first day, hours well before the local time cannot be after `afterMs`.
      if (d === 0 && hour < start.hour - 2) continue;
      for (const minute of minutes) {
        const instants = instantsOf(date.year, date.month, date.day, hour, minute, timeZone);
        // In a spring-forward gap there is no instant: EventBridge Scheduler skips it.
        // In a fall-back overlap there are two: it fires once, at the first.
        const first = instants[0];
        if (first !== undefined && first > afterMs) return first;
      }
    }
  }
  return null;
}

/** The fire times in (fromMs, toMs], ascending (at most `limit`). */
export function fireTimesBetween(schedule: ParsedSchedule, timeZone: string, fromMs: number, toMs: number, limit = 10_000): number[] {
  const out: number[] = [];
  let t = fromMs;
  while (out.length < limit) {
    const next = nextFireAfter(schedule, timeZone, t);
    if (next === null || next > toMs) break;
    out.push(next);
    t = next;
  }
  return out;
}

/**
 * The schedule's period in seconds: a rate's interval, or the shortest gap between consecutive
 * fires of a cron over a year from a fixed reference (DST included). Used for the maximum event
 * age and to tell a stale delivery from a late one.
 */
const periodCache = new Map<string, number>();

export function schedulePeriodSeconds(schedule: ParsedSchedule, timeZone: string): number {
  if (schedule.kind === 'rate') return schedule.periodSeconds;
  const key = `${timeZone}|${schedule.text}`;
  const cached = periodCache.get(key);
  if (cached !== undefined) return cached;
  const period = cronPeriodSeconds(schedule, timeZone);
  periodCache.set(key, period);
  return period;
}

function cronPeriodSeconds(schedule: ParsedSchedule, timeZone: string): number {
  const reference = Date.UTC(2026, 0, 1);
  const fires = fireTimesBetween(schedule, timeZone, reference, reference + 400 * 86_400_000, 2_000);
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < fires.length; i += 1) shortest = Math.min(shortest, ((fires[i]) - (fires[i - 1])) / 1000);
  return Number.isFinite(shortest) ? shortest : 366 * 86_400;
}

/**
 * The longest gap between consecutive fires over a year from the same reference (a rate's
 * interval): how long a schedule may rightly go without a run, weekends and DST included. The
 * "rule did not run" alarms watch two of these.
 */
export function scheduleLongestGapSeconds(schedule: ParsedSchedule, timeZone: string): number {
  if (schedule.kind === 'rate') return schedule.periodSeconds;
  const reference = Date.UTC(2026, 0, 1);
  const fires = fireTimesBetween(schedule, timeZone, reference, reference + 400 * 86_400_000, 2_000);
  let longest = 0;
  for (let i = 1; i < fires.length; i += 1) longest = Math.max(longest, ((fires[i] ?? 0) - (fires[i - 1] ?? 0)) / 1000);
  return longest > 0 ? longest : 366 * 86_400;
}
