// One engine cycle, as explicit phases that take and return their data:
//
//   claim      the (schedule, occurrence, mode): a redelivery or a concurrent delivery does nothing
//   reconcile  intents a dead run left pending (reconcile.ts)
//   read       lists and ranged insights, every window resolved once (reads.ts)
//   evaluate   rules × entities → candidates (evaluate.ts)
//   decide     ownership, the policy, records, memory updates (decide.ts)
//   repeats    which records repeat the last recorded outcome of their (rule, entity) (repeats.ts)
//   act        intents through the one executor (act.ts, intents.ts)
//   record     the other decisions (repeats counted, not written), the memory, the ledgers, the run summary, the digest
//
// The same code runs in the Lambda handler, the local runner and the simulator; preview runs the
// read, evaluate and decide phases only, and records nothing.
import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_MAX_CHANGE_PERCENT } from '../actions/limits';
import { snapshotOf } from '../actions/snapshot';
import type { EntitySnapshot } from '../actions/types';
import type { EntityRecord } from '../rules/facts';
import { runSummary, type DecisionRecord, type MemoryUpdate, type NotificationRecord, type RunSummary, type Trigger } from '../audit/records';
import type { AuditStore, RunMode } from '../audit/store';
import { durationMs, type CompiledRule, type CompiledRuleSet } from '../rules/compile';
import { planReads } from '../rules/plan';
import type { PolicyOutcome } from '../rules/policy';
import { systemClock, type Clock } from '../shared/clock';
import { forEachConcurrent } from '../shared/concurrency';
import { probeCapabilities, type Capabilities } from '../thrad/capabilities';
import type { ThradClient } from '../thrad/client';
import { ThradApiError } from '../thrad/errors';
import { actPhase } from './act';
import { Tally, type RunContext } from './context';
import { decidePhase, type Decided } from './decide';
import { evaluateRules } from './evaluate';
import { IntentExecutor, LEASE_MARGIN_MS, type CrashPoints, type Settlement } from './intents';
import { errorAttributes, silentLogger, type EngineLogger } from './logger';
import { MAX_FAILURE_ALERTS, type FailureAlert, type Notifier } from './notifier';
import { readForPlan, type ReadResult } from './reads';
import { reconcileIntents } from './reconcile';
import { planRepeats, readRepeatLedgers, type RepeatPlan } from './repeats';
import { unavailableRecord } from './record';

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
  /**
   * The organization served by a local run of an orgs file (its name there): notifications name it,
   * and the commands they suggest select it (`--org ID`). On AWS their ad account names them.
   */
  orgId?: string;
  /** Status calls in flight at once. */
  actionConcurrency?: number;
  /** Each decision as it is settled (the local runner prints these). */
  onDecision?: (record: DecisionRecord) => void;
  onProgress?: (event: { phase: string; done: number; total: number; entities: number }) => void;
  /** Points where a fault test can stop the run as a crash would. */
  crashPoints?: CrashPoints;
  /** Run ids (default: time + random); the simulator makes them deterministic. */
  newRunId?: (nowMs: number) => string;
  /**
   * Whether other processes may use the same key and table (default true): then requests are
   * counted in the shared ledger and run summaries recorded. The simulator, alone with its own
   * sandbox and in-memory store, turns this off.
   */
  shared?: boolean;
  /** The engine-wide limit of one money change, as a fraction of the current value (default 0.5). */
  maxChangeFraction?: number;
  /**
   * List ad groups and ads through insights metadata when the API offers it (probed once per
   * process, the finding cached in the audit table for a day). Default true; false always lists
   * them per parent.
   */
  insightsListing?: boolean;
}

export interface CycleRequest {
  /** Rules to run; default: every enabled rule. */
  ruleIds?: readonly string[];
  /** The scheduled occurrence (ISO 8601 or Unix ms); default: now. */
  scheduledTime?: string | number;
  /** The schedule this occurrence belongs to: a run claims (schedule, time, mode) so a redelivery does nothing twice. */
  scheduleId?: string | null;
  /** Forces every rule to this mode (`dry_run` for --dry-run). */
  mode?: 'live' | 'dry_run';
  /** Real-time Unix ms by which the run must be done (the Lambda's remaining time). */
  deadlineMs: number;
  trigger?: Trigger;
  /** Overrides the engine clock for this run. */
  clock?: Clock;
}

