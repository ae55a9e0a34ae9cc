// Every write re-checks what it depends on (reconciliation, a 200 that changed nothing, undo), a
// dry run never takes live work, and the record shows the range that was read: against the
// sandbox and dynalite, asserted from the sandbox's request log and the audit table.
import { afterEach, describe, expect, it } from 'vitest';
import { undoDecision } from '../../functions/engine/undo';
import { ManualClock } from '../../functions/shared/clock';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { ACCOUNT_ID, eids, engineFixture, KEY, T0 } from '../helpers/fixtures';
import { compiledFrom, engineRuleInputs, engineRules, rig, statusCalls, type Rig } from '../helpers/engine';
import { clientFor } from '../helpers/sandbox';

const OCCURRENCE = '2026-03-10T15:00:00Z';

describe('reconciliation never re-applies over a change, nor for a rule that no longer acts', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('5a. a pause that landed before the crash, reversed by a person since, is not re-applied', async () => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), engineRules(), { realClock: real });
    const crashing = r.engine({ crashPoints: { afterCall: (intent) => { if (intent.entity_id === eids.expensive) throw new Error('process killed'); } } });
    await crashing.runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: OCCURRENCE });
    expect(r.sandbox.world.campaigns.get(eids.expensive)?.status).toBe('paused');
    // A person switches it back on before the next run.
    r.sandbox.world.clock.advance(120);
    r.sandbox.world.campaignAction(eids.expensive, 'activate');
    real.advance(60_000);
    const next = await r.engine().runCycle({ ruleIds: ['activate-approved'], deadlineMs: real.nowMs() + 30_000, scheduledTime: '2026-03-10T15:05:00Z' });
    expect(next.summary.counts.reconciled).toBe(1);
    expect(statusCalls(r.sandbox).filter((c) => c.path.endsWith(`${eids.expensive}/pause`))).toHaveLength(1);
    expect(r.sandbox.world.campaigns.get(eids.expensive)?.status).toBe('active');
    const [record] = await r.store.queryDecisions(ACCOUNT_ID, { entityId: eids.expensive });
    expect(record).toMatchObject({ outcome: 'failed', api_result: { error_code: 'not_confirmed', confirmed_by: 'reconciled' } });
    expect(record?.reason).toMatch(/the campaign is active, and the campaign changed since the intent \(updated_at .* → .*\): not retried$/);
  });

  it.each([
    ['now dry_run', { mode: 'dry_run' as const }, 'its rule is now dry_run'],
    ['now disabled', { enabled: false }, 'its rule is now disabled'],
    ['gone', null, 'its rule is gone from the rule set'],
  ])('5b. an intent left before its call is not called for a rule %s', async (_name, change, why) => {
    const real = new ManualClock(Date.now());
    r = await rig(engineFixture(), engineRules(), { realClock: real });
    const crashing = r.engine({ crashPoints: { afterIntent: (intent) => { if (intent.entity_id === eids.expensive) throw new Error('process killed'); } } });
    await crashing.runCycle({ deadlineMs: real.nowMs() + 30_000, scheduledTime: OCCURRENCE });
    real.advance(60_000);
    const inputs = engineRuleInputs().flatMap((rule) => (rule.id !== 'pause-expensive' ? [rule] : change === null ? [] : [{ ...rule, ...change }]));
    const next = await r.engine({ rules: compiledFrom(inputs) }).runCycle({ ruleIds: ['activate-approved'], deadlineMs: real.nowMs() + 30_000, scheduledTime: OCCURRENCE });
    expect(next.summary.counts.reconciled).toBe(1);
    expect(statusCalls(r.sandbox).filter((c) => c.path.includes(eids.expensive))).toEqual([]);
    const [record] = await r.store.queryDecisions(ACCOUNT_ID, { entityId: eids.expensive });
    expect(record?.outcome).toBe('failed');
    expect(record?.reason).toContain(why);
  });
});

