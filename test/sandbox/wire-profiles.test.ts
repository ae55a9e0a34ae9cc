// The sandbox serving each wire profile over raw HTTP: strict about the other profile's shapes
// (unknown parameter, limit over the maximum, wrong operator spelling), the reference profile's
// window types, metadata fields and zero-impression items, an API that ignores time ranges, and
// how a profile is chosen (fixture behaviour, startSandbox option, the --wire-profile flag).
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureInput } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { DAY, HOUR, ids, smallFixture, T0 } from '../helpers/fixtures';
import { auth, http } from '../helpers/sandbox';

const today = Math.floor(T0 / DAY) * DAY;
const unix = (start: number, end: number): [string, string] => ['time_ranges[]', JSON.stringify({ type: 'unix_range', start, end })];

interface Answer {
  status: number;
  body: { data: Record<string, unknown>[]; has_more: boolean; error?: { code: string; param: string | null; message: string } };
}

async function get(sandbox: Sandbox, path: string, params: [string, string][]): Promise<Answer> {
  return (await http(sandbox, 'GET', `${path}?${new URLSearchParams(params).toString()}`, undefined, auth())) as never;
}

describe('the sandbox per wire profile', () => {
  let reference: Sandbox;
  let legacy: Sandbox;
  beforeAll(async () => {
    reference = await startSandbox({ fixture: smallFixture(), port: 0 });
    legacy = await startSandbox({ fixture: smallFixture({ behaviour: { wire_profile: 'legacy' } }), port: 0 });
  });
  afterAll(async () => {
    await reference.close();
    await legacy.close();
  });

  it('serves the reference by default and the fixture’s behaviour.wire_profile otherwise', () => {
    expect(reference.world.behaviour.wire_profile).toBe('reference');
    expect(legacy.world.behaviour.wire_profile).toBe('legacy');
  });

  const yesterday = unix(today - DAY, today);
  it.each([
    ['reference', 'limit over 2000', [['limit', '2001']], 'invalid_value', 'limit', 'limit must be an integer from 1 to 2000.'],
    ['reference', 'lowercase in', [['filters[]', JSON.stringify({ field: 'campaign.id', operator: 'in', value: [ids.c1] })]], 'invalid_filter_operator', 'filters[0].operator', 'filters[0].operator must be one of IN for campaign.id.'],
    ['reference', 'equals', [['filters[]', JSON.stringify({ field: 'campaign.id', operator: 'equals', value: ids.c1 })]], 'invalid_filter_operator', 'filters[0].operator', 'filters[0].operator must be one of IN for campaign.id.'],
    ['reference', 'IN on a metric', [['filters[]', JSON.stringify({ field: 'campaign.clicks', operator: 'IN', value: ['3'] })]], 'invalid_filter_operator', 'filters[0].operator', 'filters[0].operator must be one of GREATER_THAN, LESS_THAN for campaign.clicks.'],
    ['reference', 'a preset window', [['time_ranges[]', JSON.stringify({ type: 'preset', preset: 'today' })]], 'invalid_value', 'time_ranges[0].type', 'time_ranges[0].type must be one of unix_range, hour_range, date_range.'],
    ['reference', 'sort[]', [['sort[]', JSON.stringify({ field: 'spend', direction: 'desc' })]], 'unknown_parameter', 'sort[]', "Unrecognized query parameter: 'sort[]'."],
    ['reference', 'an unknown includes[]', [['includes[]', 'everything']], 'invalid_value', 'includes[0]', 'includes[] takes zero_impression_items.'],
    ['reference', 'metadata below the level', [['aggregation_level', 'campaign'], ['fields[]', 'ad.status']], 'invalid_value', 'fields[0]', "'ad.status' is below aggregation_level campaign."],
    ['legacy', 'limit over 10000', [['limit', '10001']], 'invalid_value', 'limit', 'limit must be an integer from 1 to 10000.'],
    ['legacy', 'uppercase IN', [['filters[]', JSON.stringify({ field: 'campaign.id', operator: 'IN', value: [ids.c1] })]], 'invalid_filter_operator', 'filters[0].operator', 'filters[0].operator must be one of in, equals for campaign.id.'],
    ['legacy', 'GREATER_THAN', [['filters[]', JSON.stringify({ field: 'campaign.clicks', operator: 'GREATER_THAN', value: 3 })]], 'invalid_filter', 'filters[0].field', 'filters[0].field must be one of campaign.id, ad_group.id, ad.id.'],
    ['legacy', 'includes[]', [['includes[]', 'zero_impression_items']], 'unknown_parameter', 'includes[]', "Unrecognized query parameter: 'includes[]'."],
    ['legacy', 'a metadata field', [['fields[]', 'campaign.status']], 'unknown_field', 'fields[0]', "Unknown field 'campaign.status'. Fields: impressions, clicks, spend, ctr, cpc, cpm."],
    ['legacy', 'an hour_range window', [['time_ranges[]', JSON.stringify({ type: 'hour_range', since: '2026-03-09T00', until: '2026-03-09T05' })]], 'invalid_value', 'time_ranges[0].type', 'time_ranges[0].type must be one of unix_range, date_range, preset.'],
  ] as const)('%s answers %s with a 400', async (profile, _what, params, code, param, message) => {
    const sandbox = profile === 'reference' ? reference : legacy;
    const response = await get(sandbox, '/v1/ad_account/insights', [...(params as readonly (readonly [string, string])[]).map(([k, v]): [string, string] => [k, v]), ['time_granularity', 'none'], yesterday]);
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual({ type: 'invalid_request_error', code, param, message });
  });

  it.each([
    ['reference', '2000', 20],
    ['legacy', '10000', 1_000],
  ] as const)('%s accepts limit=%s and pages by %i when none is sent', async (profile, max, defaultLimit) => {
    const sandbox = profile === 'reference' ? reference : legacy;
    expect((await get(sandbox, '/v1/ad_account/insights', [['limit', max], yesterday])).status).toBe(200);
    // 30 daily rows of a1: more than the reference default page, fewer than the legacy one.
    sandbox.reset(smallFixture({ behaviour: { wire_profile: profile, omit_empty_rows: false } }));
    const page = await get(sandbox, `/v1/ads/${ids.a1}/insights`, []);
    expect(page.body.data).toHaveLength(Math.min(30, defaultLimit));
    expect(page.body.has_more).toBe(defaultLimit < 30);
    sandbox.reset(smallFixture({ behaviour: { wire_profile: profile } }));
  });

  it('reads hour_range and date_range windows in a time zone (reference)', async () => {
    // 2026-03-09 in New York (EDT) is 04:00Z → 04:00Z; hours 05..09 local inclusive are 09:00Z–14:00Z.
    const day = await get(reference, `/v1/campaigns/${ids.c1}/insights`, [['time_granularity', 'none'], ['time_ranges[]', JSON.stringify({ type: 'date_range', since: '2026-03-09', until: '2026-03-09', timezone: 'America/New_York' })]]);
    expect(day.body.data[0]).toMatchObject({ start_time: today - DAY + 4 * HOUR, end_time: today + 4 * HOUR });
    const hours = await get(reference, `/v1/ads/${ids.a1}/insights`, [['time_granularity', 'none'], ['fields[]', 'ad.impressions'], ['time_ranges[]', JSON.stringify({ type: 'hour_range', since: '2026-03-10T05', until: '2026-03-10T09' })]]);
    // UTC by default: 05:00Z–10:00Z holds a1's 09:00Z hour (120 impressions).
    expect(hours.body.data).toEqual([expect.objectContaining({ start_time: today + 5 * HOUR, end_time: today + 10 * HOUR, impressions: 120 })]);
  });

  it('answers metadata fields as flat keys and zero-impression rows (reference)', async () => {
    const response = await get(reference, '/v1/ad_account/insights', [
      ['aggregation_level', 'ad_group'],
      ['time_granularity', 'none'],
      unix(T0 - HOUR, T0),
      ['fields[]', 'ad_group.impressions'],
      ['fields[]', 'ad_group.status'],
      ['fields[]', 'campaign.status'],
      ['fields[]', 'campaign.budget.lifetime'],
      ['fields[]', 'campaign.end_time'],
      ['includes[]', 'zero_impression_items'],
    ]);
    expect(response.status).toBe(200);
    expect(response.body.data.map((r) => [r.ad_group_id ?? r.ad_group_name, r.impressions, r.ad_group_status, r.campaign_status, r.campaign_budget_lifetime, r.campaign_end_time])).toEqual([
      [ids.g1, 55, 'active', 'active', 5_000, null],
      [ids.g2, 0, 'active', 'active', 5_000, null],
      [ids.g3, 0, 'active', 'paused', 1_000, null],
      [expect.any(String), 0, 'active', 'paused', 2_000, null],
    ]);
  });

  it('ignore_time_ranges: any range (even an invalid one) is answered for the default 30 days', async () => {
    const sandbox = await startSandbox({ fixture: smallFixture({ behaviour: { ignore_time_ranges: true } }), port: 0 });
    try {
      for (const range of [unix(today - DAY, today), unix(today + 60, today)]) {
        const response = await get(sandbox, `/v1/campaigns/${ids.c1}/insights`, [['time_granularity', 'none'], ['fields[]', 'impressions'], range]);
        expect(response.status).toBe(200);
        expect(response.body.data).toEqual([expect.objectContaining({ start_time: today - 29 * DAY, end_time: today + DAY, impressions: 1_000 + 1_201 + 997 + 120 + 80 + 55 + 500 + 33 })]);
      }
    } finally {
      await sandbox.close();
    }
  });

  it('time_ranges_in_future: reject refuses an end after now, as the reference says', async () => {
    const sandbox = await startSandbox({ fixture: smallFixture({ behaviour: { time_ranges_in_future: 'reject' } }), port: 0 });
    try {
      expect((await get(sandbox, '/v1/ad_account/insights', [unix(today, T0)])).status).toBe(200);
      const future = await get(sandbox, '/v1/ad_account/insights', [unix(today, T0 + HOUR)]);
      expect(future.body.error).toMatchObject({ code: 'invalid_value', param: 'time_ranges[0]' });
    } finally {
      await sandbox.close();
    }
  });

  it('startSandbox({ wireProfile }) wins over the fixture, also after a reset', async () => {
    const fixture: FixtureInput = smallFixture({ behaviour: { wire_profile: 'reference' } });
    const sandbox = await startSandbox({ fixture, port: 0, wireProfile: 'legacy' });
    try {
      expect(sandbox.world.behaviour.wire_profile).toBe('legacy');
      await http(sandbox, 'POST', '/_sandbox/reset', fixture);
      expect(sandbox.world.behaviour.wire_profile).toBe('legacy');
      const state = (await http(sandbox, 'GET', '/_sandbox/state')).body as { behaviour: { wire_profile: string } };
      expect(state.behaviour.wire_profile).toBe('legacy');
    } finally {
      await sandbox.close();
    }
  });

  it('npm run sandbox -- --wire-profile legacy serves legacy, and refuses an unknown profile', async () => {
    const root = resolve(__dirname, '..', '..');
    const tsx = resolve(root, 'node_modules', '.bin', 'tsx');
    const bad = spawn(tsx, ['sandbox/main.ts', '--port', '0', '--wire-profile', 'openai'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let badOut = '';
    bad.stderr.on('data', (c: Buffer) => (badOut += c.toString()));
    expect(await new Promise<number | null>((r) => bad.on('exit', r))).toBe(2);
    expect(badOut).toContain('--wire-profile must be one of reference, legacy (got "openai").');

    const child = spawn(tsx, ['sandbox/main.ts', '--port', '0', '--clock-speed', '0', '--wire-profile', 'legacy'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)[\s\S]*Wire profile legacy:/.exec(out);
          if (m?.[1]) resolveUrl(m[1]);
        });
        child.once('exit', () => reject(new Error(`sandbox exited: ${out}`)));
      });
      const response = await fetch(`${url}/ad_account/insights?limit=10000`, { headers: { Authorization: 'Bearer ak_sandbox_demo_4f8e2c1b9d' } });
      expect(response.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
