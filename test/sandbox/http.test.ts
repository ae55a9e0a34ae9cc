// The sandbox as an HTTP server: auth, bad input, rate limits, faults, the request log, the
// clock and generated delivery, key rotation, uploads, list paging.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureInput } from '../../sandbox/fixture';
import type { RequestLogEntry, Sandbox } from '../../sandbox/server';
import { DAY, HOUR, ids, KEY, smallFixture, T0 } from '../helpers/fixtures';
import { auth, http, withSandbox } from '../helpers/sandbox';

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
  Buffer.from('IHDR'),
  Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0]),
]);

function multipart(name: string, content: Buffer): { body: Buffer; contentType: string } {
  const boundary = 'xyzBOUNDARYxyz';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="x.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('sandbox HTTP', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await withSandbox();
  });
  beforeEach(() => sandbox.reset(smallFixture()));
  afterAll(() => sandbox.close());

  describe('authentication', () => {
    it.each([
      [undefined, 'auth_required', 'Authentication credentials were not provided.'],
      ['Bearer ak_test_unknown_key', 'invalid_api_key', 'Invalid API key.'],
      ['Basic Zm9vOmJhcg==', 'invalid_api_key', 'Invalid API key.'],
      [`Bearer ${KEY}x`, 'invalid_api_key', 'Invalid API key.'],
    ])('Authorization %s → 401 %s', async (header, code, message) => {
      const response = await http(sandbox, 'GET', '/v1/ad_account', undefined, header ? { Authorization: header } : {});
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: { message, type: 'authentication_error', param: null, code } });
    });
  });

  describe('bad input never gets a 500', () => {
    it.each([
      ['POST', `/v1/campaigns/${ids.c1}`, '{"name": "x', 'invalid_json', 'body'],
      ['POST', `/v1/campaigns/${ids.c1}`, '[1,2]', 'invalid_value', 'body'],
      ['POST', `/v1/campaigns/${ids.c1}`, '{"name": 12}', 'invalid_value', 'name'],
      ['POST', `/v1/campaigns/${ids.c1}`, '{"nickname": "x"}', 'unknown_parameter', 'nickname'],
      ['POST', `/v1/campaigns/${ids.c1}`, '{"budget": {"lifetime_spend_limit_micros": 500000}}', 'invalid_value', 'budget.lifetime_spend_limit_micros'],
      ['POST', `/v1/campaigns/${ids.c1}`, '{"budget": {"lifetime_spend_limit_micros": 2500000, "currency": "EUR"}}', 'unknown_parameter', 'budget.currency'],
      ['POST', `/v1/campaigns/${ids.c1}`, '{"end_time": 1000}', 'invalid_value', 'end_time'],
      ['POST', '/v1/campaigns', '{"name": "Hi"}', 'invalid_value', 'name'],
      ['POST', '/v1/campaigns', '{"name": "Good name", "budget": {"lifetime_spend_limit_micros": 990000}}', 'missing_required_parameter', 'ad_groups'],
      ['POST', '/v1/campaigns', '{"name": "Good name", "budget": {"lifetime_spend_limit_micros": 990000}, "ad_groups": [{"name": "g", "ads": [{"creative": {"type": "chat_card", "title": "t", "body": "b"}}, {"creative": {"type": "poll", "question": "q", "options": ["a","b"]}}]}]}', 'invalid_value', 'ad_groups[0].ads[1].creative.type'],
      ['POST', '/v1/campaigns', '{"name": "Good name", "budget": {"lifetime_spend_limit_micros": 990000}, "ad_groups": [{"name": "g", "bidding_config": {"max_bid_micros": 0}, "ads": [{"creative": {"type": "chat_card", "title": "t", "body": "b"}}]}]}', 'invalid_value', 'ad_groups[0].bidding_config.max_bid_micros'],
      ['POST', `/v1/ad_groups/${ids.g1}`, '{"status": "deleted"}', 'invalid_value', 'status'],
      ['POST', `/v1/ads/${ids.a1}`, '{"name": ["x"]}', 'invalid_value', 'name'],
      ['GET', '/v1/ad_groups', undefined, 'invalid_value', 'campaign_id'],
      ['GET', `/v1/campaigns?limit=501`, undefined, 'invalid_value', 'limit'],
      ['GET', `/v1/campaigns?limit=abc`, undefined, 'invalid_value', 'limit'],
      ['GET', `/v1/campaigns?after=x&before=y`, undefined, 'invalid_value', 'after'],
      ['GET', `/v1/campaigns?after=nope`, undefined, 'invalid_value', 'after'],
      ['GET', `/v1/campaigns?colour=red`, undefined, 'unknown_parameter', 'colour'],
      ['POST', `/v1/campaigns/${ids.c1}/pause`, '{oops', 'invalid_json', 'body'],
    ])('%s %s %s → 400 %s on %s', async (method, path, body, code, param) => {
      const response = await http(sandbox, method, path, body, auth());
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: { type: 'invalid_request_error', code, param } });
    });

    it('answers 404 for unknown paths and 405 for the wrong method', async () => {
      expect((await http(sandbox, 'GET', '/v1/creatives', undefined, auth())).status).toBe(404);
      expect((await http(sandbox, 'DELETE', `/v1/campaigns/${ids.c1}/pause`, undefined, auth())).status).toBe(405);
      expect((await http(sandbox, 'GET', '/nowhere')).status).toBe(404);
    });

    it('with unknown_fields=ignore drops unknown fields instead', async () => {
      sandbox.reset(smallFixture({ behaviour: { unknown_fields: 'ignore' } }));
      const response = await http(sandbox, 'POST', `/v1/campaigns/${ids.c1}`, { name: 'Renamed campaign', nickname: 'x' }, auth());
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ name: 'Renamed campaign' });
    });
  });

  describe('lists', () => {
    it('pages with after and before, newest first by default', async () => {
      const all = await http(sandbox, 'GET', '/v1/campaigns?limit=500', undefined, auth());
      expect((all.body as { data: { id: string }[] }).data.map((c) => c.id)).toEqual([ids.c1, ids.c3, ids.c2]);
      const first = await http(sandbox, 'GET', '/v1/campaigns?limit=2', undefined, auth());
      expect(first.body).toMatchObject({ object: 'list', count: 2, first_id: ids.c1, last_id: ids.c3, has_more: true });
      const second = await http(sandbox, 'GET', `/v1/campaigns?limit=2&after=${ids.c3}`, undefined, auth());
      expect(second.body).toMatchObject({ count: 1, first_id: ids.c2, last_id: ids.c2, has_more: false });
      const back = await http(sandbox, 'GET', `/v1/campaigns?limit=1&before=${ids.c2}`, undefined, auth());
      expect(back.body).toMatchObject({ count: 1, first_id: ids.c3, has_more: true });
      const asc = await http(sandbox, 'GET', '/v1/campaigns?order=asc&limit=1', undefined, auth());
      expect(asc.body).toMatchObject({ first_id: ids.c2 });
    });

    it('lists ad groups per campaign and ads per ad group, 404 for an unknown parent', async () => {
      const groups = await http(sandbox, 'GET', `/v1/ad_groups?campaign_id=${ids.c1}&order=asc`, undefined, auth());
      expect((groups.body as { data: { id: string }[] }).data.map((g) => g.id)).toEqual([ids.g1, ids.g2]);
      const ads = await http(sandbox, 'GET', `/v1/ads?ad_group_id=${ids.g1}&order=asc`, undefined, auth());
      expect((ads.body as { data: { id: string }[] }).data.map((a) => a.id)).toEqual([ids.a1, ids.a2]);
      const missing = await http(sandbox, 'GET', '/v1/ads?ad_group_id=nope', undefined, auth());
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ error: { code: 'not_found', param: 'ad_group_id' } });
    });
  });

  describe('rate limits', () => {
    it('allows the documented 1000 requests per rolling hour per key, then 429 with Retry-After', async () => {
      sandbox.reset(smallFixture({ behaviour: { requests_per_hour: 5 } }));
      for (let i = 0; i < 5; i += 1) expect((await http(sandbox, 'GET', '/v1/ad_account', undefined, auth())).status).toBe(200);
      const limited = await http(sandbox, 'GET', '/v1/ad_account', undefined, auth());
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded' } });
      expect(limited.headers.get('retry-after')).toBe('3600');
      // the window rolls: an hour later the oldest requests have left it
      sandbox.world.clock.advance(HOUR);
      expect((await http(sandbox, 'GET', '/v1/ad_account', undefined, auth())).status).toBe(200);
    });

    it('limits campaign creation to its own 60/h on top', async () => {
      sandbox.reset(smallFixture({ behaviour: { campaign_creates_per_hour: 1 } }));
      const body = { name: 'Rate limited', budget: { lifetime_spend_limit_micros: 990_000 }, ad_groups: [{ name: 'g', ads: [{ creative: { type: 'chat_card', title: 't', body: 'b' } }] }] };
      expect((await http(sandbox, 'POST', '/v1/campaigns', body, auth())).status).toBe(201);
      const second = await http(sandbox, 'POST', '/v1/campaigns', body, auth());
      expect(second.status).toBe(429);
      expect((await http(sandbox, 'GET', '/v1/campaigns', undefined, auth())).status).toBe(200);
    });
  });

  describe('faults and the request log', () => {
    it('injects each kind at the configured rate and logs what happened, never the key', async () => {
      await http(sandbox, 'POST', '/_sandbox/faults', { rate: 1, kinds: ['http_503'], seed: 3 });
      const failed = await http(sandbox, 'GET', '/v1/ad_account', undefined, auth());
      expect(failed.status).toBe(503);
      await http(sandbox, 'POST', '/_sandbox/faults', { rate: 1, kinds: ['malformed_json'] });
      const malformed = await fetch(`${sandbox.apiUrl}/ad_account`, { headers: auth() });
      expect(malformed.status).toBe(200);
      const malformedText = await malformed.text();
      expect(() => JSON.parse(malformedText) as unknown).toThrow();
      await http(sandbox, 'POST', '/_sandbox/faults', { rate: 1, kinds: ['reset'] });
      await expect(fetch(`${sandbox.apiUrl}/ad_account`, { headers: auth() })).rejects.toThrow();
      await http(sandbox, 'POST', '/_sandbox/faults', { rate: 1, kinds: ['timeout'], timeout_hold_ms: 5_000 });
      await expect(fetch(`${sandbox.apiUrl}/ad_account`, { headers: auth(), signal: AbortSignal.timeout(200) })).rejects.toThrow();
      await http(sandbox, 'POST', '/_sandbox/faults', { rate: 0 });
      expect((await http(sandbox, 'GET', '/v1/ad_account', undefined, auth())).status).toBe(200);

      const log = (await http(sandbox, 'GET', '/_sandbox/requests')).body as { data: RequestLogEntry[] };
      expect(log.data.map((e) => [e.fault, e.status])).toEqual([
        ['http_503', 503],
        ['malformed_json', 200],
        ['reset', null],
        ['timeout', null],
        [null, 200],
      ]);
      expect(JSON.stringify(log)).not.toContain(KEY);
      expect(log.data[0]).toMatchObject({ method: 'GET', path: '/v1/ad_account', key_fingerprint: expect.stringMatching(/^key_[0-9a-f]{12}$/) as string, time: T0 });
      await http(sandbox, 'DELETE', '/_sandbox/requests');
      expect(((await http(sandbox, 'GET', '/_sandbox/requests')).body as { count: number }).count).toBe(0);
    });

    it('marks whether a status call took effect, also when a fault hid the answer', async () => {
      await http(sandbox, 'POST', '/_sandbox/faults', { rate: 1, kinds: ['http_500'], phase: 'after' });
      const hidden = await http(sandbox, 'POST', `/v1/campaigns/${ids.c1}/pause`, undefined, { ...auth(), 'Idempotency-Key': 'op-1' });
      expect(hidden.status).toBe(500);
      await http(sandbox, 'POST', '/_sandbox/faults', { rate: 1, kinds: ['http_500'], phase: 'before' });
      await http(sandbox, 'POST', `/v1/campaigns/${ids.c3}/archive`, undefined, auth());
      const log = sandbox.requests();
      expect(log.map((e) => [e.path, e.fault_phase, e.effect, e.idempotency_key])).toEqual([
        [`/v1/campaigns/${ids.c1}/pause`, 'after', true, 'op-1'],
        [`/v1/campaigns/${ids.c3}/archive`, 'before', false, null],
      ]);
      expect(sandbox.world.campaigns.get(ids.c1)?.status).toBe('paused');
      expect(sandbox.world.campaigns.get(ids.c3)?.status).toBe('paused');
    });

    it('answers control calls with wrong input with 400 and a param', async () => {
      const bad = await http(sandbox, 'POST', '/_sandbox/faults', { rate: 2 });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: { param: 'rate' } });
      const back = await http(sandbox, 'POST', '/_sandbox/clock', { now: T0 - 10 });
      expect(back.status).toBe(400);
    });
  });

  describe('clock and generated delivery', () => {
    const modelled = (overrides: Partial<FixtureInput['campaigns'] extends (infer C)[] | undefined ? C : never> = {}): FixtureInput => ({
      now: T0,
      seed: 11,
      api_keys: [KEY],
      account: { id: 'acct' },
      campaigns: [
        {
          id: 'live',
          name: 'Live campaign',
          status: 'active',
          review_status: 'approved',
          start_time: T0 - DAY,
          budget: { lifetime_spend_limit_micros: 50_000_000 },
          traffic: { impressions_per_hour: 1_000, ctr: 0.02, cpc_usd: 1.5, noise: 0.2 },
          ad_groups: [{ name: 'g', ads: [{ id: 'live-ad', creative: { type: 'chat_card', title: 't', body: 'b' } }] }],
          ...overrides,
        },
      ],
    });

    it('generates delivery only while everything is active, and stops spend at the budget', async () => {
      sandbox.reset(modelled());
      await http(sandbox, 'POST', '/_sandbox/clock', { advance_seconds: 2 * HOUR });
      const spentAfterTwoHours = sandbox.world.campaigns.get('live')?.spentMicros ?? 0;
      expect(spentAfterTwoHours).toBeGreaterThan(0);
      await http(sandbox, 'POST', '/v1/campaigns/live/pause', undefined, auth());
      await http(sandbox, 'POST', '/_sandbox/clock', { advance_seconds: 5 * HOUR });
      expect(sandbox.world.campaigns.get('live')?.spentMicros).toBe(spentAfterTwoHours);
      await http(sandbox, 'POST', '/v1/campaigns/live/activate', undefined, auth());
      await http(sandbox, 'POST', '/_sandbox/clock', { advance_seconds: 3 * DAY });
      expect(sandbox.world.campaigns.get('live')?.spentMicros).toBe(50_000_000);
      // the insights agree with the world
      const response = await http(sandbox, 'GET', `/v1/campaigns/live/insights?time_granularity=none&fields[]=spend&${new URLSearchParams({ 'time_ranges[]': JSON.stringify({ type: 'unix_range', start: T0 - DAY, end: T0 + 3 * DAY + 7 * HOUR }) }).toString()}`, undefined, auth());
      expect((response.body as { data: { spend: number }[] }).data[0]?.spend).toBe(50);
    });

    it('generates the same traffic however the time is sliced', async () => {
      sandbox.reset(modelled({ budget: { lifetime_spend_limit_micros: 900_000_000 } }));
      await http(sandbox, 'POST', '/_sandbox/clock', { advance_seconds: 6 * HOUR });
      const oneJump = sandbox.world.snapshot();
      sandbox.reset(modelled({ budget: { lifetime_spend_limit_micros: 900_000_000 } }));
      for (let i = 0; i < 17; i += 1) await http(sandbox, 'POST', '/_sandbox/clock', { advance_seconds: (6 * HOUR) / 17 });
      expect(sandbox.world.snapshot().campaigns).toEqual(oneJump.campaigns);
    });

    it('without a traffic model, nothing appears as time passes', async () => {
      await http(sandbox, 'POST', '/_sandbox/clock', { advance_seconds: 10 * DAY });
      expect(sandbox.world.campaigns.get(ids.c1)?.spentMicros).toBe(Math.round((30.25 + 40.01 + 15.5 + 5.2 + 2.2 + 6 + 1.1 + 7.7) * 1e6));
    });

    it('gives an auto_review verdict when the clock reaches it', async () => {
      sandbox.reset(modelled({ status: 'paused', review_status: 'in_review', auto_review: { after_seconds: 1_800, verdict: 'approved' } }));
      expect((await http(sandbox, 'GET', '/v1/campaigns/live', undefined, auth())).body).toMatchObject({ review_status: 'in_review' });
      await http(sandbox, 'POST', '/_sandbox/clock', { now: T0 + 1_800 });
      expect((await http(sandbox, 'GET', '/v1/campaigns/live', undefined, auth())).body).toMatchObject({ review_status: 'approved', updated_at: T0 + 1_800 });
    });
  });

  describe('key rotation', () => {
    it('keeps the old key for 30 sandbox minutes, then refuses it', async () => {
      const rotated = await http(sandbox, 'POST', '/_sandbox/keys/rotate', { new_key: 'ak_test_rotated_0001' });
      expect(rotated.body).toMatchObject({ key: 'ak_test_rotated_0001', previous: { expires_at: T0 + 1_800 } });
      expect((await http(sandbox, 'GET', '/v1/ad_account', undefined, auth())).status).toBe(200);
      expect((await http(sandbox, 'GET', '/v1/ad_account', undefined, auth('ak_test_rotated_0001'))).status).toBe(200);
      sandbox.world.clock.advance(1_800);
      expect((await http(sandbox, 'GET', '/v1/ad_account', undefined, auth())).body).toMatchObject({ error: { code: 'invalid_api_key' } });
      expect((await http(sandbox, 'GET', '/v1/ad_account', undefined, auth('ak_test_rotated_0001'))).status).toBe(200);
    });
  });

  describe('uploads', () => {
    it('accepts a PNG as multipart and answers 201 with a file_id', async () => {
      const { body, contentType } = multipart('file', PNG);
      const response = await fetch(`${sandbox.apiUrl}/upload`, { method: 'POST', body, headers: { ...auth(), 'Content-Type': contentType } });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ file_id: expect.stringMatching(/^uploads\/2026\/03\/[0-9a-f]{32}\.png$/) as string });
    });

    it.each([
      ['GIF', Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'), 'unsupported_mimetype'],
      ['text', Buffer.from('hello, not an image'), 'invalid_file'],
      ['truncated PNG', PNG.subarray(0, 20), 'invalid_file'],
      ['6 MB', Buffer.concat([PNG, Buffer.alloc(6 * 1024 * 1024)]), 'file_too_large'],
    ])('refuses %s with 400 %s', async (_name, content, code) => {
      const { body, contentType } = multipart('file', content);
      const response = await fetch(`${sandbox.apiUrl}/upload`, { method: 'POST', body, headers: { ...auth(), 'Content-Type': contentType } });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code } });
    });

    it.each([
      [{}, 'invalid_value'],
      [{ image_url: 'ftp://example.com/a.png' }, 'invalid_image_url'],
      [{ image_url: 'http://127.0.0.1/a.png' }, 'invalid_image_url'],
      [{ image_url: 'http://169.254.169.254/latest/meta-data' }, 'invalid_image_url'],
      [{ image_url: 'https://cdn.example.com/missing.png' }, 'image_fetch_failed'],
      [{ image_url: 'https://cdn.example.com/moved.png' }, 'too_many_redirects'],
    ])('image_url %j → 400 %s', async (body, code) => {
      sandbox.reset(smallFixture({ remote_images: { 'https://cdn.example.com/moved.png': { status: 301, redirect_to: 'https://elsewhere.example/a.png' } } }));
      const response = await http(sandbox, 'POST', '/v1/upload', body, auth());
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: { code } });
    });

    it('fetches image_url from the fixture', async () => {
      sandbox.reset(smallFixture({ remote_images: { 'https://cdn.example.com/shoe.png': { status: 200, content_base64: PNG.toString('base64') } } }));
      const response = await http(sandbox, 'POST', '/v1/upload', { image_url: 'https://cdn.example.com/shoe.png' }, auth());
      expect(response.status).toBe(201);
    });
  });
});