describe('a 200 that changed nothing is not an action', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  const groupRules = (): ReturnType<typeof compiledFrom> =>
    compiledFrom([
      { id: 'group-night', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' }, level: 'ad_group', when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' }, scope: { campaign_ids: [eids.night] }, priority: 10 },
      { id: 'group-morning', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' }, level: 'ad_group', when: { field: 'status', op: 'eq', value: 'paused' }, then: { action: 'activate', only_if_paused_by: ['group-night'] }, scope: { campaign_ids: [eids.night] }, priority: 5 },
    ]);

  it("6. a person's pause just before ours is recorded as theirs, and the morning resume leaves it alone", async () => {
    r = await rig(engineFixture(), groupRules());
    const group = `${eids.night}-ag`;
    // Between the decision and the call, a person pauses the ad group (ad groups answer 200 either way).
    const engine = r.engine({ crashPoints: { afterIntent: () => { r?.sandbox.world.adGroupAction(group, 'pause'); } } });
    const night = await engine.runCycle({ ruleIds: ['group-night'], deadlineMs: Date.now() + 30_000, scheduledTime: OCCURRENCE });
    expect(night.decisions.find((d) => d.entity_id === group)).toMatchObject({ outcome: 'already_in_state', reason: expect.stringContaining('when read again just before the call') as string });
    expect(statusCalls(r.sandbox).filter((c) => c.path.endsWith('/pause'))).toEqual([]);
    r.sandbox.world.clock.advance(9 * 3_600);
    const morning = await r.engine().runCycle({ ruleIds: ['group-morning'], deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-11T00:00:00Z' });
    expect(morning.decisions.find((d) => d.entity_id === group)?.outcome).toBe('skipped_manual_override');
    expect(r.sandbox.world.adGroups.get(group)?.status).toBe('paused');
  });

  it('6b. without updated_at on ads, the morning resume cannot rule out a change and does not start spend', async () => {
    r = await rig(engineFixture({ behaviour: { ad_timestamps: false } }), compiledFrom([
      { id: 'ad-night', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' }, level: 'ad', when: { field: 'status', op: 'eq', value: 'active' }, then: { action: 'pause' }, scope: { campaign_ids: [eids.night] }, priority: 10 },
      { id: 'ad-morning', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' }, level: 'ad', when: { field: 'status', op: 'eq', value: 'paused' }, then: { action: 'activate', only_if_paused_by: ['ad-night'] }, scope: { campaign_ids: [eids.night] }, priority: 5 },
    ]));
    const ad = `${eids.night}-ad`;
    const night = await r.engine().runCycle({ ruleIds: ['ad-night'], deadlineMs: Date.now() + 30_000, scheduledTime: OCCURRENCE });
    expect(night.decisions.find((d) => d.entity_id === ad)?.outcome).toBe('acted');
    r.sandbox.world.clock.advance(9 * 3_600);
    const morning = await r.engine().runCycle({ ruleIds: ['ad-morning'], deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-11T00:00:00Z' });
    const resume = morning.decisions.find((d) => d.entity_id === ad);
    expect(resume?.outcome).toBe('skipped_manual_override');
    expect(resume?.reason).toMatch(/reports no updated_at for this ad, so a change since the autopilot last saw it .* cannot be ruled out/);
    expect(r.sandbox.world.ads.get(ad)?.status).toBe('paused');
  });
});

describe('a dry run never consumes live work', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('7. a --dry-run process that claimed the occurrence first leaves the live one to run it', async () => {
    r = await rig(engineFixture(), engineRules());
    const request = { deadlineMs: Date.now() + 30_000, scheduledTime: OCCURRENCE, scheduleId: 'cron-22-ny' };
    const dry = await r.engine().runCycle({ ...request, mode: 'dry_run' });
    expect(dry.summary.counts.would_act).toBe(3);
    const live = await r.engine().runCycle(request);
    expect(live.summary.status).toBe('completed');
    expect(live.summary.counts.acted).toBe(3);
    expect(statusCalls(r.sandbox)).toHaveLength(3);
    // A second live delivery is the duplicate; a second dry run is too.
    expect((await r.engine().runCycle(request)).summary.status).toBe('skipped_duplicate');
    expect((await r.engine().runCycle({ ...request, mode: 'dry_run' })).summary.status).toBe('skipped_duplicate');
  });
});

describe('the record shows the range that was read', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('10. in a :30 zone, mid-hour: windows resolved once, and recorded as the ranges the insights request asked for', async () => {
    // 15:17Z: mid-hour; Kolkata midnight is 18:30Z (widened to 18:00Z).
    r = await rig(engineFixture({}, T0 + 17 * 60), compiledFrom([
      { id: 'kolkata-today', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'Asia/Kolkata' }, level: 'campaign', when: { all: [{ metric: 'spend', window: 'today', op: 'gte', value: 0 }, { metric: 'clicks', window: 'last_3_days', op: 'gte', value: 0 }] }, then: { action: 'notify' } },
    ]));
    const { decisions } = await r.engine().runCycle({ deadlineMs: Date.now() + 30_000 });
    const asked = r.sandbox
      .requests()
      .filter((q) => q.path === '/v1/ad_account/insights')
      .map((q) => JSON.parse(q.query['time_ranges[]']?.[0] ?? '{}') as { start: number; end: number });
    const recorded = decisions[0]?.windows ?? [];
    expect(recorded.map((w) => w.name)).toEqual(['today', 'last_3_days']);
    expect(recorded.map((w) => ({ start: Date.parse(w.start) / 1000, end: Date.parse(w.end) / 1000 })).sort((a, b) => a.start - b.start)).toEqual(asked.map((a) => ({ start: a.start, end: a.end })).sort((a, b) => a.start - b.start));
    const today = recorded.find((w) => w.name === 'today');
    expect(today).toMatchObject({ start: '2026-03-09T18:00:00.000Z', end: '2026-03-10T15:00:00.000Z', nominal_start: '2026-03-09T18:30:00.000Z', nominal_end: '2026-03-10T15:17:00.000Z' });
    expect(today?.note).toBe('widened to whole UTC hours; cut at the last complete hour (15:00 UTC)');
    for (const d of decisions) expect(d.windows).toEqual(recorded);
  });
});

describe('undo', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('13. a cleanly failed undo can be tried again, and then it is done once', async () => {
    r = await rig(engineFixture(), engineRules());
    const first = await r.engine().runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: OCCURRENCE });
    const pause = first.decisions.find((d) => d.rule_id === 'pause-expensive');
    // The activate is refused every time (a 429 is refused before any work: a clean failure).
    r.sandbox.setFaults({ rate: 1, kinds: ['http_429'], path_pattern: `${eids.expensive}/activate$`, retry_after_seconds: 1 });
    const client = clientFor(r.sandbox, { keyProvider: new StaticApiKeyProvider(KEY), retry: { maxAttempts: 2 } });
    const deps = { client, store: r.store, clock: r.sandbox.world.clock };
    const failed = await undoDecision(deps, ACCOUNT_ID, pause?.decision_id ?? '', { deadlineMs: Date.now() + 30_000 });
    expect(failed.status).toBe('failed');
    r.sandbox.setFaults({ rate: 0 });
    const retried = await undoDecision(deps, ACCOUNT_ID, pause?.decision_id ?? '', { deadlineMs: Date.now() + 30_000 });
    expect(retried).toMatchObject({ status: 'undone', record: { outcome: 'acted', undoes: pause?.decision_id, reason: expect.stringContaining('attempt 2') as string } });
    expect(r.sandbox.world.campaigns.get(eids.expensive)?.status).toBe('active');
    const again = await undoDecision(deps, ACCOUNT_ID, pause?.decision_id ?? '', { deadlineMs: Date.now() + 30_000 });
    expect(again).toMatchObject({ status: 'refused', reason: expect.stringMatching(/^Already undone by u_/) as string });
    // Both attempts are in the trail.
    expect((await r.store.queryDecisions(ACCOUNT_ID, { ruleId: 'manual-undo' })).map((d) => d.outcome).sort()).toEqual(['acted', 'failed']);
  });

  it('an undo is a person\'s change: rules that start spend leave it alone afterwards', async () => {
    r = await rig(engineFixture(), engineRules({ 'activate-approved': { guards: {} } }));
    const first = await r.engine().runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: OCCURRENCE });
    const launch = first.decisions.find((d) => d.rule_id === 'activate-approved');
    expect(launch?.outcome).toBe('acted');
    const undone = await undoDecision({ client: clientFor(r.sandbox), store: r.store, clock: r.sandbox.world.clock }, ACCOUNT_ID, launch?.decision_id ?? '', { deadlineMs: Date.now() + 30_000 });
    expect(undone.status).toBe('undone');
    r.sandbox.world.clock.advance(15 * 60);
    const next = await r.engine().runCycle({ deadlineMs: Date.now() + 30_000, scheduledTime: '2026-03-10T15:15:00Z' });
    expect(next.decisions.find((d) => d.rule_id === 'activate-approved')).toMatchObject({ outcome: 'skipped_manual_override', holder: { kind: 'person' } });
    expect(r.sandbox.world.campaigns.get(eids.approved)?.status).toBe('paused');
  });
});
