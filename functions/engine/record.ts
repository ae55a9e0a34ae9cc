// Decision records as the audit trail stores them, built in one place from what a run read and
// decided: the windows as read (the range whose data decided), the observed values, the
// explanation tree, the holder, and the outcome.
import { actionDefinition } from '../actions/registry';
import type { DecisionRecord, RecordOutcome, WindowRecord } from '../audit/records';
import { decisionIdFor } from '../audit/store';
import { observedValues, type CompiledRule, type EntityFacts } from '../rules/compile';
import type { EntityRecord } from '../rules/facts';
import type { PolicyDecision } from '../rules/policy';
import { describeWindow } from '../rules/windows';
import type { RunContext } from './context';
import { windowReadKey, type ReadFailure, type ReadResult } from './reads';

/** The windows a rule read, as recorded: the ranges read (after widening), with why they differ from the window. */
export function windowRecords(rule: CompiledRule, reads: ReadResult): WindowRecord[] {
  const out: WindowRecord[] = [];
  for (const need of rule.needs.values()) {
    const read = reads.windows.get(windowReadKey(rule.rule.level, need.ref.key));
    if (read) out.push(describeWindow(read.window, read.range, read.note));
  }
  return out;
}

/** What a run and its rule give every record. */
type RunFields = 'run_id' | 'account_id' | 'rule_id' | 'rule_version' | 'scheduled_time' | 'evaluated_at' | 'trigger' | 'mode' | 'priority' | 'lease_until_ms' | 'undoes' | 'expires_at' | 'approves';
/** What a decision gives its record (the intent's call times are set by the act phase). */
type OwnFields = Omit<DecisionRecord, RunFields | 'called_at_s' | 'call_ended_at_s'>;

/**
 * A record from its run's and rule's fields and the decision's own, written out field by field: V8
 * builds a literal of this size from its boilerplate in well under a microsecond, while spreading
 * one object into a literal of 40 fields costs about 100 µs (a new hidden class for every record):
 * seconds, for the thousands of records of one run, and as much again in the garbage collector.
 */
function assemble(ctx: RunContext, rule: CompiledRule, expiresAt: number, own: OwnFields): DecisionRecord {
  return {
    run_id: ctx.runId,
    account_id: ctx.accountId,
    rule_id: rule.id,
    rule_version: rule.version,
    scheduled_time: ctx.occurrence,
    evaluated_at: new Date(ctx.nowMs).toISOString(),
    trigger: ctx.trigger,
    mode: ctx.forcedDryRun ? 'dry_run' : rule.rule.mode,
    priority: rule.rule.priority,
    lease_until_ms: null,
    undoes: null,
    approves: null,
    expires_at: expiresAt,
    decision_id: own.decision_id,
    level: own.level,
    entity_id: own.entity_id,
    entity_name: own.entity_name,
    campaign_id: own.campaign_id,
    windows: own.windows,
    observed: own.observed,
    explanation: own.explanation,
    outcome: own.outcome,
    reason: own.reason,
    action: own.action,
    status_before: own.status_before,
    status_after: own.status_after,
    target: own.target,
    value_before_micros: own.value_before_micros,
    value_after_micros: own.value_after_micros,
    api_result: own.api_result,
    entity_updated_at_before: own.entity_updated_at_before,
    entity_updated_at_after: own.entity_updated_at_after,
    holder: own.holder,
    approval: own.approval,
    message: own.message,
  };
}

/** The record of one (rule, entity) decision; `pending` when it acts through an API call. */
export function decisionRecord(ctx: RunContext, rule: CompiledRule, entity: EntityRecord, facts: EntityFacts, decision: PolicyDecision, reads: ReadResult, calls: boolean, expiresAt: number, approvalExpiresMs: number): DecisionRecord {
  const explanation = rule.explain(facts, ctx.nowMs);
  const outcome: RecordOutcome = decision.outcome === 'act' ? (calls ? 'pending' : 'acted') : decision.outcome;
  const mode = ctx.forcedDryRun ? 'dry_run' : rule.rule.mode;
  const def = actionDefinition(rule.rule.then.action);
  const valueBefore = def.micros(def.read(entity));
  const proposing = outcome === 'awaiting_approval';
  return assemble(ctx, rule, expiresAt, {
    decision_id: decisionIdFor(ctx.accountId, rule.id, entity.id, ctx.occurrence, ctx.forcedDryRun ? 'forced_dry_run' : mode),
    level: entity.level,
    entity_id: entity.id,
    entity_name: entity.name,
    campaign_id: entity.campaignId,
    windows: windowRecords(rule, reads),
    observed: observedValues(explanation),
    explanation,
    outcome,
    reason: decision.reason,
    action: rule.rule.then.action,
    status_before: entity.status,
    status_after: outcome === 'pending' || proposing ? null : entity.status,
    target: decision.target,
    value_before_micros: valueBefore,
    value_after_micros: outcome === 'pending' || proposing ? null : valueBefore,
    api_result: null,
    entity_updated_at_before: entity.updatedAt,
    entity_updated_at_after: null,
    holder: decision.holder,
    approval: proposing ? { expires_at: new Date(ctx.nowMs + approvalExpiresMs).toISOString(), resolved_at: null, resolved_by: null, decision_id: null, note: null } : null,
    message: rule.rule.then.message ?? null,
  });
}

/** One record for a rule that could not read what it needs: it acted on nothing. */
export function unavailableRecord(ctx: RunContext, rule: CompiledRule, failure: ReadFailure, reads: ReadResult, expiresAt: number): DecisionRecord {
  const reason = `could not read ${failure.what} (${failure.code}${failure.code === 'answer_mismatch' ? `: ${failure.message}` : ''}): nothing acts on partial or mismatched data`;
  const mode = ctx.forcedDryRun ? 'dry_run' : rule.rule.mode;
  return assemble(ctx, rule, expiresAt, {
    decision_id: decisionIdFor(ctx.accountId, rule.id, '*', ctx.occurrence, ctx.forcedDryRun ? 'forced_dry_run' : mode),
    level: rule.rule.level,
    entity_id: '*',
    entity_name: '*',
    campaign_id: null,
    windows: windowRecords(rule, reads),
    observed: {},
    explanation: null,
    outcome: 'data_unavailable',
    reason,
    action: rule.rule.then.action,
    status_before: null,
    status_after: null,
    target: null,
    value_before_micros: null,
    value_after_micros: null,
    api_result: { http_status: null, error_code: failure.code, message: failure.message, attempts: 0, confirmed_by: null },
    entity_updated_at_before: null,
    entity_updated_at_after: null,
    holder: null,
    approval: null,
    message: null,
  });
}
