// Approval mode: a rule in `"mode": "approval"` records what it would do as a proposal (outcome
// `awaiting_approval`, the exact target, an expiry). A person approves or rejects it:
//
// - approve executes the proposal through the one intent executor, only while the entity is still
//   as it was when proposed (the same status, the same value of what the action changes, the same
//   updated_at, and nobody else holding it); otherwise it refuses, says what changed, and closes
//   the proposal. The proposal is marked approved (a conditional write: one approval wins) before
//   the call, with the id of the intent that carries it out; the intent is a conditional put keyed
//   by the proposal and the attempt, so approving twice, or two people at once, never applies twice.
//   A cleanly failed attempt can be approved again (a new attempt).
// - reject records the refusal (who, when, why); the rule proposes again only once the proposal's
//   time is up.
// - a proposal past its expiry is closed as `expired` when it is listed or acted on.
import { createHash } from 'node:crypto';
import { CLASS_INFO, showValue } from '../actions/classes';
import { actionDefinition, isActionName } from '../actions/registry';
import { snapshotOf } from '../actions/snapshot';
import type { ActionDefinition, EntitySnapshot } from '../actions/types';
import type { DecisionRecord, Holder } from '../audit/records';
import type { AuditStore } from '../audit/store';
import type { CompiledRuleSet } from '../rules/compile';
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import type { ThradClient } from '../thrad/client';
import { changedSince, IntentExecutor } from './intents';
import { silentLogger, type EngineLogger } from './logger';
import { describeHolder } from './ownership';
import { holderForIntent } from './reconcile';

export interface ApprovalDeps {
  client: ThradClient;
  store: AuditStore;
  /** The engine clock. */
  clock: Clock;
  realClock?: Clock;
  logger?: EngineLogger;
  /** The rule set: a proposal of a rule since removed, disabled or set to dry_run is not carried out. */
  rules?: CompiledRuleSet;
}

export type ApprovalResult =
  | { status: 'approved'; record: DecisionRecord; proposal: DecisionRecord }
  | { status: 'refused'; reason: string }
  | { status: 'failed'; record: DecisionRecord; proposal: DecisionRecord }
  /** The call may have landed (a timeout, a reset): the next run reads the entity and records what happened. */
  | { status: 'unconfirmed'; record: DecisionRecord; proposal: DecisionRecord; reason: string };

export type RejectResult = { status: 'rejected'; proposal: DecisionRecord } | { status: 'refused'; reason: string };

/** How far back pending proposals are looked for: longer than any sensible approval_expires. */
export const PROPOSAL_LOOKBACK_MS = 31 * 86_400_000;
const MAX_ATTEMPTS = 20;

export function approvalIdFor(accountId: string, proposalId: string, attempt: number): string {
  const suffix = attempt === 1 ? '' : `|${attempt}`;
  return `a_${createHash('sha256').update(`${accountId}|approve|${proposalId}${suffix}`).digest('hex').slice(0, 24)}`;
}

const levelWords = (record: DecisionRecord): string => `${record.level.replace('_', ' ')} "${record.entity_name}"`;

/** The change a proposal (or an action record) makes, in words: `status paused → active`, `lifetime budget $100.00 → $120.00`. */
export function proposedChange(record: DecisionRecord): string {
  if (record.action === null || !isActionName(record.action)) return 'no change';
  const def = actionDefinition(record.action);
  if (def.conflictClass === 'budget' || def.conflictClass === 'bid') {
    return `${CLASS_INFO[def.conflictClass].noun} ${showValue(def.conflictClass, record.value_before_micros)} → ${showValue(def.conflictClass, typeof record.target === 'number' ? record.target : null)}`;
  }
  return `status ${String(record.status_before)} → ${String(record.target)}`;
}

/** Whether a proposal's time is up at `nowMs`. */
export function proposalExpired(proposal: DecisionRecord, nowMs: number): boolean {
  return proposal.approval !== null && nowMs >= Date.parse(proposal.approval.expires_at);
}

