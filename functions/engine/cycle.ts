// One engine cycle: claim the occurrence, reconcile intents left by a dead run, plan and read,
// evaluate, apply the decision policy, act exactly once (intent → call → outcome), record every
// decision and a run summary, and send one digest. The same code runs in the Lambda handler and
// in the local runner.
import { randomBytes } from 'node:crypto';
import { runSummary, type DecisionRecord, type EntityState, type Outcome, type RecordOutcome, type RunSummary, type Trigger } from '../audit/records';
import { decisionIdFor, type AuditStore } from '../audit/store';
import { durationMs, observedValues, VERDICT_NAMES, type CompiledRule, type CompiledRuleSet, type EntityFacts } from '../rules/compile';
import { buildFacts, type EntityRecord, type WindowTotals } from '../rules/facts';
import { planReads } from '../rules/plan';
import { decide, readBackTarget, type Candidate, type PolicyDecision, type PriorAction, type PriorDecisions } from '../rules/policy';
import { describeWindow, resolveWindow } from '../rules/windows';
import { systemClock, type Clock } from '../shared/clock';
import { forEachConcurrent } from '../shared/concurrency';
import type { ThradClient } from '../thrad/client';
import { RequestBudgetExceededError, ThradApiError } from '../thrad/errors';
import type { Level } from '../thrad/wire';
import { errorAttributes, silentLogger, type EngineLogger } from './logger';
import type { Notifier } from './notifier';
import { readForPlan, type ReadResult } from './reads';
import { UNDO_RULE_ID } from './undo';

export interface EngineDeps {
  client: ThradClient;
  store: AuditStore;
  rules: CompiledRuleSet;
  notifier: Notifier;
  logger?: EngineLogger;
  /** The engine clock: windows, schedules and record times (the sandbox's when following it). */
  clock?: Clock;
  /** Real time: deadlines and leases. */
  realClock?: Clock;
  /** The ad account id when known (saves a GET /ad_account per cold start). */
  accountId?: string;
  /** Status calls in flight at once. */
  actionConcurrency?: number;
  /** Each decision as it is settled (the local runner prints these). */
  onDecision?: (record: DecisionRecord) => void;
  onProgress?: (event: { phase: string; done: number; total: number; entities: number }) => void;
  /**
   * Points where a fault test can stop the run as a crash would: after the intent is written
   * (before the call), and after the call (before its outcome is recorded).
   */
  crashPoints?: { afterIntent?: (intent: DecisionRecord) => Promise<void> | void; afterCall?: (intent: DecisionRecord) => Promise<void> | void };
}

export interface CycleRequest {
  /** Rules to run; default: every enabled rule. */
  ruleIds?: readonly string[];
  /** The scheduled occurrence (ISO 8601 or Unix ms); default: now. */
  scheduledTime?: string | number;
  /** The schedule this occurrence belongs to: a run claims (schedule, time) so a redelivery does nothing twice. */
  scheduleId?: string | null;
  /** Forces every rule to this mode (`dry_run` for previews and --dry-run). */
  mode?: 'live' | 'dry_run';
  /** Real-time Unix ms by which the run must be done (the Lambda's remaining time). */
  deadlineMs: number;
  trigger?: Trigger;
  /** Overrides the engine clock for this run. */
  clock?: Clock;
  /** Evaluate and decide, but neither act nor record anything (preview). */
  evaluateOnly?: boolean;
}

export interface PreviewEntry {
  rule_id: string;
  entity_id: string;
  entity_name: string;
  verdict: 'match' | 'insufficient_data';
  outcome: string;
  reason: string;
  action: string;
  explanation: unknown;
}

export interface CycleResult {
  summary: RunSummary;
  decisions: DecisionRecord[];
  /** With evaluateOnly: what each match would lead to. */
  preview: PreviewEntry[];
}

const STATUS_ACTIONS = new Set(['pause', 'activate', 'archive']);
const LEASE_MARGIN_MS = 5_000;
/** Independent audit-store writes in flight at once. */
const STORE_CONCURRENCY = 16;

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

