// The reconcile phase: intents whose run died (or whose call's answer was lost) between the
// intent and its outcome. The entity's current state decides:
//   - it carries the target → acted (confirmed by reconciliation);
//   - else the call is made once more only when nothing changed since the intent (the status and
//     updated_at it stored), its rule still exists, is enabled and live, and its occurrence is still
//     current; an undo is never retried on its own;
//   - else → failed (not confirmed), saying which of those did not hold. Nothing is re-applied
//     over a change someone else made.
import { actionDefinition } from '../actions/registry';
import { snapshotOf } from '../actions/snapshot';
import type { EntitySnapshot } from '../actions/types';
import type { DecisionRecord, Holder } from '../audit/records';
import type { AuditStore } from '../audit/store';
import type { CompiledRuleSet } from '../rules/compile';
import type { ThradClient } from '../thrad/client';
import type { RunContext } from './context';
import { directionOf } from './act';
import { changedSince, LEASE_MARGIN_MS, show, type IntentExecutor, type Settlement } from './intents';
import { errorAttributes, type EngineLogger } from './logger';

export const UNDO_RULE_ID = 'manual-undo';

export interface ReconcileDeps {
  client: ThradClient;
  store: AuditStore;
  rules: CompiledRuleSet;
  executor: IntentExecutor;
  logger: EngineLogger;
}

/** Who holds an entity once an intent's action landed: its rule, or a person for an undo. */
export function holderForIntent(intent: DecisionRecord, atMs: number): Holder {
  if (intent.rule_id === UNDO_RULE_ID || intent.undoes !== null) return { kind: 'person', at_ms: atMs, detail: `undone by a person (${intent.decision_id}, undoing ${intent.undoes ?? 'a decision'})` };
  return { kind: 'rule', rule_id: intent.rule_id, priority: intent.priority ?? 0, intent: intent.target, ...directionOf(intent), by: 'change', decision_id: intent.decision_id, at_ms: atMs };
}

/** Why an intent must not be retried now, or null when it may be. */
function whyNotRetry(intent: DecisionRecord, entity: EntitySnapshot, rules: CompiledRuleSet, nowMs: number): string | null {
  if (intent.rule_id === UNDO_RULE_ID) return 'an undo is never retried on its own';
  const rule = rules.byId.get(intent.rule_id);
  if (!rule) return 'its rule is gone from the rule set';
  if (!rule.rule.enabled) return 'its rule is now disabled';
  // An approved proposal acts for its approval-mode rule; anything else needs the rule live.
  if (intent.approves !== null ? rule.rule.mode === 'dry_run' : rule.rule.mode !== 'live' || intent.mode !== 'live') return `its rule is now ${rule.rule.mode}`;
  const def = intent.action === null ? undefined : actionDefinition(intent.action);
  const before: EntitySnapshot = { ...entity, status: intent.status_before as EntitySnapshot['status'], updatedAt: intent.entity_updated_at_before, ...(def?.conflictClass === 'budget' ? { budgetMicros: intent.value_before_micros } : def?.conflictClass === 'bid' ? { maxBidMicros: intent.value_before_micros } : {}) };
  const changed = changedSince(before, entity, def);
  if (changed !== null) return `the ${intent.level.replace('_', ' ')} changed since the intent (${changed})`;
  if (nowMs - Date.parse(intent.scheduled_time) >= rule.periodSeconds * 1000) return 'its occurrence is too old to retry';
  return null;
}

export async function reconcileIntents(ctx: RunContext, deps: ReconcileDeps): Promise<Settlement[]> {
  const out: Settlement[] = [];
  for (const intent of await deps.store.expiredIntents(ctx.accountId)) {
    if (intent.action === null) continue;
    if (!(await deps.store.takeOverIntent(intent, ctx.runId, ctx.deadlineMs + LEASE_MARGIN_MS))) continue;
    const owned: DecisionRecord = { ...intent, run_id: ctx.runId };
    let entity: EntitySnapshot;
    try {
      entity = snapshotOf(intent.level, await deps.client.getEntity(intent.level, intent.entity_id, { deadlineMs: ctx.deadlineMs }));
    } catch (error) {
      // Left pending for the next run; our lease lapses with this run.
      deps.logger.warn('could not read an entity to reconcile an intent', { decision_id: intent.decision_id, ...errorAttributes(error) });
      continue;
    }
    ctx.tally.bump('reconciled');
    const def = actionDefinition(intent.action);
    const level = intent.level.replace('_', ' ');
    if (def.confirms(entity, intent.target)) {
      await deps.executor.remember(owned, entity, holderForIntent(owned, ctx.nowMs), intent.rule_id !== UNDO_RULE_ID);
      out.push(await deps.executor.settle(owned, { outcome: 'acted', reason: `${intent.reason}; its run stopped before recording the outcome, and the ${level} was found ${show(def, entity)}`, statusAfter: entity.status, apiResult: { http_status: null, error_code: null, message: null, attempts: 0, confirmed_by: 'reconciled' }, entityUpdatedAtAfter: entity.updatedAt, valueAfter: def.micros(def.read(entity)) }));
      continue;
    }
    const why = whyNotRetry(owned, entity, deps.rules, ctx.nowMs);
    if (why === null) {
      out.push(await deps.executor.callAndSettle({ record: owned, seen: entity, holderOnChange: holderForIntent(owned, ctx.nowMs), remember: true }, ctx.deadlineMs, 'reconciled_retry'));
      continue;
    }
    out.push(await deps.executor.settle(owned, { outcome: 'failed', reason: `its run stopped before the call was confirmed; the ${level} is ${show(def, entity)}, and ${why}: not retried`, statusAfter: entity.status, apiResult: { http_status: null, error_code: 'not_confirmed', message: null, attempts: 0, confirmed_by: 'reconciled' }, entityUpdatedAtAfter: entity.updatedAt, valueAfter: def.micros(def.read(entity)) }));
  }
  return out;
}
