// Property tests (fast-check): random valid rules survive a JSON round trip and validate; the
// compiled evaluator agrees with the reference interpreter on random rules and data; random
// invalid rules are rejected with a path; no input crashes the validator.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VERDICT_NAMES } from '../../functions/rules/compile';
import type { Condition, RuleInput } from '../../functions/rules/schema';
import { ruleSchema } from '../../functions/rules/schema';
import { validateRuleText } from '../../functions/rules/validate';
import { referenceEvaluate, type PlainEntity } from '../helpers/reference';
import { compile, entity, factsFor } from '../helpers/rules';

const NOW = Date.parse('2026-11-24T15:30:00Z');
const WINDOWS = ['today', 'yesterday', 'last_3_days', 'last_7_days', 'lifetime', 'last_6_hours'] as const;
const windowArb = fc.constantFrom(...WINDOWS);

const valueFor = (metric: string): fc.Arbitrary<number> =>
  metric === 'ctr' ? fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000) : metric === 'impressions' || metric === 'clicks' ? fc.integer({ min: 0, max: 400 }) : fc.integer({ min: 0, max: 5000 }).map((n) => n / 100);

const metricLeafArb: fc.Arbitrary<Condition> = fc.constantFrom('impressions', 'clicks', 'spend', 'ctr', 'cpc', 'cpm').chain((metric) =>
  fc.record({
    metric: fc.constant(metric as 'clicks'),
    window: windowArb,
    op: fc.constantFrom('gt', 'gte', 'lt', 'lte', 'eq', 'neq', 'between', 'in', 'not_in'),
    a: valueFor(metric),
    b: valueFor(metric),
  }).map(({ metric: m, window, op, a, b }) => ({
    metric: m,
    window,
    op,
    value: op === 'between' ? [Math.min(a, b), Math.max(a, b)] : op === 'in' || op === 'not_in' ? [a, b] : a,
  })),
);

const compareLeafArb: fc.Arbitrary<Condition> = fc
  .record({
    pair: fc.constantFrom(['cpc', 'cpc'], ['ctr', 'ctr'], ['spend', 'spend'], ['cpm', 'cpc'], ['clicks', 'impressions']),
    w1: windowArb,
    w2: windowArb,
    op: fc.constantFrom('gt', 'gte', 'lt', 'lte', 'eq', 'neq'),
    multiplier: fc.integer({ min: 1, max: 40 }).map((n) => n / 10),
  })
  .map(({ pair, w1, w2, op, multiplier }) => ({ metric: pair[0] as 'cpc', window: w1, op, compare_to: { metric: pair[1] as 'cpc', window: w2, multiplier } }));

const fieldLeafArb: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({ field: fc.constant('status' as const), op: fc.constantFrom('eq', 'neq'), value: fc.constantFrom('active', 'paused', 'archived') }),
  fc.record({ field: fc.constant('status' as const), op: fc.constantFrom('in', 'not_in'), value: fc.subarray(['active', 'paused', 'archived'], { minLength: 1 }) }),
  fc.record({ field: fc.constant('review_status' as const), op: fc.constantFrom('eq', 'neq'), value: fc.constantFrom('approved', 'in_review', 'rejected') }),
  fc.record({ field: fc.constant('name' as const), op: fc.constant('contains' as const), value: fc.constantFrom('trail', '[DAYPART]', 'x') }),
  fc.record({ field: fc.constant('lifetime_budget_usd' as const), op: fc.constantFrom('gt', 'lte'), value: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ field: fc.constant('end_time' as const), op: fc.constantFrom('eq', 'neq'), value: fc.constant(null) }),
  fc.record({ field: fc.constant('start_time' as const), op: fc.constantFrom('lt', 'gt'), value: fc.constantFrom('now-30d', 'now', '2026-10-01T00:00:00Z') }),
);

const conditionArb: fc.Arbitrary<Condition> = fc.letrec<{ node: Condition }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    metricLeafArb,
    fieldLeafArb,
    compareLeafArb,
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((all) => ({ all })),
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
    tie('node').map((not) => ({ not })),
  ),
})).node;

const ruleArb: fc.Arbitrary<RuleInput> = fc.record({
  id: fc.constant('prop-rule'),
  mode: fc.constantFrom('live', 'dry_run'),
  schedule: fc.record({ expression: fc.constantFrom('rate(15 minutes)', 'cron(0 22 * * ? *)', 'rate(1 hour)'), timezone: fc.constantFrom('UTC', 'America/New_York', 'Europe/Berlin') }),
  level: fc.constant('campaign' as const),
  when: conditionArb,
  then: fc.record({ action: fc.constantFrom('pause', 'activate', 'archive', 'notify') }),
  guards: fc.option(fc.record({ min_data: fc.record({ impressions: fc.integer({ min: 0, max: 300 }), clicks: fc.integer({ min: 0, max: 30 }) }) }), { nil: undefined }),
  priority: fc.integer({ min: 0, max: 100 }),
});

const totalsArb = fc
  .record({ impressions: fc.integer({ min: 0, max: 20_000 }), clicksPer: fc.integer({ min: 0, max: 100 }), spendMicros: fc.integer({ min: 0, max: 2_000_000_000 }), empty: fc.boolean() })
  .map(({ impressions, clicksPer, spendMicros, empty }) => (empty ? { impressions: 0, clicks: 0, spendUsd: 0 } : { impressions, clicks: Math.floor((impressions * clicksPer) / 1000), spendUsd: spendMicros / 1e6 }));

