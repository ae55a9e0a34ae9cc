// Helpers for rule tests: build rules, compile them, and make facts from plain numbers.
import { buildFacts, type EntityRecord, type WindowTotals } from '../../functions/rules/facts';
import { compileRuleSet, windowKey, type CompiledRuleSet, type EntityFacts } from '../../functions/rules/compile';
import { ruleSchema, type Rule, type RuleInput } from '../../functions/rules/schema';
import { ruleVersion } from '../../functions/rules/validate';

export const baseRule: RuleInput = {
  id: 'r1',
  mode: 'live',
  schedule: { expression: 'rate(15 minutes)', timezone: 'America/New_York' },
  level: 'campaign',
  when: { metric: 'clicks', window: 'today', op: 'gt', value: 10 },
  then: { action: 'pause' },
};

export function rule(overrides: Partial<RuleInput>): Rule {
  return ruleSchema.parse({ ...baseRule, ...overrides });
}

export function compile(rules: Rule[]): CompiledRuleSet {
  return compileRuleSet(rules.map((r) => ({ rule: r, file: 'test.json', index: null, version: ruleVersion(r) })));
}

export type PlainWindows = Record<string, Partial<WindowTotals>>;

export function entity(overrides: Partial<EntityRecord> = {}): EntityRecord {
  return {
    level: 'campaign',
    id: 'c1',
    name: 'Trail Runners [daypart]',
    status: 'active',
    reviewStatus: 'approved',
    budgetMicros: 500_000_000,
    startTime: 1_792_000_000,
    endTime: null,
    campaignId: 'c1',
    adGroupId: null,
    updatedAt: 1_795_000_000,
    createdAt: 1_791_000_000,
    campaignStatus: null,
    adGroupStatus: null,
    ...overrides,
  };
}

/** Facts for an entity whose windows (by name, in `timezone`) hold the given totals. */
export function factsFor(set: CompiledRuleSet, record: EntityRecord, windows: PlainWindows, timezone = 'America/New_York'): EntityFacts {
  const totals = new Map<string, Map<string, WindowTotals>>();
  for (const [name, t] of Object.entries(windows)) {
    totals.set(windowKey(name, timezone), new Map([[record.id, { impressions: t.impressions ?? 0, clicks: t.clicks ?? 0, spendUsd: t.spendUsd ?? 0 }]]));
  }
  return buildFacts(record, set.layouts[record.level], totals);
}