export interface CycleResult {
  summary: RunSummary;
  decisions: DecisionRecord[];
}

/** What preview shows per (rule, entity) that matched or lacked data. */
export interface PreviewEntry {
  rule_id: string;
  entity_id: string;
  entity_name: string;
  verdict: 'match' | 'insufficient_data';
  outcome: Exclude<PolicyOutcome, 'act'> | 'data_unavailable';
  reason: string;
  action: string;
  explanation: unknown;
}

/** Preview of one entity (`entityId`): the entity as read, and why each rule of its level that did not match it did not. */
export interface PreviewFocus {
  entity: EntityRecord | null;
  misses: { rule_id: string; action: string; verdict: 'no_match' | 'out_of_scope'; explanation: unknown }[];
}

export interface PreviewResult {
  evaluated_at: string;
  entries: PreviewEntry[];
  /** Only when one entity was asked about. */
  focus?: PreviewFocus;
  /** Per rule: evaluated, no_match, insufficient_data. */
  counts: Record<string, { evaluated: number; no_match: number; insufficient_data: number }>;
}

const STORE_CONCURRENCY = 16;
/** Status calls in flight at once, unless the deployment says (`actionConcurrency`). */
export const DEFAULT_ACTION_CONCURRENCY = 4;
/** One money change moves a value by at most this fraction of it, whatever the rule asks. */
export const DEFAULT_MAX_CHANGE_FRACTION = DEFAULT_MAX_CHANGE_PERCENT / 100;
/** How long a capability probe's finding is trusted. */
const CAPABILITIES_TTL_SECONDS = 86_400;

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

function defaultRunId(nowMs: number): string {
  return `run_${new Date(nowMs).toISOString().replace(/[-:.]/g, '').slice(0, 15)}_${randomBytes(3).toString('hex')}`;
}

function errorEntry(error: unknown): RunSummary['errors'][number] {
  return { rule_id: null, code: error instanceof ThradApiError ? error.code : error instanceof Error ? error.name : 'error', message: error instanceof Error ? error.message : String(error) };
}

/** Holds taken by a decision that was counted, not written, name the streak's first record (the one in the trail). */
function withFirstRecords(updates: MemoryUpdate[], suppressed: ReadonlyMap<string, string>): MemoryUpdate[] {
  if (suppressed.size === 0) return updates;
  return updates.map((u) => {
    const held = u.holder?.holder;
    const first = held?.kind === 'rule' && held.decision_id !== null ? suppressed.get(held.decision_id) : undefined;
    return first === undefined || !u.holder || held?.kind !== 'rule' ? u : { ...u, holder: { cls: u.holder.cls, holder: { ...held, decision_id: first } } };
  });
}

export class Engine {
  private accountId: string | undefined;
  /** This engine's name in the shared request ledger, and what it has already taken from others there. */
  private readonly writerId = randomBytes(4).toString('hex');
  private readonly ledgerSeen = new Map<string, number>();
  private readonly logger: EngineLogger;
  private readonly realClock: Clock;
  private readonly executor: IntentExecutor;
  /** What the API offers for listing through insights: probed once per process (a cold start). */
  private capabilities: Capabilities | undefined;

  constructor(private readonly deps: EngineDeps) {
    this.accountId = deps.accountId;
    this.logger = deps.logger ?? silentLogger;
    this.realClock = deps.realClock ?? systemClock;
    this.executor = new IntentExecutor({ client: deps.client, store: deps.store, clock: deps.clock ?? systemClock, realClock: this.realClock, logger: this.logger, crashPoints: deps.crashPoints });
  }

  get maxChangeFraction(): number {
    return this.deps.maxChangeFraction ?? DEFAULT_MAX_CHANGE_FRACTION;
  }

  get ruleSet(): CompiledRuleSet {
    return this.deps.rules;
  }

  /** The ad account id (fetched once per process). */
  async account(deadlineMs: number): Promise<string> {
    this.accountId ??= (await this.deps.client.getAdAccount({ deadlineMs })).id;
    return this.accountId;
  }

