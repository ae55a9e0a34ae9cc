// The compiled evaluator as tables: every op, window, leaf kind and combinator, the
// three-valued verdict, and the explanation tree an audit record stores.
import { describe, expect, it } from 'vitest';
import { INSUFFICIENT, MATCH, NO_MATCH, observedValues, VERDICT_NAMES, type Verdict } from '../../functions/rules/compile';
import type { Condition } from '../../functions/rules/schema';
import { compile, entity, factsFor, rule, type PlainWindows } from '../helpers/rules';

const NOW = Date.parse('2026-11-24T15:30:00Z');

function verdict(when: Condition, windows: PlainWindows, overrides: Parameters<typeof rule>[0] = {}, record = entity()): string {
  const set = compile([rule({ when, ...overrides })]);
  const compiled = set.rules[0];
  const facts = factsFor(set, record, windows);
  const v: Verdict = compiled.evaluate(facts, NOW);
  expect(compiled.explain(facts, NOW).result).toBe(VERDICT_NAMES[v]);
  return VERDICT_NAMES[v];
}

describe('metric leaves', () => {
  const w = { last_3_days: { impressions: 9_000, clicks: 300, spendUsd: 930 } }; // cpc 3.1, ctr 1/30, cpm 103.33
  it.each([
    ['cpc', 'gt', 2.5, 'match'],
    ['cpc', 'gt', 3.1, 'no_match'],
    ['cpc', 'gte', 3.1, 'match'],
    ['cpc', 'lt', 3.1, 'no_match'],
    ['cpc', 'lte', 3.1, 'match'],
    ['clicks', 'eq', 300, 'match'],
    ['clicks', 'neq', 300, 'no_match'],
    ['clicks', 'between', [300, 400], 'match'],
    ['clicks', 'between', [301, 400], 'no_match'],
    ['clicks', 'in', [100, 300], 'match'],
    ['clicks', 'not_in', [100, 300], 'no_match'],
    ['impressions', 'gte', 9_000, 'match'],
    ['spend', 'gt', 929.99, 'match'],
    ['ctr', 'lt', 0.034, 'match'],
    ['ctr', 'lt', 0.033, 'no_match'],
    ['cpm', 'gt', 103.3, 'match'],
    ['cpm', 'gt', 103.4, 'no_match'],
  ] as const)('%s %s %j → %s', (metric, op, value, expected) => {
    expect(verdict({ metric, window: 'last_3_days', op, value: value as number }, w)).toBe(expected);
  });

  it.each([
    ['cpc', { impressions: 500, clicks: 0, spendUsd: 3 }, 'no clicks in last_3_days: cpc is undefined'],
    ['ctr', { impressions: 0, clicks: 0, spendUsd: 0 }, 'no impressions in last_3_days: ctr is undefined'],
    ['cpm', {}, 'no impressions in last_3_days: cpm is undefined'],
  ] as const)('a ratio with a zero divisor (%s) is insufficient data, with the reason', (metric, totals, reason) => {
    const set = compile([rule({ when: { metric, window: 'last_3_days', op: 'gt', value: 0 }, guards: { min_data: { impressions: 0 } } })]);
    const facts = factsFor(set, entity(), { last_3_days: totals });
    expect(set.rules[0].evaluate(facts, NOW)).toBe(INSUFFICIENT);
    expect(set.rules[0].explain(facts, NOW)).toEqual({ kind: 'metric', result: 'insufficient_data', metric, window: 'last_3_days', op: 'gt', threshold: 0, observed: null, reason });
  });

  it('an entity with no row in a window had no delivery: counts are 0, ratios insufficient', () => {
    expect(verdict({ metric: 'impressions', window: 'lifetime', op: 'eq', value: 0 }, {})).toBe('match');
    expect(verdict({ metric: 'spend', window: 'today', op: 'lt', value: 1 }, {})).toBe('match');
    expect(verdict({ metric: 'cpc', window: 'today', op: 'gt', value: 1 }, {}, { guards: { min_data: { clicks: 1 } } })).toBe('insufficient_data');
  });

  it('a minimum-data guard makes a ratio insufficient until the window has enough data', () => {
    const guards = { min_data: { clicks: 100, spend: 50 } };
    const when: Condition = { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 };
    expect(verdict(when, { last_3_days: { impressions: 1_000, clicks: 99, spendUsd: 300 } }, { guards })).toBe('insufficient_data');
    expect(verdict(when, { last_3_days: { impressions: 1_000, clicks: 100, spendUsd: 300 } }, { guards })).toBe('match');
    expect(verdict(when, { last_3_days: { impressions: 1_000, clicks: 100, spendUsd: 49 } }, { guards })).toBe('insufficient_data');
    // counts are not ratios: the guard does not hold them back
    expect(verdict({ metric: 'clicks', window: 'last_3_days', op: 'gt', value: 5 }, { last_3_days: { clicks: 6 } }, { guards })).toBe('match');
  });

  it('budget_spent_fraction is lifetime spend over the lifetime budget', () => {
    const when: Condition = { metric: 'budget_spent_fraction', op: 'gte', value: 0.9 };
    expect(verdict(when, { lifetime: { spendUsd: 450 } })).toBe('match');
    expect(verdict(when, { lifetime: { spendUsd: 449.99 } })).toBe('no_match');
    expect(verdict(when, { lifetime: { spendUsd: 1 } }, {}, entity({ budgetMicros: 0 }))).toBe('insufficient_data');
  });

  it.each(['today', 'yesterday', 'last_3_days', 'last_7_days', 'last_14_days', 'last_30_days', 'this_month', 'lifetime', 'last_12_hours'] as const)('reads the %s window from its own slots', (window) => {
    const windows: PlainWindows = { [window]: { clicks: 7 } };
    expect(verdict({ all: [{ metric: 'clicks', window, op: 'eq', value: 7 }, { metric: 'clicks', window: window === 'today' ? 'yesterday' : 'today', op: 'eq', value: 0 }] }, windows)).toBe('match');
  });
});

