// The quickstart's flow and the targeting page's examples, as the docs tell them (fact sheet
// §2.5, §3.6, §6, §8.3), over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/server';
import { DAY, T0 } from '../helpers/fixtures';
import { auth, http, withSandbox } from '../helpers/sandbox';

const launchBody = {
  name: 'US + DE launch',
  budget: { lifetime_spend_limit_micros: 50_000_000 },
  targeting: { locations: { include: [{ country_code: 'US' }, { country_code: 'de' }] } },
  ad_groups: [
    {
      name: 'Prospecting',
      bidding_config: { max_bid_micros: 2_000_000 },
      ads: [{ name: 'Card A', creative: { type: 'chat_card', title: 'Trail shoes', body: 'Light and fast.' } }],
    },
  ],
};

describe('quickstart flow', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await withSandbox();
  });
  afterAll(() => sandbox.close());

  it('creates, replays, refuses reuse, refuses early activation, then activates after approval', async () => {
    // Prepare
    const key = { ...auth(), 'Idempotency-Key': '5f0c3a2e-8d1b-4c7a-9e6f-1a2b3c4d5e6f' };

    // Act: create
    const created = await http(sandbox, 'POST', '/v1/campaigns', launchBody, key);

    // Assess: 201, paused + in_review, start_time ≈ now + 2 days, countries read back uppercased
    expect(created.status).toBe(201);
    const campaign = created.body as Record<string, unknown>;
    expect(campaign).toMatchObject({ status: 'paused', review_status: 'in_review', end_time: null, description: null });
    expect(campaign.start_time).toBe(T0 + 2 * DAY);
    expect(campaign.targeting).toEqual({
      locations: {
        include: [
          { id: 'US', type: 'country', country_code: 'US' },
          { id: 'DE', type: 'country', country_code: 'DE' },
        ],
      },
    });
    expect(sandbox.world.charges).toEqual([{ campaign_id: campaign.id, amount_micros: 10_000_000, at: T0, outcome: 'charged' }]);

    // Same key, same body → the same response, no second charge
    const replay = await http(sandbox, 'POST', '/v1/campaigns', launchBody, key);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(campaign);
    expect(sandbox.world.charges).toHaveLength(1);

    // Same key, other body → 409 idempotency_key_reused
    const reused = await http(sandbox, 'POST', '/v1/campaigns', { ...launchBody, name: 'Another name' }, key);
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ error: { code: 'idempotency_key_reused' } });

    // Activate before approval → 400 campaign_not_approved
    const early = await http(sandbox, 'POST', `/v1/campaigns/${String(campaign.id)}/activate`, undefined, auth());
    expect(early.status).toBe(400);
    expect(early.body).toEqual({ error: { message: expect.any(String) as string, type: 'invalid_request_error', param: null, code: 'campaign_not_approved' } });

    // Thrad staff approve (sandbox control), then activate → 200 active with updated_at bumped
    sandbox.world.clock.advance(60);
    const review = await http(sandbox, 'POST', `/_sandbox/campaigns/${String(campaign.id)}/review`, { review_status: 'approved' });
    expect(review.status).toBe(200);
    const activated = await http(sandbox, 'POST', `/v1/campaigns/${String(campaign.id)}/activate`, undefined, auth());
    expect(activated.status).toBe(200);
    expect(activated.body).toMatchObject({ status: 'active', review_status: 'approved', updated_at: T0 + 60 });

    // The new ads copy the campaign's review status
    const groups = await http(sandbox, 'GET', `/v1/ad_groups?campaign_id=${String(campaign.id)}`, undefined, auth());
    const group = (groups.body as { data: { id: string; status: string }[] }).data[0];
    expect(group?.status).toBe('active');
    const ads = await http(sandbox, 'GET', `/v1/ads?ad_group_id=${group?.id ?? ''}`, undefined, auth());
    expect((ads.body as { data: unknown[] }).data).toEqual([expect.objectContaining({ status: 'active', review_status: 'approved', name: 'Card A' })]);
  });

  it('rejects a location with neither country_code nor id with 400 invalid_value on targeting.locations.include', async () => {
    const body = { ...launchBody, targeting: { locations: { include: [{ country_code: 'US' }, { type: 'country' }] } } };
    const response = await http(sandbox, 'POST', '/v1/campaigns', body, auth());
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_value', param: 'targeting.locations.include' } });
  });

  it('accepts id as an alias of country_code and plain strings, normalising case', async () => {
    const body = { ...launchBody, targeting: { locations: { include: [{ id: 'fr' }, 'gb'] } } };
    const response = await http(sandbox, 'POST', '/v1/campaigns', body, auth());
    expect(response.status).toBe(201);
    expect((response.body as { targeting: unknown }).targeting).toEqual({
      locations: { include: [{ id: 'FR', type: 'country', country_code: 'FR' }, { id: 'GB', type: 'country', country_code: 'GB' }] },
    });
  });

  it('replaces the whole country list on update', async () => {
    const created = await http(sandbox, 'POST', '/v1/campaigns', launchBody, auth());
    const id = (created.body as { id: string }).id;
    const updated = await http(sandbox, 'POST', `/v1/campaigns/${id}`, { targeting: { locations: { include: [{ country_code: 'ca' }] } } }, auth());
    expect(updated.status).toBe(200);
    expect((updated.body as { targeting: unknown }).targeting).toEqual({ locations: { include: [{ id: 'CA', type: 'country', country_code: 'CA' }] } });
  });

  it('refuses status in a campaign update with 400 use_status_action', async () => {
    const created = await http(sandbox, 'POST', '/v1/campaigns', launchBody, auth());
    const id = (created.body as { id: string }).id;
    const response = await http(sandbox, 'POST', `/v1/campaigns/${id}`, { status: 'active' }, auth());
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'use_status_action', param: 'status' } });
  });

  it('answers 400 billing_not_configured and charges nothing without a card', async () => {
    const noCard = await withSandbox({ api_keys: ['ak_test_nocard_1234'], account: { id: 'acct-1' }, billing: { card_configured: false, declines: false } });
    try {
      const response = await http(noCard, 'POST', '/v1/campaigns', launchBody, auth('ak_test_nocard_1234'));
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: { code: 'billing_not_configured' } });
      expect(noCard.world.charges).toEqual([]);
      expect(noCard.world.campaigns.size).toBe(0);
    } finally {
      await noCard.close();
    }
  });

  it('answers 402 card_declined and removes the campaign when the deposit is declined', async () => {
    const declining = await withSandbox({ api_keys: ['ak_test_declines_1234'], account: { id: 'acct-2' }, billing: { card_configured: true, declines: true } });
    try {
      const response = await http(declining, 'POST', '/v1/campaigns', launchBody, auth('ak_test_declines_1234'));
      expect(response.status).toBe(402);
      expect(response.body).toMatchObject({ error: { code: 'card_declined' } });
      expect(declining.world.campaigns.size).toBe(0);
      expect(declining.world.adGroups.size).toBe(0);
    } finally {
      await declining.close();
    }
  });
});
