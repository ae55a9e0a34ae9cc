// Status state machines of fact sheet §3 as tables: every (level, starting state, action) with
// the documented answer, or the documented choice where the docs are silent.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureInput } from '../../sandbox/fixture';
import type { Sandbox } from '../../sandbox/server';
import { KEY } from '../helpers/fixtures';
import { auth, http, withSandbox } from '../helpers/sandbox';

const card = { type: 'chat_card' as const, title: 'T', body: 'B' };
type CampaignStart = { status: 'active' | 'paused' | 'archived'; review_status: 'in_review' | 'approved' | 'rejected' };

function oneCampaign(start: CampaignStart, behaviour: FixtureInput['behaviour'] = {}): FixtureInput {
  return {
    now: 1_773_154_800,
    api_keys: [KEY],
    account: { id: 'acct' },
    behaviour,
    campaigns: [
      {
        id: 'camp-1',
        name: 'State machine',
        ...start,
        budget: { lifetime_spend_limit_micros: 1_000_000_000 },
        ad_groups: [{ id: 'group-1', name: 'G', status: 'active', ads: [{ id: 'ad-1', creative: card, status: 'active' }] }],
      },
    ],
  };
}

describe('campaign status actions', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await withSandbox(oneCampaign({ status: 'paused', review_status: 'approved' }));
  });
  afterAll(() => sandbox.close());

  it.each([
    // from status, review, action → HTTP, code or resulting status
    ['paused', 'approved', 'activate', 200, 'active'],
    ['paused', 'in_review', 'activate', 400, 'campaign_not_approved'],
    ['paused', 'rejected', 'activate', 400, 'campaign_not_approved'],
    ['active', 'approved', 'activate', 200, 'active'],
    ['archived', 'approved', 'activate', 400, 'campaign_archived'],
    ['active', 'approved', 'pause', 200, 'paused'],
    ['paused', 'approved', 'pause', 400, 'campaign_not_running'],
    ['paused', 'in_review', 'pause', 400, 'campaign_not_running'],
    ['archived', 'approved', 'pause', 400, 'campaign_archived'],
    ['active', 'approved', 'archive', 200, 'archived'],
    ['paused', 'in_review', 'archive', 200, 'archived'],
    ['archived', 'approved', 'archive', 200, 'archived'],
  ] as const)('%s + %s, /%s → %i %s', async (status, review, action, httpStatus, expected) => {
    sandbox.reset(oneCampaign({ status, review_status: review }));
    const response = await http(sandbox, 'POST', `/v1/campaigns/camp-1/${action}`, undefined, auth());
    expect(response.status).toBe(httpStatus);
    if (httpStatus === 200) expect(response.body).toMatchObject({ status: expected });
    else expect(response.body).toMatchObject({ error: { type: 'invalid_request_error', code: expected } });
  });

  it.each([
    ['campaign_activate_when_active', 'active', 'activate', 'campaign_already_active'],
    ['campaign_archive_when_archived', 'archived', 'archive', 'campaign_already_archived'],
  ] as const)('behaviour %s=error answers %s + /%s with %s', async (option, status, action, code) => {
    sandbox.reset(oneCampaign({ status, review_status: 'approved' }, { [option]: 'error' }));
    const response = await http(sandbox, 'POST', `/v1/campaigns/camp-1/${action}`, undefined, auth());
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code } });
  });

  it('answers 404 not_found for an unknown campaign on every call', async () => {
    sandbox.reset(oneCampaign({ status: 'paused', review_status: 'approved' }));
    for (const [method, path] of [
      ['GET', '/v1/campaigns/nope'],
      ['POST', '/v1/campaigns/nope'],
      ['POST', '/v1/campaigns/nope/pause'],
      ['GET', '/v1/campaigns/nope/insights'],
    ] as const) {
      const response = await http(sandbox, method, path, method === 'POST' ? {} : undefined, auth());
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body).toMatchObject({ error: { code: 'not_found' } });
    }
  });
});