  /** The enabled rules a request names (unknown ids are errors of the run). */
  private select(ruleIds: readonly string[] | undefined, errors: RunSummary['errors']): CompiledRule[] {
    const selected: CompiledRule[] = [];
    for (const id of ruleIds ?? this.deps.rules.rules.map((r) => r.id)) {
      const rule = this.deps.rules.byId.get(id);
      if (!rule) errors.push({ rule_id: id, code: 'unknown_rule', message: `No rule "${id}" in the deployed rule set (was it removed? redeploy to update the schedules)` });
      else if (rule.rule.enabled) selected.push(rule);
    }
    return selected;
  }

  private context(request: CycleRequest, accountId: string, errors: RunSummary['errors'], selected: readonly CompiledRule[] = []): RunContext {
    const clock = request.clock ?? this.deps.clock ?? systemClock;
    const nowMs = clock.nowMs();
    const occurrenceMs = request.scheduledTime === undefined ? nowMs : typeof request.scheduledTime === 'number' ? request.scheduledTime : Date.parse(request.scheduledTime);
    const runId = (this.deps.newRunId ?? defaultRunId)(nowMs);
    const mode: RunMode = request.mode === 'dry_run' ? 'dry_run' : 'live';
    const occurrence = isoSeconds(occurrenceMs);
    const scheduleId = request.scheduleId ?? null;
    const claimKey = scheduleId === null ? null : `${scheduleId}#${createHash('sha256').update(selected.map((r) => r.id).sort().join(',')).digest('hex').slice(0, 12)}`;
    return { runId, accountId, occurrence, scheduleId, claimKey, mode, forcedDryRun: mode === 'dry_run', trigger: request.trigger ?? 'local', nowMs, deadlineMs: request.deadlineMs, clock, tally: new Tally(), errors, alerts: [], log: { run_id: runId, scheduled_time: occurrence } };
  }

  async runCycle(request: CycleRequest): Promise<CycleResult> {
    const errors: RunSummary['errors'] = [];
    const selected = this.select(request.ruleIds, errors);
    const startedReal = this.realClock.nowMs();
    const takenAtStart = this.deps.client.budget.totalTaken;
    let accountId: string;
    let keyFp: string;
    try {
      accountId = await this.account(request.deadlineMs);
      keyFp = await this.deps.client.currentKeyFingerprint();
    } catch (error) {
      errors.push({ ...errorEntry(error), code: error instanceof ThradApiError ? error.code : 'account_unavailable' });
      this.logger.error('could not read the ad account; nothing can run', errorAttributes(error));
      // Without the account nothing can be recorded (records are kept per account): the summary is returned, and logged.
      const ctx = this.context(request, 'unknown', errors);
      return { summary: this.summarize(ctx, selected, 'failed', startedReal, { api_requests: this.deps.client.budget.totalTaken - takenAtStart, api_requests_remaining: null, entities_read: 0 }), decisions: [] };
    }
    const ctx = this.context(request, accountId, errors, selected);
    this.logger.info('run started', { ...ctx.log, rule_ids: selected.map((r) => r.id), trigger: ctx.trigger, mode: ctx.mode });
    const finish = (status: RunSummary['status'], entitiesRead: number): Promise<CycleResult> => this.finish(ctx, selected, status, { startedReal, takenAtStart, keyFp, entitiesRead });
    // Independent round trips at once: the shared request ledger, the claim, and the query of
    // intents left pending (acted on only once the claim is ours).
    const pending = ctx.forcedDryRun ? null : this.deps.store.expiredIntents(accountId);
    pending?.catch(() => undefined);
    const [, claim] = await Promise.all([this.deps.shared !== false ? this.syncLedger(accountId, keyFp) : undefined, this.claim(ctx)]);
    if (claim === 'duplicate') return finish('skipped_duplicate', 0);
    let entitiesRead = 0;
    try {
      if (pending) {
        for (const s of await reconcileIntents(ctx, { client: this.deps.client, store: this.deps.store, rules: this.deps.rules, executor: this.executor, logger: this.logger }, pending)) this.settled(ctx, s);
      }
      const reads = await this.read(ctx, selected);
      entitiesRead = Object.values(reads.entities).reduce((sum, list) => sum + list.length, 0);
      const evaluation = evaluateRules(this.deps.rules, selected, reads, ctx.nowMs);
      this.countEvaluation(ctx, evaluation.counts, evaluation.unavailable.length > 0 ? evaluation.unavailable.map((u) => u.rule.id) : []);
      const evaluated = [...evaluation.counts.keys()];
      const ledgers = readRepeatLedgers(ctx, this.deps.store, evaluated);
      const { decided, memoryUpdates } = await decidePhase(ctx, this.deps.store, evaluation, reads, { readOnly: false, refresh: this.refresher(ctx), layouts: this.deps.rules.layouts, maxChangeFraction: this.maxChangeFraction });
      const repeats = await planRepeats(ctx, this.deps.store, evaluated, decided, ledgers);
      ctx.tally.repeats = repeats.summary;
      // What the run observed is remembered before it acts, so what the actions leave is newer.
      await this.deps.store.updateEntityMemories(ctx.accountId, withFirstRecords(memoryUpdates, repeats.suppressed));
      await actPhase(ctx, this.executor, decided, this.deps.actionConcurrency ?? DEFAULT_ACTION_CONCURRENCY, (s) => this.settled(ctx, s));
      const unavailable = evaluation.unavailable.map((u) => unavailableRecord(ctx, u.rule, u.failure, reads, this.deps.store.expiresAt()));
      await this.record(ctx, decided, unavailable, claim === 'taken_over', repeats);
      const result = await finish('completed', entitiesRead);
      if (ctx.claimKey) await this.deps.store.finishOccurrence(accountId, ctx.claimKey, ctx.occurrence, ctx.mode, ctx.runId, 'completed');
      return result;
    } catch (error) {
      const entry = errorEntry(error);
      errors.push(entry);
      this.logger.error('run failed', { ...ctx.log, ...errorAttributes(error) });
      this.alert(ctx, { kind: 'run_failed', run_id: ctx.runId, scheduled_time: ctx.occurrence, error: entry });
      if (ctx.claimKey) await this.deps.store.finishOccurrence(accountId, ctx.claimKey, ctx.occurrence, ctx.mode, ctx.runId, 'failed').catch(() => false);
      const result = await finish('failed', entitiesRead).catch(() => null);
      if (result) return result;
      throw error;
    }
  }

