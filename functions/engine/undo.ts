// Undo an automated change: only when the entity is exactly as that decision left it (the same
// value, an unchanged updated_at, no later automated decision, and nobody else holding it);
// otherwise refuse and name what changed. The undo is an action like any other, through the one
// intent executor: an intent (keyed by the decision it undoes and the attempt), the call, the
// outcome, and a decision record of its own. It counts as a person's change: rules that start
// spend leave it alone. A cleanly failed undo can be tried again (a new attempt).
import { createHash } from 'node:crypto';
import { actionDefinition, isActionName } from '../actions/registry';
import { snapshotOf } from '../actions/snapshot';
import { CLASS_INFO, showValue } from '../actions/classes';
import type { EntitySnapshot } from '../actions/types';
import type { DecisionRecord } from '../audit/records';
import type { AuditStore } from '../audit/store';
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import type { ThradClient } from '../thrad/client';
import { IntentExecutor } from './intents';
import { silentLogger, type EngineLogger } from './logger';
import { holderForIntent, UNDO_RULE_ID } from './reconcile';

export { UNDO_RULE_ID };

export type UndoResult =
  | { status: 'undone'; record: DecisionRecord }
  | { status: 'refused'; reason: string }
  | { status: 'failed'; record: DecisionRecord }
  /** The call may have landed (a timeout, a reset): the next run reads the entity and records what happened. */
  | { status: 'unconfirmed'; record: DecisionRecord; reason: string };

export interface UndoDeps {
  client: ThradClient;
  store: AuditStore;
  /** The engine clock. */
  clock: Clock;
  realClock?: Clock;
  logger?: EngineLogger;
}

const MAX_ATTEMPTS = 20;
const iso = (s: number | null): string => (s === null ? 'unknown' : new Date(s * 1000).toISOString());

export function undoIdFor(accountId: string, decisionId: string, attempt: number): string {
  const suffix = attempt === 1 ? '' : `|${attempt}`;
  return `u_${createHash('sha256').update(`${accountId}|${decisionId}${suffix}`).digest('hex').slice(0, 24)}`;
}

/** The next undo attempt of a decision, or why there is none (done, or in flight). */
async function nextAttempt(store: AuditStore, accountId: string, decisionId: string): Promise<{ attempt: number } | { refuse: string }> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const previous = await store.getDecision(accountId, undoIdFor(accountId, decisionId, attempt));
    if (!previous) return { attempt };
    if (previous.outcome === 'pending') return { refuse: `Already being undone (${previous.decision_id}); if that run stopped, the next autopilot run records what happened.` };
    if (previous.outcome !== 'failed') return { refuse: `Already undone by ${previous.decision_id} at ${previous.evaluated_at} (outcome ${previous.outcome}).` };
  }
  return { refuse: `Undo was tried ${MAX_ATTEMPTS} times and failed each time; see thrad-rules audit --entity for the errors.` };
}

/** What keeps an undo from acting on the entity now, or null when it is exactly as the decision left it. */
async function whatChanged(deps: UndoDeps, original: DecisionRecord, entity: EntitySnapshot): Promise<string | null> {
  const later = (await deps.store.queryDecisions(original.account_id, { entityId: original.entity_id, sinceMs: Date.parse(original.evaluated_at), limit: 100 })).filter((d) => d.outcome === 'acted' && d.decision_id !== original.decision_id && d.evaluated_at >= original.evaluated_at);
  const who = later[0]
    ? `${later[0].rule_id} ${later[0].action ? actionDefinition(later[0].action).words.past : 'changed'} it at ${later[0].evaluated_at} (decision ${later[0].decision_id})`
    : `no automated change is on record since, so a person or another tool changed it${entity.updatedAt === null ? '' : ` (last updated ${iso(entity.updatedAt)})`}`;
  const left = `as ${original.rule_id} left it at ${original.evaluated_at}`;
  const def = actionDefinition(original.action as NonNullable<DecisionRecord['action']>);
  if (def.conflictClass === 'budget' || def.conflictClass === 'bid') {
    const now = def.read(entity);
    if (now !== original.value_after_micros) return `has a ${CLASS_INFO[def.conflictClass].noun} of ${showValue(def.conflictClass, now)} now, not ${showValue(def.conflictClass, original.value_after_micros)} ${left}: ${who}`;
  }
  if (entity.status !== original.status_after) return `is ${entity.status} now, not ${String(original.status_after)} ${left}: ${who}`;
  if (original.entity_updated_at_after === null || entity.updatedAt === null) return `is ${entity.status} ${left}, but the autopilot cannot tell whether it changed since (no updated_at to compare), so it does not undo blind`;
  if (entity.updatedAt !== original.entity_updated_at_after) return `is ${entity.status} ${left}, but it was changed since (updated_at ${iso(original.entity_updated_at_after)} → ${iso(entity.updatedAt)}): ${who}`;
  if (later[0]) return `is ${entity.status} ${left}, but ${who}`;
  const cls = def.conflictClass === 'none' ? 'status' : def.conflictClass;
  const holder = (await deps.store.entityMemories(original.account_id, [original.entity_id])).get(original.entity_id)?.holders[cls];
  if (holder && !(holder.kind === 'rule' && holder.decision_id === original.decision_id)) {
    return `is ${entity.status} ${left}, but ${holder.kind === 'rule' ? `${holder.rule_id} (priority ${holder.priority}) holds it since ${new Date(holder.at_ms).toISOString()}` : holder.kind === 'person' ? `someone else changed it: ${holder.detail}` : 'the autopilot no longer knows who holds it'}`;
  }
  return null;
}

