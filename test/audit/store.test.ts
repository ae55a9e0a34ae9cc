// The audit store on dynalite: every access path in time order, TTL ignored on reads, the
// conditional writes that make exactly-once work, occurrence claims, and the request ledger.
import { randomBytes } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../functions/audit/records';
import { AuditStore, decisionIdFor } from '../../functions/audit/store';
import { AuditTableMissingError } from '../../functions/audit/errors';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { ManualClock } from '../../functions/shared/clock';

const ACCT = 'acct-1';
const START = Date.parse('2026-11-24T09:00:00Z');

function decision(overrides: Partial<DecisionRecord> & { minutes: number }): DecisionRecord {
  const { minutes, ...rest } = overrides;
  const at = new Date(START + minutes * 60_000).toISOString();
  const base: DecisionRecord = {
    decision_id: '',
    run_id: 'run-a',
    account_id: ACCT,
    rule_id: 'cpc-guard',
    rule_version: 'v1',
    level: 'campaign',
    entity_id: 'c1',
    entity_name: 'Campaign one',
    campaign_id: 'c1',
    scheduled_time: at,
    evaluated_at: at,
    trigger: 'schedule',
    windows: [{ name: 'last_3_days', timezone: 'UTC', start: at, end: at }],
    observed: { 'cpc@last_3_days': 3.1 },
    explanation: { kind: 'metric', result: 'match', metric: 'cpc', window: 'last_3_days', op: 'gt', threshold: 2.5, observed: 3.1 },
    outcome: 'acted',
    reason: 'matched',
    action: 'pause',
    mode: 'live',
    priority: 10,
    status_before: 'active',
    status_after: 'paused',
    target: 'paused',
    value_before_micros: null,
    value_after_micros: null,
    api_result: { http_status: 200, error_code: null, message: null, attempts: 1, confirmed_by: null },
    lease_until_ms: null,
    entity_updated_at_before: 1_795_000_000,
    entity_updated_at_after: null,
    holder: null,
    undoes: null,
    approval: null,
    approves: null,
    message: null,
    expires_at: Math.floor(START / 1000) + 400 * 86_400,
    ...rest,
  };
  return { ...base, decision_id: base.decision_id || decisionIdFor(ACCT, base.rule_id, base.entity_id, base.scheduled_time, base.mode) };
}

