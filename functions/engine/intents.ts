// The one intent lifecycle every write goes through (the engine's actions, reconciliation's
// retries, undo): claim → (re-check) → call → complete, or release when the call may have landed.
//
// - The intent is a conditional put keyed by the decision id: a second delivery of the same
//   occurrence, or a concurrent run, finds it and never calls again.
// - Where the action says so (registry `recheck`), the entity is read again just before the call:
//   a start of spend refuses when the entity changed since the decision read it, and any action
//   finds out that its target is already there (a 200 that changed nothing is not an action).
// - The answer is checked: only a change the answer shows is recorded `acted`; the engine's memory
//   of the entity (observation, holder, cooldown) is updated with what the API answered.
// - A call that may have reached the API (a timeout, a reset) is never recorded as failed: the
//   intent is released, and the next run reconciles it from the entity's state.
import { actionDefinition } from '../actions/registry';
import { snapshotOf } from '../actions/snapshot';
import { CLASS_INFO, showValue } from '../actions/classes';
import type { ActionDefinition, EntitySnapshot, ExecuteResult, HeldClass } from '../actions/types';
import type { ApiResult, DecisionRecord, Holder, MemoryUpdate, Outcome } from '../audit/records';
import type { AuditStore } from '../audit/store';
import type { Clock } from '../shared/clock';
import type { ThradClient } from '../thrad/client';
import { RequestBudgetExceededError, ThradApiError } from '../thrad/errors';
import { errorAttributes, type EngineLogger } from './logger';
import { describeHolder, observation } from './ownership';

export const LEASE_MARGIN_MS = 5_000;

export interface CrashPoints {
  /** After the intent is written, before the call. */
  afterIntent?: (intent: DecisionRecord) => Promise<void> | void;
  /** After the call, before its outcome is recorded. */
  afterCall?: (intent: DecisionRecord) => Promise<void> | void;
}

export interface IntentDeps {
  client: ThradClient;
  store: AuditStore;
  /** The engine clock (memory times). */
  clock: Clock;
  /** Real time (deadlines). */
  realClock: Clock;
  logger: EngineLogger;
  crashPoints?: CrashPoints;
}

export interface IntentSpec {
  /** The decision, `pending`, with its target. */
  record: DecisionRecord;
  /** The entity as the decision saw it. */
  seen: EntitySnapshot;
  /** Who holds the entity once the action lands (the rule; a person for an undo). */
  holderOnChange: Holder;
  /** Remember the action for the rule's cooldown. */
  remember: boolean;
}

export type Settlement =
  | { kind: 'settled'; record: DecisionRecord }
  | { kind: 'duplicate'; existing: DecisionRecord | null }
  | { kind: 'unconfirmed'; record: DecisionRecord; error: ThradApiError }
  | { kind: 'lost'; record: DecisionRecord };

export interface IntentResult {
  outcome: Outcome;
  reason: string;
  statusAfter: string | null;
  apiResult: ApiResult | null;
  entityUpdatedAtAfter: number | null;
  /** Money actions: the value before the call and after it, in micros. */
  valueBefore?: number | null;
  valueAfter?: number | null;
}

/** A class's value of an entity in words (a status, or USD). */
export function show(def: ActionDefinition, entity: EntitySnapshot): string {
  return def.conflictClass === 'status' || def.conflictClass === 'none' ? String(def.read(entity)) : showValue(def.conflictClass, def.read(entity));
}

/** An intent's target in words. */
function showTarget(def: ActionDefinition, target: DecisionRecord['target']): string {
  return def.conflictClass === 'status' || def.conflictClass === 'none' ? String(target) : showValue(def.conflictClass, typeof target === 'number' ? target : null);
}

const iso = (s: number | null): string => (s === null ? 'unknown' : new Date(s * 1000).toISOString());

