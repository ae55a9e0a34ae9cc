// Wire profiles end to end: the client over real HTTP against the sandbox serving a profile. The
// two agree when they speak the same profile; a client on one profile against a sandbox on the
// other fails loudly with a typed error and changes nothing; an API that ignores time ranges is
// caught by the answer guard (also for lifetime chunks); metadata fields, zero-impression items
// and probeCapabilities.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeCapabilities } from '../../functions/thrad/capabilities';
import type { InsightsRow, ThradClient, TimeRange } from '../../functions/thrad/client';
import { AnswerMismatchError, InvalidRequestError, UnsupportedQueryError } from '../../functions/thrad/errors';
import { closedRange, resolveWireProfile, WIRE_PROFILES, type WireProfileName } from '../../functions/thrad/wire';
import type { FixtureInput } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { ACCOUNT_ID, DAY, eids, engineFixture, HOUR, ids, smallFixture, T0 } from '../helpers/fixtures';
import { engineRules, rig, statusCalls, type Rig } from '../helpers/engine';
import { clientFor } from '../helpers/sandbox';

const today = Math.floor(T0 / DAY) * DAY;
const PROFILES: readonly WireProfileName[] = ['reference', 'legacy'];
const other = (p: WireProfileName): WireProfileName => (p === 'reference' ? 'legacy' : 'reference');

async function serving(profile: WireProfileName, fixture: FixtureInput = smallFixture()): Promise<Sandbox> {
  return startSandbox({ fixture, port: 0, wireProfile: profile });
}

/** A window cut into whole-hour ranges of at most 366 days (the API's limit), as the engine reads lifetime. */
function chunksOf(startSeconds: number, endSeconds: number): TimeRange[] {
  const out: TimeRange[] = [];
  for (let s = startSeconds; s < endSeconds; s += 366 * DAY) out.push({ startSeconds: s, endSeconds: Math.min(endSeconds, s + 366 * DAY) });
  return out;
}

/** Totals per entity over several ranges, one read per range: what the engine does for lifetime. */
async function sumPerRange(client: ThradClient, ranges: readonly TimeRange[]): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const range of ranges) {
    for await (const page of client.insightsPages({ scope: { level: 'ad_account' }, aggregationLevel: 'campaign', timeGranularity: 'none', fields: ['impressions'], timeRanges: [range] })) {
      for (const row of page) totals.set(row.entityId, (totals.get(row.entityId) ?? 0) + (row.impressions ?? 0));
    }
  }
  return totals;
}

