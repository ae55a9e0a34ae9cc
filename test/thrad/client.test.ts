// The Thrad client over real HTTP against the sandbox: every endpoint, the documented errors as
// typed errors, paging, retries under faults, Retry-After, deadlines, the request budget and key
// rotation.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RequestBudget } from '../../functions/thrad/budget';
import type { ClientEvent } from '../../functions/thrad/client';
import {
  AuthenticationError,
  ConflictError,
  InvalidRequestError,
  MalformedResponseError,
  NetworkError,
  NotFoundError,
  PaymentError,
  RateLimitError,
  RequestBudgetExceededError,
  ServerError,
  ThradApiError,
} from '../../functions/thrad/errors';
import { StaticApiKeyProvider, type ApiKeyProvider } from '../../functions/thrad/keys';
import type { Sandbox } from '../../sandbox/server';
import { ACCOUNT_ID, DAY, HOUR, ids, KEY, smallFixture, T0 } from '../helpers/fixtures';
import { clientFor, recordingSleep, withSandbox } from '../helpers/sandbox';

const launch = {
  name: 'Client launch',
  budget: { lifetime_spend_limit_micros: 25_000_000 },
  ad_groups: [{ name: 'Prospecting', ads: [{ creative: { type: 'chat_card', title: 'Shoes', body: 'Fast.' } }] }],
};