  /** What every rule would do now, and why: the read, evaluate and decide phases, recording nothing. */
  async preview(request: Pick<CycleRequest, 'ruleIds' | 'deadlineMs' | 'clock'> & { entityId?: string }): Promise<PreviewResult> {
    const errors: RunSummary['errors'] = [];
    const selected = this.select(request.ruleIds, errors);
    const ctx = this.context({ ...request, trigger: 'manual' }, await this.account(request.deadlineMs), errors);
    const reads = await this.read(ctx, selected);
    const evaluation = evaluateRules(this.deps.rules, selected, reads, ctx.nowMs, request.entityId);
    const { decided } = await decidePhase(ctx, this.deps.store, evaluation, reads, { readOnly: true, refresh: this.refresher(ctx), layouts: this.deps.rules.layouts, maxChangeFraction: this.maxChangeFraction });
    const entries: PreviewEntry[] = decided.map((d) => ({
      rule_id: d.candidate.rule.id,
      entity_id: d.candidate.entity.id,
      entity_name: d.candidate.entity.name,
      verdict: d.candidate.verdict,
      outcome: d.policy.outcome === 'act' ? 'would_act' : d.policy.outcome,
      reason: d.policy.reason,
      action: d.candidate.rule.rule.then.action,
      explanation: d.candidate.rule.explain(d.candidate.facts, ctx.nowMs),
    }));
    for (const u of evaluation.unavailable) {
      const record = unavailableRecord(ctx, u.rule, u.failure, reads, 0);
      entries.push({ rule_id: u.rule.id, entity_id: '*', entity_name: '*', verdict: 'insufficient_data', outcome: 'data_unavailable', reason: record.reason, action: u.rule.rule.then.action, explanation: null });
    }
    const result: PreviewResult = { evaluated_at: new Date(ctx.nowMs).toISOString(), entries, counts: Object.fromEntries(evaluation.counts) };
    if (request.entityId === undefined) return result;
    const entity = Object.values(reads.entities).flatMap((list) => list ?? []).find((e) => e.id === request.entityId) ?? null;
    const misses = evaluation.misses.map((m) => ({ rule_id: m.rule.id, action: m.rule.rule.then.action, verdict: m.verdict, explanation: m.rule.explain(m.facts, ctx.nowMs) }));
    return { ...result, entries: entries.filter((e) => e.entity_id === request.entityId || e.entity_id === '*'), focus: { entity, misses } };
  }

