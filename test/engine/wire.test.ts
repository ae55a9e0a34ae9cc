// The engine against the wire as the reference documents it: never a decision on an answer to a
// different question (an API that ignores the time range, lifetime read in chunks), a loud
// typed error and no action when client and API disagree on the profile, and ad-group/ad rules
// listed through insights metadata when the API offers it: the same decisions for far fewer requests.
import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, eids, engineFixture, T0 } from '../helpers/fixtures';
import { compiledFrom, engineRules, rig, statusCalls, type Rig } from '../helpers/engine';
import { clientFor } from '../helpers/sandbox';

const deadline = (): number => Date.now() + 30_000;

describe('never a decision on an answer to a different question', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('an API that ignores the time range: the metric rules record data_unavailable naming the mismatch, and act on nothing', async () => {
    r = await rig(engineFixture({ behaviour: { ignore_time_ranges: true } }), engineRules());
    const { summary } = await r.engine().runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z' });
    // Only the field-only night rule acts: it reads no insights.
    expect(statusCalls(r.sandbox).map((c) => c.path)).toEqual([`/v1/campaigns/${eids.night}/pause`]);
    expect(summary.counts).toMatchObject({ data_unavailable: 2, acted: 1 });
    const unavailable = await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'data_unavailable' });
    expect(unavailable.map((d) => d.rule_id).sort()).toEqual(['activate-approved', 'pause-expensive']);
    for (const d of unavailable) {
      expect(d.api_result?.error_code).toBe('answer_mismatch');
      expect(d.reason).toMatch(/^could not read insights for .* \(answer_mismatch: .*but asked for .*\): nothing acts on partial or mismatched data$/);
    }
  });

  it('lifetime read in 366-day chunks: each chunk must be answered for its own range', async () => {
    const old = engineFixture({ behaviour: { ignore_time_ranges: true } });
    // A campaign created two years ago: its lifetime is three ranges.
    old.campaigns = (old.campaigns ?? []).map((c) => ({ ...c, created_at: T0 - 800 * 86_400, start_time: T0 - 799 * 86_400 }));
    r = await rig(old, compiledFrom([{ id: 'budget', mode: 'live', schedule: { expression: 'rate(15 minutes)', timezone: 'UTC' }, level: 'campaign', when: { metric: 'spend', window: 'lifetime', op: 'gte', value: 0 }, then: { action: 'pause' } }]));
    const { decisions } = await r.engine().runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z' });
    expect(statusCalls(r.sandbox)).toEqual([]);
    expect(decisions).toEqual([expect.objectContaining({ outcome: 'data_unavailable', entity_id: '*', api_result: expect.objectContaining({ error_code: 'answer_mismatch' }) as unknown })]);
    expect(decisions[0]?.windows[0]).toMatchObject({ name: 'lifetime', start: new Date((T0 - 800 * 86_400) * 1000).toISOString().replace(/:\d\d:\d\d\.000Z$/, ':00:00.000Z') });
  });
});

describe('client and API on different wire profiles', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('a legacy client against a reference API: 400 invalid_value on limit, data_unavailable, no action from metric rules', async () => {
    r = await rig(engineFixture(), engineRules());
    const { summary } = await r.engine({ client: clientFor(r.sandbox, { wireProfile: 'legacy' }) }).runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z' });
    expect(summary.counts.data_unavailable).toBe(2);
    expect(statusCalls(r.sandbox).map((c) => c.path)).toEqual([`/v1/campaigns/${eids.night}/pause`]);
    const unavailable = await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'data_unavailable' });
    for (const d of unavailable) expect(d.api_result).toMatchObject({ error_code: 'invalid_value', message: expect.stringContaining('limit') as string });
  });

  it('a reference client against a legacy API: its uppercase filter operator is refused, the rule does nothing', async () => {
    r = await rig(engineFixture({ behaviour: { wire_profile: 'legacy' } }), compiledFrom([{ id: 'scoped-ads', mode: 'live', schedule: { expression: 'rate(1 hour)', timezone: 'UTC' }, level: 'ad', scope: { campaign_ids: [eids.expensive] }, when: { metric: 'clicks', window: 'last_3_days', op: 'gte', value: 1 }, then: { action: 'pause' } }]));
    const { decisions } = await r.engine().runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z' });
    expect(statusCalls(r.sandbox)).toEqual([]);
    expect(decisions).toEqual([expect.objectContaining({ outcome: 'data_unavailable', api_result: expect.objectContaining({ error_code: 'invalid_filter_operator' }) as unknown })]);
  });
});

