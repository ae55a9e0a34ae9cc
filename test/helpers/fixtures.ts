// Small, exact fixtures for tests: realistic epochs, both supplies, daily and hourly rows.
import type { FixtureInput } from '../../sandbox/fixture';

/** 2026-03-10T15:00:00Z — a Tuesday afternoon in UTC, 11:00 in New York (EDT since March 8). */
export const T0 = 1_773_154_800;
export const HOUR = 3_600;
export const DAY = 86_400;

export const KEY = 'ak_test_7c1d9e2f4a6b8c0d';
export const ACCOUNT_ID = '3b0e8f7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';

export const ids = {
  c1: '11111111-1111-4111-8111-111111111111',
  c2: '22222222-2222-4222-8222-222222222222',
  c3: '33333333-3333-4333-8333-333333333333',
  g1: 'aaaaaaa1-0000-4000-8000-000000000001',
  g2: 'aaaaaaa1-0000-4000-8000-000000000002',
  g3: 'aaaaaaa1-0000-4000-8000-000000000003',
  a1: 'bbbbbbb1-0000-4000-8000-000000000001',
  a2: 'bbbbbbb1-0000-4000-8000-000000000002',
  a3: 'bbbbbbb1-0000-4000-8000-000000000003',
  a4: 'bbbbbbb1-0000-4000-8000-000000000004',
} as const;

const isoDay = (t: number): string => new Date(t * 1000).toISOString().slice(0, 10);
const isoHour = (t: number): string => `${new Date(t * 1000).toISOString().slice(0, 13)}:00:00Z`;

const card = { type: 'chat_card' as const, title: 'Trail shoes', body: 'Light, grippy, fast.' };

/**
 * Three campaigns: c1 active+approved with two ad groups (a1, a2 in g1; a3 in g2) and daily +
 * hourly rows on both supplies; c2 in review with no delivery; c3 paused+approved with one ad.
 */
export function smallFixture(overrides: Partial<FixtureInput> = {}): FixtureInput {
  const today = Math.floor(T0 / DAY) * DAY;
  return {
    now: T0,
    seed: 7,
    api_keys: [KEY],
    account: { id: ACCOUNT_ID, name: 'Test Outdoor Co', url: 'https://test.example' },
    campaigns: [
      {
        id: ids.c1,
        name: 'Trail Shoes Spring',
        status: 'active',
        review_status: 'approved',
        start_time: today - 20 * DAY,
        created_at: today - 21 * DAY,
        budget: { lifetime_spend_limit_micros: 5_000_000_000 },
        pricing_model: 'cpc',
        targeting: { locations: { include: [{ country_code: 'us' }] } },
        ad_groups: [
          {
            id: ids.g1,
            name: 'Runners',
            ads: [
              {
                id: ids.a1,
                name: 'Card A',
                creative: card,
                delivery: [
                  { date: isoDay(today - 3 * DAY), impressions: 1_000, clicks: 25, spend_usd: 30.25, supply: 'chatgpt' },
                  { date: isoDay(today - 2 * DAY), impressions: 1_201, clicks: 31, spend_usd: 40.01, supply: 'thrad' },
                  { date: isoDay(today - 1 * DAY), impressions: 997, clicks: 13, spend_usd: 15.5, supply: 'chatgpt' },
                  { hour: isoHour(today + 9 * HOUR), impressions: 120, clicks: 4, spend_usd: 5.2, supply: 'chatgpt' },
                  { hour: isoHour(today + 10 * HOUR), impressions: 80, clicks: 0, spend_usd: 0, supply: 'thrad' },
                  { hour: isoHour(today + 14 * HOUR), impressions: 55, clicks: 2, spend_usd: 2.2, supply: 'chatgpt' },
                ],
              },
              {
                id: ids.a2,
                name: 'Card B',
                creative: card,
                delivery: [
                  { date: isoDay(today - 2 * DAY), impressions: 500, clicks: 5, spend_usd: 6, supply: 'chatgpt' },
                  { hour: isoHour(today + 9 * HOUR), impressions: 33, clicks: 1, spend_usd: 1.1, supply: 'thrad' },
                ],
              },
            ],
          },
          {
            id: ids.g2,
            name: 'Hikers',
            ads: [
              {
                id: ids.a3,
                name: 'Card C',
                creative: card,
                delivery: [{ date: isoDay(today - 40 * DAY), impressions: 700, clicks: 7, spend_usd: 7.7, supply: 'thrad' }],
              },
            ],
          },
        ],
      },
      {
        id: ids.c2,
        name: 'Tents In Review',
        status: 'paused',
        review_status: 'in_review',
        budget: { lifetime_spend_limit_micros: 2_000_000_000 },
        ad_groups: [{ name: 'Campers', ads: [{ creative: { type: 'poll', question: 'Dome or tunnel?', options: ['Dome', 'Tunnel'] } }] }],
      },
      {
        id: ids.c3,
        name: 'Stoves Paused',
        status: 'paused',
        review_status: 'approved',
        budget: { lifetime_spend_limit_micros: 1_000_000_000 },
        ad_groups: [{ id: ids.g3, name: 'Cooks', ads: [{ id: ids.a4, name: 'Card D', creative: card }] }],
      },
    ],
    ...overrides,
    // Whole days that run past the frozen clock are read on purpose here (aggregation checks);
    // the engine never asks for them (its windows end at the last complete hour).
    behaviour: { time_ranges_in_future: 'accept', ...overrides.behaviour },
  };
}

export const eids = {
  expensive: 'e1000000-0000-4000-8000-000000000001',
  cheap: 'e1000000-0000-4000-8000-000000000002',
  approved: 'e1000000-0000-4000-8000-000000000003',
  night: 'e1000000-0000-4000-8000-000000000004',
} as const;

/**
 * A small world for engine tests: one campaign paying $3 a click (pause-expensive), one cheap
 * one, one approved and never delivered (activate-approved), one "[night]" campaign (night-pause).
 */
export function engineFixture(overrides: Partial<FixtureInput> = {}, now: number = T0): FixtureInput {
  const today = Math.floor(now / DAY) * DAY;
  const days = (n: number, impressions: number, clicks: number, spend: number) =>
    Array.from({ length: n }, (_, i) => ({ date: isoDay(today - (i + 1) * DAY), impressions, clicks, spend_usd: spend, supply: 'chatgpt' as const }));
  const campaign = (id: string, name: string, status: 'active' | 'paused', delivery: ReturnType<typeof days>) => ({
    id,
    name,
    status,
    review_status: 'approved' as const,
    start_time: today - 20 * DAY,
    created_at: today - 21 * DAY,
    budget: { lifetime_spend_limit_micros: 10_000_000_000 },
    ad_groups: [{ id: `${id}-ag`, name: 'Group', bidding_config: { max_bid_micros: 2_000_000 }, ads: [{ id: `${id}-ad`, name: `${name} ad`, creative: card, delivery }] }],
  });
  return {
    now,
    seed: 3,
    api_keys: [KEY],
    account: { id: ACCOUNT_ID, name: 'Engine Test Co', url: 'https://engine.example' },
    campaigns: [
      campaign(eids.expensive, 'Expensive Shoes', 'active', days(5, 4_000, 40, 120)),
      campaign(eids.cheap, 'Cheap Socks', 'active', days(5, 4_000, 80, 40)),
      campaign(eids.approved, 'Fresh Launch', 'paused', []),
      campaign(eids.night, 'Owl Lamps [night]', 'active', days(5, 2_000, 40, 20)),
    ],
    ...overrides,
  };
}