  /** Read one entity again (for what a listing through insights does not carry). */
  private refresher(ctx: RunContext): (entity: EntitySnapshot) => Promise<EntitySnapshot> {
    return async (entity) => snapshotOf(entity.level, await this.deps.client.getEntity(entity.level, entity.id, { deadlineMs: ctx.deadlineMs }));
  }

  /** Claim the occurrence: a redelivery after completion, or a concurrent delivery, does nothing. */
  private async claim(ctx: RunContext): Promise<'claimed' | 'taken_over' | 'duplicate' | 'unclaimed'> {
    if (!ctx.claimKey) return 'unclaimed';
    const claim = await this.deps.store.claimOccurrence(ctx.accountId, ctx.claimKey, ctx.occurrence, ctx.mode, ctx.runId, ctx.deadlineMs + LEASE_MARGIN_MS);
    if (claim.status === 'completed' || claim.status === 'in_progress') {
      ctx.errors.push({ rule_id: null, code: `occurrence_${claim.status}`, message: `Occurrence ${ctx.occurrence} of ${ctx.scheduleId}${ctx.mode === 'live' ? '' : ` (${ctx.mode})`} is ${claim.status === 'completed' ? 'already done' : 'being run'} by ${claim.runId}; nothing to do` });
      this.logger.info('occurrence already handled', { ...ctx.log, by: claim.runId, state: claim.status });
      return 'duplicate';
    }
    return claim.status;
  }

  private async read(ctx: RunContext, selected: readonly CompiledRule[]): Promise<ReadResult> {
    const plan = planReads(selected);
    // A rule reading a field insights do not carry (an ad group's max bid) lists through the API.
    const childrenFromInsights = plan.lists.adGroups && !plan.lists.resourceFields && (await this.listsThroughInsights(ctx));
    return readForPlan(plan, { client: this.deps.client, logger: this.logger, deadlineMs: ctx.deadlineMs, nowMs: ctx.nowMs, childrenFromInsights, onProgress: this.deps.onProgress });
  }

  /**
   * Whether the API answers insights with metadata fields and zero-impression rows: from this
   * process's memory, else the audit table's finding of the last day, else one probe (1–2
   * requests), remembered. A probe that fails says nothing: this run lists per parent.
   */
  private async listsThroughInsights(ctx: RunContext): Promise<boolean> {
    const { client, store } = this.deps;
    const profile = client.wireProfile;
    if (this.deps.insightsListing === false || profile.insights.metadata === null || profile.insights.zeroImpressionItems === null) return false;
    if (!this.capabilities) {
      const cached = await store.getCapabilities(ctx.accountId, profile.name).catch(() => null);
      if (cached) this.capabilities = cached;
      else {
        try {
          this.capabilities = await probeCapabilities(client, { deadlineMs: ctx.deadlineMs });
          await store.putCapabilities(ctx.accountId, profile.name, this.capabilities, CAPABILITIES_TTL_SECONDS).catch((error: unknown) => this.logger.warn('could not cache the capability probe', errorAttributes(error)));
          this.logger.info('probed the API for insights metadata', { ...ctx.log, ...this.capabilities });
        } catch (error) {
          this.logger.warn('could not probe the API for insights metadata; listing per parent this run', errorAttributes(error));
          return false;
        }
      }
    }
    return this.capabilities.metadata_fields && this.capabilities.zero_impression_items;
  }

  private countEvaluation(ctx: RunContext, counts: ReadonlyMap<string, { evaluated: number; no_match: number; insufficient_data: number }>, unavailable: readonly string[]): void {
    for (const [ruleId, c] of counts) {
      ctx.tally.bumpRule(ruleId, 'evaluated', c.evaluated);
      if (c.no_match > 0) ctx.tally.bump('no_match', c.no_match, ruleId);
      if (c.insufficient_data > 0) ctx.tally.bump('insufficient_data', c.insufficient_data, ruleId);
    }
    for (const ruleId of unavailable) ctx.tally.bump('data_unavailable', 1, ruleId);
  }

