// The planner Lambda: the one EventBridge Scheduler schedule invokes it every minute with the tick.
// It lists the enabled orgs of the registry (functions/orgs/table.ts), works out for each which of
// its rules are due at the tick, in each rule's time zone, with the same plan as the local runner
// (`dueAt`, functions/orgs/plan.ts), and sends one message per org with something due to the SQS
// FIFO tick queue: MessageGroupId = org_id (one run per org at a time), MessageDeduplicationId =
// org_id#tick (a retried invocation sends no second run within SQS's 5-minute window).
//
// The registry is cached per warm container for ORGS_CACHE_SECONDS (default 30 s): an org
// disabled now gets no message from the next tick or the one after, and the worker re-reads the
// entry before running, so a message already queued for it does nothing either.
//
// One org's trouble never drops another's message: an entry that cannot be served is logged and
// counted (UnplannedOrgs), a send that fails is retried in place, and a send still failing after
// that fails the invocation (TickSendError) once every other org's message is out, so Lambda
// retries it (the sent ones are then deduplicated) and the errors alarm fires.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { errorAttributes } from '../engine/logger';
import { dueAt, type DueTick } from '../orgs/plan';
import type { OrgEntry } from '../orgs/schema';
import type { InvalidOrgItem } from '../orgs/table';
import { scheduleGroups, type ScheduleGroup } from '../rules/groups';
import type { Rule } from '../rules/schema';
import { realSleep, systemClock, type Sleep } from '../shared/clock';
import { forEachConcurrent } from '../shared/concurrency';
import { HandlerConfigError, InvalidSchedulerEventError, TickSendError } from './errors';
import { parseSchedulerEvent, tickOf } from './event';
import { baseRuntime, bundledRules, secretOutsidePrefix, type BaseRuntime, type HandlerContext, type HandlerOverrides } from './runtime';
import { TICK_SEND_FAILURES_METRIC, UNPLANNED_ORGS_METRIC } from './telemetry';
import { deduplicationIdOf, tickMessageFor, type TickMessage } from './tick';

/** SendMessageBatch takes at most 10 entries. */
export const SEND_BATCH_SIZE = 10;
/** Batches in flight at once. */
export const SEND_CONCURRENCY = 4;
/** Attempts per message within one invocation (then the invocation fails and Lambda retries it). */
export const SEND_ATTEMPTS = 3;
export const DEFAULT_ORGS_CACHE_SECONDS = 30;

export interface PlannerResult {
  tick: string;
  /** Orgs served this tick (enabled, servable), and those with a message sent. */
  orgs: number;
  sent: string[];
  /** Entries that cannot be served, with why. */
  unplanned: { org_id: string | null; reason: string }[];
}

interface PlannerRuntime extends BaseRuntime {
  sqs: SQSClient;
  queueUrl: string;
  rules: Rule[];
  cacheMs: number;
  sleep: Sleep;
  cached: { atMs: number; orgs: OrgEntry[]; invalid: InvalidOrgItem[] } | undefined;
  groupsByRuleIds: Map<string, { groups: ScheduleGroup[]; unknown: string[] }>;
}

function buildRuntime(overrides: HandlerOverrides): PlannerRuntime {
  const base = baseRuntime(overrides);
  const queueUrl = base.env.TICK_QUEUE_URL;
  if (!queueUrl) throw new HandlerConfigError('TICK_QUEUE_URL is not set (the SQS FIFO queue the ticks go to).');
  const cacheSeconds = Number(base.env.ORGS_CACHE_SECONDS ?? DEFAULT_ORGS_CACHE_SECONDS);
  if (!Number.isFinite(cacheSeconds) || cacheSeconds < 0 || cacheSeconds > 60) throw new HandlerConfigError(`ORGS_CACHE_SECONDS must be 0–60 (got "${base.env.ORGS_CACHE_SECONDS ?? ''}"): a disabled org must stop within a tick.`);
  return {
    ...base,
    sqs: overrides.sqs ?? new SQSClient({}),
    queueUrl,
    rules: bundledRules(base.env, base.logger).map((r) => r.rule),
    cacheMs: cacheSeconds * 1000,
    sleep: overrides.sleep ?? realSleep,
    cached: undefined,
    groupsByRuleIds: new Map(),
  };
}

/** The schedule groups of the rules that apply to an org: the deployment's, narrowed by its rule_ids. */
function groupsOf(runtime: PlannerRuntime, org: OrgEntry): { groups: ScheduleGroup[]; unknown: string[] } {
  const key = org.rule_ids ? [...org.rule_ids].sort().join(',') : '*';
  let found = runtime.groupsByRuleIds.get(key);
  if (!found) {
    const only = org.rule_ids ? new Set(org.rule_ids) : null;
    const rules = only ? runtime.rules.filter((r) => only.has(r.id)) : runtime.rules;
    const known = new Set(runtime.rules.map((r) => r.id));
    found = { groups: scheduleGroups(rules), unknown: (org.rule_ids ?? []).filter((id) => !known.has(id)) };
    runtime.groupsByRuleIds.set(key, found);
  }
  return found;
}

/** The registry's entries, from this container's cache when fresh enough (real time). */
async function registryEntries(runtime: PlannerRuntime): Promise<{ orgs: OrgEntry[]; invalid: InvalidOrgItem[] }> {
  const now = systemClock.nowMs();
  if (runtime.cached && now - runtime.cached.atMs < runtime.cacheMs) return runtime.cached;
  const read = await runtime.registry.read();
  runtime.cached = { atMs: now, ...read };
  return read;
}