/** What differs between two reads of an entity, in words; null when nothing the engine sees. */
export function changedSince(seen: EntitySnapshot, now: EntitySnapshot, def?: ActionDefinition): string | null {
  const parts: string[] = [];
  if (seen.status !== now.status) parts.push(`status ${seen.status} → ${now.status}`);
  if (def && def.conflictClass !== 'status' && def.conflictClass !== 'none' && def.read(seen) !== def.read(now)) parts.push(`${def.conflictClass === 'budget' ? 'lifetime budget' : 'max bid'} ${show(def, seen)} → ${show(def, now)}`);
  if (seen.updatedAt !== now.updatedAt) parts.push(`updated_at ${iso(seen.updatedAt)} → ${iso(now.updatedAt)}`);
  return parts.length > 0 ? parts.join(', ') : null;
}

/** The class of value an intent's action changes (none for notify). */
function heldClassOf(intent: DecisionRecord): HeldClass | null {
  if (intent.action === null) return null;
  const cls = actionDefinition(intent.action).conflictClass;
  return cls === 'none' ? null : cls;
}

export class IntentExecutor {
  constructor(private readonly deps: IntentDeps) {}

  /** Claim the intent, then call and settle. */
  async run(spec: IntentSpec, deadlineMs: number): Promise<Settlement> {
    const { store } = this.deps;
    if (this.deps.realClock.nowMs() > deadlineMs - 1_000) {
      const record: DecisionRecord = { ...spec.record, outcome: 'failed', reason: 'no time left before the run deadline; not called', status_after: spec.record.status_before, api_result: { http_status: null, error_code: 'deadline_exceeded', message: null, attempts: 0, confirmed_by: null } };
      const claim = await store.claimDecision(record);
      return claim.claimed ? { kind: 'settled', record } : { kind: 'duplicate', existing: claim.existing };
    }
    const intent: DecisionRecord = { ...spec.record, outcome: 'pending', lease_until_ms: deadlineMs + LEASE_MARGIN_MS, called_at_s: null, call_ended_at_s: null };
    const claim = await store.claimDecision(intent);
    if (!claim.claimed) {
      this.deps.logger.info('decision already recorded for this occurrence; not calling again', { decision_id: intent.decision_id, by: claim.existing?.run_id });
      return { kind: 'duplicate', existing: claim.existing };
    }
    await this.deps.crashPoints?.afterIntent?.(intent);
    return this.callAndSettle({ ...spec, record: intent }, deadlineMs, null);
  }

  /** For an intent this process owns: re-check, call, and record the outcome. */
  async callAndSettle(spec: IntentSpec, deadlineMs: number, confirmedBy: string | null): Promise<Settlement> {
    const intent = spec.record;
    if (intent.action === null) throw new Error(`intent ${intent.decision_id} has no action`);
    const def = actionDefinition(intent.action);
    const cls = def.conflictClass;
    if (cls !== 'budget' && cls !== 'bid') return this.recheckCallSettle(spec, def, deadlineMs, confirmedBy);
    // A money change holds the value's write lock from its re-read to its outcome: two runs that
    // both read the old value would otherwise both call, and both record the change.
    const { store } = this.deps;
    if (!(await store.lockEntityValue(intent.account_id, intent.entity_id, cls, intent.decision_id, deadlineMs + LEASE_MARGIN_MS))) {
      const owner = await store.entityValueLockOwner(intent.account_id, intent.entity_id, cls).catch(() => null);
      return this.settle(intent, { outcome: 'skipped_conflict', reason: `another run was changing its ${cls === 'budget' ? 'lifetime budget' : 'max bid'} at the same moment${owner ? ` (${owner})` : ''}: not called; the rule decides again on its next run`, statusAfter: intent.status_before, apiResult: null, entityUpdatedAtAfter: null });
    }
    try {
      return await this.recheckCallSettle(spec, def, deadlineMs, confirmedBy);
    } finally {
      await store.unlockEntityValue(intent.account_id, intent.entity_id, cls, intent.decision_id).catch((error: unknown) => this.deps.logger.warn('could not release a value lock (it lapses with its lease)', { decision_id: intent.decision_id, ...errorAttributes(error) }));
    }
  }