  /**
   * The record phase: decisions that made no call (a repeat of the last recorded one is counted,
   * not written), the cooldown memories of dry runs and notifications, then the repeat ledgers.
   */
  private async record(ctx: RunContext, decided: readonly Decided[], unavailable: readonly DecisionRecord[], takeover: boolean, repeats: RepeatPlan): Promise<void> {
    const { store } = this.deps;
    const settledNow = [...decided.flatMap((d) => (d.record && d.record.outcome !== 'pending' ? [d.record] : [])), ...unavailable];
    const plain = settledNow.filter((r) => !repeats.suppressed.has(r.decision_id));
    // Dry runs and notifications keep their rules' cooldowns; a proposal blocks a second one until it expires.
    // A run forced to dry run (run --dry-run) remembers apart: it must not put a live process's rules into cooldown.
    // A repeated would_act still moves its rule's cooldown (exactly as when it was written), naming the streak's first record.
    const remembered = settledNow.flatMap((r) => {
      if (r.action === null) return [];
      const proposal = r.outcome === 'awaiting_approval';
      if (!proposal && !((r.outcome === 'would_act' || r.outcome === 'acted') && durationMs(this.deps.rules.byId.get(r.rule_id)?.rule.guards.cooldown) > 0)) return [];
      return [{ entityId: r.entity_id, ...(ctx.forcedDryRun ? { forced: true } : {}), remember: { rule_id: r.rule_id, action: r.action, outcome: proposal ? ('proposed' as const) : (r.outcome as 'acted' | 'would_act'), at_ms: ctx.nowMs, entity_updated_at_after: null, decision_id: repeats.suppressed.get(r.decision_id) ?? r.decision_id } }];
    });
    for (const record of settledNow) if (repeats.suppressed.has(record.decision_id)) this.repeated(ctx, record);
    // The memories and the records are different items: written at once.
    const memories = store.updateEntityMemories(ctx.accountId, remembered);
    if (takeover) {
      await Promise.all([
        memories,
        forEachConcurrent(plain, STORE_CONCURRENCY, async (record) => {
          const claim = await store.claimDecision(record);
          if (claim.claimed) this.settledRecord(ctx, record);
          else ctx.tally.bump('duplicate');
        }),
      ]);
    } else {
      await Promise.all([memories, store.putDecisions(plain)]);
      for (const record of plain) this.settledRecord(ctx, record);
    }
    // After the records they point to: a ledger is never ahead of the trail.
    try {
      const { conflicts } = await repeats.commit();
      if (conflicts.length > 0) this.logger.warn('another run of these rules ran at the same time: their repeat ledgers start over', { ...ctx.log, rule_ids: conflicts });
    } catch (error) {
      // The records are written; a ledger left behind only means its entities are written afresh next run.
      ctx.errors.push({ rule_id: null, code: 'repeats_not_recorded', message: `The repeat ledgers could not be updated (${error instanceof Error ? error.message : String(error)}); the next run writes these rules' outcomes afresh` });
      this.logger.warn('could not update the repeat ledgers', { ...ctx.log, ...errorAttributes(error) });
    }
  }

  /** A decision counted, not written: it repeats the last recorded one of its (rule, entity). */
  private repeated(ctx: RunContext, record: DecisionRecord): void {
    ctx.tally.bump(record.outcome, 1, record.rule_id);
    ctx.tally.bump('repeated', 1, record.rule_id);
  }

  private settled(ctx: RunContext, settlement: Settlement): void {
    switch (settlement.kind) {
      case 'settled':
        this.settledRecord(ctx, settlement.record);
        return;
      case 'duplicate':
        ctx.tally.bump('duplicate');
        return;
      case 'unconfirmed':
        ctx.tally.bump('unconfirmed');
        return;
      case 'lost':
        ctx.tally.bump('lost_intent');
        return;
    }
  }