describe('metric-vs-metric leaves', () => {
  const when: Condition = { metric: 'cpc', window: 'today', op: 'gt', compare_to: { metric: 'cpc', window: 'last_7_days', multiplier: 1.5 } };
  const guards = { min_data: { clicks: 20 } };
  it.each([
    [{ today: { clicks: 66, spendUsd: 264 }, last_7_days: { clicks: 400, spendUsd: 480 } }, 'match'],
    [{ today: { clicks: 66, spendUsd: 118 }, last_7_days: { clicks: 400, spendUsd: 480 } }, 'no_match'],
    [{ today: { clicks: 19, spendUsd: 264 }, last_7_days: { clicks: 400, spendUsd: 480 } }, 'insufficient_data'],
    [{ today: { clicks: 66, spendUsd: 264 } }, 'insufficient_data'],
  ] as const)('%j → %s', (windows, expected) => {
    expect(verdict(when, windows, { guards })).toBe(expected);
  });

  it('explains both sides and the threshold', () => {
    const set = compile([rule({ when, guards })]);
    const facts = factsFor(set, entity(), { today: { clicks: 66, spendUsd: 264 }, last_7_days: { clicks: 400, spendUsd: 480 } });
    expect(set.rules[0].explain(facts, NOW)).toEqual({
      kind: 'compare',
      result: 'match',
      metric: 'cpc',
      window: 'today',
      op: 'gt',
      observed: 4,
      compare_to: { metric: 'cpc', window: 'last_7_days', multiplier: 1.5, observed: 1.2 },
      threshold: 1.2 * 1.5,
    });
  });
});

describe('field leaves', () => {
  it.each([
    [{ field: 'status', op: 'eq', value: 'active' }, 'match'],
    [{ field: 'status', op: 'neq', value: 'active' }, 'no_match'],
    [{ field: 'status', op: 'in', value: ['paused', 'active'] }, 'match'],
    [{ field: 'status', op: 'not_in', value: ['paused', 'archived'] }, 'match'],
    [{ field: 'review_status', op: 'eq', value: 'approved' }, 'match'],
    [{ field: 'name', op: 'contains', value: '[DAYPART]' }, 'match'],
    [{ field: 'name', op: 'contains', value: 'night' }, 'no_match'],
    [{ field: 'name', op: 'eq', value: 'Trail Runners [daypart]' }, 'match'],
    [{ field: 'name', op: 'in', value: ['x', 'Trail Runners [daypart]'] }, 'match'],
    [{ field: 'lifetime_budget_usd', op: 'gte', value: 500 }, 'match'],
    [{ field: 'lifetime_budget_usd', op: 'between', value: [100, 499] }, 'no_match'],
    [{ field: 'start_time', op: 'lt', value: 'now-30d' }, 'match'],
    [{ field: 'start_time', op: 'gt', value: '2026-11-01T00:00:00Z' }, 'no_match'],
    [{ field: 'start_time', op: 'between', value: ['2026-10-01T00:00:00Z', '2026-12-01T00:00:00-05:00'] }, 'match'],
    [{ field: 'end_time', op: 'eq', value: null }, 'match'],
    [{ field: 'end_time', op: 'neq', value: null }, 'no_match'],
    [{ field: 'end_time', op: 'lt', value: 'now+1d' }, 'no_match'],
  ] as const)('%j → %s', (when, expected) => {
    expect(verdict(when as Condition, {})).toBe(expected);
  });

  it('end_time relative to now', () => {
    const ending = entity({ endTime: (NOW + 6 * 3_600_000) / 1000 });
    expect(verdict({ field: 'end_time', op: 'lt', value: 'now+12h' }, {}, {}, ending)).toBe('match');
    expect(verdict({ field: 'end_time', op: 'lt', value: 'now+1h' }, {}, {}, ending)).toBe('no_match');
  });
});