async function close(store: AuditStore, proposal: DecisionRecord, outcome: 'approved' | 'rejected' | 'expired', fields: { atMs: number; by: string; decisionId?: string | null; note?: string | null }): Promise<DecisionRecord | null> {
  const approval = { expires_at: proposal.approval?.expires_at ?? new Date(fields.atMs).toISOString(), resolved_at: new Date(fields.atMs).toISOString(), resolved_by: fields.by, decision_id: fields.decisionId ?? null, note: fields.note ?? null };
  return (await store.resolveProposal(proposal, outcome, approval)) ? { ...proposal, outcome, approval } : null;
}

/**
 * Proposals awaiting approval, newest first. Those whose time is up are closed as `expired` on
 * the way (and returned separately), so the trail never shows a stale proposal as pending.
 */
export async function pendingProposals(store: AuditStore, accountId: string, nowMs: number): Promise<{ pending: DecisionRecord[]; expired: DecisionRecord[] }> {
  const awaiting = await store.queryDecisions(accountId, { outcome: 'awaiting_approval', sinceMs: nowMs - PROPOSAL_LOOKBACK_MS, limit: 1000 });
  const pending: DecisionRecord[] = [];
  const expired: DecisionRecord[] = [];
  for (const proposal of awaiting) {
    if (!proposalExpired(proposal, nowMs)) {
      pending.push(proposal);
      continue;
    }
    const closed = await close(store, proposal, 'expired', { atMs: nowMs, by: 'autopilot', note: `nobody approved it by ${proposal.approval?.expires_at ?? 'its expiry'}` });
    if (closed) expired.push(closed);
  }
  return { pending, expired };
}

/** What keeps a proposal from being carried out on the entity now, or null when it is exactly as proposed. */
async function whatChanged(store: AuditStore, proposal: DecisionRecord, def: ActionDefinition, entity: EntitySnapshot): Promise<string | null> {
  const proposed: EntitySnapshot = {
    ...entity,
    status: proposal.status_before as EntitySnapshot['status'],
    updatedAt: proposal.entity_updated_at_before,
    ...(def.conflictClass === 'budget' ? { budgetMicros: proposal.value_before_micros } : def.conflictClass === 'bid' ? { maxBidMicros: proposal.value_before_micros } : {}),
  };
  const changed = changedSince(proposed, entity, def);
  if (changed !== null) return `it changed since it was proposed at ${proposal.evaluated_at} (${changed})`;
  if (entity.updatedAt === null && def.spend(entity, proposal.target) === 'starts') {
    return `the API reports no updated_at for it, so a change and its reversal since ${proposal.evaluated_at} cannot be ruled out, and a proposal that starts spend is not carried out blind`;
  }
  const cls = def.conflictClass === 'none' ? null : def.conflictClass;
  if (cls === null) return null;
  const holder = (await store.entityMemories(proposal.account_id, [proposal.entity_id])).get(proposal.entity_id)?.holders[cls];
  if (holder && !sameHolder(holder, proposal.holder)) return `its ${CLASS_INFO[cls].noun} is held by ${describeHolder(holder)} since it was proposed`;
  return null;
}

function sameHolder(a: Holder, b: Holder | null): boolean {
  if (b === null || a.kind !== b.kind) return false;
  if (a.kind === 'rule' && b.kind === 'rule') return a.rule_id === b.rule_id && a.intent === b.intent && a.at_ms === b.at_ms;
  if (a.kind === 'person' && b.kind === 'person') return a.at_ms === b.at_ms;
  return true;
}

/** Why the proposal's rule may no longer act, or null. */
function ruleRefusal(proposal: DecisionRecord, rules: CompiledRuleSet | undefined): string | null {
  if (!rules) return null;
  const rule = rules.byId.get(proposal.rule_id);
  if (!rule) return `its rule ${proposal.rule_id} is no longer in the rule set`;
  if (!rule.rule.enabled) return `its rule ${proposal.rule_id} is now disabled`;
  if (rule.rule.mode === 'dry_run') return `its rule ${proposal.rule_id} is now dry_run`;
  return null;
}