function newRunId(nowMs: number): string {
  return `run_${new Date(nowMs).toISOString().replace(/[-:.]/g, '').slice(0, 15)}_${randomBytes(3).toString('hex')}`;
}

/** What a run has settled so far: its decisions, and their outcomes counted overall and per rule. */
interface Tally {
  decisions: DecisionRecord[];
  counts: Record<string, number>;
  perRule: Record<string, Record<string, number>>;
}

/** An intent's outcome: what is stored and what is reported are the same values. */
interface IntentResult {
  outcome: Outcome;
  reason: string;
  statusAfter: string | null;
  apiResult: DecisionRecord['api_result'];
  entityUpdatedAtAfter: number | null;
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** The policy's view of prior decisions, from the entity state items. */
function priorFrom(states: Awaited<ReturnType<AuditStore['entityStates']>>): PriorDecisions {
  const toPrior = (p: { rule_id: string; action: PriorAction['action']; outcome: 'acted' | 'would_act'; at_ms: number; entity_updated_at_after: number | null }): PriorAction => ({
    ruleId: p.rule_id,
    action: p.action,
    outcome: p.outcome,
    atMs: p.at_ms,
    entityUpdatedAtAfter: p.entity_updated_at_after,
  });
  return {
    lastAction: (ruleId, entityId, dryRun) => {
      const state = states.get(entityId);
      if (!state) return undefined;
      const acted = state.acted.get(ruleId);
      const would = dryRun ? state.wouldAct.get(ruleId) : undefined;
      const latest = [acted, would].filter((p) => p !== undefined).sort((a, b) => b.at_ms - a.at_ms)[0];
      return latest ? toPrior(latest) : undefined;
    },
    lastStatusChange: (entityId) => {
      const last = states.get(entityId)?.lastStatusChange;
      return last ? toPrior(last) : undefined;
    },
  };
}

export class Engine {
  private accountId: string | undefined;
  /** This engine's name in the shared request ledger, and what it has already taken from others there. */
  private readonly writerId = randomBytes(4).toString('hex');
  private readonly ledgerSeen = new Map<string, number>();
  private readonly logger: EngineLogger;
  private readonly realClock: Clock;

  constructor(private readonly deps: EngineDeps) {
    this.accountId = deps.accountId;
    this.logger = deps.logger ?? silentLogger;
    this.realClock = deps.realClock ?? systemClock;
  }

  get ruleSet(): CompiledRuleSet {
    return this.deps.rules;
  }

  /** The ad account id (fetched once per process). */
  async account(deadlineMs: number): Promise<string> {
    this.accountId ??= (await this.deps.client.getAdAccount({ deadlineMs })).id;
    return this.accountId;
  }

