// Insights against a brute-force sum of the fixture: every row is expanded hour by hour and
// summed independently of the sandbox's span arithmetic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FixtureInput } from '../../sandbox/fixture';
import type { Sandbox } from '../../sandbox/server';
import { ACCOUNT_ID, DAY, HOUR, ids, smallFixture, T0 } from '../helpers/fixtures';
import { auth, http, withSandbox } from '../helpers/sandbox';

type Level = 'ad_account' | 'campaign' | 'ad_group' | 'ad';
interface HourRecord {
  hour: number;
  supply: string;
  campaign: string;
  group: string;
  ad: string;
  impressions: number;
  clicks: number;
  spendMicros: number;
}

/** Every fixture delivery row as per-hour records (a daily row spread evenly, remainders first). */
function expand(fixture: FixtureInput): HourRecord[] {
  const out: HourRecord[] = [];
  for (const c of fixture.campaigns ?? []) {
    for (const g of c.ad_groups) {
      for (const a of g.ads) {
        for (const row of a.delivery ?? []) {
          const spendMicros = Math.round(row.spend_usd * 1e6);
          const base = { supply: row.supply ?? 'chatgpt', campaign: c.id ?? '', group: g.id ?? '', ad: a.id ?? '' };
          if (row.hour !== undefined) {
            out.push({ ...base, hour: Date.parse(row.hour) / 1000, impressions: row.impressions, clicks: row.clicks, spendMicros });
          } else {
            const start = Date.parse(`${row.date ?? ''}T00:00:00Z`) / 1000;
            for (let i = 0; i < 24; i += 1) {
              const share = (n: number): number => Math.floor(n / 24) + (i < n % 24 ? 1 : 0);
              out.push({ ...base, hour: start + i * HOUR, impressions: share(row.impressions), clicks: share(row.clicks), spendMicros: share(spendMicros) });
            }
          }
        }
      }
    }
  }
  return out;
}

function bucketStart(hour: number, granularity: string, windowStart: number): number {
  if (granularity === 'none') return windowStart;
  if (granularity === 'hourly') return hour;
  if (granularity === 'daily') return Math.max(windowStart, Math.floor(hour / DAY) * DAY);
  const d = new Date(hour * 1000);
  return Math.max(windowStart, Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000);
}

/** Expected rows as `start|entity|supply` → [impressions, clicks, spend micros]. */
function bruteForce(records: HourRecord[], level: Level, granularity: string, start: number, end: number, supply: string, scope?: (r: HourRecord) => boolean): Map<string, [number, number, number]> {
  const out = new Map<string, [number, number, number]>();
  for (const r of records) {
    if (r.hour < start || r.hour >= end) continue;
    if (scope && !scope(r)) continue;
    if (supply !== 'combined' && supply !== 'split' && r.supply !== supply) continue;
    const entity = level === 'ad_account' ? ACCOUNT_ID : level === 'campaign' ? r.campaign : level === 'ad_group' ? r.group : r.ad;
    const key = `${bucketStart(r.hour, granularity, start)}|${entity}|${supply === 'split' ? r.supply : supply === 'combined' ? '' : supply}`;
    const acc = out.get(key) ?? [0, 0, 0];
    acc[0] += r.impressions;
    acc[1] += r.clicks;
    acc[2] += r.spendMicros;
    out.set(key, acc);
  }
  for (const [k, v] of out) if (v[0] === 0 && v[1] === 0 && v[2] === 0) out.delete(k);
  return out;
}

interface WireRow {
  id: string;
  start_time: number;
  end_time: number;
  supply?: string;
  readable_time?: string;
  impressions: number;
  clicks: number;
  spend: number;
  ctr?: number | null;
  cpc?: number | null;
  cpm?: number | null;
  [k: string]: unknown;
}

const entityField: Record<Level, string> = { ad_account: 'ad_account_id', campaign: 'campaign_id', ad_group: 'ad_group_id', ad: 'ad_id' };

