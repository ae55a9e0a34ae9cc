// The repeats step of a cycle (audit/repeats.ts says what a repeat is and how it is stored): after
// the decide phase, each record of a repeatable outcome is compared with its rule's ledger; one
// that repeats the last recorded outcome of its (rule, entity) is counted, not written. After the
// run's records are written, `commit` writes what changed in the ledgers, the tallies of streaks
// that ended, and one more run of each rule evaluated.
//
// Order matters for an audit people trust: a ledger entry is written only after the record it
// points to, and a run is counted last. A crash in between leaves a ledger that is behind (its
// entities are written afresh next run), never one that hides a change. Two runs of one rule at
// once (a manual run beside the schedule) are told apart by the run count or the shard versions;
// the rule's ledger is then emptied, so the next run writes its entities afresh.
//
// A run forced to dry run (`run --dry-run`) counts nothing and leaves the ledgers alone: it
// writes every decision, as it leaves no memory.
import { isRepeatable, repeatKey, shardCount, shardOf, type LedgerEntry, type LedgerShard, type RuleLedger } from '../audit/repeats';
import type { DecisionRecord, RepeatTally, RunRepeat } from '../audit/records';
import type { AuditStore } from '../audit/store';
import { forEachConcurrent } from '../shared/concurrency';
import type { RunContext } from './context';
import type { Decided } from './decide';

export interface RepeatPlan {
  /** The decision id of each record not written → the decision id of its streak's first record. */
  readonly suppressed: ReadonlyMap<string, string>;
  /** The run's repeats per (rule, outcome). */
  readonly summary: RunRepeat[];
  /** After the run's records are written: the ledgers' changes, the ended streaks' tallies, one more run per rule. */
  commit(): Promise<{ conflicts: string[] }>;
}

const NO_REPEATS: RepeatPlan = { suppressed: new Map(), summary: [], commit: () => Promise.resolve({ conflicts: [] }) };

const iso = (ms: number): string => new Date(ms).toISOString();

interface LedgerChange {
  ledger: RuleLedger;
  next: Map<string, LedgerEntry>;
  /** Entities whose entry was added, replaced or removed. */
  touched: Set<string>;
}

/** The shards to write for a rule's ledger change: the touched ones, or all of them when the shard count changes. */
function shardsToWrite(ctx: RunContext, change: LedgerChange): { shard: LedgerShard; expected: { ver: string } | { epoch: string | null } }[] {
  const { ledger, next, touched } = change;
  const shards = shardCount(next.size);
  const reshard = ledger.epoch === null || shards !== ledger.shards;
  const epoch = reshard ? ctx.runId : (ledger.epoch as string);
  const indexes = reshard ? Array.from({ length: shards }, (_, i) => i) : [...new Set([...touched].map((id) => shardOf(id, shards)))];
  const entries = new Map<number, Record<string, LedgerEntry>>(indexes.map((i) => [i, {}]));
  for (const [entityId, entry] of next) {
    const bucket = entries.get(shardOf(entityId, shards));
    if (bucket) bucket[entityId] = entry;
  }
  // Shard 0 names the shard count: written last, so a resharding cut short reads as incomplete.
  return indexes
    .sort((a, b) => b - a)
    .map((i) => {
      const ver = ledger.versions.get(i);
      return { shard: { rule_id: ledger.ruleId, shard: i, shards, epoch, ver: ctx.runId, entries: entries.get(i) ?? {} }, expected: ver === undefined ? { epoch: ledger.epoch } : { ver } };
    });
}

/**
 * The rules' ledgers, read for `planRepeats` (null when the run plans no repeats). The read needs
 * only the rules evaluated, so a cycle starts it beside the decide phase's reads.
 */
export function readRepeatLedgers(ctx: RunContext, store: AuditStore, ruleIds: readonly string[]): Promise<Map<string, RuleLedger>> | null {
  if (ctx.forcedDryRun || ruleIds.length === 0) return null;
  const read = store.repeatLedgers(ctx.accountId, ruleIds);
  // Awaited by planRepeats; a failure while the decide phase runs must not be an unhandled rejection first.
  read.catch(() => undefined);
  return read;
}