  async runCycle(request: CycleRequest): Promise<CycleResult> {
    const clock = request.clock ?? this.deps.clock ?? systemClock;
    const { client, store } = this.deps;
    const startedReal = this.realClock.nowMs();
    const nowMs = clock.nowMs();
    const occurrenceMs = request.scheduledTime === undefined ? nowMs : typeof request.scheduledTime === 'number' ? request.scheduledTime : Date.parse(request.scheduledTime);
    const occurrence = isoSeconds(occurrenceMs);
    const runId = newRunId(nowMs);
    const trigger = request.trigger ?? 'local';
    const tally: Tally = { decisions: [], counts: {}, perRule: {} };
    const { decisions, counts, perRule } = tally;
    const errors: RunSummary['errors'] = [];
    const preview: PreviewEntry[] = [];
    const log = { run_id: runId, scheduled_time: occurrence };
    let entitiesRead = 0;

    const selected: CompiledRule[] = [];
    const requested = request.ruleIds ?? this.deps.rules.rules.map((r) => r.id);
    for (const id of requested) {
      const rule = this.deps.rules.byId.get(id);
      if (!rule) errors.push({ rule_id: id, code: 'unknown_rule', message: `No rule "${id}" in the deployed rule set (was it removed? redeploy to update the schedules)` });
      else if (rule.rule.enabled) selected.push(rule);
    }
    this.logger.info('run started', { ...log, rule_ids: selected.map((r) => r.id), trigger });

    const summarize = (accountId: string, status: RunSummary['status'], progress: Partial<RunSummary> = {}): RunSummary =>
      runSummary(
        { run_id: runId, account_id: accountId, schedule_id: request.scheduleId ?? null, scheduled_time: occurrence, started_at: new Date(nowMs).toISOString(), status, trigger, rule_ids: selected.map((r) => r.id), errors, expires_at: store.expiresAt() },
        { finished_at: new Date(clock.nowMs()).toISOString(), duration_ms: Math.round(this.realClock.nowMs() - startedReal), mode_override: request.mode ?? null, ...progress },
      );

    const finish = async (accountId: string, status: RunSummary['status']): Promise<CycleResult> => {
      let remaining: number | null = null;
      try {
        remaining = (await client.budgetSnapshot()).remaining;
      } catch {
        remaining = null;
      }
      const used = requestsThisRun();
      const summary = summarize(accountId, status, { counts, per_rule: perRule, api_requests: used, api_requests_remaining: remaining, entities_read: entitiesRead });
      if (!request.evaluateOnly) {
        await store.putRunSummary(summary);
        if (keyFp !== undefined && used > 0) {
          const minute = Math.floor(clock.nowMs() / 60_000) * 60_000;
          await store.recordRequests(accountId, keyFp, this.writerId, new Map([[minute, used]])).catch((error: unknown) => this.logger.warn('could not record request counts', errorAttributes(error)));
        }
        await this.deps.notifier.notify({ summary, decisions }).catch((error: unknown) => this.logger.warn('could not send the run digest', errorAttributes(error)));
      }
      this.logger.info('run finished', { ...log, status, counts, api_requests: used, api_requests_remaining: remaining, duration_ms: summary.duration_ms });
      return { summary, decisions, preview };
    };

    // This run's requests, for the summary and the shared ledger.
    const takenAtStart = client.budget.totalTaken;
    const requestsThisRun = (): number => client.budget.totalTaken - takenAtStart;
    let keyFp: string | undefined;

    let accountId: string;
    try {
      accountId = await this.account(request.deadlineMs);
      keyFp = await client.currentKeyFingerprint();
    } catch (error) {
      errors.push({ rule_id: null, code: error instanceof ThradApiError ? error.code : 'account_unavailable', message: error instanceof Error ? error.message : String(error) });
      this.logger.error('could not read the ad account; nothing can run', { ...log, ...errorAttributes(error) });
      // Without the account nothing can be recorded (records are kept per account): the summary is returned, and logged.
      return { summary: summarize('unknown', 'failed', { api_requests: requestsThisRun() }), decisions, preview };
    }

    // Other processes' requests with this key count against the same hourly limit.
    if (!request.evaluateOnly) {
      try {
        for (const entry of await store.recentRequests(accountId, keyFp)) {
          if (entry.writerId === this.writerId) continue;
          const key = `${keyFp}|${entry.minuteMs}|${entry.writerId}`;
          const delta = entry.count - (this.ledgerSeen.get(key) ?? 0);
          if (delta > 0) client.budget.recordExternal(keyFp, Array.from({ length: delta }, () => entry.minuteMs));
          this.ledgerSeen.set(key, Math.max(entry.count, this.ledgerSeen.get(key) ?? 0));
        }
      } catch (error) {
        this.logger.warn('could not read the request ledger', errorAttributes(error));
      }
    }

    // Claim the occurrence: a redelivery after completion, or a concurrent delivery, does nothing.
    let takeover = false;
    if (request.scheduleId && !request.evaluateOnly) {
      const claim = await store.claimOccurrence(accountId, request.scheduleId, occurrence, runId, request.deadlineMs + LEASE_MARGIN_MS);
      if (claim.status === 'completed' || claim.status === 'in_progress') {
        errors.push({ rule_id: null, code: `occurrence_${claim.status}`, message: `Occurrence ${occurrence} of ${request.scheduleId} is ${claim.status === 'completed' ? 'already done' : 'being run'} by ${claim.runId}; nothing to do` });
        this.logger.info('occurrence already handled', { ...log, by: claim.runId, state: claim.status });
        return finish(accountId, 'skipped_duplicate');
      }
      takeover = claim.status === 'taken_over';
    }

    try {
      if (!request.evaluateOnly) await this.reconcile(accountId, runId, request.deadlineMs, clock, tally);

      const plan = planReads(selected);
      const reads = await readForPlan(plan, { client, logger: this.logger, deadlineMs: request.deadlineMs, nowMs: clock.nowMs(), onProgress: this.deps.onProgress });
      entitiesRead = Object.values(reads.entities).reduce((sum, list) => sum + list.length, 0);

      const candidates: { candidate: Candidate; rule: CompiledRule; entity: EntityRecord; facts: EntityFacts; verdict: 'match' | 'insufficient_data' }[] = [];
      const unavailable: { rule: CompiledRule; reason: string; code: string }[] = [];
      const evalNow = clock.nowMs();
      const factsByLevel = new Map<Level, Map<string, EntityFacts>>();
      for (const rule of selected) {
        const stats = (perRule[rule.id] ??= {});
        const level = rule.rule.level;
        const entities = reads.entities[level];
        const missing = reads.levelFailures[level] ?? [...rule.needs.values()].map((n) => reads.windowFailures.get(`${level}|${n.ref.key}`)).find((f) => f !== undefined);
        if (!entities || missing) {
          const reason = `could not read ${missing?.what ?? 'its data'} (${missing?.code ?? 'unknown'}): nothing acts on partial data`;
          unavailable.push({ rule, reason, code: missing?.code ?? 'unknown' });
          bump(counts, 'data_unavailable');
          bump(stats, 'data_unavailable');
          continue;
        }
        let levelFacts = factsByLevel.get(level);
        if (!levelFacts) {
          levelFacts = this.buildLevelFacts(level, entities, reads);
          factsByLevel.set(level, levelFacts);
        }
        for (const entity of entities) {
          const facts = levelFacts.get(entity.id) as EntityFacts;
          if (!rule.inScope(facts)) continue;
          const verdict = VERDICT_NAMES[rule.evaluate(facts, evalNow)];
          bump(stats, 'evaluated');
          if (verdict === 'no_match') {
            bump(counts, 'no_match');
            bump(stats, 'no_match');
            continue;
          }
          if (verdict === 'insufficient_data') {
            bump(counts, 'insufficient_data');
            bump(stats, 'insufficient_data');
          }
          candidates.push({
            rule,
            entity,
            facts,
            verdict,
            candidate: {
              rule: {
                id: rule.id,
                action: rule.rule.then.action,
                mode: request.mode ?? rule.rule.mode,
                priority: rule.rule.priority,
                cooldownMs: durationMs(rule.rule.guards.cooldown),
                maxActionsPerRun: rule.rule.guards.max_actions_per_run,
                onlyIfPausedBy: rule.rule.then.only_if_paused_by,
              },
              entity: { id: entity.id, status: entity.status, updatedAt: entity.updatedAt, level: entity.level },
              verdict,
            },
          });
        }
      }

      const matched = candidates.filter((c) => c.verdict === 'match');
      const states = matched.length > 0 ? await store.entityStates(accountId, matched.map((c) => c.entity.id)) : new Map<string, EntityState>();
      const policy = decide(matched.map((c) => c.candidate), priorFrom(states), evalNow);
      const byCandidate = new Map<Candidate, PolicyDecision>(policy.map((d) => [d.candidate, d]));

      if (request.evaluateOnly) {
        for (const c of candidates) {
          const d = byCandidate.get(c.candidate);
          preview.push({
            rule_id: c.rule.id,
            entity_id: c.entity.id,
            entity_name: c.entity.name,
            verdict: c.verdict,
            outcome: d ? (d.outcome === 'act' ? 'would_act' : d.outcome) : 'insufficient_data',
            reason: d?.reason ?? 'not enough data to decide; no action',
            action: c.rule.rule.then.action,
            explanation: c.rule.explain(c.facts, evalNow),
          });
        }
        for (const u of unavailable) preview.push({ rule_id: u.rule.id, entity_id: '*', entity_name: '*', verdict: 'insufficient_data', outcome: 'data_unavailable', reason: u.reason, action: u.rule.rule.then.action, explanation: null });
        return await finish(accountId, 'completed');
      }

      // Records for everything that matched; intents for what acts.
      const plain: DecisionRecord[] = [];
      const toAct: { record: DecisionRecord; rule: CompiledRule }[] = [];
      for (const c of matched) {
        const d = byCandidate.get(c.candidate) as PolicyDecision;
        const record = this.record(accountId, runId, occurrence, trigger, c.rule, c.entity, c.facts, d, evalNow, request.mode);
        if (d.outcome === 'act' && STATUS_ACTIONS.has(c.rule.rule.then.action)) {
          toAct.push({ record, rule: c.rule });
        } else {
          plain.push(record);
        }
      }
      for (const u of unavailable) plain.push(this.unavailableRecord(accountId, runId, occurrence, trigger, u.rule, u.reason, u.code, evalNow, request.mode));

      // Dry-run and notify memories (for cooldowns), then the plain records.
      const memories = plain.flatMap((r) =>
        (r.outcome === 'would_act' || r.outcome === 'acted') && r.action !== null && durationMs(this.deps.rules.byId.get(r.rule_id)?.rule.guards.cooldown) > 0
          ? [{ entityId: r.entity_id, prior: { rule_id: r.rule_id, action: r.action, outcome: r.outcome, at_ms: evalNow, entity_updated_at_after: null, decision_id: r.decision_id } }]
          : [],
      );
      await forEachConcurrent(memories, STORE_CONCURRENCY, (m) => store.recordEntityAction(accountId, m.entityId, m.prior, false));
      if (takeover) {
        for (const record of plain) {
          const claim = await store.claimDecision(record);
          if (claim.claimed) this.settled(record, tally);
          else bump(counts, 'duplicate');
        }
      } else {
        await store.putDecisions(plain);
        for (const record of plain) this.settled(record, tally);
      }

      await this.act(toAct, request.deadlineMs, clock, tally);
      const summary = await finish(accountId, 'completed');
      if (request.scheduleId) await store.finishOccurrence(accountId, request.scheduleId, occurrence, runId, 'completed');
      return summary;
    } catch (error) {
      errors.push({ rule_id: null, code: error instanceof ThradApiError ? error.code : error instanceof Error ? error.name : 'error', message: error instanceof Error ? error.message : String(error) });
      this.logger.error('run failed', { ...log, ...errorAttributes(error) });
      if (request.scheduleId && !request.evaluateOnly) await store.finishOccurrence(accountId, request.scheduleId, occurrence, runId, 'failed').catch(() => false);
      const result = await finish(accountId, 'failed').catch(() => null);
      if (result) return result;
      throw error;
    }
  }