/** The orgs to serve: the registry's enabled ones, and the deployment's default org unless the registry has it. */
function servedOrgs(runtime: PlannerRuntime, orgs: readonly OrgEntry[], unplanned: PlannerResult['unplanned']): OrgEntry[] {
  const served: OrgEntry[] = [];
  for (const org of orgs) {
    if (!org.enabled) continue;
    const outside = secretOutsidePrefix(org, runtime);
    if (outside) unplanned.push({ org_id: org.org_id, reason: outside });
    else served.push(org);
  }
  const fallback = runtime.defaultOrg;
  if (fallback && !orgs.some((o) => o.org_id === fallback.org_id || (fallback.ad_account_id !== undefined && o.ad_account_id === fallback.ad_account_id))) served.push(fallback);
  return served;
}

interface Outgoing {
  org: OrgEntry;
  message: TickMessage;
  entry: SendMessageBatchRequestEntry;
}

/** Send one batch, retrying the entries SQS refused (or the whole call) up to SEND_ATTEMPTS; returns what still failed. */
async function sendBatch(runtime: PlannerRuntime, batch: readonly Outgoing[]): Promise<{ org_id: string; code: string; message: string }[]> {
  let pending = [...batch];
  let failures: { org_id: string; code: string; message: string }[] = [];
  for (let attempt = 1; attempt <= SEND_ATTEMPTS && pending.length > 0; attempt += 1) {
    if (attempt > 1) await runtime.sleep(100 * 2 ** (attempt - 2));
    failures = [];
    try {
      const output = await runtime.sqs.send(new SendMessageBatchCommand({ QueueUrl: runtime.queueUrl, Entries: pending.map((p) => p.entry) }));
      const failed = new Map((output.Failed ?? []).map((f) => [f.Id, f]));
      const retry: Outgoing[] = [];
      for (const p of pending) {
        const f = failed.get(p.entry.Id);
        if (!f) continue;
        failures.push({ org_id: p.org.org_id, code: f.Code ?? 'unknown', message: f.Message ?? '' });
        // A sender fault (a malformed entry) would fail the same way again.
        if (!f.SenderFault) retry.push(p);
      }
      pending = retry;
    } catch (error) {
      failures = pending.map((p) => ({ org_id: p.org.org_id, code: error instanceof Error ? error.name : 'error', message: error instanceof Error ? error.message : String(error) }));
    }
  }
  return failures;
}

export function createPlannerHandler(overrides: HandlerOverrides = {}): (event: unknown, context: HandlerContext) => Promise<PlannerResult> {
  let runtime: PlannerRuntime | undefined;
  return async (event, context) => {
    runtime ??= buildRuntime(overrides);
    const rt = runtime;
    const { logger, metrics } = rt;
    let parsed;
    try {
      parsed = parseSchedulerEvent(event);
    } catch (error) {
      if (error instanceof InvalidSchedulerEventError) logger.error('rejected a malformed scheduler event', { problems: error.problems, request_id: context.awsRequestId });
      throw error;
    }
    const tickMs = tickOf(parsed);
    const tick = new Date(tickMs).toISOString();
    logger.appendKeys({ tick, execution_id: parsed.execution_id, attempt: parsed.attempt });
    try {
      const { orgs, invalid } = await registryEntries(rt);
      const unplanned: PlannerResult['unplanned'] = invalid.map((i) => ({ org_id: i.org_id, reason: `${i.key}: ${i.problems.join('; ')}` }));
      const served = servedOrgs(rt, orgs, unplanned);
      const outgoing: Outgoing[] = [];
      for (const org of served) {
        const { groups, unknown } = groupsOf(rt, org);
        if (unknown.length > 0) logger.warn('an org names rules the deployment does not have', { org_id: org.org_id, unknown_rule_ids: unknown });
        const due: DueTick | null = dueAt(groups, tickMs);
        if (!due) continue;
        const message = tickMessageFor(org, due);
        outgoing.push({ org, message, entry: { Id: `m${outgoing.length % SEND_BATCH_SIZE}`, MessageBody: JSON.stringify(message), MessageGroupId: org.org_id, MessageDeduplicationId: deduplicationIdOf(org.org_id, tickMs) } });
      }
      const batches: Outgoing[][] = [];
      for (let i = 0; i < outgoing.length; i += SEND_BATCH_SIZE) batches.push(outgoing.slice(i, i + SEND_BATCH_SIZE));
      const failures: { org_id: string; code: string; message: string }[] = [];
      // Each batch catches its own failures, so every batch is tried whatever another does.
      await forEachConcurrent(batches, SEND_CONCURRENCY, async (batch) => {
        failures.push(...(await sendBatch(rt, batch)));
      });
      for (const u of unplanned) logger.error('an org cannot be served', { org_id: u.org_id, reason: u.reason });
      const failedIds = new Set(failures.map((f) => f.org_id));
      const sent = outgoing.map((o) => o.org.org_id).filter((id) => !failedIds.has(id));
      metrics.addMetric('OrgsServed', MetricUnit.Count, served.length);
      metrics.addMetric('TickMessagesSent', MetricUnit.Count, sent.length);
      metrics.addMetric(TICK_SEND_FAILURES_METRIC, MetricUnit.Count, failures.length);
      metrics.addMetric(UNPLANNED_ORGS_METRIC, MetricUnit.Count, unplanned.length);
      logger.info('tick planned', { orgs: served.length, sent: sent.length, failed: failures.length, unplanned: unplanned.length });
      if (failures.length > 0) throw new TickSendError(tick, failures);
      return { tick, orgs: served.length, sent, unplanned };
    } catch (error) {
      logger.error('planning failed', errorAttributes(error));
      throw error;
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}

export const handler = createPlannerHandler();