describe('combinators (Kleene logic)', () => {
  const yes: Condition = { field: 'status', op: 'eq', value: 'active' };
  const no: Condition = { field: 'status', op: 'eq', value: 'paused' };
  const unknown: Condition = { metric: 'cpc', window: 'today', op: 'gt', value: 1 };
  const cases: [string, Condition, string][] = [
    ['all(yes, yes)', { all: [yes, yes] }, 'match'],
    ['all(yes, no)', { all: [yes, no] }, 'no_match'],
    ['all(yes, unknown)', { all: [yes, unknown] }, 'insufficient_data'],
    ['all(no, unknown)', { all: [no, unknown] }, 'no_match'],
    ['all(unknown, yes, yes)', { all: [unknown, yes, yes] }, 'insufficient_data'],
    ['any(no, yes)', { any: [no, yes] }, 'match'],
    ['any(no, no)', { any: [no, no] }, 'no_match'],
    ['any(no, unknown)', { any: [no, unknown] }, 'insufficient_data'],
    ['any(unknown, yes)', { any: [unknown, yes] }, 'match'],
    ['not(yes)', { not: yes }, 'no_match'],
    ['not(no)', { not: no }, 'match'],
    ['not(unknown)', { not: unknown }, 'insufficient_data'],
    ['nested', { all: [yes, { any: [no, { not: no }] }] }, 'match'],
  ];
  it.each(cases)('%s → %s', (_name, when, expected) => {
    expect(verdict(when, {}, { guards: { min_data: { clicks: 1 } } })).toBe(expected);
  });

  it('the explanation mirrors the tree with every observed value', () => {
    const set = compile([rule({ when: { all: [yes, { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2.5 }, { metric: 'clicks', window: 'last_3_days', op: 'gte', value: 100 }] } })]);
    const explanation = set.rules[0].explain(factsFor(set, entity(), { last_3_days: { impressions: 9_000, clicks: 300, spendUsd: 930 } }), NOW);
    expect(explanation).toEqual({
      kind: 'all',
      result: 'match',
      children: [
        { kind: 'field', result: 'match', field: 'status', op: 'eq', threshold: 'active', observed: 'active' },
        { kind: 'metric', result: 'match', metric: 'cpc', window: 'last_3_days', op: 'gt', threshold: 2.5, observed: 3.1 },
        { kind: 'metric', result: 'match', metric: 'clicks', window: 'last_3_days', op: 'gte', threshold: 100, observed: 300 },
      ],
    });
    expect(observedValues(explanation)).toEqual({ status: 'active', 'cpc@last_3_days': 3.1, 'clicks@last_3_days': 300 });
  });
});

describe('the compiled rule set', () => {
  it('shares one facts layout per level and records what each rule needs', () => {
    const set = compile([
      rule({ id: 'a', when: { metric: 'cpc', window: 'last_3_days', op: 'gt', value: 2 }, guards: { min_data: { impressions: 100 } } }),
      rule({ id: 'b', when: { metric: 'spend', window: 'last_3_days', op: 'gt', value: 2 } }),
      rule({ id: 'c', level: 'ad', when: { metric: 'ctr', window: 'today', op: 'lt', value: 0.01 }, guards: { min_data: { impressions: 100 } } }),
    ]);
    expect(set.layouts.campaign.windows.map((w) => w.key)).toEqual(['America/New_York|last_3_days']);
    expect(set.layouts.ad.windows.map((w) => w.key)).toEqual(['America/New_York|today']);
    expect([...set.byId.get('a')!.needs.values()].map((n) => [...n.bases].sort())).toEqual([['clicks', 'impressions', 'spend']]);
    expect([...set.byId.get('b')!.needs.values()].map((n) => [...n.bases])).toEqual([['spend']]);
  });

  it('scopes by ids, exclusions, name and campaign', () => {
    const set = compile([rule({ scope: { name_contains: 'DAYPART', exclude_ids: ['c9'], name_matches: '^Trail' } })]);
    const r = set.rules[0];
    expect(r.inScope(factsFor(set, entity(), {}))).toBe(true);
    expect(r.inScope(factsFor(set, entity({ id: 'c9' }), {}))).toBe(false);
    expect(r.inScope(factsFor(set, entity({ name: 'Night Owl [daypart]' }), {}))).toBe(false);
  });

  it('returns plain verdict numbers', () => {
    expect([NO_MATCH, MATCH, INSUFFICIENT]).toEqual([0, 1, 2]);
  });
});
