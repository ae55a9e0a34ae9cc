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

/**
 * How long after it was sent an interrupted call may still land, in seconds: a call's attempts
 * and backoffs end well within this (5 attempts of at most 10 s, backoffs of at most 8 s).
 * A change found later than this is not attributed to the call. With `ATTRIBUTION_SKEW_S` for
 * the difference between the engine's clock and the API's.
 */
export const CALL_LANDING_WINDOW_S = 120;
export const ATTRIBUTION_SKEW_S = 5;

const iso = (s: number | null): string => (s === null ? 'unknown' : new Date(s * 1000).toISOString());

/**
 * Whose change an intent's target found in place is: the intent's call (the entity last changed
 * while the call was in flight), nobody's call (it was never sent), or unknown (changed after the
 * call could have landed, or no times to compare).
 */
function attribute(intent: DecisionRecord, entity: EntitySnapshot): 'ours' | 'not_called' | 'unknown' {
  if (intent.called_at_s === null) return 'not_called';
  if (intent.called_at_s === undefined || entity.updatedAt === null) return 'unknown';
  const end = intent.call_ended_at_s ?? intent.called_at_s + CALL_LANDING_WINDOW_S;
  return entity.updatedAt >= intent.called_at_s - ATTRIBUTION_SKEW_S && entity.updatedAt <= end + ATTRIBUTION_SKEW_S ? 'ours' : 'unknown';
}

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

/** `pending`: the store's expired intents, when the caller started that query already (beside its claim). */
export async function reconcileIntents(ctx: RunContext, deps: ReconcileDeps, pending?: Promise<DecisionRecord[]>): Promise<Settlement[]> {
  const out: Settlement[] = [];
  for (const intent of await (pending ?? deps.store.expiredIntents(ctx.accountId))) {
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
    const reconciled = { http_status: null, error_code: null, message: null, attempts: 0, confirmed_by: 'reconciled' };
    if (def.confirms(entity, intent.target)) {
      const found = `the ${level} was found ${show(def, entity)}`;
      const attribution = attribute(intent, entity);
      if (attribution === 'not_called') {
        // Its run stopped before the call: the value is someone else's change.
        await deps.executor.observeForeign(owned, entity, `${found} after the autopilot's run stopped before its call`);
        out.push(await deps.executor.settle(owned, { outcome: 'already_in_state', reason: `its run stopped before the call, and ${found}: someone else did it, not this rule`, statusAfter: entity.status, apiResult: reconciled, entityUpdatedAtAfter: entity.updatedAt, valueAfter: def.micros(def.read(entity)) }));
        continue;
      }
      if (attribution === 'ours') {
        await deps.executor.remember(owned, entity, holderForIntent(owned, ctx.nowMs), intent.rule_id !== UNDO_RULE_ID);
        out.push(await deps.executor.settle(owned, { outcome: 'acted', reason: `${intent.reason}; its run stopped before recording the outcome (or the answer was lost), and ${found}, changed at ${iso(entity.updatedAt)} while its call was in flight`, statusAfter: entity.status, apiResult: reconciled, entityUpdatedAtAfter: entity.updatedAt, valueAfter: def.micros(def.read(entity)) }));
        continue;
      }
      // Changed after the call could have landed (or when cannot be told): this call, or someone
      // since, made it. Nobody is credited: a rule that starts spend leaves it alone.
      const detail = `${found}, last changed ${entity.updatedAt === null ? 'at an unknown time' : `at ${iso(entity.updatedAt)}`}, after its interrupted call${intent.called_at_s ? ` of ${iso(intent.called_at_s)}` : ''} could have landed: whether that call or someone since did it cannot be told`;
      await deps.executor.remember(owned, entity, { kind: 'unknown', detail }, intent.rule_id !== UNDO_RULE_ID);
      out.push(await deps.executor.settle(owned, { outcome: 'acted', reason: `${intent.reason}; ${detail} (a rule that starts spend leaves it alone)`, statusAfter: entity.status, apiResult: reconciled, entityUpdatedAtAfter: entity.updatedAt, valueAfter: def.micros(def.read(entity)) }));
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
