// The insights cache never changes an answer: after every change a person or the clock can make
// (delivery generated, a pause, a rename, a new ad group, a budget change, the next hour), a
// long-lived engine (which caches row sets) answers exactly as a fresh one (which computes
// everything), for closed ranges, the current hour, every granularity and both pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedWorld } from '../../sandbox/generate';
import { InsightsEngine, type Scope } from '../../sandbox/insights';
import type { Organization } from '../../sandbox/organization';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { WIRE_PROFILE_NAMES, type WireProfileName } from '../../functions/thrad/wire';
import { T0 } from '../helpers/fixtures';
import { http } from '../helpers/sandbox';

const HOUR = 3_600;

function params(profile: WireProfileName, level: string, granularity: string, start: number, end: number, limit: number, after?: string): URLSearchParams {
  const p = new URLSearchParams();
  p.set('aggregation_level', level);
  p.set('time_granularity', granularity);
  for (const f of ['impressions', 'clicks', 'spend', 'cpc']) p.append('fields[]', profile === 'reference' ? `${level}.${f}` : f);
  if (profile === 'reference') {
    // Metadata of the level and the levels above it, and the entities without impressions.
    const metadata = ['campaign.status', 'campaign.name', 'campaign.budget.lifetime', ...(level === 'campaign' ? [] : ['ad_group.status']), ...(level === 'ad' ? ['ad.status', 'ad.name'] : [])];
    for (const f of metadata) p.append('fields[]', f);
    p.append('includes[]', 'zero_impression_items');
  }
  p.append('time_ranges[]', JSON.stringify({ type: 'unix_range', start, end }));
  p.set('limit', String(limit));
  if (after !== undefined) p.set('after', after);
  return p;
}

// reference: ranges end by the last full hour, rows carry metadata; legacy: a range may hold the current hour (delivery still being generated).
describe.each(WIRE_PROFILE_NAMES)('the sandbox insights cache (%s profile)', (profile) => {
  let sandbox: Sandbox;
  let org: Organization;
  beforeAll(async () => {
    sandbox = await startSandbox({ fixture: generatedWorld({ orgs: 2, campaigns: 6, seed: 11, now: T0 + 25 * 60 }), port: 0, clockSpeed: 0, wireProfile: profile });
    const second = sandbox.world.orgs.at(1);
    if (!second) throw new Error('the generated world has one organization');
    org = second;
  });
  afterAll(async () => sandbox.close());

  it('answers as a fresh engine after every change', () => {
    const world = sandbox.world;
    const cached = new InsightsEngine(world);
    const scope: Scope = { level: 'ad_account', id: null };
    const campaigns = [...org.campaigns.values()];
    const first = campaigns[0];
    const second = campaigns[1];
    if (!first || !second) throw new Error('the generated organization has too few campaigns');
    const ad = world.ads.get(world.adGroups.get(first.adGroupIds[0] ?? '')?.adIds[0] ?? '');
    if (!ad) throw new Error('no ad');
    const hour = (): number => Math.floor(world.nowSeconds() / HOUR) * HOUR;
    let compared = 0;
    const check = (): void => {
      const h = hour();
      const queries: (readonly [string, string, number, number])[] = [
        ['campaign', 'none', h - 3 * HOUR, h],
        ['ad', 'none', h - 24 * HOUR, h],
        ['ad', 'hourly', h - 2 * HOUR, h],
        ['ad_group', 'daily', h - 48 * HOUR, h],
        ...(profile === 'legacy' ? ([['ad', 'hourly', h - 2 * HOUR, h + HOUR], ['campaign', 'none', h, h + HOUR]] as const) : []),
      ];
      for (const [level, granularity, start, end] of queries) {
        // Twice: the second time the long-lived engine answers from its cache when it may.
        for (let round = 0; round < 2; round += 1) {
          const page1 = cached.query(scope, params(profile, level, granularity, start, end, 7), org);
          expect(page1).toEqual(new InsightsEngine(world).query(scope, params(profile, level, granularity, start, end, 7), org));
          const after = page1.last_id ?? undefined;
          if (page1.has_more && after !== undefined) {
            expect(cached.query(scope, params(profile, level, granularity, start, end, 7, after), org)).toEqual(new InsightsEngine(world).query(scope, params(profile, level, granularity, start, end, 7, after), org));
          }
          compared += 1;
        }
      }
    };
    check();
    world.clock.advance(10 * 60); // delivery generated into the current hour
    check();
    world.campaignAction(first.id, 'pause', org); // a status the rows carry
    check();
    world.updateAd(ad.id, { name: 'Renamed by a person' }, org); // a name the rows carry
    world.updateCampaign(second.id, { budget: { lifetime_spend_limit_micros: 12_345_000_000 } }, org);
    check();
    world.createAdGroup({ campaign_id: second.id, name: 'Added later', ads: [{ name: 'New ad', creative: { type: 'chat_card', title: 'Hello', body: 'World', target_url: 'https://example.com/' } }] }, org); // a new entity: new rows
    check();
    world.clock.advance(HOUR); // the next hour: the ranges move, the last hour closes
    world.campaignAction(first.id, 'activate', org);
    check();
    world.clock.advance(5 * 60);
    check();
    expect(compared).toBe(7 * (profile === 'legacy' ? 6 : 4) * 2);
  });

  it('DELETE /_sandbox/insights/cache drops the cached row sets and changes no answer', async () => {
    const key = org.keys.find((k) => k.expiresAt === null)?.key;
    if (key === undefined) throw new Error('the organization has no active key');
    const h = Math.floor(sandbox.world.nowSeconds() / HOUR) * HOUR;
    const path = `/v1/ad_account/insights?${params(profile, 'campaign', 'none', h - 2 * HOUR, h, 50).toString()}`;
    const get = async (): Promise<unknown> => {
      const response = await http(sandbox, 'GET', path, undefined, { Authorization: `Bearer ${key}` });
      expect(response.status).toBe(200);
      return response.body;
    };
    const warm = await get();
    const first = await http(sandbox, 'DELETE', '/_sandbox/insights/cache');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ ok: true });
    expect((first.body as { entries_dropped: number }).entries_dropped).toBeGreaterThanOrEqual(1);
    expect((await http(sandbox, 'DELETE', '/_sandbox/insights/cache')).body).toEqual({ ok: true, entries_dropped: 0 });
    expect(await get()).toEqual(warm);
  });
});