  private buildLevelFacts(level: Level, entities: readonly EntityRecord[], reads: ReadResult): Map<string, EntityFacts> {
    const layout = this.deps.rules.layouts[level];
    const totals = new Map<string, Map<string, WindowTotals>>();
    for (const ref of layout.windows) {
      const t = reads.totals.get(`${level}|${ref.key}`);
      if (t) totals.set(ref.key, t);
    }
    return new Map(entities.map((e) => [e.id, buildFacts(e, layout, totals)]));
  }

  private windowsOf(rule: CompiledRule, entity: EntityRecord | null, nowMs: number): DecisionRecord['windows'] {
    return [...rule.needs.values()].map(({ ref }) =>
      describeWindow(resolveWindow(ref.name, ref.timezone, nowMs, ref.name === 'lifetime' && entity?.startTime !== null && entity?.startTime !== undefined ? entity.startTime * 1000 : undefined)),
    );
  }

  private record(accountId: string, runId: string, occurrence: string, trigger: Trigger, rule: CompiledRule, entity: EntityRecord, facts: EntityFacts, d: PolicyDecision, nowMs: number, mode?: 'live' | 'dry_run'): DecisionRecord {
    const explanation = rule.explain(facts, nowMs);
    const effectiveMode = mode ?? rule.rule.mode;
    const action = rule.rule.then.action;
    const outcome: RecordOutcome = d.outcome === 'act' ? (STATUS_ACTIONS.has(action) ? 'pending' : 'acted') : d.outcome;
    return {
      decision_id: decisionIdFor(accountId, rule.id, entity.id, occurrence),
      run_id: runId,
      account_id: accountId,
      rule_id: rule.id,
      rule_version: rule.version,
      level: entity.level,
      entity_id: entity.id,
      entity_name: entity.name,
      campaign_id: entity.campaignId,
      scheduled_time: occurrence,
      evaluated_at: new Date(nowMs).toISOString(),
      trigger,
      windows: this.windowsOf(rule, entity, nowMs),
      observed: observedValues(explanation),
      explanation,
      outcome,
      reason: d.reason,
      action,
      mode: effectiveMode,
      status_before: entity.status,
      status_after: outcome === 'pending' ? null : entity.status,
      api_result: null,
      lease_until_ms: null,
      entity_updated_at_after: null,
      undoes: null,
      message: rule.rule.then.message ?? null,
      expires_at: this.deps.store.expiresAt(),
    };
  }

