// Evaluator benchmark: 50 rules × 10,000 campaigns with realistic insights, compiled evaluator
// against json-rules-engine on the same rules and facts (a dev dependency used only here).
import { Engine, type NestedCondition, type RuleProperties, type TopLevelCondition } from 'json-rules-engine';
import { compileRuleSet, windowKey, type CompiledRuleSet, type EntityFacts } from '../functions/rules/compile';
import { buildFacts, type EntityRecord, type WindowTotals } from '../functions/rules/facts';
import { ruleSchema, type Condition, type Rule } from '../functions/rules/schema';
import { ruleVersion } from '../functions/rules/validate';
import { mulberry32 } from '../sandbox/random';

export const BENCH_WINDOWS = ['today', 'yesterday', 'last_3_days', 'last_7_days'] as const;
const TZ = 'America/New_York';
const NOW = Date.parse('2026-11-24T15:30:00Z');

/** 50 realistic rules over 4 windows: CPC caps, CTR floors, spend caps, spikes, status checks. */
export function benchRules(count = 50, seed = 7): Rule[] {
  const next = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const rules: Rule[] = [];
  for (let i = 0; i < count; i += 1) {
    const window = pick(BENCH_WINDOWS);
    const other = pick(BENCH_WINDOWS.filter((w) => w !== window));
    const kind = i % 5;
    let when: Condition;
    let minData: Record<string, number> | undefined;
    switch (kind) {
      case 0:
        when = { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'cpc', window, op: 'gt', value: Math.round((2.8 + next()) * 100) / 100 }, { metric: 'clicks', window, op: 'gte', value: 50 }] };
        break;
      case 1:
        when = { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'ctr', window, op: 'lt', value: Math.round((0.002 + next() * 0.008) * 10_000) / 10_000 }] };
        minData = { impressions: 2_000 };
        break;
      case 2: {
        const days = { today: 0.6, yesterday: 1, last_3_days: 3, last_7_days: 7 }[window];
        when = { any: [{ metric: 'spend', window, op: 'gt', value: Math.round((1_500 + next() * 1_500) * days) }, { metric: 'cpm', window, op: 'gt', value: 60 }] };
        minData = { impressions: 1_000 };
        break;
      }
      case 3:
        when = { all: [{ field: 'status', op: 'eq', value: 'active' }, { metric: 'cpc', window, op: 'gt', compare_to: { metric: 'cpc', window: other, multiplier: 1.5 } }] };
        minData = { clicks: 20 };
        break;
      default:
        when = { all: [{ field: 'status', op: 'in', value: ['active', 'paused'] }, { not: { metric: 'impressions', window, op: 'gte', value: 100 } }] };
        break;
    }
    rules.push(
      ruleSchema.parse({
        id: `bench-${i}`,
        mode: 'live',
        schedule: { expression: 'rate(15 minutes)', timezone: TZ },
        level: 'campaign',
        when,
        then: { action: kind === 4 ? 'notify' : 'pause' },
        guards: minData ? { min_data: minData } : {},
        priority: i % 3,
      }),
    );
  }
  return rules;
}

export interface BenchCampaign {
  record: EntityRecord;
  windows: Record<(typeof BENCH_WINDOWS)[number], WindowTotals>;
}

/**
 * 10,000 campaigns shaped like a real account: traffic spread over two orders of magnitude,
 * CTR mostly 1–3 % with a thin tail below 0.5 %, CPC mostly under $1.50 with a thin tail above
 * $3, 3 % with no delivery in a window.
 */
export function benchCampaigns(count = 10_000, seed = 11): BenchCampaign[] {
  const next = mulberry32(seed);
  const out: BenchCampaign[] = [];
  for (let i = 0; i < count; i += 1) {
    const scale = Math.exp(next() * 4);
    const ctr = 0.002 + 0.028 * Math.sqrt(next());
    const cpc = 0.3 + 3.7 * next() ** 4;
    const windows = {} as BenchCampaign['windows'];
    for (const [w, days] of [['today', 0.6], ['yesterday', 1], ['last_3_days', 3], ['last_7_days', 7]] as const) {
      const dead = next() < 0.03;
      const impressions = dead ? 0 : Math.round(300 * scale * days * (0.7 + next() * 0.6));
      const clicks = Math.round(impressions * ctr * (0.8 + next() * 0.4));
      windows[w] = { impressions, clicks, spendUsd: Math.round(clicks * cpc * (0.8 + next() * 0.4) * 100) / 100 };
    }
    out.push({
      record: {
        level: 'campaign',
        id: `c-${i}`,
        name: `Campaign ${i}`,
        status: next() < 0.8 ? 'active' : 'paused',
        reviewStatus: 'approved',
        budgetMicros: 1_000_000_000,
        startTime: 1_790_000_000,
        createdAt: 1_789_900_000,
        campaignStatus: null,
        adGroupStatus: null,
        endTime: null,
        campaignId: `c-${i}`,
        adGroupId: null,
        updatedAt: 1_795_000_000,
      },
      windows,
    });
  }
  return out;
}

export function compiledFacts(set: CompiledRuleSet, campaigns: readonly BenchCampaign[]): EntityFacts[] {
  const totals = new Map<string, Map<string, WindowTotals>>();
  for (const w of BENCH_WINDOWS) totals.set(windowKey(w, TZ), new Map(campaigns.map((c) => [c.record.id, c.windows[w]])));
  return campaigns.map((c) => buildFacts(c.record, set.layouts.campaign, totals));
}

