// The decide phase: the engine's memory of the candidates' entities (who holds them, what each
// rule last did to them), the pure policy over them, a record per match, and the memory updates
// the decisions imply (what the run observed, holds taken without a call). Preview and simulate
// call it as the cycle does; `readOnly` leaves the memory untouched.
import { actionDefinition } from '../actions/registry';
import type { EntitySnapshot } from '../actions/types';
import type { DecisionRecord, EntityMemory, Holder, MemoryUpdate } from '../audit/records';
import type { AuditStore } from '../audit/store';
import { durationMs, type CompiledRule } from '../rules/compile';
import type { EntityRecord } from '../rules/facts';
import { decide, type Candidate, type PolicyDecision, type PolicyRule, type PriorAction } from '../rules/policy';
import type { RunContext } from './context';
import type { EvaluatedCandidate, Evaluation } from './evaluate';
import { observation, statusHolder } from './ownership';
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
  };
}

function previousAction(memory: EntityMemory | undefined, ruleId: string, dryRun: boolean): PriorAction | undefined {
  if (!memory) return undefined;
  const latest = [memory.acted.get(ruleId), dryRun ? memory.wouldAct.get(ruleId) : undefined].filter((p) => p !== undefined).sort((a, b) => b.at_ms - a.at_ms)[0];
  return latest ? { ruleId: latest.rule_id, action: latest.action, outcome: latest.outcome, atMs: latest.at_ms } : undefined;
}

/**
 * Entities whose next change would be ambiguous without an observation now: paused, in review and
 * unchanged since creation. A review verdict moves updated_at; seeing the entity before it is how
 * the engine tells a verdict from someone's change.
 */
function worthObserving(entity: EntityRecord): boolean {
  return entity.status === 'paused' && entity.reviewStatus === 'in_review' && entity.updatedAt !== null && entity.updatedAt === entity.createdAt;
}

function sameHolder(a: Holder | undefined, b: Holder): boolean {
  if (!a || a.kind !== b.kind) return false;
  return a.kind !== 'rule' || (b.kind === 'rule' && a.rule_id === b.rule_id && a.intent === b.intent);
}

function sameObservation(memory: EntityMemory | undefined, entity: EntityRecord): boolean {
  const o = memory?.observed;
  return o !== null && o !== undefined && o.status === entity.status && o.updated_at === entity.updatedAt && o.review_status === entity.reviewStatus;
}

/**
 * Entities listed through insights carry no timestamps; who paused one cannot be told without
 * them, so before a rule may start spend on one it is read (one GET per such entity).
 */
async function fillTimestamps(evaluation: Evaluation, refresh: ((entity: EntityRecord) => Promise<EntitySnapshot | null>) | undefined): Promise<void> {
  if (!refresh) return;
  const needed = new Map<string, EntityRecord>();
  for (const c of evaluation.candidates) {
    if (c.verdict === 'match' && c.entity.listedBy === 'insights' && c.entity.updatedAt === null && actionDefinition(c.rule.rule.then.action).spend === 'starts') needed.set(c.entity.id, c.entity);
  }
  for (const entity of needed.values()) {
    const fresh = await refresh(entity).catch(() => null);
    if (fresh && fresh.status === entity.status) {
      entity.updatedAt = fresh.updatedAt;
      entity.createdAt = fresh.createdAt;
    }
  }
}

export async function decidePhase(ctx: RunContext, store: AuditStore, evaluation: Evaluation, reads: ReadResult, options: { readOnly: boolean; refresh?: (entity: EntityRecord) => Promise<EntitySnapshot | null> }): Promise<DecideResult> {
  await fillTimestamps(evaluation, options.refresh);
  const watched = Object.values(reads.entities).flatMap((list) => list.filter(worthObserving));
  const ids = [...new Set([...evaluation.candidates.map((c) => c.entity.id), ...watched.map((e) => e.id)])];
  const memories = ids.length > 0 ? await store.entityMemories(ctx.accountId, ids) : new Map<string, EntityMemory>();
  const holders = new Map<string, Holder>();
  const policyCandidates: Candidate[] = evaluation.candidates.map((c) => {
    const memory = memories.get(c.entity.id);
    let holder = holders.get(c.entity.id);
    if (!holder) {
      holder = statusHolder(c.entity, memory);
      holders.set(c.entity.id, holder);
    }
    const rule = policyRule(c.rule, ctx.forcedDryRun);
    return { rule, entity: c.entity, verdict: c.verdict, holder, previous: previousAction(memory, c.rule.id, rule.mode === 'dry_run') };
  });
  const policy = decide(policyCandidates, ctx.nowMs);
  const expiresAt = store.expiresAt();
  const decided: Decided[] = evaluation.candidates.map((c, i) => {
    const d = policy[i];
    const calls = actionDefinition(c.rule.rule.then.action).calls;
    return { candidate: c, policy: d, record: c.verdict === 'match' ? decisionRecord(ctx, c.rule, c.entity, c.facts, d, reads, calls, expiresAt) : null };
  });
  if (options.readOnly || ctx.forcedDryRun) return { decided, memoryUpdates: [] };

  // What this run learnt: observations of watched entities, holders detected, holds taken.
  const updates = new Map<string, MemoryUpdate>();
  for (const entity of watched) {
    if (!memories.get(entity.id)?.observed) updates.set(entity.id, { entityId: entity.id, observed: observation(entity, ctx.nowMs), holder: { kind: 'creation' } });
  }
  // Entities the engine already remembers: what changed since is remembered too (who holds them
  // now). Entities it has no memory of get one only when a hold is taken or an action lands: what
  // they are now is read again next time anyway, and a first look at every match would be a write
  // per match.
  for (const c of evaluation.candidates) {
    const memory = memories.get(c.entity.id);
    if (!memory?.observed) continue;
    const holder = holders.get(c.entity.id) as Holder;
    if (!sameObservation(memory, c.entity) || !sameHolder(memory.holders.status, holder)) updates.set(c.entity.id, { entityId: c.entity.id, observed: observation(c.entity, ctx.nowMs), holder });
  }
  for (const d of decided) {
    const hold = d.policy.takesHold;
    if (hold) updates.set(d.candidate.entity.id, { entityId: d.candidate.entity.id, observed: observation(d.candidate.entity, ctx.nowMs), holder: hold.kind === 'rule' ? { ...hold, decision_id: d.record?.decision_id ?? null } : hold });
  }
  return { decided, memoryUpdates: [...updates.values()] };
}
