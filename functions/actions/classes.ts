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
  // Whole cents as cents; a sub-cent amount (a bid can be $0.000001) to the micro.
  return value % 10_000 === 0 ? `$${(value / 1_000_000).toFixed(2)}` : `$${(value / 1_000_000).toFixed(6).replace(/0+$/, '')}`;
}