  private unavailableRecord(accountId: string, runId: string, occurrence: string, trigger: Trigger, rule: CompiledRule, reason: string, code: string, nowMs: number, mode?: 'live' | 'dry_run'): DecisionRecord {
    return {
      decision_id: decisionIdFor(accountId, rule.id, '*', occurrence),
      run_id: runId,
      account_id: accountId,
      rule_id: rule.id,
      rule_version: rule.version,
      level: rule.rule.level,
      entity_id: '*',
      entity_name: '*',
      campaign_id: null,
      scheduled_time: occurrence,
      evaluated_at: new Date(nowMs).toISOString(),
      trigger,
      windows: this.windowsOf(rule, null, nowMs),
      observed: {},
      explanation: null,
      outcome: 'data_unavailable',
      reason,
      action: rule.rule.then.action,
      mode: mode ?? rule.rule.mode,
      status_before: null,
      status_after: null,
      api_result: { http_status: null, error_code: code, message: reason, attempts: 0, confirmed_by: null },
      lease_until_ms: null,
      entity_updated_at_after: null,
      undoes: null,
      message: null,
      expires_at: this.deps.store.expiresAt(),
    };
  }

  private settled(record: DecisionRecord, tally: Tally): void {
    tally.decisions.push(record);
    if (record.outcome !== 'data_unavailable' && record.outcome !== 'insufficient_data') {
      bump(tally.counts, record.outcome);
      bump((tally.perRule[record.rule_id] ??= {}), record.outcome);
    }
    this.deps.onDecision?.(record);
    const level = record.outcome === 'failed' ? 'warn' : 'info';
    this.logger[level]('decision', {
      run_id: record.run_id,
      decision_id: record.decision_id,
      rule_id: record.rule_id,
      entity_id: record.entity_id,
      action: record.action,
      outcome: record.outcome,
      mode: record.mode,
      observed: record.observed,
      api_result: record.api_result,
    });
  }