  private async recheckCallSettle(spec: IntentSpec, def: ActionDefinition, deadlineMs: number, confirmedBy: string | null): Promise<Settlement> {
    const intent = spec.record;
    let before = spec.seen;
    if (def.recheck(intent.level)) {
      const checked = await this.recheck(spec, def, deadlineMs, confirmedBy);
      if ('settlement' in checked) return checked.settlement;
      before = checked.fresh;
    }
    // The mark that the call is being sent: reconciliation tells a change this call made from one
    // made since by when it was sent (and a crash before this point from one after it).
    const calledAtS = Math.floor(this.deps.clock.nowMs() / 1000);
    if (!(await this.deps.store.markCalled(intent, calledAtS))) {
      this.deps.logger.error('lost the intent before its call (lease expired?); not called', { decision_id: intent.decision_id });
      return { kind: 'lost', record: intent };
    }
    const called: DecisionRecord = { ...intent, called_at_s: calledAtS };
    let result: ExecuteResult;
    try {
      result = await def.execute(this.deps.client, { level: intent.level, entityId: intent.entity_id, target: intent.target, updatedAtBefore: before.updatedAt, valueBefore: def.read(before), entity: before, options: { deadlineMs, idempotencyKey: intent.decision_id } });
    } catch (error) {
      return this.callFailed(called, error, confirmedBy);
    }
    await this.deps.crashPoints?.afterCall?.(called);
    // The last answer as it was: a refusal that meant "already there" is not a 200.
    const apiResult: ApiResult = { http_status: result.answer.httpStatus, error_code: result.answer.code, message: null, attempts: result.attempts, confirmed_by: result.earlierAttemptMayHaveApplied ? 'state_read' : confirmedBy };
    const values = { valueBefore: def.micros(def.read(before)), valueAfter: def.micros(def.read(result.entity)) };
    if (result.changed && result.ambiguous) {
      // An earlier attempt's answer was lost and the last said "already": this call, or someone
      // between its attempts, made the change. Who cannot be told, so nobody is credited with it.
      const detail = `it was found ${show(def, result.entity)} after a retried call: the first attempt's answer was lost and the last said it already was, so whether this rule's call or someone else did it cannot be told`;
      await this.remember(called, result.entity, { kind: 'unknown', detail }, spec.remember);
      return this.settle(called, { outcome: 'acted', reason: `${intent.reason}; ${detail} (a rule that starts spend leaves it alone)`, statusAfter: result.entity.status, apiResult, entityUpdatedAtAfter: result.entity.updatedAt, ...values });
    }
    if (result.changed) {
      await this.remember(called, result.entity, spec.holderOnChange, spec.remember);
      const reason = result.earlierAttemptMayHaveApplied ? `${intent.reason}; confirmed by reading the ${intent.level.replace('_', ' ')} after a retried call` : intent.reason;
      return this.settle(called, { outcome: 'acted', reason, statusAfter: result.entity.status, apiResult, entityUpdatedAtAfter: result.entity.updatedAt, ...values });
    }
    if (!def.confirms(result.entity, intent.target) && def.read(result.entity) !== def.read(before)) {
      // The answer shows neither the value before nor the target: the call did something other
      // than asked (a value clamped or rounded by the API). Never recorded as this rule's change.
      await this.observeForeign(called, result.entity, `the API answered ${show(def, result.entity)} to a call that set ${showTarget(def, intent.target)}`);
      return this.settle(called, { outcome: 'failed', reason: `the API answered ${show(def, result.entity)}, neither the value before (${show(def, before)}) nor the target (${showTarget(def, intent.target)}): not recorded as this rule's change`, statusAfter: result.entity.status, apiResult: { ...apiResult, error_code: 'answer_mismatch' }, entityUpdatedAtAfter: result.entity.updatedAt, ...values });
    }
    await this.observeForeign(called, result.entity, `it was already ${show(def, result.entity)} when the call landed, changed just before by someone else`);
    return this.settle(called, { outcome: 'already_in_state', reason: `the API answered that it is already ${show(def, result.entity)}: not this rule's change`, statusAfter: result.entity.status, apiResult, entityUpdatedAtAfter: result.entity.updatedAt, ...values });
  }