/** Compare the run's records with the rules' ledgers (one read per rule, or the read `readRepeatLedgers` started); nothing is written here. */
export async function planRepeats(ctx: RunContext, store: AuditStore, ruleIds: readonly string[], decided: readonly Decided[], started?: Promise<Map<string, RuleLedger>> | null): Promise<RepeatPlan> {
  if (ctx.forcedDryRun || ruleIds.length === 0) return NO_REPEATS;
  const ledgers = await (started ?? store.repeatLedgers(ctx.accountId, ruleIds));
  const records = new Map<string, DecisionRecord[]>();
  for (const d of decided) {
    if (!d.record) continue;
    const list = records.get(d.record.rule_id);
    if (list) list.push(d.record);
    else records.set(d.record.rule_id, [d.record]);
  }
  const suppressed = new Map<string, string>();
  const groups = new Map<string, RunRepeat>();
  const changes: LedgerChange[] = [];
  const ended: { decisionId: string; tally: RepeatTally }[] = [];
  for (const ruleId of ruleIds) {
    const ledger = ledgers.get(ruleId);
    if (!ledger) continue;
    const run = ledger.runs + 1;
    const next = new Map<string, LedgerEntry>();
    const touched = new Set<string>();
    for (const record of records.get(ruleId) ?? []) {
      // Action outcomes (and intents) are always written, and end any streak of their (rule, entity).
      if (!isRepeatable(record.outcome)) continue;
      const key = repeatKey({ ...record, outcome: record.outcome });
      const prior = ledger.entries.get(record.entity_id);
      if (prior && prior.k === key && prior.o === record.outcome) {
        suppressed.set(record.decision_id, prior.d);
        next.set(record.entity_id, prior);
        const group = groups.get(`${ruleId}|${record.outcome}`);
        if (group) {
          group.count += 1;
          if (prior.f < Date.parse(group.first_seen)) group.first_seen = iso(prior.f);
        } else groups.set(`${ruleId}|${record.outcome}`, { rule_id: ruleId, outcome: record.outcome, count: 1, first_seen: iso(prior.f), last_seen: iso(ctx.nowMs) });
        continue;
      }
      next.set(record.entity_id, { k: key, o: record.outcome, d: record.decision_id, f: ctx.nowMs, s: run });
      touched.add(record.entity_id);
    }
    // Streaks that did not go on this run: changed, acted on, no longer matching, or gone.
    for (const [entityId, prior] of ledger.entries) {
      if (next.get(entityId) === prior) continue;
      touched.add(entityId);
      // Last seen at the rule's previous run (the streak went on through every run since it began).
      const count = ledger.runs - prior.s + 1;
      if (count > 1 && ledger.lastRunMs !== null) ended.push({ decisionId: prior.d, tally: { count, first_seen: iso(prior.f), last_seen: iso(ledger.lastRunMs), open: false } });
    }
    if (touched.size > 0) changes.push({ ledger, next, touched });
  }
  return {
    suppressed,
    summary: [...groups.values()],
    commit: async () => {
      const conflicts = new Set<string>();
      await forEachConcurrent(changes, 8, async (change) => {
        for (const { shard, expected } of shardsToWrite(ctx, change)) {
          if (!(await store.putLedgerShard(ctx.accountId, shard, expected))) {
            conflicts.add(change.ledger.ruleId);
            return;
          }
        }
      });
      await forEachConcurrent(ended, 16, async (e) => {
        await store.closeStreak(ctx.accountId, e.decisionId, e.tally);
      });
      const before = await store.countRuleRuns(ctx.accountId, ruleIds, ctx.nowMs);
      for (const ruleId of ruleIds) if (before.get(ruleId) !== ledgers.get(ruleId)?.runs) conflicts.add(ruleId);
      for (const ruleId of conflicts) await store.resetLedger(ctx.accountId, ruleId, ctx.runId);
      return { conflicts: [...conflicts] };
    },
  };
}