describe('ad-group and ad rules through insights metadata', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  const adRules = () =>
    compiledFrom([
      { id: 'quiet-ads', mode: 'live', schedule: { expression: 'rate(1 hour)', timezone: 'UTC' }, level: 'ad', when: { all: [{ field: 'status', op: 'eq', value: 'active' }, { field: 'campaign_status', op: 'eq', value: 'active' }, { field: 'ad_group_status', op: 'eq', value: 'active' }, { metric: 'clicks', window: 'last_3_days', op: 'gte', value: 100 }] }, then: { action: 'pause' } },
      { id: 'wake-groups', mode: 'live', schedule: { expression: 'rate(1 hour)', timezone: 'UTC' }, level: 'ad_group', when: { all: [{ field: 'status', op: 'eq', value: 'paused' }, { field: 'campaign_status', op: 'eq', value: 'active' }] }, then: { action: 'activate' } },
    ]);

  it('the same decisions with and without the capability, for fewer requests', async () => {
    const fixture = engineFixture();
    // One paused ad group under an active campaign, never changed: wake-groups may launch it.
    fixture.campaigns = (fixture.campaigns ?? []).map((c) => (c.id === eids.cheap ? { ...c, ad_groups: (c.ad_groups ?? []).map((g) => ({ ...g, status: 'paused' as const })) } : c));
    const outcomes = async (insightsListing: boolean): Promise<{ decided: string[]; requests: number; lists: number }> => {
      await r?.close();
      r = await rig(fixture, adRules());
      r.sandbox.clearRequests();
      const { decisions, summary } = await r.engine({ insightsListing }).runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z' });
      const lists = r.sandbox.requests().filter((q) => q.path === '/v1/ad_groups' || q.path === '/v1/ads').length;
      return { decided: decisions.map((d) => `${d.rule_id} ${d.entity_id} ${d.outcome}`).sort(), requests: summary.api_requests, lists };
    };
    const without = await outcomes(false);
    const withMetadata = await outcomes(true);
    expect(withMetadata.decided).toEqual(without.decided);
    // The cheap campaign's ad has the clicks, but its ad group is paused: only the others' ads.
    expect(without.decided).toEqual([`quiet-ads ${eids.expensive}-ad acted`, `quiet-ads ${eids.night}-ad acted`, `wake-groups ${eids.cheap}-ag acted`]);
    // Without: the account, the campaign list, one ad-group list per campaign (4), one ad list per
    // ad group (4), one insights read at ad level, 3 actions and their 3 re-reads (ad groups and
    // ads answer 200 to a no-op; an activation re-checks before it starts spend).
    expect(without).toMatchObject({ lists: 8, requests: 1 + 1 + 4 + 4 + 1 + 3 + 3 });
    // With: the account, the probe, the campaign list, the ad-level window read (listing the ads
    // too), one ad-group listing read, 3 actions and their re-reads, and the activated group's
    // timestamps (an insights row carries none).
    expect(withMetadata).toMatchObject({ lists: 0, requests: 1 + 1 + 1 + 1 + 1 + 3 + 3 + 1 });
  });

  it('probes once per process and caches the finding in the audit table for a day', async () => {
    r = await rig(engineFixture(), adRules());
    const engine = r.engine();
    await engine.runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T15:00:00Z' });
    await engine.runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T16:00:00Z' });
    const probes = (): number => r?.sandbox.requests().filter((q) => q.path === '/v1/ad_account/insights' && (q.query['limit']?.[0] ?? '') === '20').length ?? 0;
    expect(probes()).toBe(1);
    // A new process (a cold start) reads the table's finding instead of probing again.
    await r.engine().runCycle({ deadlineMs: deadline(), scheduledTime: '2026-03-10T17:00:00Z' });
    expect(probes()).toBe(1);
    expect(await r.store.getCapabilities(ACCOUNT_ID, 'reference')).toMatchObject({ metadata_fields: true, zero_impression_items: true });
    // A day later the finding is stale.
    r.sandbox.world.clock.advance(86_401);
    expect(await r.store.getCapabilities(ACCOUNT_ID, 'reference')).toBeNull();
  });
});
