// Flag parsing shared by the commands: node's parseArgs, and checked values. Wrong usage is thrown
// as a UsageError (or FlagValueError, naming the flag, what it accepts and an example) and worded
// by the CLI's error printer (errors.ts), like every other error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FlagValueError, UsageError } from './errors';
import type { Output } from './output';
import { daysInMonth, parseIsoInstant, startOfLocalDay } from '../shared/timezone';

type Options = NonNullable<ParseArgsConfig['options']>;

export type Parsed<T extends Options> = ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true; args: string[] }>>;

/** The env value that turns on stack traces: THRAD_RULES_DEBUG=1 (or true, yes). */
export function debugFromEnv(env: NodeJS.ProcessEnv): boolean {
  return ['1', 'true', 'yes'].includes((env.THRAD_RULES_DEBUG ?? '').trim().toLowerCase());
}

/** `--debug` is accepted by every command: taken out here, before each command's own flags are parsed. */
export function takeDebugFlag(argv: readonly string[], env: NodeJS.ProcessEnv): { args: string[]; debug: boolean } {
  const end = argv.indexOf('--');
  const head = end === -1 ? [...argv] : argv.slice(0, end);
  const tail = end === -1 ? [] : argv.slice(end);
  return { args: [...head.filter((a) => a !== '--debug'), ...tail], debug: head.includes('--debug') || debugFromEnv(env) };
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** node's parse error → our usage error: the option, the command, the closest known option. */
function usageError(error: unknown, options: Options, help: string): UsageError {
  const command = /Usage: thrad-rules (\S+)/.exec(help)?.[1] ?? '';
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? '';
  const helpLine = `Run "thrad-rules ${command} --help" for its options and examples.`;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const known = Object.keys(options).map((name) => `--${name}`);
    const closest = known.map((name) => ({ name, d: distance(name, option) })).sort((x, y) => x.d - y.d)[0];
    const guess = closest && closest.d <= 2 ? ` Did you mean ${closest.name}?` : '';
    return new UsageError(`Unknown option '${option}' for thrad-rules ${command}.${guess}`, helpLine);
  }
  if (/ambiguous/.test(message)) return new UsageError(`${option} needs a value; one that starts with "-" is written ${option}=-N (e.g. ${option}=-1), since -N alone reads as an option.`, helpLine);
  return new UsageError(`${(message.split('\n')[0] ?? message).replace(/\.?$/, '.')}`, helpLine);
}

/** parseArgs for a command; wrong usage throws a UsageError that names the option. */
export function parseFlags<T extends Options>(args: string[], options: T, _io: Output, help: string): Parsed<T> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(error, options, help);
  }
}

/** A duration's units: minutes, hours, days, weeks. */
export const DURATION_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** `90m`, `6h`, `7d`, `2w` (in the units `units` allows) as milliseconds, or null. */
export function parseDurationMs(text: string, units: string): number | null {
  const m = /^(\d+)([mhdw])$/.exec(text.trim());
  if (!m || !units.includes(m[2])) return null;
  return Number(m[1]) * DURATION_MS[m[2] as keyof typeof DURATION_MS];
}

/** The longest duration a time flag counts back: ten years (further back, zones read in local mean time, and no record is that old). */
export const MAX_LOOKBACK_DAYS = 3_650;

/**
 * `2026-11-24` (the midnight that starts that date in `timeZone`, the zone the command shows
 * times in), an ISO time with its zone (`2026-11-24T10:00:00Z`, `2026-11-24T05:00-05:00`), or a duration back from now: `90m`, `6h`, `7d` (at most
 * MAX_LOOKBACK_DAYS). Null when the value is none of these.
 */
export function parseTime(value: string, nowMs: number, timeZone = 'UTC'): number | null {
  const text = value.trim();
  const back = parseDurationMs(text, 'mhd');
  if (back !== null) return back > MAX_LOOKBACK_DAYS * DURATION_MS.d ? null : nowMs - back;
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (date) {
    const [year, month, day] = date.slice(1).map(Number) as [number, number, number];
    // A real calendar date only (2026-02-30 is not one).
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
    try {
      return startOfLocalDay(year, month, day, timeZone);
    } catch (error) {
      // A date the zone skipped whole (Pacific/Apia had no 2011-12-30) has no midnight to start from.
      if (error instanceof RangeError) return null;
      throw error;
    }
  }
  // Only an ISO time with its zone: Date.parse also reads `7` (a 7d without its d) as 2001-07-01,
  // `2026-11-24T10:00` and `Nov 24 2026` in the machine's zone (not the one times are shown in),
  // and `2026-02-30T10:00:00Z` as March 2.
  return parseIsoInstant(text);
}

export const TIME_FORMS = `a date (2026-11-24, from its midnight in the time zone times are shown in), a UTC time (2026-11-24T10:00:00Z) or a duration back from now of up to ${MAX_LOOKBACK_DAYS}d (90m, 6h, 7d)`;

/** Check a time flag's form before anything is opened (its value is resolved later, on the command's clock). */
export function checkTimeFlag(flag: `--${string}`, value: string | undefined, example: string): void {
  if (value === undefined || parseTime(value, 0) !== null) return;
  throw new FlagValueError({ flag, found: value, expected: TIME_FORMS, example });
}

export interface NumberFlag {
  flag: `--${string}`;
  min: number;
  max?: number;
  integer: boolean;
  /** What the number is for: `how many records to show, newest first`. */
  meaning: string;
  example: string;
  /** The line for a value above `max`: what the maximum is for and how to get more. */
  overMax?: string;
}

/** A numeric flag's value, or a FlagValueError naming the range and an example. */
export function numberFlag(value: string | undefined, spec: NumberFlag): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (Number.isFinite(n) && (!spec.integer || Number.isInteger(n)) && n >= spec.min && (spec.max === undefined || n <= spec.max)) return n;
  const range = spec.max === undefined ? `${spec.min} or more` : `from ${spec.min} to ${spec.max}`;
  throw new FlagValueError({
    flag: spec.flag,
    found: value,
    expected: `${spec.integer ? 'a whole number' : 'a number'} ${range} (${spec.meaning})`,
    example: spec.example,
    hint: spec.max !== undefined && n > spec.max ? spec.overMax : undefined,
  });
}

/** A flag that takes one of a few words. */
export function choiceFlag<C extends string>(value: string | undefined, flag: `--${string}`, choices: readonly C[], example: string): C | undefined {
  if (value === undefined) return undefined;
  if ((choices as readonly string[]).includes(value)) return value as C;
  throw new FlagValueError({ flag, found: value, expected: `one of ${choices.join(', ')}`, example });
}
