// The world generator: deterministic, of the requested size, one key and account per
// organization, a mix in which every shipped rule has something to decide (read back through the
// real client), loadable in parts, and strict about its spec.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { GenerateSpecError } from '../../sandbox/errors';
import { parseAnyFixture } from '../../sandbox/fixture';
import { CAMPAIGN_KINDS, generatedKey, generatedWorld, generateFixture, generateFixtureInput, parseGenerateSpec } from '../../sandbox/generate';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { DAY, T0 } from '../helpers/fixtures';
import { clientFor } from '../helpers/sandbox';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const options = { orgs: 3, campaigns: 40, seed: 11, now: T0 };

describe('generateFixture', () => {
  it('is deterministic: the same options give the same fixture, another seed another one', () => {
    expect(generateFixture(options)).toEqual(generateFixture(options));
    const other = generateFixture({ ...options, seed: 12 });
    expect(other.organizations[0]?.api_keys).not.toEqual(generateFixture(options).organizations[0]?.api_keys);
  });

  it('builds the requested size, each organization with its own key and account, and passes the fixture schema', () => {
    const fixture = generateFixture({ ...options, adGroupsPerCampaign: 2, adsPerAdGroup: 3 });
    expect(fixture.organizations).toHaveLength(3);
    const accounts = new Set<string>();
    fixture.organizations.forEach((org, i) => {
      expect(org.api_keys).toEqual([generatedKey(11, i)]);
      expect(generatedKey(11, i)).toMatch(new RegExp(`^ak_gen_${i}_[0-9a-f]{8}$`));
      expect(org.account.id).toMatch(UUID);
      accounts.add(org.account.id);
      expect(org.campaigns).toHaveLength(40);
      for (const campaign of org.campaigns) {
        expect(campaign.id).toMatch(UUID);
        expect(campaign.ad_groups).toHaveLength(2);
        for (const group of campaign.ad_groups) expect(group.ads).toHaveLength(3);
      }
    });
    expect(accounts.size).toBe(3);
    // The plain input is what the schema accepts, and parses to the same fixture.
    expect(parseAnyFixture(JSON.parse(JSON.stringify(generateFixtureInput({ ...options, adGroupsPerCampaign: 2, adsPerAdGroup: 3 }))))).toEqual(fixture);
  });

  it('takes another mix: weights per kind and the [daypart] share, checked', () => {
    const only = generateFixture({ ...options, weights: Object.fromEntries(Object.keys(CAMPAIGN_KINDS).map((k) => [k, k === 'archived' ? 1 : 0])), daypartShare: 0 });
    for (const org of only.organizations) for (const c of org.campaigns) expect([c.status, c.name.includes('[daypart]')]).toEqual(['archived', false]);
    const named = generateFixture({ ...options, daypartShare: 1 });
    const live = named.organizations.flatMap((o) => o.campaigns).filter((c) => c.status !== 'archived' && c.review_status === 'approved');
    expect(live.length).toBeGreaterThan(0);
    for (const c of live) expect(c.name).toContain('[daypart]');
    expect(() => generateFixture({ ...options, weights: { bogus: 1 } as never })).toThrow(/no campaign kind "bogus"/);
    expect(() => generateFixture({ ...options, weights: { steady: -1 } })).toThrow(/weights.steady must be a number ≥ 0/);
    expect(() => generateFixture({ ...options, daypartShare: 2 })).toThrow(/daypartShare must be a fraction from 0 to 1/);
  });

  it('loads in parts into the same world as the whole fixture', async () => {
    const whole = await startSandbox({ fixture: generateFixture(options), port: 0 });
    const parts = await startSandbox({ fixture: generatedWorld(options), port: 0 });
    try {
      expect(parts.world.snapshot()).toEqual(whole.world.snapshot());
      expect(parts.world.orgs).toHaveLength(3);
    } finally {
      await Promise.all([whole.close(), parts.close()]);
    }
  });

  it.each([
    [{ ...options, orgs: 0 }, 'orgs'],
    [{ ...options, campaigns: 1.5 }, 'campaigns'],
    [{ ...options, adsPerAdGroup: 21 }, 'ads'],
    [{ ...options, orgs: 10_000, campaigns: 10_000 }, 'orgs'],
  ])('refuses %j, naming %s', (bad, field) => {
    expect(() => generateFixture(bad)).toThrow(GenerateSpecError);
    expect(() => generateFixture(bad)).toThrow(expect.objectContaining({ field }) as Error);
  });
});