/** The attempt to carry out an approved proposal now, or why there is none. */
async function nextAttempt(store: AuditStore, proposal: DecisionRecord): Promise<{ attempt: number } | { refuse: string } | { done: DecisionRecord }> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const previous = await store.getDecision(proposal.account_id, approvalIdFor(proposal.account_id, proposal.decision_id, attempt));
    if (!previous) return { attempt };
    if (previous.outcome === 'pending') return { refuse: `Proposal ${proposal.decision_id} is being carried out (${previous.decision_id}); if that stopped midway, the next autopilot run records what happened.` };
    if (previous.outcome !== 'failed') return { done: previous };
  }
  return { refuse: `Proposal ${proposal.decision_id} was approved and tried ${MAX_ATTEMPTS} times, failing each time; see thrad-rules audit --entity ${proposal.entity_id}.` };
}

function resolvedLine(proposal: DecisionRecord): string {
  const a = proposal.approval;
  return `${proposal.outcome} ${a?.resolved_by ? `by ${a.resolved_by} ` : ''}at ${a?.resolved_at ?? '?'}${a?.note ? ` (${a.note})` : ''}`;
}

export async function approveProposal(deps: ApprovalDeps, accountId: string, proposalId: string, options: { deadlineMs: number; by: string }): Promise<ApprovalResult> {
  const { client, store, clock } = deps;
  let proposal = await store.getDecision(accountId, proposalId);
  if (!proposal) return { status: 'refused', reason: `No decision ${proposalId} in this account's audit trail (expired, or another account's). List pending proposals with: thrad-rules approvals` };
  if (proposal.approval === null || proposal.action === null || !isActionName(proposal.action)) {
    return { status: 'refused', reason: `Decision ${proposalId} is not a proposal (outcome ${proposal.outcome}); only a rule in approval mode proposes. List them with: thrad-rules approvals` };
  }
  const def = actionDefinition(proposal.action);
  if (proposal.outcome === 'rejected' || proposal.outcome === 'expired') return { status: 'refused', reason: `Proposal ${proposalId} was ${resolvedLine(proposal)}; it cannot be approved now. The rule proposes again on a later match.` };
  const nowMs = clock.nowMs();
  if (proposal.outcome === 'awaiting_approval') {
    if (proposalExpired(proposal, nowMs)) {
      await close(store, proposal, 'expired', { atMs: nowMs, by: 'autopilot', note: `nobody approved it by ${proposal.approval.expires_at}` });
      return { status: 'refused', reason: `Proposal ${proposalId} expired at ${proposal.approval.expires_at}; it cannot be approved now. The rule proposes again on a later match.` };
    }
  } else if (proposal.outcome !== 'approved') {
    return { status: 'refused', reason: `Decision ${proposalId} is not awaiting approval (outcome ${proposal.outcome}).` };
  }
  const ruleWhy = ruleRefusal(proposal, deps.rules);
  if (ruleWhy !== null && proposal.outcome === 'awaiting_approval') return { status: 'refused', reason: `Proposal ${proposalId} is not carried out: ${ruleWhy}. It stays pending until ${proposal.approval.expires_at}.` };

  const next = await nextAttempt(store, proposal);
  if ('refuse' in next) return { status: 'refused', reason: next.refuse };
  if ('done' in next) return { status: 'refused', reason: `Proposal ${proposalId} was already approved${proposal.approval.resolved_by ? ` by ${proposal.approval.resolved_by}` : ''} and carried out by ${next.done.decision_id} at ${next.done.evaluated_at} (outcome ${next.done.outcome}); approving again never applies it twice.` };
  if (ruleWhy !== null) return { status: 'refused', reason: `Proposal ${proposalId} is not carried out again: ${ruleWhy}.` };

  const entity = snapshotOf(proposal.level, await client.getEntity(proposal.level, proposal.entity_id, { deadlineMs: options.deadlineMs }));
  const changed = await whatChanged(store, proposal, def, entity);
  if (changed !== null) {
    if (proposal.outcome === 'awaiting_approval') await close(store, proposal, 'expired', { atMs: nowMs, by: 'autopilot', note: `not carried out: ${changed}` });
    return { status: 'refused', reason: `${levelWords(proposal)}: ${changed}. Not approved: a proposal is carried out only on the entity as it was proposed (${proposedChange(proposal)}); the proposal is closed, and the rule proposes again on a later match.` };
  }

  const intentId = approvalIdFor(accountId, proposalId, next.attempt);
  if (proposal.outcome === 'awaiting_approval') {
    const approved = await close(store, proposal, 'approved', { atMs: nowMs, by: options.by, decisionId: intentId });
    if (!approved) {
      const now = await store.getDecision(accountId, proposalId);
      return { status: 'refused', reason: `Proposal ${proposalId} was ${now ? resolvedLine(now) : 'resolved'} meanwhile; not approved again.` };
    }
    proposal = approved;
  }

  const now = new Date(nowMs).toISOString();
  const intent: DecisionRecord = {
    ...proposal,
    decision_id: intentId,
    run_id: `approval_${now.replace(/[-:.]/g, '').slice(0, 15)}`,
    scheduled_time: now,
    evaluated_at: now,
    trigger: 'approval',
    mode: 'live',
    outcome: 'pending',
    reason: `approved by ${options.by}: ${proposal.reason}${next.attempt > 1 ? ` (attempt ${next.attempt})` : ''}`,
    status_before: entity.status,
    status_after: null,
    value_before_micros: def.micros(def.read(entity)),
    value_after_micros: null,
    api_result: null,
    lease_until_ms: null,
    entity_updated_at_before: entity.updatedAt,
    entity_updated_at_after: null,
    approval: null,
    approves: proposalId,
    undoes: null,
    expires_at: store.expiresAt(),
  };
  const executor = new IntentExecutor({ client, store, clock, realClock: deps.realClock ?? systemClock, logger: deps.logger ?? silentLogger });
  const settlement = await executor.run({ record: intent, seen: entity, holderOnChange: holderForIntent(intent, nowMs), remember: true }, options.deadlineMs);
  switch (settlement.kind) {
    case 'duplicate':
      return { status: 'refused', reason: `Proposal ${proposalId} is already being carried out (${intentId}); approving again never applies it twice.` };
    case 'unconfirmed':
      return { status: 'unconfirmed', record: settlement.record, proposal, reason: `the call may have reached Thrad (${settlement.error.code}: ${settlement.error.message}); the next autopilot run reads the ${proposal.level.replace('_', ' ')} and records the outcome` };
    case 'lost':
    case 'settled': {
      const record = settlement.record;
      if (record.outcome === 'acted') return { status: 'approved', record, proposal };
      if (record.outcome === 'failed') return { status: 'failed', record, proposal };
      return { status: 'refused', reason: `${record.reason}. Not carried out (recorded as ${record.decision_id}).` };
    }
  }
}

