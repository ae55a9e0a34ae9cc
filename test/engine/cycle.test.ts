// The engine cycle against the sandbox and dynalite: reads, decisions, status calls seen in the
// sandbox's request log, records with every field, partial data, failures, exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import { decisionRecordSchema } from '../../functions/audit/records';
import { ManualClock } from '../../functions/shared/clock';
import { ACCOUNT_ID, eids, engineFixture } from '../helpers/fixtures';
import { engineRules, rig, statusCalls, type Rig } from '../helpers/engine';

const deadline = (): number => Date.now() + 60_000;

describe('runCycle', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('reads, decides, calls the status endpoints, and records every decision with every field', async () => {
    r = await rig(engineFixture(), engineRules());
    const { summary, decisions } = await r.engine().runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z', trigger: 'manual' });

    expect(statusCalls(r.sandbox).map((c) => c.path).sort()).toEqual([`/v1/campaigns/${eids.approved}/activate`, `/v1/campaigns/${eids.expensive}/pause`, `/v1/campaigns/${eids.night}/pause`].sort());
    expect(summary).toMatchObject({ status: 'completed', account_id: ACCOUNT_ID, counts: { acted: 3 }, entities_read: 4 });
    // the account, the campaign list, one insights read per distinct window (last_3_days, lifetime),
    // 3 actions, and the activation's re-read (starting spend re-checks the entity first)
    expect(summary.api_requests).toBe(1 + 1 + 2 + 3 + 1);

    const stored = await r.store.queryDecisions(ACCOUNT_ID, { runId: summary.run_id });
    expect(stored).toHaveLength(3);
    const pause = stored.find((d) => d.rule_id === 'pause-expensive');
    expect(decisionRecordSchema.parse(pause)).toEqual(pause);
    expect(pause).toMatchObject({
      run_id: summary.run_id,
      account_id: ACCOUNT_ID,
      rule_id: 'pause-expensive',
      rule_version: expect.stringMatching(/^[0-9a-f]{16}$/) as string,
      level: 'campaign',
      entity_id: eids.expensive,
      entity_name: 'Expensive Shoes',
      scheduled_time: '2026-03-10T15:00:00.000Z',
      evaluated_at: '2026-03-10T15:00:00.000Z',
      trigger: 'manual',
      windows: [{ name: 'last_3_days', timezone: 'America/New_York', start: '2026-03-07T05:00:00.000Z', end: '2026-03-10T04:00:00.000Z', nominal_start: '2026-03-07T05:00:00.000Z', nominal_end: '2026-03-10T04:00:00.000Z' }],
      // 19 of Mar 7's 24 hours (the New York day starts at 05:00Z) + Mar 8 + Mar 9: $335 for 110 clicks
      observed: { status: 'active', 'cpc@last_3_days': 335 / 110 },
      outcome: 'acted',
      action: 'pause',
      mode: 'live',
      priority: 10,
      status_before: 'active',
      status_after: 'paused',
      target: 'paused',
      api_result: { http_status: 200, error_code: null, message: null, attempts: 1, confirmed_by: null },
      lease_until_ms: null,
      entity_updated_at_before: expect.any(Number) as number,
      entity_updated_at_after: expect.any(Number) as number,
      holder: { kind: 'creation' },
    });
    expect(pause?.explanation).toMatchObject({ kind: 'all', result: 'match' });
    expect(decisions.map((d) => d.decision_id).sort()).toEqual(stored.map((d) => d.decision_id).sort());
    // one digest for the run
    expect(r.notifier.digests).toHaveLength(1);
  });

  it('dry_run records would_act and calls nothing', async () => {
    r = await rig(engineFixture(), engineRules());
    const { summary } = await r.engine().runCycle({ deadlineMs: deadline(), mode: 'dry_run' });
    expect(statusCalls(r.sandbox)).toEqual([]);
    expect(summary.counts).toMatchObject({ would_act: 3 });
    const stored = await r.store.queryDecisions(ACCOUNT_ID, { actionsOnly: true });
    expect(stored.map((d) => [d.outcome, d.mode])).toEqual([['would_act', 'dry_run'], ['would_act', 'dry_run'], ['would_act', 'dry_run']]);
    // The dry run remembered what it would have done: the next one keeps the rules' cooldowns.
    r.sandbox.world.clock.advance(15 * 60);
    const next = await r.engine().runCycle({ deadlineMs: deadline(), mode: 'dry_run' });
    expect(next.summary.counts).toMatchObject({ would_act: 1, skipped_cooldown: 2 });
    expect(statusCalls(r.sandbox)).toEqual([]);
  });

  it('nothing acts on partial data: a failed insights read makes its rules data_unavailable, others go on', async () => {
    r = await rig(engineFixture(), engineRules());
    r.sandbox.setFaults({ rate: 1, kinds: ['http_503'], path_pattern: '/insights$' });
    const { summary } = await r.engine().runCycle({ deadlineMs: deadline() });
    expect(statusCalls(r.sandbox).map((c) => c.path)).toEqual([`/v1/campaigns/${eids.night}/pause`]);
    expect(summary.counts).toMatchObject({ data_unavailable: 2, acted: 1 });
    const unavailable = await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'data_unavailable' });
    expect(unavailable.map((d) => [d.rule_id, d.entity_id, d.api_result?.error_code])).toEqual(
      expect.arrayContaining([
        ['pause-expensive', '*', 'service_unavailable'],
        ['activate-approved', '*', 'service_unavailable'],
      ]),
    );
    expect(unavailable[0]?.reason).toMatch(/could not read insights for .* \(service_unavailable\): nothing acts on partial or mismatched data/);
  });

  it('a failed list makes every rule data_unavailable and calls nothing', async () => {
    r = await rig(engineFixture(), engineRules());
    r.sandbox.setFaults({ rate: 1, kinds: ['http_500'], path_pattern: '^/v1/campaigns$' });
    const { summary } = await r.engine().runCycle({ deadlineMs: deadline() });
    expect(statusCalls(r.sandbox)).toEqual([]);
    expect(summary.counts).toEqual({ data_unavailable: 3 });
  });

  it('one failed action never stops the others, and is recorded as failed with the API error', async () => {
    r = await rig(engineFixture(), engineRules());
    r.sandbox.setFaults({ rate: 1, kinds: ['http_429'], path_pattern: `${eids.expensive}/pause$`, retry_after_seconds: 1 });
    const { summary } = await r.engine().runCycle({ deadlineMs: deadline() });
    expect(summary.counts).toMatchObject({ acted: 2, failed: 1 });
    const failed = await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'failed' });
    expect(failed).toEqual([expect.objectContaining({ entity_id: eids.expensive, status_after: 'active', api_result: expect.objectContaining({ http_status: 429, error_code: 'rate_limit_exceeded' }) as unknown })]);
    expect(r.sandbox.world.campaigns.get(eids.night)?.status).toBe('paused');
    const digest = r.notifier.digests[0];
    expect(digest?.decisions.map((d) => d.outcome).sort()).toEqual(['acted', 'acted', 'failed']);
  });

  it('a call that may have landed is never recorded as failed: it is left for reconciliation', async () => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), engineRules(), { realClock: real });
    r.sandbox.setFaults({ rate: 1, kinds: ['http_503'], path_pattern: `${eids.expensive}/pause$`, phase: 'before' });
    const first = await r.engine().runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
    expect(first.summary.counts).toMatchObject({ acted: 2, unconfirmed: 1 });
    expect(first.summary.counts.failed).toBeUndefined();
    r.sandbox.setFaults({ rate: 0 });
    const next = await r.engine().runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:15:00Z' });
    expect(next.summary.counts.reconciled).toBe(1);
    const history = await r.store.queryDecisions(ACCOUNT_ID, { entityId: eids.expensive });
    expect(history.map((d) => [d.scheduled_time, d.outcome, d.api_result?.confirmed_by ?? null])).toEqual([['2026-03-10T15:00:00.000Z', 'acted', 'reconciled_retry']]);
    expect(r.sandbox.world.campaigns.get(eids.expensive)?.status).toBe('paused');
  });

  it('respects cooldowns from earlier runs and never undoes a human change', async () => {
    r = await rig(engineFixture(), engineRules());
    const engine = r.engine();
    await engine.runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z' });
    // A person re-activates the expensive campaign and pauses the freshly launched one.
    r.sandbox.world.clock.advance(60);
    r.sandbox.world.campaignAction(eids.expensive, 'activate');
    r.sandbox.world.campaignAction(eids.approved, 'pause');
    r.sandbox.world.clock.advance(15 * 60);
    const second = await engine.runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:15:00Z' });
    const decided = (await r.store.queryDecisions(ACCOUNT_ID, { runId: second.summary.run_id })).map((d) => [d.rule_id, d.outcome]);
    expect(decided).toEqual(expect.arrayContaining([['pause-expensive', 'skipped_cooldown'], ['activate-approved', 'skipped_manual_override']]));
    expect(statusCalls(r.sandbox)).toHaveLength(3);
  });

  describe('exactly once', () => {
    it('the same occurrence delivered twice makes one status call per entity', async () => {
      r = await rig(engineFixture(), engineRules());
      const request = { deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z', scheduleId: 'rate-15-minutes-ny' };
      const first = await r.engine().runCycle(request);
      const again = await r.engine().runCycle(request);
      expect(first.summary.status).toBe('completed');
      expect(again.summary.status).toBe('skipped_duplicate');
      expect(statusCalls(r.sandbox)).toHaveLength(3);
    });

    it('four concurrent deliveries of one occurrence make one status call per entity and one outcome per decision', async () => {
      r = await rig(engineFixture(), engineRules());
      const request = { deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z', scheduleId: 'rate-15-minutes-ny' };
      const results = await Promise.all([1, 2, 3, 4].map(() => (r as Rig).engine().runCycle(request)));
      expect(results.filter((x) => x.summary.status === 'completed')).toHaveLength(1);
      const calls = statusCalls(r.sandbox);
      expect(calls).toHaveLength(3);
      expect(new Set(calls.map((c) => c.path)).size).toBe(3);
      const stored = await r.store.queryDecisions(ACCOUNT_ID, { actionsOnly: true });
      expect(stored).toHaveLength(3);
    });

    it('even without an occurrence claim, concurrent runs never call twice: the intent is a conditional put', async () => {
      r = await rig(engineFixture(), engineRules());
      const request = { deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z' };
      const results = await Promise.all([1, 2, 3, 4].map(() => (r as Rig).engine().runCycle(request)));
      expect(statusCalls(r.sandbox)).toHaveLength(3);
      expect(results.reduce((sum, x) => sum + (x.summary.counts.duplicate ?? 0), 0)).toBe(9);
      const pending = await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'pending' });
      expect(pending).toEqual([]);
    });

    it('a crash between intent and call is reconciled by the next run: one call, records consistent', async () => {
      const real = new ManualClock(Date.now());
      r = await rig(engineFixture(), engineRules(), { realClock: real });
      const crashing = r.engine({ crashPoints: { afterIntent: (intent) => { if (intent.entity_id === eids.expensive) throw new Error('process killed'); } } });
      await crashing.runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
      expect(statusCalls(r.sandbox).filter((c) => c.path.includes(eids.expensive))).toEqual([]);
      const pending = await r.store.getDecision(ACCOUNT_ID, (await r.store.queryDecisions(ACCOUNT_ID, { entityId: eids.expensive }))[0]?.decision_id ?? '');
      expect(pending?.outcome).toBe('pending');
      // While its lease lasts, nobody touches it.
      const early = await r.engine().runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
      expect(early.summary.counts.reconciled).toBeUndefined();
      // After the lease: the next run finds it not paused, still current → calls once → acted.
      real.advance(60_000);
      const next = await r.engine().runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
      expect(next.summary.counts.reconciled).toBe(1);
      expect(statusCalls(r.sandbox).filter((c) => c.path.includes(eids.expensive))).toHaveLength(1);
      const record = await r.store.getDecision(ACCOUNT_ID, pending?.decision_id ?? '');
      expect(record).toMatchObject({ outcome: 'acted', status_after: 'paused', api_result: { confirmed_by: 'reconciled_retry' } });
    });

    it('a crash after the call is reconciled from the entity state without a second call', async () => {
      const real = new ManualClock(Date.now());
      r = await rig(engineFixture(), engineRules(), { realClock: real });
      const crashing = r.engine({ crashPoints: { afterCall: (intent) => { if (intent.entity_id === eids.night) throw new Error('process killed'); } } });
      await crashing.runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:00:00Z' });
      expect(statusCalls(r.sandbox).filter((c) => c.path.includes(eids.night))).toHaveLength(1);
      real.advance(60_000);
      const next = await r.engine().runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:15:00Z' });
      expect(next.summary.counts.reconciled).toBe(1);
      expect(statusCalls(r.sandbox).filter((c) => c.path.includes(eids.night))).toHaveLength(1);
      const history = await r.store.queryDecisions(ACCOUNT_ID, { entityId: eids.night });
      expect(history.map((d) => [d.outcome, d.api_result?.confirmed_by ?? null])).toEqual([['acted', 'reconciled']]);
    });
  });
});
