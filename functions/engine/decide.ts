// The decide phase: the engine's memory of the candidates' entities (who holds them, what each
// rule last did to them), the pure policy over them, a record per match, and the memory updates
// the decisions imply (what the run observed, holds taken without a call). Preview and simulate
// call it as the cycle does; `readOnly` leaves the memory untouched.
import { actionDefinition } from '../actions/registry';
import type { ConflictClass, EntitySnapshot } from '../actions/types';
import type { DecisionRecord, EntityMemory, Holder, MemoryUpdate } from '../audit/records';
import type { AuditStore } from '../audit/store';
import { durationMs, windowKey, type CompiledRule, type CompiledRuleSet } from '../rules/compile';
import type { EntityRecord } from '../rules/facts';
import { decide, inCooldown, type Candidate, type PolicyDecision, type PolicyRule, type PriorAction } from '../rules/policy';
import type { RunContext } from './context';
import type { EvaluatedCandidate, Evaluation } from './evaluate';

/** How long a proposal of an approval-mode rule waits, unless the rule says (guards.approval_expires). */
export const DEFAULT_APPROVAL_EXPIRY = '24h';
import { holderOf, observation } from './ownership';
import type { ReadResult } from './reads';
import { decisionRecord } from './record';

export interface Decided {
  candidate: EvaluatedCandidate;
  policy: PolicyDecision;
  /** The record of a match (insufficient data is counted, not recorded). */
  record: DecisionRecord | null;
}

export interface DecideResult {
  decided: Decided[];
  memoryUpdates: MemoryUpdate[];
}

export function policyRule(rule: CompiledRule, forcedDryRun: boolean): PolicyRule {
  return {
    id: rule.id,
    then: rule.rule.then,
    mode: forcedDryRun ? 'dry_run' : rule.rule.mode,
    priority: rule.rule.priority,
    cooldownMs: durationMs(rule.rule.guards.cooldown),
    maxActionsPerRun: rule.rule.guards.max_actions_per_run,
    approvalExpiresMs: durationMs(rule.rule.guards.approval_expires ?? DEFAULT_APPROVAL_EXPIRY),
  };
}

/** A rule's last action on an entity; a rule that does not act live counts what it would have done and proposed (a forced dry run: what it itself would have done). */
function previousAction(memory: EntityMemory | undefined, ruleId: string, live: boolean, forced: boolean): PriorAction | undefined {
  if (!memory) return undefined;
  const latest = [memory.acted.get(ruleId), forced ? memory.forcedWouldAct.get(ruleId) : live ? undefined : memory.wouldAct.get(ruleId)].filter((p) => p !== undefined).sort((a, b) => b.at_ms - a.at_ms)[0];
  return latest ? { ruleId: latest.rule_id, action: latest.action, outcome: latest.outcome, atMs: latest.at_ms } : undefined;
}

/** Lifetime spend in micros from the facts, for actions that must not go below it (budgets). */
function spentMicros(c: EvaluatedCandidate, layouts: CompiledRuleSet['layouts']): number | null {
  const slot = layouts[c.entity.level].slot(windowKey('lifetime', c.rule.rule.schedule.timezone), 'spend');
  return slot === undefined ? null : Math.round((c.facts.metrics[slot] ?? 0) * 1_000_000);
}

/**
 * Entities whose next change would be ambiguous without an observation now: paused, in review and
 * unchanged since creation. A review verdict moves updated_at; seeing the entity before it is how
 * the engine tells a verdict from someone's change.
 */
function worthObserving(entity: EntityRecord): boolean {
  return entity.status === 'paused' && entity.reviewStatus === 'in_review' && entity.updatedAt !== null && entity.updatedAt === entity.createdAt;
}

/** Listed through insights and not read since: no timestamps to remember (the API has them; the listing does not carry them). */
const unread = (entity: EntityRecord): boolean => entity.listedBy === 'insights' && entity.updatedAt === null;

/**
 * An entity as far as its memory can vouch for it: one listed through insights carries no
 * updated_at, so, while its status is the one remembered, it is taken as unchanged since (a start
 * of spend reads it first, so this never starts spend; it keeps the holder of a stop's record true).
 */
