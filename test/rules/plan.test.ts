// The read plan: one insights read per distinct (level, range) with only the fields needed, and
// a cost that does not grow with the number of rules or entities beyond paging.
import { describe, expect, it } from 'vitest';
import { planCost, planReads, resolveInsightsReads } from '../../functions/rules/plan';
import type { Condition } from '../../functions/rules/schema';
import { compile, rule } from '../helpers/rules';

const NOW = Date.parse('2026-11-24T15:30:00Z');
const START = Date.parse('2026-06-01T00:00:00Z');

function rulesOver(count: number, windows: readonly string[], tz = 'America/New_York'): ReturnType<typeof rule>[] {
  return Array.from({ length: count }, (_, i) => {
    const window = windows[i % windows.length] as 'today';
    const when: Condition = { all: [{ metric: 'cpc', window, op: 'gt', value: 1 + i / 100 }, { metric: 'clicks', window, op: 'gte', value: 10 }] };
    return rule({ id: `rule-${i}`, when, schedule: { expression: 'rate(15 minutes)', timezone: tz } });
  });
}

describe('planReads', () => {
  it('50 rules over 4 windows need 4 insights reads, as do 5 rules', () => {
    const windows = ['today', 'yesterday', 'last_3_days', 'last_7_days'];
    const many = compile(rulesOver(50, windows)).rules;
    const few = compile(rulesOver(5, windows)).rules;
    const readsMany = resolveInsightsReads(planReads(many), NOW, () => START);
    const readsFew = resolveInsightsReads(planReads(few), NOW, () => START);
    expect(readsMany).toHaveLength(4);
    expect(readsFew).toHaveLength(4);
    expect(readsMany.map((r) => r.fields)).toEqual([['clicks', 'spend'], ['clicks', 'spend'], ['clicks', 'spend'], ['clicks', 'spend']]);
    expect(readsMany[0]?.serves[0]?.ruleIds).toHaveLength(13);
  });

  it('asks only for the counts its metrics need', () => {
    const set = compile([
      rule({ id: 'a', when: { metric: 'impressions', window: 'lifetime', op: 'eq', value: 0 } }),
      rule({ id: 'b', when: { metric: 'budget_spent_fraction', op: 'gte', value: 0.9 } }),
      rule({ id: 'c', when: { metric: 'ctr', window: 'today', op: 'lt', value: 0.01 }, guards: { min_data: { impressions: 1000 } } }),
      rule({ id: 'd', when: { field: 'status', op: 'eq', value: 'active' } }),
    ]);
    const reads = resolveInsightsReads(planReads(set.rules), NOW, () => START);
    expect(reads.map((r) => [r.serves.map((s) => s.window.name), r.fields])).toEqual([
      [['lifetime'], ['impressions', 'spend']],
      [['today'], ['impressions', 'clicks']],
    ]);
  });

  it('merges windows of different time zones that resolve to the same range, keeps others apart', () => {
    const ny = rulesOver(2, ['last_7_days'], 'America/New_York');
    const toronto = rulesOver(2, ['last_7_days'], 'America/Toronto').map((r, i) => ({ ...r, id: `toronto-${i}` }));
    const berlin = rulesOver(2, ['last_7_days'], 'Europe/Berlin').map((r, i) => ({ ...r, id: `berlin-${i}` }));
    const reads = resolveInsightsReads(planReads(compile([...ny, ...toronto, ...berlin]).rules), NOW, () => START);
    expect(reads).toHaveLength(2);
    expect(reads[0]?.serves.map((s) => s.key)).toEqual(['America/New_York|last_7_days', 'America/Toronto|last_7_days']);
  });

  it('reads lifetime from the earliest creation in ranges of at most 366 days', () => {
    const set = compile([rule({ when: { metric: 'spend', window: 'lifetime', op: 'gt', value: 1 } })]);
    const reads = resolveInsightsReads(planReads(set.rules), NOW, () => Date.parse('2024-03-01T00:00:00Z'));
    expect(reads[0]?.range.ranges).toHaveLength(3);
  });

  it('lists only what the levels need', () => {
    expect(planReads(compile(rulesOver(3, ['today'])).rules).lists).toEqual({ campaigns: true, adGroups: false, ads: false, campaignFilter: null, childLevels: [], resourceFields: false });
    const ad = rule({ id: 'ad-rule', level: 'ad', when: { metric: 'clicks', window: 'today', op: 'gt', value: 1 }, scope: { campaign_ids: ['c1', 'c2'] } });
    expect(planReads(compile([ad]).rules).lists).toEqual({ campaigns: true, adGroups: true, ads: true, campaignFilter: new Set(['c1', 'c2']), childLevels: ['ad'], resourceFields: false });
    // A field insights do not carry (an ad group's max bid): the level is listed through the API.
    const bid = rule({ id: 'bid-rule', level: 'ad_group', when: { all: [{ metric: 'clicks', window: 'today', op: 'gt', value: 1 }, { not: { field: 'max_bid_usd', op: 'gt', value: 5 } }] } });
    expect(planReads(compile([bid]).rules).lists).toMatchObject({ adGroups: true, childLevels: ['ad_group'], resourceFields: true });
  });
});

describe('planCost', () => {
  const windows = ['today', 'yesterday', 'last_3_days', 'last_7_days'];
  const costFor = (rules: number, campaigns: number): number => {
    const plan = planReads(compile(rulesOver(rules, windows)).rules);
    const reads = resolveInsightsReads(plan, NOW, () => START);
    return planCost(plan, reads, { campaigns, rowsPerRead: () => campaigns, listPageSize: 500, insightsPageSize: 1_000 });
  };

  it.each([
    [1, 10, 1 + 1],
    [50, 10, 1 + 4],
    [50, 10_000, 20 + 4 * 10],
    [5, 10_000, 20 + 4 * 10],
    [50, 20_000, 40 + 4 * 20],
  ])('%i rules, %i campaigns → %i requests', (rules, campaigns, expected) => {
    expect(costFor(rules, campaigns)).toBe(expected);
  });

  it('a per-entity design would need one insights call per entity and window', () => {
    const perEntity = 10_000 * 4 + 20;
    expect(costFor(50, 10_000)).toBeLessThan(perEntity / 600);
  });
});
