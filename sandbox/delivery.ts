// Delivery history: what each ad served, as spans of whole UTC hours (1 h for hourly rows and
// generated traffic, 24 h for a fixture's daily rows, spread evenly over the day). Sums over any
// hour-aligned range are exact integers: impressions, clicks and spend in micros.
import type { TrafficModel } from './fixture';
import { unitFor } from './random';

export const HOUR_S = 3_600;
export const DAY_S = 86_400;
export const SUPPLY_LIST = ['thrad', 'chatgpt'] as const;
export type SupplyName = (typeof SUPPLY_LIST)[number];

export interface Span {
  /** Unix seconds, a whole UTC hour. */
  start: number;
  /** 1 or 24. */
  hours: number;
  supply: SupplyName;
  impressions: number;
  clicks: number;
  spendMicros: number;
}

export interface Totals {
  impressions: number;
  clicks: number;
  spendMicros: number;
}

/** The part of an evenly spread integer `total` that falls on hour indexes [from, to) of `hours`. */
export function spreadShare(total: number, hours: number, from: number, to: number): number {
  if (to <= from) return 0;
  if (from === 0 && to === hours) return total;
  const base = Math.floor(total / hours);
  const extra = total - base * hours;
  return (to - from) * base + Math.max(0, Math.min(to, extra) - from);
}

/** A span's totals inside [rangeStart, rangeEnd) (hour-aligned), added to `into`. */
export function addOverlap(span: Span, rangeStart: number, rangeEnd: number, into: Totals): boolean {
  const spanEnd = span.start + span.hours * HOUR_S;
  const a = Math.max(span.start, rangeStart);
  const b = Math.min(spanEnd, rangeEnd);
  if (b <= a) return false;
  const from = Math.floor((a - span.start) / HOUR_S);
  const to = Math.ceil((b - span.start) / HOUR_S);
  into.impressions += spreadShare(span.impressions, span.hours, from, to);
  into.clicks += spreadShare(span.clicks, span.hours, from, to);
  into.spendMicros += spreadShare(span.spendMicros, span.hours, from, to);
  return true;
}

/** Spans of one ad, sorted by start; generated hours are accumulated in place. */
export class AdDelivery {
  readonly spans: Span[] = [];
  /**
   * The generated span of the hour last accrued, per supply. Generation only moves forward in
   * time, so an hour's span is always the latest one of its supply.
   */
  private readonly latest: Partial<Record<SupplyName, Span>> = {};

  add(span: Span): void {
    let i = this.spans.length;
    while (i > 0 && (this.spans[i - 1]).start > span.start) i -= 1;
    this.spans.splice(i, 0, span);
  }

  /** Add generated traffic to the hour span starting at `hourStart` for `supply` (hours in non-decreasing order). */
  accrue(hourStart: number, supply: SupplyName, delta: Totals): void {
    let span = this.latest[supply];
    if (span === undefined || span.start !== hourStart) {
      if (span !== undefined && span.start > hourStart) throw new RangeError(`Delivery is generated forward only (hour ${hourStart} after ${span.start}).`);
      span = { start: hourStart, hours: 1, supply, impressions: 0, clicks: 0, spendMicros: 0 };
      this.latest[supply] = span;
      this.add(span);
    }
    span.impressions += delta.impressions;
    span.clicks += delta.clicks;
    span.spendMicros += delta.spendMicros;
  }

  /** Index of the first span that may overlap a range starting at `rangeStart`. */
  firstCandidate(rangeStart: number): number {
    const earliest = rangeStart - DAY_S; // no span is longer than a day
    let lo = 0;
    let hi = this.spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.spans[mid]).start < earliest) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  totalSpendMicros(): number {
    return this.spans.reduce((sum, span) => sum + span.spendMicros, 0);
  }
}

const DEFAULT_SPLIT = { thrad: 0.4, chatgpt: 0.6 } as const;

/**
 * The traffic a model gives an ad in one whole hour for one supply: fixed by (seed, ad, hour,
 * supply), so partial hours accrue towards the same total whatever the request pattern.
 */
export function hourTarget(model: TrafficModel, seed: number, adId: string, hourStart: number, supply: SupplyName): Totals {
  const hourOfDay = Math.floor((hourStart % DAY_S) / HOUR_S);
  const profile = model.hourly_profile ? (model.hourly_profile[hourOfDay]) : 1;
  const split = (model.supply_split ?? DEFAULT_SPLIT)[supply];
  const jitter = (label: string): number => 1 + model.noise * (unitFor(seed, adId, hourStart, supply, label) * 2 - 1);
  const impressions = Math.max(0, Math.round(model.impressions_per_hour * profile * split * jitter('i')));
  const clicks = Math.min(impressions, Math.max(0, Math.round(impressions * model.ctr * jitter('c'))));
  const spendUsd = model.cpc_usd !== undefined ? clicks * model.cpc_usd : (impressions * (model.cpm_usd ?? 0)) / 1000;
  const spendMicros = Math.max(0, Math.round(spendUsd * 1_000_000 * jitter('s')));
  return { impressions, clicks, spendMicros };
}

/** What of an hour's target has accrued by fraction `f` of the hour. */
export function accruedBy(target: Totals, f: number): Totals {
  if (f >= 1) return { ...target };
  return {
    impressions: Math.floor(target.impressions * f),
    clicks: Math.floor(target.clicks * f),
    spendMicros: Math.floor(target.spendMicros * f),
  };
}