function asRemembered(entity: EntityRecord, memory: EntityMemory | undefined): EntityRecord {
  const o = memory?.observed;
  if (!unread(entity) || !o || o.status !== entity.status) return entity;
  return { ...entity, updatedAt: o.updated_at, createdAt: entity.createdAt ?? o.created_at };
}

function sameHolder(a: Holder | undefined, b: Holder): boolean {
  if (!a || a.kind !== b.kind) return false;
  return a.kind !== 'rule' || (b.kind === 'rule' && a.rule_id === b.rule_id && a.intent === b.intent);
}

function sameObservation(memory: EntityMemory | undefined, entity: EntityRecord): boolean {
  const o = memory?.observed;
  return o !== null && o !== undefined && o.status === entity.status && o.updated_at === entity.updatedAt && o.review_status === entity.reviewStatus && (o.budget_micros ?? null) === (entity.budgetMicros ?? null) && (o.max_bid_micros ?? null) === (entity.maxBidMicros ?? null);
}

const classOf = (c: EvaluatedCandidate): ConflictClass => actionDefinition(c.rule.rule.then.action).conflictClass;

/**
 * Entities listed through insights carry no timestamps (nor an ad group's max bid); who paused one
 * cannot be told without them, so before a rule may start spend on one, or change its budget or
 * bid, it is read (one GET per such entity), unless that rule is in its cooldown on it: then the
 * cooldown decides (`skipped_cooldown`) and the read, a request per entity per run, is saved.
 */
async function fillTimestamps(evaluation: Evaluation, refresh: ((entity: EntityRecord) => Promise<EntitySnapshot | null>) | undefined, coolingDown: (c: EvaluatedCandidate) => boolean): Promise<Set<EvaluatedCandidate>> {
  /** Candidates that needed a read but are in their rule's cooldown: not read for them. */
  const skipped = new Set<EvaluatedCandidate>();
  if (!refresh) return skipped;
  const needed = new Map<string, EntityRecord>();
  for (const c of evaluation.candidates) {
    const def = actionDefinition(c.rule.rule.then.action);
    // Starting spend needs to know who holds the entity; a money change, the value it computes from.
    // A stop of spend needs neither (the act phase reads the entity again before the call).
    const needs = def.conflictClass === 'budget' || def.conflictClass === 'bid' || (def.conflictClass === 'status' && def.spend(c.entity, null) === 'starts');
    if (c.verdict !== 'match' || c.entity.listedBy !== 'insights' || c.entity.updatedAt !== null || !needs) continue;
    // A rule in its cooldown on the entity decides nothing from what a read would show.
    if (coolingDown(c)) skipped.add(c);
    else needed.set(c.entity.id, c.entity);
  }
  for (const entity of needed.values()) {
    const fresh = await refresh(entity).catch(() => null);
    if (fresh && fresh.status === entity.status) {
      entity.updatedAt = fresh.updatedAt;
      entity.createdAt = fresh.createdAt;
      // And the values money actions compute from, which insights do not carry.
      if (entity.level === 'ad_group') entity.maxBidMicros = fresh.maxBidMicros ?? null;
    }
  }
  return skipped;
}

export interface DecideOptions {
  readOnly: boolean;
  refresh?: (entity: EntityRecord) => Promise<EntitySnapshot | null>;
  /** The rule set's fact layouts (lifetime spend for budget changes). */
  layouts: CompiledRuleSet['layouts'];
  /** The engine-wide limit of one money change, as a fraction of the current value. */
  maxChangeFraction: number;
}

