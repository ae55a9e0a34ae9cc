// Undo an automated status action: only when the entity is still in the state that decision left
// it in (otherwise refuse, saying who changed what as far as the records show). The undo is an
// action like any other: an intent (keyed by the decision it undoes, so it happens once), the
// call, the outcome, and a decision record of its own.
import { createHash } from 'node:crypto';
import type { DecisionRecord } from '../audit/records';
import type { AuditStore } from '../audit/store';
import type { Clock } from '../shared/clock';
import type { ThradClient } from '../thrad/client';
import { ThradApiError } from '../thrad/errors';
import { pastTense } from './describe';

export const UNDO_RULE_ID = 'manual-undo';

export type UndoResult =
  | { status: 'undone'; record: DecisionRecord }
  | { status: 'refused'; reason: string }
  | { status: 'failed'; record: DecisionRecord }
  /** The call may have landed (a timeout, a reset): the next run reads the entity and records what happened. */
  | { status: 'unconfirmed'; record: DecisionRecord; reason: string };

const REVERSE: Record<string, 'pause' | 'activate' | undefined> = { pause: 'activate', activate: 'pause' };

export async function undoDecision(deps: { client: ThradClient; store: AuditStore; clock: Clock }, accountId: string, decisionId: string, options: { deadlineMs: number }): Promise<UndoResult> {
  const { client, store, clock } = deps;
  const original = await store.getDecision(accountId, decisionId);
  if (!original) return { status: 'refused', reason: `No decision ${decisionId} in this account's audit trail (expired, or another account's). List them with: thrad-rules audit` };
  if (original.outcome !== 'acted' || original.action === null || original.action === 'notify') {
    return { status: 'refused', reason: `Decision ${decisionId} did not change anything (outcome ${original.outcome}${original.action ? `, action ${original.action}` : ''}); there is nothing to undo.` };
  }
  if (original.action === 'archive') return { status: 'refused', reason: 'Archiving is final in Thrad: an archived campaign cannot be activated or paused again.' };
  const reverse = REVERSE[original.action];
  if (!reverse || original.status_after === null) return { status: 'refused', reason: `Decision ${decisionId} has no state to return from.` };
  if (original.undoes !== null) return { status: 'refused', reason: `Decision ${decisionId} is itself an undo (of ${original.undoes}); undo that one's effect by hand or with a rule.` };

  const undoId = `u_${createHash('sha256').update(`${accountId}|${decisionId}`).digest('hex').slice(0, 24)}`;
  const previous = await store.getDecision(accountId, undoId);
  if (previous) return { status: 'refused', reason: `Already undone by ${undoId} at ${previous.evaluated_at} (outcome ${previous.outcome}).` };

  const entity = await client.getEntity(original.level, original.entity_id, { deadlineMs: options.deadlineMs });
  if (entity.status !== original.status_after) {
    const later = (await store.queryDecisions(accountId, { entityId: original.entity_id, sinceMs: Date.parse(original.evaluated_at) + 1, limit: 50 })).filter((d) => d.outcome === 'acted' && d.decision_id !== decisionId);
    const who = later[0]
      ? `${later[0].rule_id} ${later[0].action ? pastTense(later[0].action) : 'changed'} it at ${later[0].evaluated_at} (decision ${later[0].decision_id})`
      : `no automated change is on record since, so a person or another tool changed it${'updated_at' in entity && typeof entity.updated_at === 'number' ? ` (last updated ${new Date(entity.updated_at * 1000).toISOString()})` : ''}`;
    return { status: 'refused', reason: `${original.level} "${original.entity_name}" is ${entity.status} now, not ${original.status_after} as ${original.rule_id} left it at ${original.evaluated_at}: ${who}. Not undone.` };
  }

  const now = new Date(clock.nowMs()).toISOString();
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
    reason: `undo of ${decisionId} (${original.rule_id} ${original.action} at ${original.evaluated_at})`,
    action: reverse,
    mode: 'live',
    status_before: entity.status,
    status_after: null,
    api_result: null,
    lease_until_ms: options.deadlineMs + 5_000,
    entity_updated_at_after: null,
    undoes: decisionId,
    message: null,
    expires_at: store.expiresAt(),
  };
  const claim = await store.claimDecision(intent);
  if (!claim.claimed) return { status: 'refused', reason: `Already being undone (${undoId}).` };
  try {
    const result = await client.setStatus(original.level, original.entity_id, reverse, { deadlineMs: options.deadlineMs, idempotencyKey: undoId });
    const updatedAt = result.entity.updated_at ?? null;
    const apiResult = { http_status: 200, error_code: null, message: null, attempts: result.attempts, confirmed_by: result.outcome === 'already_in_state' ? 'state_read' : null };
    await store.recordEntityAction(accountId, original.entity_id, { rule_id: UNDO_RULE_ID, action: reverse, outcome: 'acted', at_ms: clock.nowMs(), entity_updated_at_after: updatedAt, decision_id: undoId }, true);
    await store.completeIntent(intent, { outcome: 'acted', reason: intent.reason, statusAfter: result.entity.status, apiResult, entityUpdatedAtAfter: updatedAt });
    return { status: 'undone', record: { ...intent, outcome: 'acted', status_after: result.entity.status, api_result: apiResult, lease_until_ms: null, entity_updated_at_after: updatedAt } };
  } catch (error) {
    if (error instanceof ThradApiError && error.mayHaveApplied) {
      // As in the engine: a call that may have landed is never recorded as failed. The intent is
      // released, and the next run's reconciliation reads the entity and records the outcome.
      await store.releaseIntent(intent);
      return { status: 'unconfirmed', record: intent, reason: `the ${reverse} call may have reached Thrad (${error.code}: ${error.message}); the next autopilot run reads the ${original.level} and records the outcome` };
    }
    const e = error instanceof ThradApiError ? error : null;
    const apiResult = { http_status: e?.httpStatus ?? null, error_code: e?.code ?? 'unexpected_error', message: e?.message ?? (error instanceof Error ? error.message : String(error)), attempts: 0, confirmed_by: null };
    await store.completeIntent(intent, { outcome: 'failed', reason: `${intent.reason}: ${apiResult.message}`, statusAfter: entity.status, apiResult, entityUpdatedAtAfter: null });
    return { status: 'failed', record: { ...intent, outcome: 'failed', status_after: entity.status, api_result: apiResult, lease_until_ms: null } };
  }
}