describe('insights aggregation', () => {
  const fixture = smallFixture();
  const records = expand(fixture);
  const today = Math.floor(T0 / DAY) * DAY;
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await withSandbox(fixture);
  });
  afterAll(() => sandbox.close());

  async function query(path: string, params: [string, string][]): Promise<{ status: number; body: { data: WireRow[]; has_more: boolean; last_id: string | null; error?: { code: string; param: string | null } } }> {
    const qs = new URLSearchParams(params).toString();
    return (await http(sandbox, 'GET', `${path}?${qs}`, undefined, auth())) as never;
  }

  const range = (start: number, end: number): [string, string] => ['time_ranges[]', JSON.stringify({ type: 'unix_range', start, end })];

  it.each([
    ['ad_account', 'none', today - 45 * DAY, today + DAY, 'combined'],
    ['campaign', 'daily', today - 5 * DAY, today + DAY, 'combined'],
    ['ad_group', 'daily', today - 3 * DAY + 4 * HOUR, today + 4 * HOUR, 'combined'],
    ['ad', 'hourly', today + 8 * HOUR, today + 16 * HOUR, 'combined'],
    ['ad', 'hourly', today - DAY + 22 * HOUR, today + 23 * HOUR, 'split'],
    ['campaign', 'monthly', today - 60 * DAY, today + DAY, 'combined'],
    ['campaign', 'none', today - 3 * DAY, today + DAY, 'thrad'],
    ['ad', 'daily', today - 3 * DAY, today + DAY, 'split'],
  ] as const)('%s level, %s buckets, range %i–%i, supply %s: sums equal the brute force', async (level, granularity, start, end, supply) => {
    const params: [string, string][] = [
      ['aggregation_level', level],
      ['time_granularity', granularity],
      ['fields[]', 'impressions'],
      ['fields[]', 'clicks'],
      ['fields[]', 'spend'],
      range(start, end),
    ];
    if (supply !== 'combined') params.push(['supply', supply]);
    const response = await query('/v1/ad_account/insights', params);
    expect(response.status).toBe(200);
    const got = new Map(
      response.body.data.map((row) => [
        `${row.start_time}|${String(row[entityField[level]])}|${row.supply ?? ''}`,
        [row.impressions, row.clicks, Math.round(row.spend * 1e6)] as [number, number, number],
      ]),
    );
    expect(got).toEqual(bruteForce(records, level, granularity, start, end, supply));
    expect(got.size).toBeGreaterThan(0);
  });

  it('reads "today in New York" exactly in one call, across hour-precise edges', async () => {
    // 2026-03-10 in New York (EDT, UTC-4) runs from 04:00Z to 04:00Z next day.
    const start = today + 4 * HOUR;
    const end = start + DAY;
    const response = await query(`/v1/campaigns/${ids.c1}/insights`, [['time_granularity', 'none'], range(start, end)]);
    const expected = bruteForce(records, 'campaign', 'none', start, end, 'combined');
    expect(response.body.data).toHaveLength(1);
    const row = response.body.data[0];
    expect([row.impressions, row.clicks, Math.round(row.spend * 1e6)]).toEqual(expected.get(`${start}|${ids.c1}|`));
    expect(row).toMatchObject({ start_time: start, end_time: end, campaign_id: ids.c1, campaign_name: 'Trail Shoes Spring', timezone: 'UTC' });
    expect(row).not.toHaveProperty('readable_time');
  });

  it('derives ctr, cpc and cpm from the sums, null when the divisor is zero', async () => {
    const hour = today + 10 * HOUR; // a1: 80 impressions, 0 clicks, $0 on thrad
    const response = await query(`/v1/ads/${ids.a1}/insights`, [
      ['time_granularity', 'hourly'],
      range(hour, hour + HOUR),
      ['fields[]', 'impressions'],
      ['fields[]', 'clicks'],
      ['fields[]', 'ctr'],
      ['fields[]', 'cpc'],
      ['fields[]', 'cpm'],
    ]);
    expect(response.body.data).toEqual([
      {
        id: `start=${hour}:end=${hour + HOUR}:entity_id=${ids.a1}`,
        start_time: hour,
        end_time: hour + HOUR,
        readable_time: '2026-03-10T10:00:00Z',
        timezone: 'UTC',
        ad_id: ids.a1,
        ad_name: 'Card A',
        ad_group_id: ids.g1,
        campaign_id: ids.c1,
        impressions: 80,
        clicks: 0,
        ctr: 0,
        cpc: null,
        cpm: 0,
      },
    ]);
    const busy = await query(`/v1/ads/${ids.a1}/insights`, [['time_granularity', 'none'], range(today + 9 * HOUR, today + 10 * HOUR), ['fields[]', 'ctr'], ['fields[]', 'cpc'], ['fields[]', 'cpm']]);
    expect(busy.body.data[0]).toMatchObject({ ctr: 4 / 120, cpc: 5.2 / 4, cpm: (5.2 / 120) * 1000 });
  });

  it('leaves out entities with no delivery in the window', async () => {
    const response = await query('/v1/ad_account/insights', [['aggregation_level', 'campaign'], ['time_granularity', 'none'], range(today - 45 * DAY, today + DAY)]);
    expect(response.body.data.map((row) => row.campaign_id)).toEqual([ids.c1]);
  });

  it('pages with limit and after, the pages adding up to the whole answer', async () => {
    const params: [string, string][] = [['aggregation_level', 'ad'], ['time_granularity', 'daily'], range(today - 5 * DAY, today + DAY)];
    const whole = await query('/v1/ad_account/insights', params);
    const pages: WireRow[] = [];
    let after: string | null = null;
    let calls = 0;
    do {
      const page = await query('/v1/ad_account/insights', [...params, ['limit', '2'], ...(after ? [['after', after] as [string, string]] : [])]);
      pages.push(...page.body.data);
      after = page.body.has_more ? page.body.last_id : null;
      calls += 1;
    } while (after !== null);
    expect(pages).toEqual(whole.body.data);
    expect(calls).toBe(Math.ceil(whole.body.data.length / 2));
    expect(whole.body.data.length).toBeGreaterThan(2);
  });

  it('applies filters and accepts dotted field names', async () => {
    const response = await query('/v1/ad_account/insights', [
      ['aggregation_level', 'ad'],
      ['time_granularity', 'none'],
      range(today - 5 * DAY, today + DAY),
      ['filters[]', JSON.stringify({ field: 'ad.id', operator: 'IN', value: [ids.a2] })],
      ['fields[]', 'ad.impressions'],
    ]);
    expect(response.body.data).toEqual([expect.objectContaining({ ad_id: ids.a2, impressions: 533 })]);
    expect(response.body.data[0]).not.toHaveProperty('clicks');
  });

  it('defaults to the last 30 UTC days with daily buckets and impressions, clicks, spend', async () => {
    const response = await query(`/v1/campaigns/${ids.c1}/insights`, []);
    const rows = response.body.data;
    expect(rows.map((r) => r.readable_time)).toEqual(['2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10']);
    expect(Object.keys(rows[0] as object).filter((k) => ['impressions', 'clicks', 'spend', 'ctr', 'cpc', 'cpm'].includes(k))).toEqual(['impressions', 'clicks', 'spend']);
  });

  it.each([
    ['range_too_wide', 'time_ranges[0]', [['time_granularity', 'none'], ['time_ranges[]', JSON.stringify({ type: 'unix_range', start: today - 367 * DAY, end: today })]]],
    ['invalid_time_range', 'time_ranges[0]', [['time_ranges[]', JSON.stringify({ type: 'unix_range', start: today, end: today })]]],
    ['hourly_range_too_wide', 'time_ranges[0]', [['time_granularity', 'hourly'], ['time_ranges[]', JSON.stringify({ type: 'unix_range', start: today, end: today + 26 * HOUR })]]],
    ['invalid_value', 'time_granularity', [['time_granularity', 'weekly']]],
    ['unknown_field', 'fields[1]', [['fields[]', 'clicks'], ['fields[]', 'conversions']]],
    ['aggregation_level_too_high', 'aggregation_level', [['aggregation_level', 'ad_account']], `/v1/campaigns/${ids.c1}/insights`],
    ['invalid_filter', 'filters[0].field', [['filters[]', JSON.stringify({ field: 'country', operator: 'equals', value: 'US' })]]],
    ['invalid_filter_operator', 'filters[0].operator', [['filters[]', JSON.stringify({ field: 'ad.id', operator: 'like', value: 'x' })]]],
    ['invalid_value', 'time_ranges[0]', [['time_ranges[]', JSON.stringify({ type: 'unix_range', start: today + 60, end: today + DAY })]]],
    ['invalid_value', 'supply', [['supply', 'openai']]],
    ['unknown_parameter', 'sort', [['sort', 'spend']]],
  ] as const)('answers 400 %s (param %s)', async (code, param, params, path?: string) => {
    const response = await query(path ?? '/v1/ad_account/insights', params as unknown as [string, string][]);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code, param });
  });

  it('accepts exactly 366 days, and 25 hours when hourly', async () => {
    const wide = await query('/v1/ad_account/insights', [['time_granularity', 'none'], range(today - 365 * DAY, today + DAY)]);
    expect(wide.status).toBe(200);
    const hourly = await query('/v1/ad_account/insights', [['time_granularity', 'hourly'], range(today, today + 25 * HOUR)]);
    expect(hourly.status).toBe(200);
  });
});
