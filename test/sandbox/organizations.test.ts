// A sandbox with several organizations: each key serves its own organization on every /v1 route,
// another organization's ids are 404 exactly like missing ones, rate limits are per key, delivery
// is generated per organization, the control API names organizations, and fixtures that mix the
// two forms or share a key are refused with the path.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RequestBudget } from '../../functions/thrad/budget';
import { NotFoundError, RateLimitError } from '../../functions/thrad/errors';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { FixtureError, parseAnyFixture, parseFixture, type FixtureOrganizationInput, type MultiOrgFixtureInput } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { ACCOUNT_ID, DAY, ids, KEY, smallFixture, T0 } from '../helpers/fixtures';
import { auth, clientFor, http } from '../helpers/sandbox';

const KEY_B = 'ak_test_org_b_5e6f7a8b9c';
const ACCOUNT_B = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
const idsB = {
  c1: 'b0000001-0000-4000-8000-000000000001',
  g1: 'b0000002-0000-4000-8000-000000000001',
  a1: 'b0000003-0000-4000-8000-000000000001',
} as const;
const today = Math.floor(T0 / DAY) * DAY;
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
  Buffer.from('IHDR'),
  Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0]),
]);

/** Organization A: smallFixture's key, account and three campaigns. */
function orgA(): FixtureOrganizationInput {
  const small = smallFixture();
  return { api_keys: small.api_keys, account: small.account, campaigns: small.campaigns };
}

/** Organization B: one active campaign with a day of history and a traffic model. */
function orgB(): FixtureOrganizationInput {
  return {
    api_keys: [KEY_B],
    account: { id: ACCOUNT_B, name: 'Other Agency Client', url: 'https://b.example' },
    campaigns: [
      {
        id: idsB.c1,
        name: 'Kayaks Summer',
        status: 'active',
        review_status: 'approved',
        start_time: today - 10 * DAY,
        created_at: today - 11 * DAY,
        budget: { lifetime_spend_limit_micros: 3_000_000_000 },
        traffic: { impressions_per_hour: 600, ctr: 0.02, cpc_usd: 1.25, noise: 0.2 },
        ad_groups: [
          {
            id: idsB.g1,
            name: 'Paddlers',
            ads: [{ id: idsB.a1, name: 'Card K', creative: { type: 'chat_card', title: 'Kayaks', body: 'Float.' }, delivery: [{ date: new Date((today - DAY) * 1000).toISOString().slice(0, 10), impressions: 2_400, clicks: 48, spend_usd: 60, supply: 'thrad' }] }],
          },
        ],
      },
    ],
  };
}

function twoOrgs(overrides: Partial<MultiOrgFixtureInput> = {}): MultiOrgFixtureInput {
  return { now: T0, seed: 7, behaviour: { time_ranges_in_future: 'accept' }, organizations: [orgA(), orgB()], ...overrides };
}

const clientB = (sandbox: Sandbox, options: Parameters<typeof clientFor>[1] = {}) => clientFor(sandbox, { keyProvider: new StaticApiKeyProvider(KEY_B), ...options });
const window = { startSeconds: today - 3 * DAY, endSeconds: today + DAY };

