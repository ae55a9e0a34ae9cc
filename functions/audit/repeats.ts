// Repeats: an audit that grows with changes, not with time. A non-action outcome that recurs
// unchanged for the same (rule, entity) is counted, not written again; its first occurrence and
// every change are written as decision records, as before.
//
// "Unchanged" is the repeat key (`repeatKey`): the rule's version, the outcome, the action and
// mode, the entity's status and value before, the action's target, who held the value (a rule
// and how it holds, a person's change at its time; never when a hold was last re-asserted), the
// explanation tree with each node's result but none of the values observed, and the reason's
// stable part (REASON_BASIS). Metric values never enter it: "CPC $2.61 > $2.50" and
// "CPC $2.74 > $2.50" are the same leaf that matched.
//
// Only REPEATABLE_OUTCOMES are ever counted: nothing that is or may become a change of money or
// status (acted, failed, pending intents), nor anything a person may act on (proposals awaiting
// approval, their resolutions, data_unavailable), is ever left unwritten.
//
// Storage (table.ts), per account, one partition `A#<acct>#REP`:
//   sk `RUNS`              how many runs evaluated each rule (`n_<rule>`), and when the last did
//                          (`t_<rule>`): one UpdateItem per run, whatever the number of rules;
//   sk `R#<rule>#<shard>`  the rule's repeat ledger: for every entity whose last record of the rule
//                          is a repeatable outcome, that record's key, outcome, decision id, time,
//                          and the rule's run number then. Rewritten only when an entry changes.
// A streak is the run of consecutive evaluations of (rule, entity) with one key: any other outcome,
// a non-match, insufficient data, or the entity leaving the rule's scope or the listing ends it.
// So its count is the rule's runs since the streak began (runs - first_run + 1), and last seen is
// the rule's last run: nothing per entity is written while it recurs. When a streak ends, its tally
// is written onto its first record (`repeats`).
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { DecisionRecord, Holder, RecordOutcome } from './records';

export const REPEATABLE_OUTCOMES = [
  'would_act',
  'already_in_state',
  'skipped_cooldown',
  'skipped_cap',
  'skipped_conflict',
  'skipped_manual_override',
  'skipped_not_approved',
  'skipped_not_applicable',
] as const;
export type RepeatableOutcome = (typeof REPEATABLE_OUTCOMES)[number];

const REPEATABLE: ReadonlySet<RecordOutcome> = new Set(REPEATABLE_OUTCOMES);
export const isRepeatable = (outcome: RecordOutcome): outcome is RepeatableOutcome => REPEATABLE.has(outcome);

const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z/g;
const withoutTimes = (reason: string): string => reason.replace(ISO_TIME, '<time>');
const asIs = (reason: string): string => reason;

/**
 * The part of a reason that says why, per outcome, without the values that move while nothing
 * changes. A reason quoting the time of the action whose cooldown it is stays as it is: a new
 * action is a new reason.
 */
const REASON_BASIS: Record<RepeatableOutcome, (reason: string) => string> = {
  would_act: asIs,
  already_in_state: asIs,
  skipped_cooldown: asIs,
  // The count is how many entities the rule would take this run: it moves with the metrics.
  skipped_cap: () => 'over max_actions_per_run',
  // The holder's times move each time it re-asserts its hold; who holds is in the key itself.
  skipped_conflict: withoutTimes,
  skipped_manual_override: withoutTimes,
  skipped_not_approved: asIs,
  skipped_not_applicable: asIs,
};

/** Who holds the value, as far as it decides: not when a rule last re-asserted its hold. */
function holderIdentity(holder: Holder | null): unknown {
  if (holder === null) return null;
  switch (holder.kind) {
    case 'rule':
      return ['rule', holder.rule_id, holder.priority, holder.by, holder.intent, holder.direction ?? null];
    case 'person':
      return ['person', holder.at_ms];
    case 'creation':
    case 'unknown':
      return [holder.kind];
  }
}

/** A property name JSON.stringify puts first, in numeric order (an array index). */
const isIndexKey = (key: string): boolean => /^(0|[1-9]\d*)$/.test(key) && Number(key) < 4_294_967_295;

/**
 * The explanation tree without the values observed (which conditions decided, and how), as JSON
 * with sorted keys: the text JSON.stringify gives of the tree with its `observed` keys dropped and
 * its keys sorted, written directly rather than through a sorted copy of the tree (a key per
 * record of every repeatable outcome: thousands per run). Undefined where JSON.stringify gives
 * nothing (undefined, a function).
 */