  private async recheck(spec: IntentSpec, def: ActionDefinition, deadlineMs: number, confirmedBy: string | null): Promise<{ fresh: EntitySnapshot } | { settlement: Settlement }> {
    const intent = spec.record;
    let fresh: EntitySnapshot;
    try {
      fresh = snapshotOf(intent.level, await this.deps.client.getEntity(intent.level, intent.entity_id, { deadlineMs }));
    } catch (error) {
      // Nothing was sent that could change anything: a clean failure.
      const e = error instanceof ThradApiError ? error : null;
      return { settlement: await this.settle(intent, { outcome: 'failed', reason: `could not read the ${intent.level.replace('_', ' ')} again before the call (${e?.code ?? 'error'}); not called`, statusAfter: intent.status_before, apiResult: { http_status: e?.httpStatus ?? null, error_code: e?.code ?? 'unexpected_error', message: e?.message ?? String(error), attempts: 0, confirmed_by: confirmedBy }, entityUpdatedAtAfter: null }) };
    }
    const apiResult: ApiResult = { http_status: null, error_code: null, message: null, attempts: 0, confirmed_by: 'state_read' };
    const values = { valueBefore: def.micros(def.read(fresh)), valueAfter: def.micros(def.read(fresh)) };
    if (def.read(fresh) === intent.target) {
      const who = await this.observeForeign(intent, fresh, `it was already ${show(def, fresh)} when read again just before the call`);
      return { settlement: await this.settle(intent, { outcome: 'already_in_state', reason: `already ${show(def, fresh)} when read again just before the call (changed since the decision by ${who}): not called`, statusAfter: fresh.status, apiResult, entityUpdatedAtAfter: fresh.updatedAt, ...values }) };
    }
    const changed = changedSince(spec.seen, fresh, def);
    const starts = def.spend(spec.seen, intent.target) === 'starts';
    // Starting spend acts only on the entity as it was judged; a money change of any direction
    // too, since its target was computed from the value read.
    if (changed !== null && (starts || def.conflictClass === 'budget' || def.conflictClass === 'bid')) {
      const who = await this.observeForeign(intent, fresh, `it changed since the decision read it (${changed})`);
      return { settlement: await this.settle(intent, { outcome: 'skipped_manual_override', reason: `changed since the decision read it (${changed}${who === 'someone else' ? '' : `; held by ${who}`}): it acts only on the entity as it was judged; not called`, statusAfter: fresh.status, apiResult, entityUpdatedAtAfter: fresh.updatedAt, ...values }) };
    }
    // And on the ownership it was judged under: a hold taken since (by a run at the same moment) was not weighed.
    const cls = heldClassOf(intent);
    if (starts && cls !== null) {
      const since = await this.holdSince(intent, cls);
      if (since) return { settlement: await this.settle(intent, { outcome: 'skipped_conflict', reason: `held by ${describeHolder(since)} since the decision, which did not weigh that hold: starting spend acts only on the ownership it was judged under; not called`, statusAfter: fresh.status, apiResult, entityUpdatedAtAfter: fresh.updatedAt, ...values }) };
    }
    return { fresh };
  }

  private async callFailed(intent: DecisionRecord, error: unknown, confirmedBy: string | null): Promise<Settlement> {
    if (error instanceof ThradApiError && error.mayHaveApplied) {
      // The call may have landed: recording "failed" could hide an action the API took.
      await this.deps.crashPoints?.afterCall?.(intent);
      await this.deps.store.releaseIntent(intent, Math.ceil(this.deps.clock.nowMs() / 1000));
      this.deps.logger.warn('call unconfirmed; left for reconciliation', { decision_id: intent.decision_id, ...errorAttributes(error) });
      return { kind: 'unconfirmed', record: intent, error };
    }
    await this.deps.crashPoints?.afterCall?.(intent);
    const e = error instanceof ThradApiError ? error : null;
    const reason = error instanceof RequestBudgetExceededError ? `the hour's request budget is spent (${error.used}/${error.limit}); not called` : (e?.message ?? (error instanceof Error ? error.message : String(error)));
    return this.settle(intent, { outcome: 'failed', reason, statusAfter: intent.status_before, apiResult: { http_status: e?.httpStatus ?? null, error_code: e?.code ?? 'unexpected_error', message: e?.message ?? null, attempts: 0, confirmed_by: confirmedBy }, entityUpdatedAtAfter: null });
  }