describe('ad group and ad status', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await withSandbox(oneCampaign({ status: 'active', review_status: 'approved' }));
  });
  beforeEach(() => sandbox.reset(oneCampaign({ status: 'active', review_status: 'approved' })));
  afterAll(() => sandbox.close());

  it.each([
    ['ad_groups', 'group-1'],
    ['ads', 'ad-1'],
  ] as const)('%s: pause → paused, archive → reads back paused, activate → active', async (collection, id) => {
    const paused = await http(sandbox, 'POST', `/v1/${collection}/${id}/pause`, undefined, auth());
    expect(paused.body).toMatchObject({ status: 'paused' });
    await http(sandbox, 'POST', `/v1/${collection}/${id}/activate`, undefined, auth());
    const archived = await http(sandbox, 'POST', `/v1/${collection}/${id}/archive`, undefined, auth());
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ status: 'paused' });
    const read = await http(sandbox, 'GET', `/v1/${collection}/${id}`, undefined, auth());
    expect(read.body).toMatchObject({ status: 'paused' });
    const activated = await http(sandbox, 'POST', `/v1/${collection}/${id}/activate`, undefined, auth());
    expect(activated.body).toMatchObject({ status: 'active' });
  });

  it.each([
    ['ad_groups', 'group-1'],
    ['ads', 'ad-1'],
  ] as const)('%s accept status in the update body, archived reading back as paused', async (collection, id) => {
    const response = await http(sandbox, 'POST', `/v1/${collection}/${id}`, { status: 'archived' }, auth());
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'paused' });
    const back = await http(sandbox, 'POST', `/v1/${collection}/${id}`, { status: 'active' }, auth());
    expect(back.body).toMatchObject({ status: 'active' });
  });

  it('ads copy the campaign review status as it changes', async () => {
    await http(sandbox, 'POST', '/_sandbox/campaigns/camp-1/review', { review_status: 'rejected' });
    const ad = await http(sandbox, 'GET', '/v1/ads/ad-1', undefined, auth());
    expect(ad.body).toMatchObject({ review_status: 'rejected' });
  });

  it('ad groups carry no review_status and bill by impression', async () => {
    const group = await http(sandbox, 'GET', '/v1/ad_groups/group-1', undefined, auth());
    expect(group.body).not.toHaveProperty('review_status');
    expect(group.body).toMatchObject({ bidding_config: { billing_event_type: 'impression', max_bid_micros: null } });
  });

  it('child_same_state=error refuses a pause of a paused ad', async () => {
    sandbox.reset({ ...oneCampaign({ status: 'active', review_status: 'approved' }, { child_same_state: 'error' }) });
    await http(sandbox, 'POST', '/v1/ads/ad-1/pause', undefined, auth());
    const again = await http(sandbox, 'POST', '/v1/ads/ad-1/pause', undefined, auth());
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: { code: 'already_paused' } });
  });

  it('refuses an ad whose creative type differs from its ad group, and AI polls', async () => {
    const mismatch = await http(sandbox, 'POST', '/v1/ads', { ad_group_id: 'group-1', creative: { type: 'poll', question: 'Q?', options: ['a', 'b'] } }, auth());
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toMatchObject({ error: { code: 'invalid_value', param: 'creative.type' } });
    const created = await http(sandbox, 'POST', '/v1/ad_groups', { campaign_id: 'camp-1', name: 'Polls', ads: [{ creative: { type: 'poll', question: 'Dome or tunnel?', options: ['Dome', 'Tunnel'] } }] }, auth());
    expect(created.status).toBe(201);
    const groupId = (created.body as { id: string }).id;
    const ai = await http(sandbox, 'POST', '/v1/ads', { ad_group_id: groupId, auto_generate: true, creative: { type: 'poll', question: 'Q?', options: ['a', 'b'] } }, auth());
    expect(ai.status).toBe(400);
    expect(ai.body).toMatchObject({ error: { code: 'poll_cannot_be_ai' } });
    const named = await http(sandbox, 'POST', '/v1/ads', { ad_group_id: groupId, creative: { type: 'poll', question: 'Boots or trail runners?', options: ['Boots', 'Runners', 'Sandals'] } }, auth());
    expect(named.status).toBe(201);
    expect(named.body).toMatchObject({ name: 'Boots or trail runners?', status: 'active' });
  });
});