describe('wire profiles', () => {
  const sandboxes = new Map<WireProfileName, Sandbox>();
  beforeAll(async () => {
    for (const p of PROFILES) sandboxes.set(p, await serving(p));
  });
  afterEach(() => {
    for (const s of sandboxes.values()) s.reset(smallFixture());
  });
  afterAll(async () => {
    for (const s of sandboxes.values()) await s.close();
  });
  const sandbox = (p: WireProfileName): Sandbox => sandboxes.get(p) as Sandbox;

  it('selects profiles by name and refuses unknown ones', () => {
    expect(resolveWireProfile(undefined).name).toBe('reference');
    expect(resolveWireProfile(' legacy ').name).toBe('legacy');
    expect(() => resolveWireProfile('openai')).toThrow('Unknown wire profile "openai": use one of reference, legacy.');
    expect(WIRE_PROFILES.reference.insights.page).toEqual({ limitMin: 1, limitMax: 2_000, limitDefault: 20 });
    expect(WIRE_PROFILES.legacy.insights.page).toEqual({ limitMin: 1, limitMax: 10_000, limitDefault: 1_000 });
  });

  it.each([
    ['reference', 1_773_154_800 + 1_800, { startSeconds: today, endSeconds: 1_773_154_800 + 1_800 }, { startSeconds: today, endSeconds: T0, clamped: true }],
    ['reference', T0 + 60, { startSeconds: today + 90, endSeconds: T0 - 2 * HOUR }, { startSeconds: today, endSeconds: T0 - 2 * HOUR, clamped: false }],
    ['legacy', T0 + 1_800, { startSeconds: today, endSeconds: T0 + 1_800 }, { startSeconds: today, endSeconds: T0 + HOUR, clamped: false }],
  ] as const)('closedRange in %s at %i: %j → %j', (profile, now, range, expected) => {
    expect(closedRange(WIRE_PROFILES[profile], range, now)).toEqual(expected);
  });

  describe.each(PROFILES)('client and sandbox both in %s', (profile) => {
    it('agree: insights at each level, paged, filtered, split by supply, with the profile spelling on the wire', async () => {
      const s = sandbox(profile);
      const client = clientFor(s, { wireProfile: profile });
      expect(client.insightsPageSize).toBe(WIRE_PROFILES[profile].insights.page.limitMax);
      expect(clientFor(s, { wireProfile: profile, insightsPageSize: 50_000 }).insightsPageSize).toBe(WIRE_PROFILES[profile].insights.page.limitMax);
      const rows = await client.insights({
        scope: { level: 'ad_account' },
        aggregationLevel: 'ad_group',
        timeGranularity: 'none',
        fields: ['impressions', 'clicks', 'spend'],
        timeRanges: [{ startSeconds: today - 3 * DAY, endSeconds: today + DAY }],
        supply: 'split',
        filters: [{ field: 'campaign.id', operator: 'in', value: [ids.c1] }],
      });
      // g1 over those days: a1 (1000+997+120+55 chatgpt, 1201+80 thrad) and a2 (500 chatgpt, 33 thrad)
      expect(rows.map((r) => [r.entityId, r.supply, r.impressions, r.clicks])).toEqual([
        [ids.g1, 'thrad', 1_201 + 80 + 33, 31 + 1],
        [ids.g1, 'chatgpt', 1_000 + 997 + 120 + 55 + 500, 25 + 13 + 4 + 2 + 5],
      ]);
      const sent = s.requests()[0]?.query ?? {};
      const spelled = profile === 'reference' ? { fields: ['ad_group.impressions', 'ad_group.clicks', 'ad_group.spend'], operator: 'IN', limit: '2000' } : { fields: ['impressions', 'clicks', 'spend'], operator: 'in', limit: '10000' };
      expect(sent['fields[]']).toEqual(spelled.fields);
      expect(sent.limit).toEqual([spelled.limit]);
      expect(JSON.parse(sent['filters[]']?.[0] ?? '{}')).toEqual({ field: 'campaign.id', operator: spelled.operator, value: [ids.c1] });
      expect(JSON.parse(sent['time_ranges[]']?.[0] ?? '{}')).toEqual({ type: 'unix_range', start: today - 3 * DAY, end: today + DAY });
    });

    it('spells equality its own way and pages with the profile limit bounds', async () => {
      const s = sandbox(profile);
      const client = clientFor(s, { wireProfile: profile });
      const rows = await client.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'ad', timeGranularity: 'daily', timeRanges: [{ startSeconds: today - 5 * DAY, endSeconds: today + DAY }], filters: [{ field: 'ad_group.id', operator: 'equals', value: ids.g1 }], pageSize: 1 });
      expect(rows.map((r) => [r.readableTime, r.entityId])).toEqual([
        ['2026-03-07', ids.a1],
        ['2026-03-08', ids.a1],
        ['2026-03-08', ids.a2],
        ['2026-03-09', ids.a1],
        ['2026-03-10', ids.a1],
        ['2026-03-10', ids.a2],
      ]);
      expect(s.requests()).toHaveLength(6);
      expect(JSON.parse(s.requests()[0]?.query['filters[]']?.[0] ?? '{}')).toEqual(profile === 'reference' ? { field: 'ad_group.id', operator: 'IN', value: [ids.g1] } : { field: 'ad_group.id', operator: 'equals', value: ids.g1 });
    });
  });

  describe.each(PROFILES)('a client in %s against a sandbox in the other profile', (profile) => {
    it('fails loudly with a typed error before any row is used, and changes nothing', async () => {
      const s = sandbox(other(profile));
      const client = clientFor(s, { wireProfile: profile });
      const error = await client.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'ad_group', timeGranularity: 'none', fields: ['spend'], timeRanges: [{ startSeconds: today - DAY, endSeconds: today }], filters: [{ field: 'campaign.id', operator: 'in', value: [ids.c1] }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidRequestError);
      // Each profile's operator spelling is unknown to the other.
      expect(error).toMatchObject({ httpStatus: 400, code: 'invalid_filter_operator', param: 'filters[0].operator', retryable: false });
      expect(s.requests().map((r) => [r.method, r.status, r.effect])).toEqual([['GET', 400, false]]);
      expect(s.world.mutations).toBe(0);
    });
  });

  it('a legacy client fails every insights read against the reference: limit=10000 is over 2000', async () => {
    const s = sandbox('reference');
    const error = await clientFor(s, { wireProfile: 'legacy' }).insights({ scope: { level: 'ad_account' }, aggregationLevel: 'campaign', timeGranularity: 'none', timeRanges: [{ startSeconds: today - DAY, endSeconds: today }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ httpStatus: 400, code: 'invalid_value', param: 'limit', message: 'Thrad API GET /ad_account/insights failed: 400 invalid_value (param limit): limit must be an integer from 1 to 2000.' });
  });

  it('takes no action through the engine: metric rules are data_unavailable, only the field rule acts', async () => {
    let r: Rig | undefined;
    try {
      r = await rig(engineFixture(), engineRules());
      const { summary } = await r.engine({ client: clientFor(r.sandbox, { wireProfile: 'legacy' }) }).runCycle({ deadlineMs: Date.now() + 60_000 });
      expect(statusCalls(r.sandbox).map((c) => c.path)).toEqual([`/v1/campaigns/${eids.night}/pause`]);
      expect(summary.counts).toMatchObject({ data_unavailable: 2, acted: 1 });
      const unavailable = await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'data_unavailable' });
      expect(unavailable.map((d) => d.api_result?.error_code)).toEqual(['invalid_value', 'invalid_value']);
    } finally {
      await r?.close();
    }
  });

  describe('an API that ignores the time-range parameter', () => {
    it.each(PROFILES)('%s: the answer guard names the range it answered for instead', async (profile) => {
      const s = await serving(profile, smallFixture({ behaviour: { ignore_time_ranges: true } }));
      try {
        const error = await clientFor(s, { wireProfile: profile }).insights({ scope: { level: 'ad_account' }, aggregationLevel: 'campaign', timeGranularity: 'none', fields: ['spend'], timeRanges: [{ startSeconds: today - DAY, endSeconds: today }] }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AnswerMismatchError);
        expect(error).toMatchObject({ code: 'answer_mismatch', check: 'range', param: 'time_ranges[]', retryable: false });
        // The sandbox's default window: the 30 UTC days ending with today.
        expect((error as AnswerMismatchError).mismatch).toBe(
          `row start=${today - 29 * DAY} end=${today + DAY} (2026-02-09T00:00Z → 2026-03-11T00:00Z) but asked for start=${today - DAY} end=${today} (2026-03-09T00:00Z → 2026-03-10T00:00Z)`,
        );
        expect(s.requests()).toHaveLength(1);
      } finally {
        await s.close();
      }
    });

    it('lifetime in 366-day chunks: each answer must echo its own chunk', async () => {
      const chunks = chunksOf(today - 800 * DAY, T0);
      expect(chunks.map((c) => (c.endSeconds - c.startSeconds) / DAY)).toEqual([366, 366, 68 + 15 / 24]);
      // An honest API: every chunk answers for itself and the chunks add up to the lifetime.
      const honest = await sumPerRange(clientFor(sandbox('reference')), chunks);
      expect(honest.get(ids.c1)).toBe(1_000 + 1_201 + 997 + 120 + 80 + 55 + 500 + 33 + 700);
      expect(sandbox('reference').requests()).toHaveLength(3);
      // An API answering every chunk with its 30 days: the first chunk already fails, nothing is summed.
      const s = await serving('reference', smallFixture({ behaviour: { ignore_time_ranges: true } }));
      try {
        const error = await sumPerRange(clientFor(s), chunks).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AnswerMismatchError);
        expect((error as AnswerMismatchError).mismatch).toContain(`but asked for start=${chunks[0]?.startSeconds} end=${chunks[0]?.endSeconds}`);
        expect(s.requests()).toHaveLength(1);
      } finally {
        await s.close();
      }
    });

    it('through the engine: no action, data_unavailable naming the mismatch', async () => {
      let r: Rig | undefined;
      try {
        r = await rig(engineFixture({ behaviour: { ignore_time_ranges: true } }), engineRules());
        const { summary } = await r.engine().runCycle({ deadlineMs: Date.now() + 60_000 });
        expect(statusCalls(r.sandbox).map((c) => c.path)).toEqual([`/v1/campaigns/${eids.night}/pause`]);
        expect(summary.counts).toMatchObject({ data_unavailable: 2, acted: 1 });
        const unavailable = await r.store.queryDecisions(ACCOUNT_ID, { outcome: 'data_unavailable' });
        expect(unavailable.map((d) => d.api_result?.error_code)).toEqual(['answer_mismatch', 'answer_mismatch']);
        expect(unavailable.map((d) => d.reason).join('\n')).toMatch(/answer_mismatch/);
      } finally {
        await r?.close();
      }
    });
  });

  describe('metadata fields and zero-impression items (reference)', () => {
    const lastHour = { startSeconds: T0 - HOUR, endSeconds: T0 };
    const allAdMetadata = ['ad_name', 'ad_status', 'ad_review_status', 'ad_group_name', 'ad_group_status', 'campaign_name', 'campaign_status', 'campaign_start_time_seconds', 'campaign_end_time_seconds', 'lifetime_spend_limit_micros'] as const;

    it('carries every entity with its status in one account-scope read', async () => {
      const s = sandbox('reference');
      const rows = await clientFor(s).insights({ scope: { level: 'ad_account' }, aggregationLevel: 'ad', timeGranularity: 'none', fields: ['impressions'], timeRanges: [lastHour], metadata: allAdMetadata, includeZeroImpressionItems: true });
      const byId = new Map(rows.map((r) => [r.entityId, r]));
      expect(rows).toHaveLength(5);
      expect(byId.get(ids.a1)).toMatchObject({
        impressions: 55, ad_name: 'Card A', ad_status: 'active', ad_review_status: 'approved', ad_group_name: 'Runners', ad_group_status: 'active',
        campaign_name: 'Trail Shoes Spring', campaign_status: 'active', campaign_start_time_seconds: today - 20 * DAY, campaign_end_time_seconds: null, lifetime_spend_limit_micros: 5_000_000_000,
      } satisfies Partial<InsightsRow>);
      expect(byId.get(ids.a4)).toMatchObject({ impressions: 0, ad_status: 'active', campaign_status: 'paused', ad_review_status: 'approved', lifetime_spend_limit_micros: 1_000_000_000 });
      const inReview = rows.find((r) => r.campaign_name === 'Tents In Review');
      expect(inReview).toMatchObject({ impressions: 0, ad_review_status: 'in_review', ad_name: 'Dome or tunnel?', campaign_status: 'paused' });
      expect(s.requests()).toHaveLength(1);
      const sent = s.requests()[0]?.query ?? {};
      expect(sent['includes[]']).toEqual(['zero_impression_items']);
      expect(sent['fields[]']).toEqual(['ad.impressions', 'ad.name', 'ad.status', 'ad.review_status', 'ad_group.name', 'ad_group.status', 'campaign.name', 'campaign.status', 'campaign.start_time', 'campaign.end_time', 'campaign.budget.lifetime']);
    });

    it('without includes[] leaves out entities with no impressions; metadata appears only when asked', async () => {
      const rows = await clientFor(sandbox('reference')).insights({ scope: { level: 'ad_account' }, aggregationLevel: 'ad', timeGranularity: 'none', fields: ['impressions'], timeRanges: [lastHour] });
      expect(rows.map((r) => r.entityId)).toEqual([ids.a1]);
      expect(rows[0]).not.toHaveProperty('ad_status');
    });

    it('refuses, before sending, what the profile cannot express', async () => {
      const s = sandbox('reference');
      await expect(clientFor(s).insights({ scope: { level: 'ad_account' }, aggregationLevel: 'campaign', metadata: ['ad_status'] })).rejects.toMatchObject({ name: 'UnsupportedQueryError', code: 'unsupported_by_wire_profile', param: 'fields[]' });
      const legacy = clientFor(sandbox('legacy'), { wireProfile: 'legacy' });
      for (const query of [
        { metadata: ['campaign_status'] as const },
        { includeZeroImpressionItems: true },
        { filters: [{ field: 'campaign.clicks', operator: 'greater_than', value: 10 }] as const },
      ]) {
        await expect(legacy.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'campaign', ...query })).rejects.toBeInstanceOf(UnsupportedQueryError);
      }
      expect(s.requests()).toEqual([]);
      expect(sandbox('legacy').requests()).toEqual([]);
    });

    it('filters on metrics with GREATER_THAN / LESS_THAN', async () => {
      const client = clientFor(sandbox('reference'));
      const range = { startSeconds: today - 45 * DAY, endSeconds: today + DAY };
      const busy = await client.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'ad', timeGranularity: 'none', fields: ['clicks'], timeRanges: [range], filters: [{ field: 'ad.clicks', operator: 'greater_than', value: 10 }] });
      expect(busy.map((r) => [r.entityId, r.clicks])).toEqual([[ids.a1, 75]]);
      const quiet = await client.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'ad', timeGranularity: 'none', fields: ['clicks'], timeRanges: [range], filters: [{ field: 'ad.clicks', operator: 'less_than', value: 10 }] });
      expect(quiet.map((r) => [r.entityId, r.clicks])).toEqual([[ids.a2, 6], [ids.a3, 7]]);
    });
  });

  describe('probeCapabilities', () => {
    it('finds both in the reference sandbox with one request', async () => {
      const s = sandbox('reference');
      const caps = await probeCapabilities(clientFor(s));
      expect(caps).toEqual({ metadata_fields: true, zero_impression_items: true, detail: 'metadata fields (ad_status, ad_group_status, campaign_status, ad_review_status) came back on 5 ad rows; includes[]=zero_impression_items added 4 rows with no impressions' });
      expect(s.requests()).toHaveLength(1);
      expect(s.requests()[0]?.query).toMatchObject({ 'time_ranges[]': [JSON.stringify({ type: 'unix_range', start: T0 - HOUR, end: T0 })], limit: ['20'] });
    });

    it('asks nothing in the legacy profile', async () => {
      const s = sandbox('legacy');
      await expect(probeCapabilities(clientFor(s, { wireProfile: 'legacy' }))).resolves.toEqual({ metadata_fields: false, zero_impression_items: false, detail: 'the legacy wire profile sends no metadata fields and no includes[] (the reference profile does)' });
      expect(s.requests()).toEqual([]);
    });

    it('finds neither in an API that refuses them, with two requests', async () => {
      const s = sandbox('legacy');
      const caps = await probeCapabilities(clientFor(s));
      expect(caps).toEqual({ metadata_fields: false, zero_impression_items: false, detail: 'includes[]=zero_impression_items refused: 400 unknown_parameter on includes[]; metadata fields refused: 400 unknown_field on fields[1]' });
      expect(s.requests().map((r) => r.status)).toEqual([400, 400]);
    });

    it('throws what says nothing about capabilities: a range mismatch, an outage', async () => {
      const s = await serving('reference', smallFixture({ behaviour: { ignore_time_ranges: true } }));
      try {
        await expect(probeCapabilities(clientFor(s))).rejects.toMatchObject({ name: 'AnswerMismatchError', check: 'range' });
        s.setFaults({ rate: 1, kinds: ['http_503'] });
        await expect(probeCapabilities(clientFor(s, { retry: { maxAttempts: 1 } }))).rejects.toMatchObject({ name: 'ServerError' });
      } finally {
        await s.close();
      }
    });
  });
});