describe('AuditStore', () => {
  let dynamo: EmbeddedDynamo;
  let store: AuditStore;
  let clock: ManualClock;
  let real: ManualClock;
  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });
  afterAll(() => dynamo.close());
  beforeEach(async () => {
    clock = new ManualClock(START + 3_600_000);
    real = new ManualClock(1_800_000_000_000);
    store = new AuditStore({ tableName: `audit-${randomBytes(4).toString('hex')}`, client: dynamo.client, clock, realClock: real });
    expect(await store.ensureTable()).toBe('created');
    expect(await store.ensureTable()).toBe('exists');
  });

  it('answers each access path newest first', async () => {
    await store.putDecisions([
      decision({ minutes: 0, entity_id: 'c1', rule_id: 'cpc-guard', run_id: 'run-a' }),
      decision({ minutes: 10, entity_id: 'c2', rule_id: 'cpc-guard', run_id: 'run-b', outcome: 'skipped_cooldown', action: 'pause' }),
      decision({ minutes: 20, entity_id: 'c1', rule_id: 'budget-guard', run_id: 'run-b' }),
      decision({ minutes: 30, entity_id: 'c3', rule_id: 'ctr-floor', run_id: 'run-c', outcome: 'would_act', mode: 'dry_run' }),
      decision({ minutes: 40, entity_id: 'c1', rule_id: 'cpc-guard', run_id: 'run-c', outcome: 'failed' }),
    ]);
    const ids = (records: DecisionRecord[]): string[] => records.map((d) => `${d.entity_id}/${d.rule_id}@${d.evaluated_at.slice(11, 16)}`);
    expect(ids(await store.queryDecisions(ACCT, { entityId: 'c1' }))).toEqual(['c1/cpc-guard@09:40', 'c1/budget-guard@09:20', 'c1/cpc-guard@09:00']);
    expect(ids(await store.queryDecisions(ACCT, { ruleId: 'cpc-guard' }))).toEqual(['c1/cpc-guard@09:40', 'c2/cpc-guard@09:10', 'c1/cpc-guard@09:00']);
    expect(ids(await store.queryDecisions(ACCT, { runId: 'run-b' }))).toEqual(['c1/budget-guard@09:20', 'c2/cpc-guard@09:10']);
    expect(ids(await store.queryDecisions(ACCT, { actionsOnly: true, sinceMs: START + 5 * 60_000, untilMs: START + 35 * 60_000 }))).toEqual(['c3/ctr-floor@09:30', 'c1/budget-guard@09:20']);
    expect(ids(await store.queryDecisions(ACCT, {}))).toHaveLength(5);
    expect(ids(await store.queryDecisions(ACCT, { outcome: 'failed' }))).toEqual(['c1/cpc-guard@09:40']);
    expect(ids(await store.queryDecisions(ACCT, { limit: 2 }))).toEqual(['c1/cpc-guard@09:40', 'c3/ctr-floor@09:30']);
    expect(ids(await store.queryDecisions(ACCT, { entityId: 'c1', ruleId: 'cpc-guard', sinceMs: START + 1 }))).toEqual(['c1/cpc-guard@09:40']);
  });

  it('keeps accounts apart', async () => {
    await store.putDecisions([decision({ minutes: 0 }), decision({ minutes: 1, account_id: 'acct-2' })]);
    expect(await store.queryDecisions(ACCT, {})).toHaveLength(1);
    expect(await store.queryDecisions('acct-2', {})).toHaveLength(1);
  });

  it('spans months for time-range reads', async () => {
    await store.putDecisions([decision({ minutes: -40 * 24 * 60 }), decision({ minutes: 0 })]);
    expect(await store.queryDecisions(ACCT, { sinceMs: START - 60 * 86_400_000 })).toHaveLength(2);
  });

  it('never returns expired items (DynamoDB deletes them late; dynalite never)', async () => {
    const now = Math.floor(clock.nowMs() / 1000);
    await store.putDecisions([decision({ minutes: 0, expires_at: now - 1 }), decision({ minutes: 1, entity_id: 'c9', expires_at: now + 60 })]);
    expect((await store.queryDecisions(ACCT, {})).map((d) => d.entity_id)).toEqual(['c9']);
    expect(await store.getDecision(ACCT, decisionIdFor(ACCT, 'cpc-guard', 'c1', new Date(START).toISOString(), 'live'))).toBeNull();
  });

  it('writes TTLs from the retention', () => {
    expect(store.expiresAt()).toBe(Math.floor(clock.nowMs() / 1000) + 400 * 86_400);
    expect(new AuditStore({ tableName: 'x', client: dynamo.client, clock, retentionDays: 30 }).expiresAt()).toBe(Math.floor(clock.nowMs() / 1000) + 30 * 86_400);
  });

  describe('intents', () => {
    it('a decision is claimed once per (rule, entity, occurrence)', async () => {
      const intent = decision({ minutes: 0, outcome: 'pending', lease_until_ms: real.nowMs() + 10_000, status_after: null, api_result: null });
      expect(await store.claimDecision(intent)).toEqual({ claimed: true });
      const second = await store.claimDecision({ ...intent, run_id: 'run-b' });
      expect(second).toMatchObject({ claimed: false, existing: { run_id: 'run-a', outcome: 'pending' } });
    });

    it('records the outcome only if still pending and owned, and leaves the pending index', async () => {
      const intent = decision({ minutes: 0, outcome: 'pending', lease_until_ms: real.nowMs() + 10_000, status_after: null, api_result: null });
      await store.claimDecision(intent);
      expect(await store.completeIntent({ ...intent, run_id: 'intruder' }, { outcome: 'acted', reason: 'x', statusAfter: 'paused', apiResult: null, entityUpdatedAtAfter: null })).toBe(false);
      expect(await store.completeIntent(intent, { outcome: 'acted', reason: 'matched', statusAfter: 'paused', apiResult: { http_status: 200, error_code: null, message: null, attempts: 2, confirmed_by: 'state_read' }, entityUpdatedAtAfter: 1_795_000_000 })).toBe(true);
      expect(await store.completeIntent(intent, { outcome: 'failed', reason: 'again', statusAfter: 'active', apiResult: null, entityUpdatedAtAfter: null })).toBe(false);
      expect(await store.getDecision(ACCT, intent.decision_id)).toMatchObject({ outcome: 'acted', status_after: 'paused', entity_updated_at_after: 1_795_000_000, lease_until_ms: null, api_result: { attempts: 2, confirmed_by: 'state_read' } });
      expect(await store.queryDecisions(ACCT, { actionsOnly: true })).toHaveLength(1);
      real.advance(3_600_000);
      expect(await store.expiredIntents(ACCT)).toEqual([]);
    });

    it('an intent is taken over only after its lease', async () => {
      const intent = decision({ minutes: 0, outcome: 'pending', lease_until_ms: real.nowMs() + 10_000, status_after: null, api_result: null });
      await store.claimDecision(intent);
      expect(await store.expiredIntents(ACCT)).toEqual([]);
      expect(await store.takeOverIntent(intent, 'run-b', real.nowMs() + 20_000)).toBe(false);
      real.advance(10_001);
      expect((await store.expiredIntents(ACCT)).map((d) => d.decision_id)).toEqual([intent.decision_id]);
      expect(await store.takeOverIntent(intent, 'run-b', real.nowMs() + 20_000)).toBe(true);
      expect(await store.takeOverIntent(intent, 'run-c', real.nowMs() + 20_000)).toBe(false);
      expect(await store.completeIntent(intent, { outcome: 'acted', reason: '', statusAfter: null, apiResult: null, entityUpdatedAtAfter: null })).toBe(false);
      expect(await store.completeIntent({ ...intent, run_id: 'run-b' }, { outcome: 'acted', reason: 'reconciled', statusAfter: 'paused', apiResult: null, entityUpdatedAtAfter: null })).toBe(true);
    });
  });

  describe('occurrences', () => {
    it('claim, redelivery after completion, concurrent delivery, failed and expired runs', async () => {
      const lease = real.nowMs() + 60_000;
      expect(await store.claimOccurrence(ACCT, 'sched', '2026-11-24T10:00:00.000Z', 'live', 'run-1', lease)).toEqual({ status: 'claimed' });
      expect(await store.claimOccurrence(ACCT, 'sched', '2026-11-24T10:00:00.000Z', 'live', 'run-2', lease)).toEqual({ status: 'in_progress', runId: 'run-1' });
      await store.finishOccurrence(ACCT, 'sched', '2026-11-24T10:00:00.000Z', 'live', 'run-1', 'completed');
      expect(await store.claimOccurrence(ACCT, 'sched', '2026-11-24T10:00:00.000Z', 'live', 'run-3', lease)).toEqual({ status: 'completed', runId: 'run-1' });

      expect(await store.claimOccurrence(ACCT, 'sched', '2026-11-24T10:15:00.000Z', 'live', 'run-4', lease)).toEqual({ status: 'claimed' });
      await store.finishOccurrence(ACCT, 'sched', '2026-11-24T10:15:00.000Z', 'live', 'run-4', 'failed');
      expect(await store.claimOccurrence(ACCT, 'sched', '2026-11-24T10:15:00.000Z', 'live', 'run-5', lease)).toEqual({ status: 'taken_over' });

      expect(await store.claimOccurrence(ACCT, 'sched', '2026-11-24T10:30:00.000Z', 'live', 'run-6', lease)).toEqual({ status: 'claimed' });
      real.advance(60_001);
      expect(await store.claimOccurrence(ACCT, 'sched', '2026-11-24T10:30:00.000Z', 'live', 'run-7', real.nowMs() + 60_000)).toEqual({ status: 'taken_over' });
      expect(await store.finishOccurrence(ACCT, 'sched', '2026-11-24T10:30:00.000Z', 'live', 'run-6', 'completed')).toBe(false);
    });

    it('keeps a dry run apart from the live occurrence it shares a table with', async () => {
      const lease = real.nowMs() + 60_000;
      expect(await store.claimOccurrence(ACCT, 'sched', '2026-11-24T22:00:00.000Z', 'dry_run', 'run-dry', lease)).toEqual({ status: 'claimed' });
      await store.finishOccurrence(ACCT, 'sched', '2026-11-24T22:00:00.000Z', 'dry_run', 'run-dry', 'completed');
      expect(await store.claimOccurrence(ACCT, 'sched', '2026-11-24T22:00:00.000Z', 'live', 'run-live', lease)).toEqual({ status: 'claimed' });
      expect(decisionIdFor(ACCT, 'daypart-pause', 'c1', '2026-11-24T22:00:00.000Z', 'dry_run')).not.toBe(decisionIdFor(ACCT, 'daypart-pause', 'c1', '2026-11-24T22:00:00.000Z', 'live'));
    });
  });

  it('remembers per entity what each rule did, what it observed and who holds it, with no expiry', async () => {
    const held = { kind: 'rule' as const, rule_id: 'daypart-pause', priority: 10, intent: 'paused', by: 'change' as const, decision_id: 'd1', at_ms: START };
    await store.updateEntityMemories(ACCT, [
      { entityId: 'c1', remember: { rule_id: 'daypart-pause', action: 'pause', outcome: 'acted', at_ms: START, entity_updated_at_after: 1_795_000_000, decision_id: 'd1' } },
      { entityId: 'c1', remember: { rule_id: 'ctr-floor', action: 'pause', outcome: 'would_act', at_ms: START + 1, entity_updated_at_after: null, decision_id: 'd2' } },
      { entityId: 'c1', observed: { at_ms: START, status: 'paused', review_status: 'approved', updated_at: 1_795_000_000, created_at: 1_794_000_000 }, holder: { cls: 'status', holder: held } },
    ]);
    const memories = await store.entityMemories(ACCT, ['c1', 'c2', 'c1']);
    expect([...memories.keys()]).toEqual(['c1']);
    const c1 = memories.get('c1');
    expect(c1?.acted.get('daypart-pause')).toMatchObject({ action: 'pause', at_ms: START });
    expect(c1?.wouldAct.get('ctr-floor')).toMatchObject({ decision_id: 'd2' });
    expect(c1?.holders.status).toEqual(held);
    expect(c1?.observed).toMatchObject({ status: 'paused', updated_at: 1_795_000_000 });

    // An older observation (a slow concurrent run) never replaces a newer one.
    await store.updateEntityMemories(ACCT, [{ entityId: 'c1', observed: { at_ms: START - 60_000, status: 'active', review_status: 'approved', updated_at: 1_794_999_000, created_at: 1_794_000_000 }, holder: { cls: 'status', holder: { kind: 'unknown', detail: 'stale' } } }]);
    expect((await store.entityMemories(ACCT, ['c1'])).get('c1')?.holders.status).toEqual(held);

    // A rule's action rides on its entity's observation; when that observation is older than the
    // stored one, the observation is dropped and the action is still remembered.
    await store.updateEntityMemories(ACCT, [
      { entityId: 'c1', observed: { at_ms: START - 30_000, status: 'active', review_status: 'approved', updated_at: 1_794_999_500, created_at: 1_794_000_000 }, holder: { cls: 'status', holder: { kind: 'unknown', detail: 'stale' } } },
      { entityId: 'c1', remember: { rule_id: 'cpc-guard', action: 'pause', outcome: 'acted', at_ms: START + 2, entity_updated_at_after: 1_795_000_000, decision_id: 'd3' } },
    ]);
    const after = (await store.entityMemories(ACCT, ['c1'])).get('c1');
    expect(after?.acted.get('cpc-guard')).toMatchObject({ decision_id: 'd3', at_ms: START + 2 });
    expect(after?.holders.status).toEqual(held);
    expect(after?.observed).toMatchObject({ status: 'paused', updated_at: 1_795_000_000 });
    expect(after?.acted.get('daypart-pause')).toMatchObject({ decision_id: 'd1' });

    // Memory outlives the trail's retention: a `forever` cooldown must not be lost to TTL.
    const raw = await dynamo.client.send(new GetItemCommand({ TableName: store.tableName, Key: { pk: { S: `A#${ACCT}#S#c1` }, sk: { S: 'STATE' } } }));
    expect(raw.Item?.expires_at).toBeUndefined();
  });

  it('keeps a per-key request ledger for the rolling hour', async () => {
    const minute = Math.floor(clock.nowMs() / 60_000) * 60_000;
    await store.recordRequests(ACCT, 'key_abc', 'w1', new Map([[minute - 90 * 60_000, 50], [minute - 30 * 60_000, 3], [minute, 2]]));
    await store.recordRequests(ACCT, 'key_abc', 'w1', new Map([[minute, 1]]));
    await store.recordRequests(ACCT, 'key_abc', 'w2', new Map([[minute, 4]]));
    expect(await store.recentRequests(ACCT, 'key_abc')).toEqual([
      { minuteMs: minute - 30 * 60_000, writerId: 'w1', count: 3 },
      { minuteMs: minute, writerId: 'w1', count: 3 },
      { minuteMs: minute, writerId: 'w2', count: 4 },
    ]);
    expect(await store.recentRequests(ACCT, 'key_other')).toEqual([]);
  });

  it('says what to do when the table is missing', async () => {
    const missing = new AuditStore({ tableName: 'no-such-table', client: dynamo.client });
    await expect(missing.queryDecisions(ACCT, {})).rejects.toBeInstanceOf(AuditTableMissingError);
  });
});