  /** Intent → status call → outcome, a few at a time, within the deadline and the request budget. */
  private async act(items: { record: DecisionRecord; rule: CompiledRule }[], deadlineMs: number, clock: Clock, tally: Tally): Promise<void> {
    await forEachConcurrent(items, this.deps.actionConcurrency ?? 4, (item) => this.actOne(item.record, deadlineMs, clock, tally));
  }

  private async actOne(pending: DecisionRecord, deadlineMs: number, clock: Clock, tally: Tally): Promise<void> {
    const { store } = this.deps;
    const action = pending.action as 'pause' | 'activate' | 'archive';
    if (this.realClock.nowMs() > deadlineMs - 1_000) {
      const record: DecisionRecord = { ...pending, outcome: 'failed', reason: 'no time left before the run deadline; not called', api_result: { http_status: null, error_code: 'deadline_exceeded', message: null, attempts: 0, confirmed_by: null } };
      const claim = await store.claimDecision(record);
      if (claim.claimed) this.settled(record, tally);
      else bump(tally.counts, 'duplicate');
      return;
    }
    const intent: DecisionRecord = { ...pending, outcome: 'pending', lease_until_ms: deadlineMs + LEASE_MARGIN_MS };
    const claim = await store.claimDecision(intent);
    if (!claim.claimed) {
      // Another delivery of this occurrence already decided this (rule, entity): never call twice.
      bump(tally.counts, 'duplicate');
      this.logger.info('decision already recorded for this occurrence; not calling again', { decision_id: pending.decision_id, by: claim.existing?.run_id });
      return;
    }
    await this.deps.crashPoints?.afterIntent?.(intent);
    await this.callAndRecord(intent, action, deadlineMs, clock, tally, null);
  }

