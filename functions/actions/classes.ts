// The conflict classes' values, in one place: how each is read from an entity as the engine sees
// it and from the engine's memory of it. Ownership (engine/ownership.ts) and the memory read from here.
import type { Observed } from '../audit/records';
import type { ActionValue, EntitySnapshot, HeldClass } from './types';

export interface ClassInfo {
  /** The value now. */
  read(entity: EntitySnapshot): ActionValue;
  /** The value the engine last observed or left. */
  observed(observed: Observed): ActionValue | undefined;
  /** In words, for reasons: `status`, `lifetime budget`, `max bid`. */
  noun: string;
}

export const CLASS_INFO: Record<HeldClass, ClassInfo> = {
  status: { read: (e) => e.status, observed: (o) => o.status, noun: 'status' },
  budget: { read: (e) => e.budgetMicros ?? null, observed: (o) => o.budget_micros, noun: 'lifetime budget' },
  bid: { read: (e) => e.maxBidMicros ?? null, observed: (o) => o.max_bid_micros, noun: 'max bid' },
};

/** A class's value in words: a status as it is, micros as USD. */
export function showValue(cls: HeldClass, value: ActionValue | undefined): string {
  if (value === null || value === undefined) return cls === 'status' ? 'unknown' : 'none';
  if (cls === 'status' || typeof value === 'string') return String(value);
  return formatUsdMicros(value);
}

const CENTS = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const MICROS = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 6 });

/** Micros as USD: `$12,000.00`; a sub-cent amount (a bid can be $0.000001) to the micro. */
export function formatUsdMicros(micros: number): string {
  return (micros % 10_000 === 0 ? CENTS : MICROS).format(micros / 1_000_000);
}