describe('ThradClient', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await withSandbox();
  });
  beforeEach(() => sandbox.reset(smallFixture()));
  afterAll(() => sandbox.close());

  describe('reads', () => {
    it('reads the ad account', async () => {
      const client = clientFor(sandbox);
      await expect(client.getAdAccount()).resolves.toEqual({ id: ACCOUNT_ID, name: 'Test Outdoor Co', url: 'https://test.example', timezone: 'UTC', currency_code: 'USD' });
    });

    it('lists every campaign, ad group and ad across pages', async () => {
      const client = clientFor(sandbox, { listPageSize: 1 });
      const campaigns = await client.listCampaigns({ order: 'asc' });
      expect(campaigns.map((c) => c.id)).toEqual([ids.c2, ids.c3, ids.c1]);
      expect(campaigns.find((c) => c.id === ids.c1)).toMatchObject({ status: 'active', review_status: 'approved', budget: { lifetime_spend_limit_micros: 5_000_000_000 } });
      const groups = await client.listAdGroups(ids.c1, { order: 'asc' });
      expect(groups.map((g) => g.id)).toEqual([ids.g1, ids.g2]);
      const ads = await client.listAds(ids.g1, { order: 'asc' });
      expect(ads.map((a) => a.id)).toEqual([ids.a1, ids.a2]);
      // one request per page: 3 campaign pages, 2 group pages, 2 ad pages
      const paths = sandbox.requests().map((r) => r.path);
      expect(paths.filter((p) => p === '/v1/campaigns')).toHaveLength(3);
      expect(paths.filter((p) => p === '/v1/ad_groups')).toHaveLength(2);
      expect(paths.filter((p) => p === '/v1/ads')).toHaveLength(2);
      expect(sandbox.requests()[1]?.query).toMatchObject({ limit: ['1'], after: [ids.c2] });
    });

    it('gets one of each level', async () => {
      const client = clientFor(sandbox);
      await expect(client.getCampaign(ids.c3)).resolves.toMatchObject({ id: ids.c3, status: 'paused' });
      await expect(client.getAdGroup(ids.g1)).resolves.toMatchObject({ id: ids.g1, campaign_id: ids.c1, bidding_config: { max_bid_micros: null } });
      await expect(client.getAd(ids.a1)).resolves.toMatchObject({ id: ids.a1, ad_group_id: ids.g1, review_status: 'approved', creative: { type: 'chat_card' } });
    });
  });

  describe('writes', () => {
    it.each([
      ['campaign', ids.c1, 'pause', 'paused'],
      ['campaign', ids.c3, 'activate', 'active'],
      ['campaign', ids.c1, 'archive', 'archived'],
      ['ad_group', ids.g1, 'pause', 'paused'],
      ['ad_group', ids.g1, 'archive', 'paused'],
      ['ad', ids.a1, 'pause', 'paused'],
      ['ad', ids.a4, 'archive', 'paused'],
    ] as const)('%s %s /%s → %s', async (level, id, action, status) => {
      const result = await clientFor(sandbox).setStatus(level, id, action);
      expect(result).toMatchObject({ outcome: 'changed', attempts: 1, earlierAttemptMayHaveApplied: false, entity: { id, status } });
    });

    it('reports a pause of a paused campaign as already in state, after reading it', async () => {
      const result = await clientFor(sandbox).setStatus('campaign', ids.c3, 'pause');
      expect(result).toMatchObject({ outcome: 'already_in_state', entity: { status: 'paused' }, earlierAttemptMayHaveApplied: false });
      expect(sandbox.requests().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([`POST /v1/campaigns/${ids.c3}/pause 400`, `GET /v1/campaigns/${ids.c3} 200`]);
    });

    it('reports a retried pause that had landed as already in state, flagging the earlier attempt', async () => {
      sandbox.setFaults({ rate: 1, kinds: ['http_500'], phase: 'after', path_pattern: '/pause$', limit: 1 });
      const result = await clientFor(sandbox).setStatus('campaign', ids.c1, 'pause');
      expect(result).toMatchObject({ outcome: 'already_in_state', earlierAttemptMayHaveApplied: true, entity: { status: 'paused' } });
      expect(sandbox.requests().filter((r) => r.path.endsWith('/pause')).map((r) => r.effect)).toEqual([true, false]);
    });

    it('still refuses a pause of an archived campaign', async () => {
      await clientFor(sandbox).setStatus('campaign', ids.c3, 'archive');
      await expect(clientFor(sandbox).setStatus('campaign', ids.c3, 'pause')).rejects.toMatchObject({ name: 'InvalidRequestError', code: 'campaign_archived' });
    });

    it('updates a campaign budget and end time, and ad groups and ads including status', async () => {
      const client = clientFor(sandbox);
      const campaign = await client.updateCampaign(ids.c1, { budget: { lifetime_spend_limit_micros: 7_500_000_000 }, end_time: T0 + 10 * DAY });
      expect(campaign).toMatchObject({ budget: { lifetime_spend_limit_micros: 7_500_000_000 }, end_time: T0 + 10 * DAY, updated_at: T0 });
      await expect(client.updateAdGroup(ids.g1, { status: 'paused', bidding_config: { max_bid_micros: 1_500_000 } })).resolves.toMatchObject({ status: 'paused', bidding_config: { max_bid_micros: 1_500_000 } });
      await expect(client.updateAd(ids.a1, { status: 'archived', name: 'Card A v2' })).resolves.toMatchObject({ status: 'paused', name: 'Card A v2' });
    });

    it('creates campaigns with an Idempotency-Key, reusing it on retry', async () => {
      sandbox.setFaults({ rate: 1, kinds: ['reset'], phase: 'after', path_pattern: '^/v1/campaigns$' });
      const client = clientFor(sandbox, { retry: { maxAttempts: 2 } });
      await expect(client.createCampaign(launch, { idempotencyKey: 'c4b2e8d0-6f1a-4e3b-9c7d-5a2b1e0f9d8c' })).rejects.toBeInstanceOf(NetworkError);
      sandbox.setFaults({ rate: 0 });
      const created = await client.createCampaign(launch, { idempotencyKey: 'c4b2e8d0-6f1a-4e3b-9c7d-5a2b1e0f9d8c' });
      expect(created).toMatchObject({ status: 'paused', review_status: 'in_review' });
      expect(sandbox.world.charges).toHaveLength(1);
      const keys = sandbox.requests().map((r) => r.idempotency_key);
      expect(new Set(keys)).toEqual(new Set(['c4b2e8d0-6f1a-4e3b-9c7d-5a2b1e0f9d8c']));
    });

    it('uploads bytes as multipart', async () => {
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR'), Buffer.alloc(17, 1)]);
      await expect(clientFor(sandbox).upload({ bytes: png, filename: 'shoe.png' })).resolves.toMatch(/^uploads\/2026\/03\/[0-9a-f]{32}\.png$/);
    });
  });

  describe('insights', () => {
    const today = Math.floor(T0 / DAY) * DAY;

    it.each([
      [{ level: 'ad_account' } as const, 'campaign' as const, 1],
      [{ level: 'campaign', id: ids.c1 } as const, 'ad_group' as const, 1],
      [{ level: 'ad_group', id: ids.g1 } as const, 'ad' as const, 2],
      [{ level: 'ad', id: ids.a1 } as const, 'ad' as const, 1],
    ])('reads scope %j at %s level', async (scope, aggregationLevel, rowCount) => {
      const rows = await clientFor(sandbox).insights({
        scope,
        aggregationLevel,
        timeGranularity: 'none',
        fields: ['impressions', 'clicks', 'spend', 'ctr', 'cpc', 'cpm'],
        timeRanges: [{ startSeconds: today - 3 * DAY, endSeconds: today + DAY }],
      });
      expect(rows).toHaveLength(rowCount);
      for (const row of rows) {
        expect(row.aggregationLevel).toBe(aggregationLevel);
        expect(row.spend_usd).toBeGreaterThan(0);
        expect(row.cpc_usd).toBeCloseTo((row.spend_usd ?? 0) / (row.clicks ?? 1), 10);
        expect(row.ctr_fraction).toBeCloseTo((row.clicks ?? 0) / (row.impressions ?? 1), 10);
        expect(row.cpm_usd).toBeCloseTo(((row.spend_usd ?? 0) / (row.impressions ?? 1)) * 1000, 10);
      }
    });

    it('splits and isolates supply, pages insights, and maps units into names', async () => {
      const client = clientFor(sandbox, { insightsPageSize: 1 });
      const split = await client.insights({ scope: { level: 'campaign', id: ids.c1 }, timeGranularity: 'none', supply: 'split', timeRanges: [{ startSeconds: today - 3 * DAY, endSeconds: today + DAY }] });
      expect(split.map((r) => r.supply)).toEqual(['thrad', 'chatgpt']);
      const thrad = await client.insights({ scope: { level: 'campaign', id: ids.c1 }, timeGranularity: 'none', supply: 'thrad', timeRanges: [{ startSeconds: today - 3 * DAY, endSeconds: today + DAY }] });
      expect(thrad).toEqual([split[0]]);
      expect(thrad[0]).toMatchObject({ entityId: ids.c1, entityName: 'Trail Shoes Spring', impressions: 1_201 + 80 + 33, clicks: 31 + 1, spend_usd: 41.11, ctr_fraction: null, cpc_usd: null, cpm_usd: null });
      const hourly = await client.insights({ scope: { level: 'ad', id: ids.a1 }, timeGranularity: 'hourly', fields: ['clicks'], timeRanges: [{ startSeconds: today + 8 * HOUR, endSeconds: today + 16 * HOUR }] });
      expect(hourly.map((r) => [r.readableTime, r.clicks, r.impressions])).toEqual([
        ['2026-03-10T09:00:00Z', 4, null],
        ['2026-03-10T10:00:00Z', 0, null],
        ['2026-03-10T14:00:00Z', 2, null],
      ]);
      expect(sandbox.requests().filter((r) => r.path === `/v1/ads/${ids.a1}/insights`)).toHaveLength(3);
    });

    it('surfaces insights validation errors as typed errors, never retried', async () => {
      const client = clientFor(sandbox);
      await expect(client.insights({ scope: { level: 'ad_account' }, timeGranularity: 'hourly', timeRanges: [{ startSeconds: today, endSeconds: today + 2 * DAY }] })).rejects.toMatchObject({ name: 'InvalidRequestError', httpStatus: 400, code: 'hourly_range_too_wide', param: 'time_ranges[0]' });
      expect(sandbox.requests()).toHaveLength(1);
    });
  });

  describe('errors', () => {
    it.each([
      ['not found', () => clientFor(sandbox).getCampaign('missing'), NotFoundError, 404, 'not_found'],
      ['not approved', () => clientFor(sandbox).setStatus('campaign', ids.c2, 'activate'), InvalidRequestError, 400, 'campaign_not_approved'],
      ['bad key', () => clientFor(sandbox, { keyProvider: new StaticApiKeyProvider('ak_test_wrong_key_000') }).getAdAccount(), AuthenticationError, 401, 'invalid_api_key'],
      ['use_status_action', () => clientFor(sandbox).updateCampaign(ids.c1, { status: 'paused' } as never), InvalidRequestError, 400, 'use_status_action'],
    ])('%s → %s %i %s, not retried', async (_name, call, errorClass, httpStatus, code) => {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errorClass);
      expect(error).toMatchObject({ httpStatus, code, type: expect.any(String) as string });
      expect(sandbox.requests().filter((r) => r.status === httpStatus)).toHaveLength(1);
    });

    it('409 idempotency_key_reused → ConflictError', async () => {
      const client = clientFor(sandbox);
      await client.createCampaign(launch, { idempotencyKey: 'same-key' });
      await expect(client.createCampaign({ ...launch, name: 'Different body' }, { idempotencyKey: 'same-key' })).rejects.toBeInstanceOf(ConflictError);
    });

    it('402 card_declined → PaymentError', async () => {
      sandbox.reset(smallFixture({ billing: { card_configured: true, declines: true } }));
      await expect(clientFor(sandbox).createCampaign(launch)).rejects.toBeInstanceOf(PaymentError);
    });
  });

  describe('retries', () => {
    it.each(['http_500', 'http_503', 'http_429', 'timeout', 'reset', 'malformed_json'] as const)('recovers from %s with backoff', async (kind) => {
      sandbox.setFaults({ rate: 1, kinds: [kind], timeout_hold_ms: 5_000, retry_after_seconds: 2, limit: 2 });
      const sleep = recordingSleep();
      const client = clientFor(sandbox, { sleep, requestTimeoutMs: 300 });
      await expect(client.getCampaign(ids.c1)).resolves.toMatchObject({ id: ids.c1 });
      expect(sandbox.requests().map((r) => r.fault)).toEqual([kind, kind, null]);
      // full jitter with random()=0.5 → 125, 250 ms; a 429 waits its Retry-After instead
      expect(sleep.delays).toEqual(kind === 'http_429' ? [2_000, 2_000] : [125, 250]);
    });

    it('gives up after maxAttempts with the typed error of the last attempt', async () => {
      sandbox.setFaults({ rate: 1, kinds: ['malformed_json'] });
      const sleep = recordingSleep();
      const error = await clientFor(sandbox, { sleep, retry: { maxAttempts: 3 } }).getAdAccount().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MalformedResponseError);
      expect(sandbox.requests()).toHaveLength(3);
      // full jitter with random()=0.5: half of 250·2^(n-1)
      expect(sleep.delays).toEqual([125, 250]);
    });

    it('times out a hung request and reports a NetworkError of kind timeout', async () => {
      sandbox.setFaults({ rate: 1, kinds: ['timeout'], timeout_hold_ms: 5_000 });
      const error = await clientFor(sandbox, { requestTimeoutMs: 150, retry: { maxAttempts: 2 } }).getAdAccount().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NetworkError);
      expect(error).toMatchObject({ kind: 'timeout', httpStatus: null });
    });

    it('reports a reset connection as a NetworkError of kind reset', async () => {
      sandbox.setFaults({ rate: 1, kinds: ['reset'] });
      const error = await clientFor(sandbox, { retry: { maxAttempts: 1 } }).getAdAccount().catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'NetworkError', kind: 'reset' });
    });

    it('waits at least Retry-After on a 429', async () => {
      sandbox.setFaults({ rate: 1, kinds: ['http_429'], retry_after_seconds: 7 });
      const sleep = recordingSleep();
      const pending = clientFor(sandbox, { sleep, retry: { maxAttempts: 2 } }).getAdAccount().catch((e: unknown) => e);
      const error = await pending;
      expect(error).toBeInstanceOf(RateLimitError);
      expect((error as RateLimitError).retryAfterSeconds).toBe(7);
      expect(sleep.delays).toEqual([7_000]);
    });

    it('does not wait past the caller deadline: the 429 comes back at once', async () => {
      sandbox.setFaults({ rate: 1, kinds: ['http_429'], retry_after_seconds: 120 });
      const sleep = recordingSleep();
      const error = await clientFor(sandbox, { sleep }).getAdAccount({ deadlineMs: Date.now() + 5_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitError);
      expect(sleep.delays).toEqual([]);
      expect(sandbox.requests()).toHaveLength(1);
    });

    it('never retries a 4xx validation error', async () => {
      sandbox.setFaults({ rate: 0 });
      await expect(clientFor(sandbox).updateCampaign(ids.c1, { name: 'x' })).rejects.toMatchObject({ code: 'invalid_value', param: 'name' });
      expect(sandbox.requests()).toHaveLength(1);
    });
  });

  describe('request budget', () => {
    it('counts requests per key per rolling hour and refuses beyond the limit without calling', async () => {
      const clock = sandbox.world.clock;
      const budget = new RequestBudget(clock, { requestsPerHour: 5 });
      const client = clientFor(sandbox, { budget });
      for (let i = 0; i < 5; i += 1) await client.getAdAccount();
      await expect(client.budgetSnapshot()).resolves.toMatchObject({ used: 5, remaining: 0, limit: 5 });
      const error = await client.getAdAccount().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RequestBudgetExceededError);
      expect(error).toMatchObject({ used: 5, limit: 5, needed: 1, availableAtMs: T0 * 1000 + 3_600_000 });
      expect(sandbox.requests()).toHaveLength(5);
      clock.advance(HOUR);
      await expect(client.getAdAccount()).resolves.toBeDefined();
    });

    it('refuses up front work it cannot finish', async () => {
      const budget = new RequestBudget(sandbox.world.clock, { requestsPerHour: 10 });
      const client = clientFor(sandbox, { budget });
      await client.listCampaigns();
      await expect(client.ensureBudget(10, 'a cycle')).rejects.toThrow(/1 of 10 requests used in the last hour, 10 more needed for a cycle/);
      await expect(client.ensureBudget(10)).rejects.toBeInstanceOf(RequestBudgetExceededError);
      await expect(client.ensureBudget(9)).resolves.toBeUndefined();
    });

    it('counts campaign creation against its own 60/h as well', async () => {
      const budget = new RequestBudget(sandbox.world.clock, { campaignCreatesPerHour: 1 });
      const client = clientFor(sandbox, { budget });
      await client.createCampaign(launch);
      await expect(client.createCampaign(launch)).rejects.toBeInstanceOf(RequestBudgetExceededError);
      await expect(client.getAdAccount()).resolves.toBeDefined();
    });
  });

  describe('key rotation and key hygiene', () => {
    class RotatingProvider implements ApiKeyProvider {
      readonly source = 'a test store';
      refreshes = 0;
      constructor(public stored: string, private cached: string = stored) {}
      getKey(): Promise<string> {
        return Promise.resolve(this.cached);
      }
      refresh(): Promise<string> {
        this.refreshes += 1;
        this.cached = this.stored;
        return Promise.resolve(this.cached);
      }
    }

    it('uses the old key through the grace window, then refetches once on 401 and carries on', async () => {
      const provider = new RotatingProvider(KEY);
      const events: ClientEvent[] = [];
      const client = clientFor(sandbox, { keyProvider: provider, onEvent: (e) => events.push(e) });
      const rotated = (await (await fetch(`${sandbox.url}/_sandbox/keys/rotate`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } })).json()) as { key: string };
      provider.stored = rotated.key; // the secret now holds the new key; the cache still has the old one
      await client.getAdAccount();
      expect(provider.refreshes).toBe(0);
      sandbox.world.clock.advance(1_801);
      await expect(client.getAdAccount()).resolves.toMatchObject({ id: ACCOUNT_ID });
      expect(provider.refreshes).toBe(1);
      const statuses = sandbox.requests().map((r) => r.status);
      expect(statuses).toEqual([200, 401, 200]);
      expect(new Set(sandbox.requests().map((r) => r.key_fingerprint)).size).toBe(2);
      const everything = JSON.stringify(events) + JSON.stringify(sandbox.requests());
      expect(everything).not.toContain(KEY);
      expect(everything).not.toContain(rotated.key);
    });

    it('gives up with AuthenticationError when the refetched key is the same', async () => {
      const provider = new RotatingProvider('ak_test_revoked_key_99');
      await expect(clientFor(sandbox, { keyProvider: provider }).getAdAccount()).rejects.toBeInstanceOf(AuthenticationError);
      expect(provider.refreshes).toBe(1);
      expect(sandbox.requests()).toHaveLength(1);
    });

    it('never puts the key in an error message, its JSON, or an event', async () => {
      const secretKey = 'ak_live_9f8e7d6c5b4a3f2e1d0c';
      const events: ClientEvent[] = [];
      const client = clientFor(sandbox, { keyProvider: new StaticApiKeyProvider(secretKey), onEvent: (e) => events.push(e) });
      const errors: unknown[] = [];
      errors.push(await client.getAdAccount().catch((e: unknown) => e));
      sandbox.setFaults({ rate: 1, kinds: ['http_500', 'reset', 'malformed_json'] });
      errors.push(await clientFor(sandbox, { keyProvider: new StaticApiKeyProvider(KEY), onEvent: (e) => events.push(e) }).getCampaign(ids.c1).catch((e: unknown) => e));
      for (const error of errors) {
        expect(error).toBeInstanceOf(ThradApiError);
        const text = `${String(error)} ${(error as Error).stack ?? ''} ${JSON.stringify(error)} ${JSON.stringify((error as ThradApiError).toJSON())}`;
        expect(text).not.toContain(secretKey);
        expect(text).not.toContain(KEY);
      }
      expect(JSON.stringify(events)).not.toContain(secretKey);
      expect(events.length).toBeGreaterThan(1);
    });
  });

  it('ServerError is what a persistent 5xx becomes', async () => {
    sandbox.setFaults({ rate: 1, kinds: ['http_503'] });
    await expect(clientFor(sandbox, { retry: { maxAttempts: 2 } }).getAdAccount()).rejects.toBeInstanceOf(ServerError);
  });
});