  private async callAndRecord(intent: DecisionRecord, action: 'pause' | 'activate' | 'archive', deadlineMs: number, clock: Clock, tally: Tally, confirmedBy: string | null): Promise<void> {
    const { client, store } = this.deps;
    let outcome: Outcome;
    let reason: string;
    let statusAfter: string | null = intent.status_before;
    let updatedAt: number | null = null;
    let apiResult: DecisionRecord['api_result'];
    try {
      const result = await client.setStatus(intent.level, intent.entity_id, action, { deadlineMs, idempotencyKey: intent.decision_id });
      statusAfter = result.entity.status;
      updatedAt = result.entity.updated_at ?? null;
      if (result.outcome === 'changed') {
        outcome = 'acted';
        reason = intent.reason;
      } else if (result.earlierAttemptMayHaveApplied) {
        // Our earlier attempt landed; the retry found the entity already there.
        outcome = 'acted';
        reason = `${intent.reason}; confirmed by reading the ${intent.level} after a retried call`;
      } else {
        outcome = 'already_in_state';
        reason = `the API answered that it is already ${statusAfter}`;
      }
      apiResult = { http_status: 200, error_code: null, message: null, attempts: result.attempts, confirmed_by: result.earlierAttemptMayHaveApplied ? 'state_read' : confirmedBy };
    } catch (error) {
      if (error instanceof ThradApiError && error.mayHaveApplied) {
        // The call may have landed: recording "failed" could hide an action the API took. Leave the
        // intent for reconciliation, which reads the entity and decides.
        await this.deps.crashPoints?.afterCall?.(intent);
        await store.releaseIntent(intent);
        bump(tally.counts, 'unconfirmed');
        this.logger.warn('status call unconfirmed; left for reconciliation', { decision_id: intent.decision_id, ...errorAttributes(error) });
        return;
      }
      outcome = 'failed';
      const e = error instanceof ThradApiError ? error : null;
      reason = error instanceof RequestBudgetExceededError ? `the hour's request budget is spent (${error.used}/${error.limit}); not called` : (e?.message ?? (error instanceof Error ? error.message : String(error)));
      apiResult = { http_status: e?.httpStatus ?? null, error_code: e?.code ?? 'unexpected_error', message: e?.message ?? null, attempts: 0, confirmed_by: confirmedBy };
      statusAfter = intent.status_before;
    }
    await this.deps.crashPoints?.afterCall?.(intent);
    if (outcome === 'acted') {
      await store.recordEntityAction(intent.account_id, intent.entity_id, { rule_id: intent.rule_id, action, outcome: 'acted', at_ms: clock.nowMs(), entity_updated_at_after: updatedAt, decision_id: intent.decision_id }, true);
    }
    await this.settleIntent(intent, { outcome, reason, statusAfter, apiResult, entityUpdatedAtAfter: updatedAt }, tally);
  }