describe('a sandbox with several organizations', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ fixture: twoOrgs(), port: 0 });
  });
  beforeEach(() => sandbox.reset(twoOrgs()));
  afterAll(() => sandbox.close());

  it('serves each key its own account, campaigns, ad groups, ads and insights', async () => {
    const a = clientFor(sandbox);
    const b = clientB(sandbox);
    expect((await a.getAdAccount()).id).toBe(ACCOUNT_ID);
    expect((await b.getAdAccount()).id).toBe(ACCOUNT_B);
    expect((await a.listCampaigns()).map((c) => c.id).sort()).toEqual([ids.c1, ids.c2, ids.c3].sort());
    expect((await b.listCampaigns()).map((c) => c.id)).toEqual([idsB.c1]);
    expect((await b.listAdGroups(idsB.c1)).map((g) => g.id)).toEqual([idsB.g1]);
    expect((await b.listAds(idsB.g1)).map((ad) => ad.id)).toEqual([idsB.a1]);

    const accountRows = await b.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'campaign', timeGranularity: 'none', timeRanges: [window] });
    expect(accountRows.map((r) => r.entityId)).toEqual([idsB.c1]);
    expect(accountRows[0]).toMatchObject({ impressions: 2_400, clicks: 48, spend_usd: 60 });
    const totalB = await b.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'ad_account', timeGranularity: 'none', timeRanges: [window] });
    expect(totalB).toHaveLength(1);
    expect(totalB[0]).toMatchObject({ entityId: ACCOUNT_B, impressions: 2_400 });
    const totalA = await a.insights({ scope: { level: 'ad_account' }, aggregationLevel: 'campaign', timeGranularity: 'none', timeRanges: [window] });
    expect(totalA.map((r) => r.entityId)).toEqual([ids.c1]);
  });

  it('answers another organization\'s ids with 404 not_found, exactly as missing ones, on every route, and changes nothing', async () => {
    const missing = { c: '00000000-0000-4000-8000-00000000dead', g: '00000000-0000-4000-8000-00000000beef', a: '00000000-0000-4000-8000-00000000f00d' };
    const routes = (c: string, g: string, a: string): [string, string, unknown][] => [
      ['GET', `/v1/campaigns/${c}`, undefined],
      ['GET', `/v1/ad_groups/${g}`, undefined],
      ['GET', `/v1/ads/${a}`, undefined],
      ['GET', `/v1/ad_groups?campaign_id=${c}`, undefined],
      ['GET', `/v1/ads?ad_group_id=${g}`, undefined],
      ['GET', `/v1/campaigns/${c}/insights`, undefined],
      ['GET', `/v1/ad_groups/${g}/insights`, undefined],
      ['GET', `/v1/ads/${a}/insights`, undefined],
      ['POST', `/v1/campaigns/${c}`, { name: 'Taken over' }],
      ['POST', `/v1/ad_groups/${g}`, { name: 'Taken over' }],
      ['POST', `/v1/ads/${a}`, { name: 'Taken over' }],
      ['POST', `/v1/campaigns/${c}/pause`, undefined],
      ['POST', `/v1/campaigns/${c}/archive`, undefined],
      ['POST', `/v1/ad_groups/${g}/pause`, undefined],
      ['POST', `/v1/ads/${a}/pause`, undefined],
      ['POST', '/v1/ad_groups', { campaign_id: c, name: 'Intruders', ads: [{ creative: { type: 'chat_card', title: 't', body: 'b' } }] }],
      ['POST', '/v1/ads', { ad_group_id: g, creative: { type: 'chat_card', title: 't', body: 'b' } }],
    ];
    const before = JSON.stringify(sandbox.world.snapshot(sandbox.world.primary));
    const mutations = sandbox.world.mutations;
    const foreign = routes(ids.c1, ids.g1, ids.a1);
    const absent = routes(missing.c, missing.g, missing.a);
    for (const [i, [method, path, body]] of foreign.entries()) {
      const got = await http(sandbox, method, path, body, auth(KEY_B));
      const [, absentPath, absentBody] = absent[i];
      const expected = await http(sandbox, method, absentPath, absentBody, auth(KEY_B));
      expect(got.status, `${method} ${path}`).toBe(404);
      expect(expected.status, `${method} ${absentPath}`).toBe(404);
      const swap = (text: string): string => text.replace(missing.c, ids.c1).replace(missing.g, ids.g1).replace(missing.a, ids.a1);
      expect(got.body, `${method} ${path}`).toEqual(JSON.parse(swap(JSON.stringify(expected.body))));
    }
    expect(sandbox.world.mutations).toBe(mutations);
    expect(JSON.stringify(sandbox.world.snapshot(sandbox.world.primary))).toBe(before);
    // The same through the client: typed as NotFoundError, and A's campaign still active.
    await expect(clientB(sandbox).setStatus('campaign', ids.c1, 'pause')).rejects.toBeInstanceOf(NotFoundError);
    await expect(clientB(sandbox).updateCampaign(ids.c1, { name: 'Taken over' })).rejects.toBeInstanceOf(NotFoundError);
    expect(sandbox.world.campaigns.get(ids.c1)).toMatchObject({ status: 'active', name: 'Trail Shoes Spring' });
    await expect(clientFor(sandbox).getCampaign(idsB.c1)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('creates in the key\'s organization: another account id is not found, Idempotency-Keys and uploads are per organization', async () => {
    const body = (name: string, account?: string) => ({
      ...(account ? { ad_account_id: account } : {}),
      name,
      budget: { lifetime_spend_limit_micros: 5_000_000 },
      ad_groups: [{ name: 'G', ads: [{ creative: { type: 'chat_card', title: 't', body: 'b' } }] }],
    });
    const refused = await http(sandbox, 'POST', '/v1/campaigns', body('Wrong account', ACCOUNT_ID), auth(KEY_B));
    expect(refused).toMatchObject({ status: 404, body: { error: { code: 'not_found', param: 'ad_account_id' } } });
    const a = await http(sandbox, 'POST', '/v1/campaigns', body('Made by A'), { ...auth(KEY), 'Idempotency-Key': 'same-key' });
    const b = await http(sandbox, 'POST', '/v1/campaigns', body('Made by B'), { ...auth(KEY_B), 'Idempotency-Key': 'same-key' });
    expect([a.status, b.status]).toEqual([201, 201]);
    const idB = (b.body as { id: string }).id;
    expect((await clientB(sandbox).listCampaigns()).map((c) => c.id).sort()).toEqual([idsB.c1, idB].sort());
    expect((await clientFor(sandbox).listCampaigns()).map((c) => c.id)).not.toContain(idB);
    expect(sandbox.world.orgs[1]?.charges.map((c) => c.campaign_id)).toEqual([idB]);

    const fileId = await clientB(sandbox).upload({ bytes: new Uint8Array(PNG) });
    const stateB = (await http(sandbox, 'GET', `/_sandbox/state?org=${ACCOUNT_B}`)).body as { files: { file_id: string }[]; account: { id: string } };
    const stateA = (await http(sandbox, 'GET', `/_sandbox/state?org=${ACCOUNT_ID}`)).body as { files: unknown[] };
    expect(stateB.account.id).toBe(ACCOUNT_B);
    expect(stateB.files.map((f) => f.file_id)).toEqual([fileId]);
    expect(stateA.files).toEqual([]);
  });

  it('limits requests per key: one organization exhausting its key does not slow the other', async () => {
    sandbox.reset(twoOrgs({ behaviour: { time_ranges_in_future: 'accept', requests_per_hour: 3 } }));
    const budget = (): RequestBudget => new RequestBudget(sandbox.world.clock, { requestsPerHour: 100 });
    const a = clientFor(sandbox, { budget: budget(), retry: { maxAttempts: 1 } });
    const b = clientB(sandbox, { budget: budget(), retry: { maxAttempts: 1 } });
    for (let i = 0; i < 3; i += 1) await a.getAdAccount();
    await expect(a.getAdAccount()).rejects.toBeInstanceOf(RateLimitError);
    for (let i = 0; i < 3; i += 1) expect((await b.getAdAccount()).id).toBe(ACCOUNT_B);
    await expect(b.getAdAccount()).rejects.toBeInstanceOf(RateLimitError);
  });

  it('generates delivery per organization: a request of one never advances another, and lazy totals equal eager ones', async () => {
    const alone = await startSandbox({ fixture: { now: T0, seed: 7, behaviour: { time_ranges_in_future: 'accept' }, ...orgB() }, port: 0 });
    try {
      const [orgAState, orgBState] = sandbox.world.orgs;
      const readToday = (s: Sandbox) => clientFor(s, { keyProvider: new StaticApiKeyProvider(KEY_B) }).insights({ scope: { level: 'campaign', id: idsB.c1 }, timeGranularity: 'hourly', timeRanges: [{ startSeconds: today + 15 * 3_600, endSeconds: today + 20 * 3_600 }] });
      for (let step = 0; step < 5; step += 1) {
        sandbox.world.clock.advance(1_000);
        alone.world.clock.advance(1_000);
        const bSyncedTo = orgBState?.materializedUntil;
        await clientFor(sandbox).listCampaigns();
        expect(orgAState?.materializedUntil).toBe(sandbox.world.nowSeconds());
        expect(orgBState?.materializedUntil).toBe(bSyncedTo);
        await readToday(alone); // the single-organization world is read at every step
      }
      const lazy = await readToday(sandbox);
      const eager = await readToday(alone);
      expect(lazy).toEqual(eager);
      expect(lazy.reduce((sum, row) => sum + (row.impressions ?? 0), 0)).toBeGreaterThan(0);
    } finally {
      await alone.close();
    }
  });

  it('the control API names organizations by account id: state, the request log, key rotation', async () => {
    await clientB(sandbox).getAdAccount();
    await clientFor(sandbox).getAdAccount();
    const summary = (await http(sandbox, 'GET', '/_sandbox/state')).body as { organizations: { account: { id: string }; campaigns: number }[] };
    expect(summary.organizations.map((o) => [o.account.id, o.campaigns])).toEqual([[ACCOUNT_ID, 3], [ACCOUNT_B, 1]]);
    const stateB = (await http(sandbox, 'GET', `/_sandbox/state?org=${ACCOUNT_B}`)).body as { campaigns: { id: string }[]; rate_limit_usage: Record<string, number> };
    expect(stateB.campaigns.map((c) => c.id)).toEqual([idsB.c1]);
    expect(Object.values(stateB.rate_limit_usage)).toEqual([1]);
    const logB = (await http(sandbox, 'GET', `/_sandbox/requests?org=${ACCOUNT_B}`)).body as { count: number };
    expect(logB.count).toBe(1);
    expect(await http(sandbox, 'GET', '/_sandbox/state?org=nope')).toMatchObject({ status: 404, body: { error: { code: 'not_found', param: 'org' } } });

    expect(await http(sandbox, 'POST', '/_sandbox/keys/rotate', {})).toMatchObject({ status: 400, body: { error: { param: 'org' } } });
    const rotated = await http(sandbox, 'POST', '/_sandbox/keys/rotate', { org: ACCOUNT_B, new_key: 'ak_test_org_b_rotated_01' });
    expect(rotated.status).toBe(200);
    expect((await clientB(sandbox, { keyProvider: new StaticApiKeyProvider('ak_test_org_b_rotated_01') }).getAdAccount()).id).toBe(ACCOUNT_B);
    expect((await clientB(sandbox).getAdAccount()).id).toBe(ACCOUNT_B); // the old key's grace window
    expect(await http(sandbox, 'POST', '/_sandbox/keys/rotate', { org: ACCOUNT_ID, new_key: 'ak_test_org_b_rotated_01' })).toMatchObject({ status: 400, body: { error: { param: 'new_key' } } });
    expect((await clientFor(sandbox).getAdAccount()).id).toBe(ACCOUNT_ID);

    const review = await http(sandbox, 'POST', `/_sandbox/campaigns/${idsB.c1}/review`, { review_status: 'rejected' });
    expect(review).toMatchObject({ status: 200, body: { id: idsB.c1, review_status: 'rejected' } });
  });
});

describe('fixtures with organizations', () => {
  const problemsOf = (input: unknown, parse: (i: unknown, s: string) => unknown = parseAnyFixture): string[] => {
    try {
      parse(input, 'orgs.json');
    } catch (error) {
      expect(error).toBeInstanceOf(FixtureError);
      return [...(error as FixtureError).problems];
    }
    throw new Error('the fixture was accepted');
  };

  it.each([
    ['top-level api_keys and organizations', { ...twoOrgs(), api_keys: [KEY] }, 'api_keys: a fixture with "organizations" holds api_keys inside each organization (organizations[i].api_keys), not also at the top level'],
    ['top-level campaigns and organizations', { ...twoOrgs(), campaigns: [] }, 'campaigns: a fixture with "organizations" holds campaigns inside each organization'],
    ['a key in two organizations', twoOrgs({ organizations: [orgA(), { ...orgB(), api_keys: [KEY_B, KEY] }] }), 'organizations[1].api_keys[1]: this key already belongs to organizations[0]; each key serves one organization'],
    ['one account in two organizations', twoOrgs({ organizations: [orgA(), { ...orgB(), account: { id: ACCOUNT_ID } }] }), `organizations[1].account.id: duplicate account id "${ACCOUNT_ID}" (also at organizations[0].account.id)`],
    ['an entity id in two organizations', twoOrgs({ organizations: [orgA(), { ...orgB(), campaigns: [{ ...(orgB().campaigns ?? [])[0], id: ids.c1 }] }] }), `organizations[1].campaigns[0].id: duplicate id "${ids.c1}" (also at organizations[0].campaigns[0])`],
    ['a bad campaign inside an organization', twoOrgs({ organizations: [orgA(), { ...orgB(), campaigns: [{ name: 'ab' } as never] }] }), 'organizations[1].campaigns[0].name'],
    ['no organizations', twoOrgs({ organizations: [] }), 'organizations'],
  ])('refuses %s, naming the path', (_name, input, expected) => {
    const problems = problemsOf(input).join('\n');
    expect(problems).toContain(expected);
    expect(problems).not.toContain(KEY);
    expect(problems).not.toContain(KEY_B);
  });

  it('a single-organization parse refuses organizations, and both forms parse to what they hold', () => {
    expect(problemsOf(twoOrgs(), parseFixture).join('\n')).toContain('organizations: expected a fixture with one organization here');
    const multi = parseAnyFixture(twoOrgs());
    expect('organizations' in multi && multi.organizations.map((o) => o.account.id)).toEqual([ACCOUNT_ID, ACCOUNT_B]);
    expect(parseAnyFixture(smallFixture())).toEqual(parseFixture(smallFixture()));
  });

  it('refuses to start the sandbox on a mixed fixture', async () => {
    await expect(startSandbox({ fixture: { ...twoOrgs(), account: { id: ACCOUNT_ID } } as never, port: 0 })).rejects.toBeInstanceOf(FixtureError);
  });
});