const plainEntityArb: fc.Arbitrary<PlainEntity> = fc.record({
  status: fc.constantFrom('active', 'paused', 'archived'),
  review_status: fc.constantFrom('approved', 'in_review', 'rejected'),
  name: fc.constantFrom('Trail Runners [daypart]', 'Camp stoves'),
  lifetime_budget_usd: fc.constantFrom(0, 250, 500, 1000),
  start_time_ms: fc.constantFrom(Date.parse('2026-09-01T00:00:00Z'), Date.parse('2026-11-20T00:00:00Z')),
  end_time_ms: fc.constantFrom(null, Date.parse('2026-12-31T00:00:00Z')),
  windows: fc.record(Object.fromEntries(WINDOWS.map((w) => [w, totalsArb])) as Record<(typeof WINDOWS)[number], typeof totalsArb>),
});

describe('rule language properties', () => {
  it('random valid rules validate without errors and survive a JSON round trip', () => {
    fc.assert(
      fc.property(ruleArb, (input) => {
        const text = JSON.stringify(input);
        const { rules, issues } = validateRuleText(text, 'prop.json');
        expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
        expect(rules).toHaveLength(1);
        const parsed = ruleSchema.parse(JSON.parse(text));
        expect(ruleSchema.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
        expect(rules[0]?.rule).toEqual(parsed);
      }),
      { numRuns: 1_500, seed: 20261124 },
    );
  });

  it('the compiled evaluator agrees with the reference interpreter', () => {
    fc.assert(
      fc.property(ruleArb, plainEntityArb, (input, plain) => {
        const rule = ruleSchema.parse(input);
        const set = compile([rule]);
        const record = entity({
          status: plain.status as 'active',
          reviewStatus: plain.review_status as 'approved',
          name: plain.name,
          budgetMicros: (plain.lifetime_budget_usd ?? 0) * 1e6,
          startTime: (plain.start_time_ms ?? 0) / 1000,
          endTime: plain.end_time_ms === null ? null : plain.end_time_ms / 1000,
        });
        const facts = factsFor(set, record, plain.windows, rule.schedule.timezone);
        const expected = referenceEvaluate(rule, rule.when, plain, NOW);
        const compiled = set.rules[0];
        expect(VERDICT_NAMES[compiled.evaluate(facts, NOW)]).toBe(expected);
        expect(compiled.explain(facts, NOW).result).toBe(expected);
      }),
      { numRuns: 3_000, seed: 424242 },
    );
  });

  const mutations: [string, (rule: Record<string, unknown>) => void][] = [
    ['unknown root key', (r) => void (r.colour = 'red')],
    ['bad level', (r) => void (r.level = 'campaigns')],
    ['missing then', (r) => void delete r.then],
    ['bad schedule', (r) => void (r.schedule = { expression: 'every day', timezone: 'UTC' })],
    ['bad timezone', (r) => void (r.schedule = { expression: 'rate(1 hour)', timezone: 'Mars/Olympus' })],
    ['string priority', (r) => void (r.priority = 'high')],
    ['bad when', (r) => void (r.when = { metric: 'clicks', window: 'yesterday', op: 'gt', value: '5' })],
    ['percent ctr', (r) => void (r.when = { all: [r.when, { metric: 'ctr', window: 'today', op: 'lt', value: 2 }] })],
    ['unknown leaf key', (r) => void (r.when = { any: [{ field: 'status', op: 'eq', value: 'active', extra: 1 }] })],
    ['bad window', (r) => void (r.when = { not: { metric: 'spend', window: 'last_2_weeks', op: 'gt', value: 1 } })],
    ['bad action', (r) => void (r.then = { action: 'delete' })],
  ];

  it('random invalid rules are rejected, every problem with a path', () => {
    fc.assert(
      fc.property(ruleArb, fc.constantFrom(...mutations), (input, [, mutate]) => {
        const broken = structuredClone(input) as Record<string, unknown>;
        mutate(broken);
        const { rules, issues } = validateRuleText(JSON.stringify(broken), 'broken.json');
        const errors = issues.filter((i) => i.severity === 'error');
        expect(rules).toEqual([]);
        expect(errors.length).toBeGreaterThan(0);
        for (const error of errors) {
          expect(error.path).not.toBe('');
          expect(error.file).toBe('broken.json');
          expect(error.message.length).toBeGreaterThan(10);
        }
      }),
      { numRuns: 2_000, seed: 77 },
    );
  });

  it('arbitrary JSON never crashes the validator', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ id: fc.string(), when: fc.jsonValue(), then: fc.jsonValue(), level: fc.string(), schedule: fc.jsonValue() })), (value) => {
        const result = validateRuleText(JSON.stringify(value) ?? 'null', 'fuzz.json');
        expect(Array.isArray(result.issues)).toBe(true);
      }),
      { numRuns: 3_000, seed: 9 },
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(() => validateRuleText(text, 'fuzz.json')).not.toThrow();
      }),
      { numRuns: 2_000, seed: 10 },
    );
  });
});