function skeletonJson(node: unknown): string | undefined {
  // (JSON.stringify gives undefined for undefined and functions, whatever its declared type says.)
  if (node === null || typeof node !== 'object') return JSON.stringify(node);
  if (Array.isArray(node)) return `[${node.map((value: unknown) => skeletonJson(value) ?? 'null').join(',')}]`;
  const keys = Object.keys(node)
    .filter((key) => key !== 'observed')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // As in an object built with these keys in this order: index-like keys come first, ascending.
  const ordered = [...keys.filter(isIndexKey).sort((a, b) => Number(a) - Number(b)), ...keys.filter((key) => !isIndexKey(key))];
  const parts: string[] = [];
  for (const key of ordered) {
    const value = skeletonJson((node as Record<string, unknown>)[key]);
    if (value !== undefined) parts.push(`${JSON.stringify(key)}:${value}`);
  }
  return `{${parts.join(',')}}`;
}

/** The repeat key of a record of a repeatable outcome (16 hex digits). */
export function repeatKey(record: DecisionRecord & { outcome: RepeatableOutcome }): string {
  const head = JSON.stringify([record.rule_version, record.outcome, record.action, record.mode, record.status_before, record.target, record.value_before_micros, holderIdentity(record.holder)]);
  // The JSON of [...head, skeleton, reason basis], as one array.
  const text = `${head.slice(0, -1)},${skeletonJson(record.explanation) ?? 'null'},${JSON.stringify(REASON_BASIS[record.outcome](record.reason)) ?? 'null'}]`;
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** One entity's last record of a rule, while it is a repeatable outcome. Short names: a ledger shard holds up to a thousand. */
export const ledgerEntrySchema = z.object({
  /** The repeat key. */
  k: z.string(),
  o: z.enum(REPEATABLE_OUTCOMES),
  /** The decision id of the streak's first (written) record. */
  d: z.string(),
  /** When it was first seen (engine clock, Unix ms). */
  f: z.number(),
  /** The rule's run number then (RUNS `n_<rule>` after that run). */
  s: z.number().int().positive(),
});
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

export const ledgerShardSchema = z.object({
  rule_id: z.string(),
  shard: z.number().int().nonnegative(),
  /** How many shards the ledger has, as of its last resharding (`epoch`). */
  shards: z.number().int().positive(),
  epoch: z.string(),
  /** The run that wrote this shard last (a conditional write compares it). */
  ver: z.string(),
  entries: z.record(z.string(), ledgerEntrySchema),
});
export type LedgerShard = z.infer<typeof ledgerShardSchema>;

/** Entries per shard at most (about 150 bytes each; a DynamoDB item holds 400 KB). */
export const LEDGER_SHARD_ENTRIES = 1_000;

/** Shards for n entries: a power of two, so an entity's shard is its hash's low bits. */
export function shardCount(entries: number): number {
  let shards = 1;
  while (entries > shards * LEDGER_SHARD_ENTRIES) shards *= 2;
  return shards;
}

export function shardOf(entityId: string, shards: number): number {
  return createHash('sha256').update(entityId).digest().readUInt32BE(0) % shards;
}

/** A rule's ledger as read: its entries, and the shards as stored (what a conditional rewrite expects). */
export interface RuleLedger {
  ruleId: string;
  /** Runs that evaluated the rule so far, and the engine time of the last one (null: none yet). */
  runs: number;
  lastRunMs: number | null;
  entries: Map<string, LedgerEntry>;
  shards: number;
  epoch: string | null;
  /** Shard index → the `ver` stored (what a rewrite expects to find). */
  versions: Map<number, string>;
}

/**
 * The entries of a rule's stored shards. Shard 0 says how many there are and since which
 * resharding; a ledger whose shards do not all agree (a resharding cut short) is read as empty,
 * so its entities are written afresh: a lost ledger costs records, never hides one.
 */
export function assembleLedger(ruleId: string, runs: number, lastRunMs: number | null, stored: readonly LedgerShard[]): RuleLedger {
  const versions = new Map(stored.map((s) => [s.shard, s.ver]));
  const empty: RuleLedger = { ruleId, runs, lastRunMs, entries: new Map(), shards: 1, epoch: null, versions };
  const head = stored.find((s) => s.shard === 0);
  if (!head) return empty;
  const entries = new Map<string, LedgerEntry>();
  for (let i = 0; i < head.shards; i += 1) {
    const shard = stored.find((s) => s.shard === i);
    if (!shard || shard.shards !== head.shards || shard.epoch !== head.epoch) return { ...empty, shards: head.shards, epoch: null };
    for (const [entityId, entry] of Object.entries(shard.entries)) entries.set(entityId, entry);
  }
  return { ruleId, runs, lastRunMs, entries, shards: head.shards, epoch: head.epoch, versions };
}

/** An open streak's tally from its ledger entry and the rule's runs. */
export function openTally(entry: LedgerEntry, ledger: Pick<RuleLedger, 'runs' | 'lastRunMs'>): { count: number; first_seen: string; last_seen: string; open: true } {
  return { count: Math.max(1, ledger.runs - entry.s + 1), first_seen: new Date(entry.f).toISOString(), last_seen: new Date(ledger.lastRunMs ?? entry.f).toISOString(), open: true };
}