export async function decidePhase(ctx: RunContext, store: AuditStore, evaluation: Evaluation, reads: ReadResult, options: DecideOptions): Promise<DecideResult> {
  const watched = Object.values(reads.entities).flatMap((list) => list.filter(worthObserving));
  const ids = [...new Set([...evaluation.candidates.map((c) => c.entity.id), ...watched.map((e) => e.id)])];
  const memories = ids.length > 0 ? await store.entityMemories(ctx.accountId, ids) : new Map<string, EntityMemory>();
  // One policy view per rule for the run (a rule has thousands of candidates; its durations are parsed once).
  const policyRules = new Map<CompiledRule, PolicyRule>();
  const policyRuleOf = (rule: CompiledRule): PolicyRule => {
    let view = policyRules.get(rule);
    if (!view) {
      view = policyRule(rule, ctx.forcedDryRun);
      policyRules.set(rule, view);
    }
    return view;
  };
  const previousOf = (c: EvaluatedCandidate): PriorAction | undefined => previousAction(memories.get(c.entity.id), c.rule.id, policyRuleOf(c.rule).mode === 'live', ctx.forcedDryRun);
  const coolingDown = (c: EvaluatedCandidate): boolean => inCooldown({ previous: previousOf(c), rule: policyRuleOf(c.rule) }, ctx.nowMs);
  const notRead = await fillTimestamps(evaluation, options.refresh, coolingDown);
  // One holder per (entity, class), attributed once.
  const holders = new Map<string, Holder>();
  const holderFor = (c: EvaluatedCandidate): Holder => {
    const cls = classOf(c);
    const key = `${c.entity.id}|${cls}`;
    let holder = holders.get(key);
    if (!holder) {
      holder = cls === 'none' ? { kind: 'creation' } : holderOf(cls, asRemembered(c.entity, memories.get(c.entity.id)), memories.get(c.entity.id));
      holders.set(key, holder);
    }
    return holder;
  };
  const policyCandidates: Candidate[] = evaluation.candidates.map((c) => {
    const rule = policyRuleOf(c.rule);
    const needsSpend = actionDefinition(c.rule.rule.then.action).needsLifetimeSpend === true;
    // Still unread (no other rule needed the entity read): the cooldown decides.
    const unreadInCooldown = notRead.has(c) && c.entity.updatedAt === null;
    return { rule, entity: c.entity, verdict: c.verdict, holder: holderFor(c), previous: previousOf(c), unreadInCooldown, context: { maxChangeFraction: options.maxChangeFraction, ...(needsSpend ? { spentMicros: spentMicros(c, options.layouts) } : {}) } };
  });
  const policy = decide(policyCandidates, ctx.nowMs);
  const expiresAt = store.expiresAt();
  const decided: Decided[] = evaluation.candidates.map((c, i) => {
    const d = policy[i];
    const calls = actionDefinition(c.rule.rule.then.action).calls;
    return { candidate: c, policy: d, record: c.verdict === 'match' ? decisionRecord(ctx, c.rule, c.entity, c.facts, d, reads, calls, expiresAt, policyCandidates[i].rule.approvalExpiresMs ?? 0) : null };
  });
  if (options.readOnly || ctx.forcedDryRun) return { decided, memoryUpdates: [] };

  // What this run learnt: observations of watched entities, holders detected, holds taken.
  const updates = new Map<string, MemoryUpdate>();
  for (const entity of watched) {
    if (!memories.get(entity.id)?.observed) updates.set(`${entity.id}|status`, { entityId: entity.id, observed: observation(entity, ctx.nowMs), holder: { cls: 'status', holder: { kind: 'creation' } } });
  }
  // Entities the engine already remembers: what changed since is remembered too (who holds them
  // now). Entities it has no memory of get one only when a hold is taken or an action lands: what
  // they are now is read again next time anyway, and a first look at every match would be a write
  // per match.
  for (const c of evaluation.candidates) {
    const memory = memories.get(c.entity.id);
    const cls = classOf(c);
    if (!memory?.observed || cls === 'none' || unread(c.entity)) continue;
    const holder = holderFor(c);
    if (!sameObservation(memory, c.entity) || !sameHolder(memory.holders[cls], holder)) updates.set(`${c.entity.id}|${cls}`, { entityId: c.entity.id, observed: observation(c.entity, ctx.nowMs), holder: { cls, holder } });
  }
  for (const d of decided) {
    const hold = d.policy.takesHold;
    const cls = classOf(d.candidate);
    if (hold && cls !== 'none' && !unread(d.candidate.entity)) updates.set(`${d.candidate.entity.id}|${cls}`, { entityId: d.candidate.entity.id, observed: observation(d.candidate.entity, ctx.nowMs), holder: { cls, holder: hold.kind === 'rule' ? { ...hold, decision_id: d.record?.decision_id ?? null } : hold } });
  }
  return { decided, memoryUpdates: [...updates.values()] };
}