  private settledRecord(ctx: RunContext, record: DecisionRecord): void {
    ctx.tally.decisions.push(record);
    if (record.outcome === 'failed') this.alert(ctx, { kind: 'action_failed', record });
    if (record.outcome !== 'data_unavailable' && record.outcome !== 'insufficient_data') ctx.tally.bump(record.outcome, 1, record.rule_id);
    this.deps.onDecision?.(record);
    this.logger[record.outcome === 'failed' ? 'warn' : 'info']('decision', {
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

  /** A failure alert, sent now while the run goes on (at most MAX_FAILURE_ALERTS per run); the digest waits for it. */
  private alert(ctx: RunContext, alert: FailureAlert): void {
    const { notifier } = this.deps;
    if (!notifier.alert || ctx.alerts.length >= MAX_FAILURE_ALERTS) return;
    ctx.alerts.push(notifier.alert(this.deps.orgId === undefined ? alert : { ...alert, org_id: this.deps.orgId }, { deadlineMs: ctx.deadlineMs }).catch((error: unknown) => this.notificationFailed(ctx, 'failure alert', error)));
  }

  /** Notifiers record their own failures; one that throws anyway is logged, never fails the run. */
  private notificationFailed(ctx: RunContext, what: string, error: unknown): NotificationRecord[] {
    this.logger.warn(`could not send the ${what}`, { ...ctx.log, ...errorAttributes(error) });
    return [];
  }

  /** Other processes' requests with this key count against the same hourly limit. */
  private async syncLedger(accountId: string, keyFp: string): Promise<void> {
    try {
      for (const entry of await this.deps.store.recentRequests(accountId, keyFp)) {
        if (entry.writerId === this.writerId) continue;
        const key = `${keyFp}|${entry.minuteMs}|${entry.writerId}`;
        const delta = entry.count - (this.ledgerSeen.get(key) ?? 0);
        if (delta > 0) this.deps.client.budget.recordExternal(keyFp, Array.from({ length: delta }, () => entry.minuteMs));
        this.ledgerSeen.set(key, Math.max(entry.count, this.ledgerSeen.get(key) ?? 0));
      }
    } catch (error) {
      this.logger.warn('could not read the request ledger', errorAttributes(error));
    }
  }

  private summarize(ctx: RunContext, selected: readonly CompiledRule[], status: RunSummary['status'], startedReal: number, progress: Partial<RunSummary>): RunSummary {
    return runSummary(
      { run_id: ctx.runId, account_id: ctx.accountId, schedule_id: ctx.scheduleId, scheduled_time: ctx.occurrence, started_at: new Date(ctx.nowMs).toISOString(), status, trigger: ctx.trigger, rule_ids: selected.map((r) => r.id), errors: ctx.errors, expires_at: this.deps.store.expiresAt() },
      { finished_at: new Date(ctx.clock.nowMs()).toISOString(), duration_ms: Math.round(this.realClock.nowMs() - startedReal), mode_override: ctx.forcedDryRun ? 'dry_run' : null, counts: ctx.tally.counts, per_rule: ctx.tally.perRule, repeats: ctx.tally.repeats, ...progress },
    );
  }

  private async finish(ctx: RunContext, selected: readonly CompiledRule[], status: RunSummary['status'], run: { startedReal: number; takenAtStart: number; keyFp: string; entitiesRead: number }): Promise<CycleResult> {
    const { client, store } = this.deps;
    const remaining = await client.budgetSnapshot().then((b) => b.remaining, () => null);
    const used = client.budget.totalTaken - run.takenAtStart;
    const counted = this.summarize(ctx, selected, status, run.startedReal, { api_requests: used, api_requests_remaining: remaining, entities_read: run.entitiesRead });
    // Notified before the summary is written, so the record says what was sent: the failure alerts first, then the digest.
    const alerted = (await Promise.all(ctx.alerts)).flat();
    const digested = await this.deps.notifier.notify({ summary: counted, decisions: ctx.tally.decisions, ...(this.deps.orgId === undefined ? {} : { org_id: this.deps.orgId }) }, { deadlineMs: ctx.deadlineMs }).catch((error: unknown) => this.notificationFailed(ctx, 'run digest', error));
    const summary: RunSummary = { ...counted, notifications: [...alerted, ...digested] };
    const minute = Math.floor(ctx.clock.nowMs() / 60_000) * 60_000;
    // The summary and the request ledger are different items: written at once.
    await Promise.all([
      this.deps.shared !== false ? store.putRunSummary(summary) : undefined,
      used > 0 && this.deps.shared !== false ? store.recordRequests(ctx.accountId, run.keyFp, this.writerId, new Map([[minute, used]])).catch((error: unknown) => this.logger.warn('could not record request counts', errorAttributes(error))) : undefined,
    ]);
    this.logger.info('run finished', { ...ctx.log, status, counts: ctx.tally.counts, api_requests: used, api_requests_remaining: remaining, duration_ms: summary.duration_ms });
    return { summary, decisions: ctx.tally.decisions };
  }
}