export async function rejectProposal(deps: Pick<ApprovalDeps, 'store' | 'clock'>, accountId: string, proposalId: string, options: { by: string; note: string | null }): Promise<RejectResult> {
  const proposal = await deps.store.getDecision(accountId, proposalId);
  if (!proposal) return { status: 'refused', reason: `No decision ${proposalId} in this account's audit trail (expired, or another account's). List pending proposals with: thrad-rules approvals` };
  if (proposal.approval === null) return { status: 'refused', reason: `Decision ${proposalId} is not a proposal (outcome ${proposal.outcome}); only a rule in approval mode proposes.` };
  if (proposal.outcome !== 'awaiting_approval') return { status: 'refused', reason: `Proposal ${proposalId} was already ${resolvedLine(proposal)}; nothing to reject.` };
  const nowMs = deps.clock.nowMs();
  if (proposalExpired(proposal, nowMs)) {
    await close(deps.store, proposal, 'expired', { atMs: nowMs, by: 'autopilot', note: `nobody approved it by ${proposal.approval.expires_at}` });
    return { status: 'refused', reason: `Proposal ${proposalId} already expired at ${proposal.approval.expires_at}; nothing to reject.` };
  }
  const rejected = await close(deps.store, proposal, 'rejected', { atMs: nowMs, by: options.by, note: options.note });
  if (!rejected) {
    const now = await deps.store.getDecision(accountId, proposalId);
    return { status: 'refused', reason: `Proposal ${proposalId} was ${now ? resolvedLine(now) : 'resolved'} meanwhile; not rejected.` };
  }
  return { status: 'rejected', proposal: rejected };
}
