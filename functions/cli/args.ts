// Flag parsing shared by the commands: node's parseArgs with a usage error that shows the help.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Output } from './output';

type Options = NonNullable<ParseArgsConfig['options']>;

export type Parsed<T extends Options> = ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true; args: string[] }>>;

export function parseFlags<T extends Options>(args: string[], options: T, io: Output, help: string): Parsed<T> | null {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${help}`);
    return null;
  }
}

/** `2026-11-24`, `2026-11-24T10:00:00Z`, or a duration back from now: `90m`, `6h`, `7d`. */
export function parseTime(value: string, nowMs: number): number | null {
  const relative = /^(\d+)([mhd])$/.exec(value.trim());
  if (relative) return nowMs - Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd'];
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? `${value.trim()}T00:00:00Z` : value.trim());
  return Number.isNaN(ms) ? null : ms;
}