// ---- json-rules-engine translation: ratios are precomputed facts (which flatters it). ----

const OPERATORS: Record<string, string> = { gt: 'greaterThan', gte: 'greaterThanInclusive', lt: 'lessThan', lte: 'lessThanInclusive', eq: 'equal', neq: 'notEqual', in: 'in', not_in: 'notIn' };

function factName(metric: string, window: string): string {
  return `${metric}_${window}`;
}

function toJre(node: Condition): NestedCondition {
  if ('all' in node) return { all: node.all.map(toJre) };
  if ('any' in node) return { any: node.any.map(toJre) };
  if ('not' in node) return { not: toJre(node.not) };
  if ('compare_to' in node) {
    return { fact: factName(node.metric, node.window ?? 'lifetime'), operator: OPERATORS[node.op], value: { fact: `${factName(node.compare_to.metric, node.compare_to.window ?? 'lifetime')}_x${node.compare_to.multiplier}` } };
  }
  if ('metric' in node) return { fact: factName(node.metric, node.window ?? 'lifetime'), operator: OPERATORS[node.op], value: node.value };
  return { fact: node.field, operator: OPERATORS[node.op], value: node.value };
}

export function jreRules(rules: readonly Rule[]): RuleProperties[] {
  return rules.map((rule) => {
    const top = toJre(rule.when);
    const conditions: TopLevelCondition = 'all' in top || 'any' in top || 'not' in top ? (top) : { all: [top] };
    return { name: rule.id, conditions, event: { type: rule.then.action, params: { rule: rule.id } } };
  });
}

export function jreFacts(campaign: BenchCampaign, rules: readonly Rule[]): Record<string, unknown> {
  const facts: Record<string, unknown> = { status: campaign.record.status, review_status: campaign.record.reviewStatus, name: campaign.record.name };
  for (const w of BENCH_WINDOWS) {
    const t = campaign.windows[w];
    facts[factName('impressions', w)] = t.impressions;
    facts[factName('clicks', w)] = t.clicks;
    facts[factName('spend', w)] = t.spendUsd;
    facts[factName('ctr', w)] = t.impressions > 0 ? t.clicks / t.impressions : null;
    facts[factName('cpc', w)] = t.clicks > 0 ? t.spendUsd / t.clicks : null;
    facts[factName('cpm', w)] = t.impressions > 0 ? (t.spendUsd / t.impressions) * 1000 : null;
  }
  for (const rule of rules) {
    const visit = (node: Condition): void => {
      if ('all' in node) node.all.forEach(visit);
      else if ('any' in node) node.any.forEach(visit);
      else if ('not' in node) visit(node.not);
      else if ('compare_to' in node) {
        const base = facts[factName(node.compare_to.metric, node.compare_to.window ?? 'lifetime')] as number | null;
        facts[`${factName(node.compare_to.metric, node.compare_to.window ?? 'lifetime')}_x${node.compare_to.multiplier}`] = base === null ? null : base * node.compare_to.multiplier;
      }
    };
    visit(rule.when);
  }
  return facts;
}

export interface EvaluatorFigures {
  rules: number;
  campaigns: number;
  evaluations_per_second: number;
  full_evaluation_ms: number;
  json_rules_engine_evaluations_per_second: number;
  json_rules_engine_campaigns_measured: number;
  evaluator_ratio: number;
  matches: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function runEvaluatorBench(options: { rules?: number; campaigns?: number; jreCampaigns?: number; repeats?: number } = {}): Promise<EvaluatorFigures> {
  const rules = benchRules(options.rules ?? 50);
  const campaigns = benchCampaigns(options.campaigns ?? 10_000);
  const set = compileRuleSet(rules.map((rule) => ({ rule, file: 'bench', index: null, version: ruleVersion(rule) })));
  const facts = compiledFacts(set, campaigns);
  const compiled = set.rules;

  let matches = 0;
  const pass = (): number => {
    let m = 0;
    for (let r = 0; r < compiled.length; r += 1) {
      const rule = compiled[r];
      for (let e = 0; e < facts.length; e += 1) if (rule.evaluate(facts[e], NOW) === 1) m += 1;
    }
    return m;
  };
  for (let i = 0; i < 3; i += 1) matches = pass(); // warm up the JIT
  const times: number[] = [];
  for (let i = 0; i < (options.repeats ?? 15); i += 1) {
    const start = process.hrtime.bigint();
    matches = pass();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const fullMs = median(times);
  const evaluations = compiled.length * facts.length;

  const engine = new Engine(jreRules(rules), { allowUndefinedFacts: true });
  const sample = campaigns.slice(0, options.jreCampaigns ?? 1_000);
  const sampleFacts = sample.map((c) => jreFacts(c, rules));
  for (const f of sampleFacts.slice(0, 50)) await engine.run(f); // warm up
  const start = process.hrtime.bigint();
  for (const f of sampleFacts) await engine.run(f);
  const jreSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const jreRate = (rules.length * sample.length) / jreSeconds;
  const rate = evaluations / (fullMs / 1000);
  return {
    rules: compiled.length,
    campaigns: facts.length,
    evaluations_per_second: Math.round(rate),
    full_evaluation_ms: Math.round(fullMs * 100) / 100,
    json_rules_engine_evaluations_per_second: Math.round(jreRate),
    json_rules_engine_campaigns_measured: sample.length,
    evaluator_ratio: Math.round((rate / jreRate) * 10) / 10,
    matches,
  };
}