describe('a generated world gives every shipped rule something to decide', () => {
  let sandbox: Sandbox;
  const today = Math.floor(T0 / DAY) * DAY;
  beforeAll(async () => {
    sandbox = await startSandbox({ fixture: generatedWorld({ orgs: 2, campaigns: 200, seed: 5, now: T0 }), port: 0, clockSpeed: 0 });
  });
  afterAll(() => sandbox.close());

  it('has expensive clicks, nearly spent budgets, cheap winners, weak CTR, spikes, stalls, approvals, reviews and [daypart] names', async () => {
    const client = clientFor(sandbox, { keyProvider: new StaticApiKeyProvider(generatedKey(5, 1)) });
    const campaigns = await client.listCampaigns();
    expect(campaigns).toHaveLength(200);
    const read = async (startSeconds: number, endSeconds: number) =>
      new Map((await client.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'campaign', timeGranularity: 'none', timeRanges: [{ startSeconds, endSeconds }] })).map((r) => [r.entityId, r]));
    const last3 = await read(today - 3 * DAY, today);
    const last7 = await read(today - 7 * DAY, today);
    const lastHour = await read(Math.floor(T0 / 3_600) * 3_600 - 3_600, Math.floor(T0 / 3_600) * 3_600);
    const lifetime = await read(today - 30 * DAY, Math.floor(T0 / 3_600) * 3_600);
    const last2 = await read(today - 2 * DAY, Math.floor(T0 / 3_600) * 3_600);
    const active = campaigns.filter((c) => c.status === 'active');
    const count = (test: (c: (typeof campaigns)[number]) => boolean): number => campaigns.filter(test).length;
    const cpc = (r: { spend_usd?: number | null; clicks?: number | null } | undefined): number => (r?.spend_usd ?? 0) / Math.max(1, r?.clicks ?? 0);
    const spent = (id: string): number => sandbox.world.campaigns.get(id)?.spentMicros ?? 0;

    expect(count((c) => c.status === 'active' && cpc(last3.get(c.id)) > 2.5 && (last3.get(c.id)?.clicks ?? 0) >= 100)).toBeGreaterThan(0); // cpc-guard
    expect(count((c) => c.status === 'active' && spent(c.id) >= 0.9 * c.budget.lifetime_spend_limit_micros)).toBeGreaterThan(0); // budget-guard
    expect(count((c) => c.status === 'active' && cpc(last7.get(c.id)) < 1 && (last7.get(c.id)?.clicks ?? 0) >= 200 && spent(c.id) >= 0.8 * c.budget.lifetime_spend_limit_micros)).toBeGreaterThan(0); // scale-winners
    expect(count((c) => c.status === 'active' && (last7.get(c.id)?.impressions ?? 0) >= 5_000 && (last7.get(c.id)?.clicks ?? 0) / (last7.get(c.id)?.impressions ?? 1) < 0.005)).toBeGreaterThan(0); // ctr-floor
    expect(count((c) => c.status === 'active' && (lastHour.get(c.id)?.clicks ?? 0) >= 20 && cpc(lastHour.get(c.id)) > 1.5 * cpc(last7.get(c.id)))).toBeGreaterThan(0); // cpc-spike-guard
    expect(count((c) => c.status === 'active' && !last2.has(c.id) && (lifetime.get(c.id)?.impressions ?? 0) > 0)).toBeGreaterThan(0); // stalled-ads
    expect(count((c) => c.status === 'paused' && c.review_status === 'approved' && !lifetime.has(c.id))).toBeGreaterThan(0); // activate-approved
    expect(count((c) => c.review_status === 'in_review' && sandbox.world.campaigns.get(c.id)?.autoReview !== undefined)).toBeGreaterThan(0); // approved later
    expect(count((c) => c.name.includes('[daypart]') && c.status === 'active')).toBeGreaterThan(0); // daypart-pause / resume
    expect(active.length).toBeGreaterThan(campaigns.length / 2);
  });

  it('keeps delivering as the clock moves', async () => {
    const client = clientFor(sandbox, { keyProvider: new StaticApiKeyProvider(generatedKey(5, 0)) });
    const hour = Math.floor(T0 / 3_600) * 3_600;
    const before = sandbox.world.orgs[0]?.dataVersion;
    sandbox.world.clock.advance(2 * 3_600);
    const rows = await client.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'ad_account', timeGranularity: 'none', timeRanges: [{ startSeconds: hour, endSeconds: hour + 2 * 3_600 }] });
    expect(rows[0]?.impressions ?? 0).toBeGreaterThan(0);
    expect(sandbox.world.orgs[0]?.dataVersion).toBeGreaterThan(before ?? 0);
  });
});

describe('parseGenerateSpec', () => {
  it('reads orgs, campaigns and the optional sizes', () => {
    expect(parseGenerateSpec('orgs=200,campaigns=500')).toEqual({ orgs: 200, campaigns: 500 });
    expect(parseGenerateSpec(' orgs=2, campaigns=3, ad_groups=2, ads=4, now=1773154800 ')).toEqual({ orgs: 2, campaigns: 3, adGroupsPerCampaign: 2, adsPerAdGroup: 4, now: 1_773_154_800 });
  });

  it.each([
    ['orgs=x,campaigns=5', 'orgs must be a whole number (got "x")'],
    ['orgs=-1,campaigns=5', 'orgs must be a whole number (got "-1")'],
    ['orgs=2', 'campaigns= is required'],
    ['orgs=2,campaigns=3,colour=red', 'unknown key "colour"'],
    ['orgs=2,orgs=3,campaigns=3', 'orgs is given twice'],
  ])('refuses %s', (spec, message) => {
    expect(() => parseGenerateSpec(spec)).toThrow(GenerateSpecError);
    expect(() => parseGenerateSpec(spec)).toThrow(message);
  });
});