export async function undoDecision(deps: UndoDeps, accountId: string, decisionId: string, options: { deadlineMs: number }): Promise<UndoResult> {
  const { client, store, clock } = deps;
  const original = await store.getDecision(accountId, decisionId);
  if (!original) return { status: 'refused', reason: `No decision ${decisionId} in this account's audit trail (expired, or another account's). List them with: thrad-rules audit` };
  if (original.outcome !== 'acted' || original.action === null || !isActionName(original.action) || !actionDefinition(original.action).calls) {
    return { status: 'refused', reason: `Decision ${decisionId} did not change anything (outcome ${original.outcome}${original.action ? `, action ${original.action}` : ''}); there is nothing to undo.` };
  }
  if (original.undoes !== null) return { status: 'refused', reason: `Decision ${decisionId} is itself an undo (of ${original.undoes}); undo that one's effect by hand or with a rule.` };
  const def = actionDefinition(original.action);
  const inverse = def.inverse({ value_before: def.micros(original.target) !== null ? original.value_before_micros : original.status_before, level: original.level });
  if ('refuse' in inverse) return { status: 'refused', reason: `Decision ${decisionId} cannot be undone: ${inverse.refuse}.` };
  const next = await nextAttempt(store, accountId, decisionId);
  if ('refuse' in next) return { status: 'refused', reason: next.refuse };

  const entity = snapshotOf(original.level, await client.getEntity(original.level, original.entity_id, { deadlineMs: options.deadlineMs }));
  const changed = await whatChanged(deps, original, entity);
  if (changed !== null) return { status: 'refused', reason: `${original.level.replace('_', ' ')} "${original.entity_name}" ${changed}. Not undone.` };

  const nowMs = clock.nowMs();
  const now = new Date(nowMs).toISOString();
  const undoId = undoIdFor(accountId, decisionId, next.attempt);
  const intent: DecisionRecord = {
    ...original,
    decision_id: undoId,
    run_id: `undo_${now.replace(/[-:.]/g, '').slice(0, 15)}`,
    rule_id: UNDO_RULE_ID,
    rule_version: '-',
    scheduled_time: now,
    evaluated_at: now,
    trigger: 'undo',
    windows: [],
    observed: { status: entity.status },
    explanation: null,
    outcome: 'pending',
    reason: `undo of ${decisionId} (${original.rule_id} ${original.action} at ${original.evaluated_at})${next.attempt > 1 ? `, attempt ${next.attempt}` : ''}`,
    action: inverse.action as DecisionRecord['action'],
    mode: 'live',
    priority: null,
    status_before: entity.status,
    status_after: null,
    target: inverse.target,
    value_before_micros: def.micros(def.read(entity)),
    value_after_micros: null,
    api_result: null,
    lease_until_ms: null,
    entity_updated_at_before: entity.updatedAt,
    entity_updated_at_after: null,
    holder: null,
    undoes: decisionId,
    approval: null,
    approves: null,
    message: null,
    expires_at: store.expiresAt(),
  };
  const executor = new IntentExecutor({ client, store, clock, realClock: deps.realClock ?? systemClock, logger: deps.logger ?? silentLogger });
  const settlement = await executor.run({ record: intent, seen: entity, holderOnChange: holderForIntent(intent, nowMs), remember: false }, options.deadlineMs);
  switch (settlement.kind) {
    case 'duplicate':
      return { status: 'refused', reason: `Already being undone (${undoId}).` };
    case 'unconfirmed':
      return { status: 'unconfirmed', record: settlement.record, reason: `the ${intent.action ?? 'undo'} call may have reached Thrad (${settlement.error.code}: ${settlement.error.message}); the next autopilot run reads the ${original.level.replace('_', ' ')} and records the outcome` };
    case 'lost':
    case 'settled': {
      const record = settlement.record;
      if (record.outcome === 'acted') return { status: 'undone', record };
      if (record.outcome === 'failed') return { status: 'failed', record };
      return { status: 'refused', reason: `${record.reason}. Not undone (recorded as ${record.decision_id}).` };
    }
  }
}