  /** Record an intent's outcome (only if the intent is still ours) and settle it with the same values. */
  private async settleIntent(intent: DecisionRecord, result: IntentResult, tally: Tally): Promise<void> {
    if (!(await this.deps.store.completeIntent(intent, result))) {
      this.logger.error('lost the intent before recording its outcome (lease expired?)', { decision_id: intent.decision_id, outcome: result.outcome });
      bump(tally.counts, 'lost_intent');
      return;
    }
    this.settled({ ...intent, outcome: result.outcome, reason: result.reason, status_after: result.statusAfter, api_result: result.apiResult, entity_updated_at_after: result.entityUpdatedAtAfter, lease_until_ms: null }, tally);
  }

  /**
   * Intents whose run died between intent and outcome: the entity's current state decides.
   * In the target state → acted. Otherwise, while the occurrence is still current and nobody
   * changed the entity, the call is made again; else → failed.
   */
  private async reconcile(accountId: string, runId: string, deadlineMs: number, clock: Clock, tally: Tally): Promise<void> {
    const { client, store } = this.deps;
    const expired = await store.expiredIntents(accountId);
    for (const intent of expired) {
      const action = intent.action as 'pause' | 'activate' | 'archive';
      if (!(await store.takeOverIntent(intent, runId, deadlineMs + LEASE_MARGIN_MS))) continue;
      const owned = { ...intent, run_id: runId };
      let entity;
      try {
        entity = await client.getEntity(intent.level, intent.entity_id, { deadlineMs });
      } catch (error) {
        // Leave it pending for the next run; our lease lapses with this run.
        this.logger.warn('could not read an entity to reconcile an intent', { decision_id: intent.decision_id, ...errorAttributes(error) });
        continue;
      }
      bump(tally.counts, 'reconciled');
      const target = readBackTarget(action, intent.level);
      if (entity.status === target) {
        await store.recordEntityAction(accountId, intent.entity_id, { rule_id: intent.rule_id, action, outcome: 'acted', at_ms: clock.nowMs(), entity_updated_at_after: entity.updated_at ?? null, decision_id: intent.decision_id }, true);
        await this.settleIntent(
          owned,
          {
            outcome: 'acted',
            reason: `${intent.reason}; its run stopped before recording the outcome, and the ${intent.level} was found ${target}`,
            statusAfter: entity.status,
            apiResult: { http_status: null, error_code: null, message: null, attempts: 0, confirmed_by: 'reconciled' },
            entityUpdatedAtAfter: entity.updated_at ?? null,
          },
          tally,
        );
        continue;
      }
      const rule = this.deps.rules.byId.get(intent.rule_id);
      const ageMs = clock.nowMs() - Date.parse(intent.scheduled_time);
      const unchanged = entity.status === intent.status_before;
      if (rule && unchanged && ageMs < rule.periodSeconds * 1000) {
        await this.callAndRecord(owned, action, deadlineMs, clock, tally, 'reconciled_retry');
        continue;
      }
      const why = intent.rule_id === UNDO_RULE_ID ? 'an undo is never retried on its own' : !rule ? 'its rule is gone' : !unchanged ? `the ${intent.level} changed to ${entity.status} since` : 'the occurrence is too old to retry';
      await this.settleIntent(
        owned,
        {
          outcome: 'failed',
          reason: `its run stopped before the call was confirmed, the ${intent.level} is ${entity.status}, and ${why}`,
          statusAfter: entity.status,
          apiResult: { http_status: null, error_code: 'not_confirmed', message: null, attempts: 0, confirmed_by: 'reconciled' },
          entityUpdatedAtAfter: entity.updated_at ?? null,
        },
        tally,
      );
    }
  }
}