  /** Record an intent's outcome, only if the intent is still ours. */
  async settle(intent: DecisionRecord, result: IntentResult): Promise<Settlement> {
    const record: DecisionRecord = {
      ...intent,
      outcome: result.outcome,
      reason: result.reason,
      status_after: result.statusAfter,
      api_result: result.apiResult,
      entity_updated_at_after: result.entityUpdatedAtAfter,
      lease_until_ms: null,
      ...(result.valueBefore !== undefined ? { value_before_micros: result.valueBefore } : {}),
      ...(result.valueAfter !== undefined ? { value_after_micros: result.valueAfter } : {}),
    };
    if (!(await this.deps.store.completeIntent(intent, result))) {
      this.deps.logger.error('lost the intent before recording its outcome (lease expired?)', { decision_id: intent.decision_id, outcome: result.outcome });
      return { kind: 'lost', record };
    }
    return { kind: 'settled', record };
  }

  /** After a change of ours: the entity as we left it, who holds that value now, and the cooldown memory. */
  async remember(intent: DecisionRecord, entity: EntitySnapshot, holder: Holder, remember: boolean): Promise<void> {
    const atMs = this.deps.clock.nowMs();
    const cls = heldClassOf(intent);
    const updates: MemoryUpdate[] = [{ entityId: intent.entity_id, observed: observation(entity, atMs), ...(cls ? { holder: { cls, holder: holder.kind === 'rule' ? { ...holder, decision_id: intent.decision_id, at_ms: atMs } : holder } } : {}) }];
    if (remember && intent.action !== null) updates.push({ entityId: intent.entity_id, remember: { rule_id: intent.rule_id, action: intent.action, outcome: 'acted', at_ms: atMs, entity_updated_at_after: entity.updatedAt, decision_id: intent.decision_id } });
    await this.deps.store.updateEntityMemories(intent.account_id, updates);
  }

  /** The entity changed without us: remember it as someone else's. */
  /**
   * The entity is found changed, not by this intent: remember it as someone else's, unless the
   * engine's memory already accounts for it (another run of the autopilot left it so: same status,
   * value and updated_at), whose holder stands. Returns who holds it, in words, for the reason.
   */
  async observeForeign(intent: DecisionRecord, entity: EntitySnapshot, detail: string): Promise<string> {
    const atMs = this.deps.clock.nowMs();
    const cls = heldClassOf(intent);
    const memory = (await this.deps.store.entityMemories(intent.account_id, [intent.entity_id])).get(intent.entity_id);
    const o = memory?.observed;
    const accounted = cls !== null && o !== null && o !== undefined && entity.updatedAt !== null && o.updated_at === entity.updatedAt && o.status === entity.status && CLASS_INFO[cls].observed(o) === CLASS_INFO[cls].read(entity);
    const standing = cls === null ? undefined : memory?.holders[cls];
    if (accounted && standing) return describeHolder(standing);
    const person: Holder = { kind: 'person', at_ms: entity.updatedAt === null ? atMs : entity.updatedAt * 1000, detail };
    await this.deps.store.updateEntityMemories(intent.account_id, [{ entityId: intent.entity_id, observed: observation(entity, atMs), ...(cls ? { holder: { cls, holder: person } } : {}) }]);
    return 'someone else';
  }

  /**
   * Before a start of spend: who holds the value now, if a hold was taken since the decision (a
   * concurrent run's rule, found already paused and holding it): the decision did not weigh it.
   */
  private async holdSince(intent: DecisionRecord, cls: HeldClass): Promise<Holder | null> {
    const stored = (await this.deps.store.entityMemories(intent.account_id, [intent.entity_id])).get(intent.entity_id)?.holders[cls];
    if (!stored || intent.holder === null || sameHolder(stored, intent.holder)) return null;
    if (stored.kind === 'rule' && stored.rule_id === intent.rule_id) return null;
    return stored;
  }
}

function sameHolder(a: Holder, b: Holder): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'rule' && b.kind === 'rule') return a.rule_id === b.rule_id && a.intent === b.intent && a.by === b.by && a.decision_id === b.decision_id;
  if (a.kind === 'person' && b.kind === 'person') return a.at_ms === b.at_ms;
  return true;
}
