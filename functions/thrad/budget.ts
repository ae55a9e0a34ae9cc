// The client's request budget: requests per API key over a rolling hour, counted against the
// documented limits (1000/h for everything under /v1, plus 60/h for campaign creation), so the
// engine can refuse work it cannot finish instead of running into 429s.
import type { Clock } from '../shared/clock';
import { RequestBudgetExceededError } from './errors';
import { WIRE } from './wire';

export type RequestKind = 'general' | 'campaign_create';

export interface RequestBudgetOptions {
  requestsPerHour?: number;
  campaignCreatesPerHour?: number;
  /** Requests kept back from normal work (e.g. for reconciliation); default 0. */
  reserve?: number;
}

const HOUR_MS = 3_600_000;

interface KeyLedger {
  general: number[];
  campaignCreate: number[];
}

export interface BudgetSnapshot {
  keyFingerprint: string;
  used: number;
  limit: number;
  remaining: number;
  campaignCreatesUsed: number;
  campaignCreatesLimit: number;
  /** Unix ms when the oldest counted request leaves the window (null when none counted). */
  oldestExpiresAtMs: number | null;
}

export class RequestBudget {
  readonly requestsPerHour: number;
  readonly campaignCreatesPerHour: number;
  readonly reserve: number;
  private readonly ledgers = new Map<string, KeyLedger>();
  private taken = 0;

  constructor(private readonly clock: Clock, options: RequestBudgetOptions = {}) {
    this.requestsPerHour = options.requestsPerHour ?? WIRE.rateLimit.requestsPerHour;
    this.campaignCreatesPerHour = options.campaignCreatesPerHour ?? WIRE.rateLimit.campaignCreatesPerHour;
    this.reserve = options.reserve ?? 0;
  }

  private ledger(keyFingerprint: string): KeyLedger {
    let ledger = this.ledgers.get(keyFingerprint);
    if (!ledger) {
      ledger = { general: [], campaignCreate: [] };
      this.ledgers.set(keyFingerprint, ledger);
    }
    const cutoff = this.clock.nowMs() - HOUR_MS;
    prune(ledger.general, cutoff);
    prune(ledger.campaignCreate, cutoff);
    return ledger;
  }

  /** Count one request about to be sent; throws when it would exceed a limit. */
  take(keyFingerprint: string, kind: RequestKind, operation?: string): void {
    const ledger = this.ledger(keyFingerprint);
    const now = this.clock.nowMs();
    if (ledger.general.length + 1 > this.requestsPerHour) {
      throw this.exceeded(ledger.general, this.requestsPerHour, 1, operation);
    }
    if (kind === 'campaign_create' && ledger.campaignCreate.length + 1 > this.campaignCreatesPerHour) {
      throw this.exceeded(ledger.campaignCreate, this.campaignCreatesPerHour, 1, operation);
    }
    ledger.general.push(now);
    if (kind === 'campaign_create') ledger.campaignCreate.push(now);
    this.taken += 1;
  }

  /** Requests counted by this budget since it was made, all keys (never decreases). */
  get totalTaken(): number {
    return this.taken;
  }

  /** Refuse up front when `needed` requests do not fit in what is left (minus the reserve). */
  ensure(keyFingerprint: string, needed: number, operation?: string): void {
    const ledger = this.ledger(keyFingerprint);
    if (ledger.general.length + needed > this.requestsPerHour - this.reserve) {
      throw this.exceeded(ledger.general, this.requestsPerHour - this.reserve, needed, operation);
    }
  }

  /** Requests made elsewhere with this key (another process, a previous invocation). */
  recordExternal(keyFingerprint: string, timestampsMs: readonly number[], kind: RequestKind = 'general'): void {
    const ledger = this.ledger(keyFingerprint);
    const cutoff = this.clock.nowMs() - HOUR_MS;
    for (const ts of timestampsMs) {
      if (ts <= cutoff) continue;
      insertSorted(ledger.general, ts);
      if (kind === 'campaign_create') insertSorted(ledger.campaignCreate, ts);
    }
  }

  snapshot(keyFingerprint: string): BudgetSnapshot {
    const ledger = this.ledger(keyFingerprint);
    return {
      keyFingerprint,
      used: ledger.general.length,
      limit: this.requestsPerHour,
      remaining: Math.max(0, this.requestsPerHour - ledger.general.length),
      campaignCreatesUsed: ledger.campaignCreate.length,
      campaignCreatesLimit: this.campaignCreatesPerHour,
      oldestExpiresAtMs: ledger.general.length > 0 ? (ledger.general[0]) + HOUR_MS : null,
    };
  }

  private exceeded(window: number[], limit: number, needed: number, operation?: string): RequestBudgetExceededError {
    const used = window.length;
    // Capacity for `needed` more frees when the (used + needed - limit)-th oldest request expires.
    const index = Math.max(0, Math.min(window.length - 1, used + needed - limit - 1));
    const availableAtMs = window.length > 0 ? (window[index]) + HOUR_MS : this.clock.nowMs();
    return new RequestBudgetExceededError(
      `Request budget exhausted: ${used} of ${limit} requests used in the last hour, ${needed} more needed${operation ? ` for ${operation}` : ''}; capacity returns at ${new Date(availableAtMs).toISOString()}`,
      { operation, used, limit, needed, availableAtMs },
    );
  }
}

function prune(timestamps: number[], cutoff: number): void {
  let drop = 0;
  while (drop < timestamps.length && (timestamps[drop]) <= cutoff) drop += 1;
  if (drop > 0) timestamps.splice(0, drop);
}

function insertSorted(timestamps: number[], ts: number): void {
  let i = timestamps.length;
  while (i > 0 && (timestamps[i - 1]) > ts) i -= 1;
  timestamps.splice(i, 0, ts);
}
