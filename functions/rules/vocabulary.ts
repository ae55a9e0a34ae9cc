// The rule language's vocabulary as typed maps: metrics (with units and what they are computed
// from), windows, fields and ops (actions live in functions/actions/registry.ts). The schema, the validator, the compiler, the planner and
// the README all read these maps, so adding a metric is one entry here and the compiler's
// exhaustive switches tell you what else to write.
import type { Level } from '../thrad/wire';

/** The counts an insights read returns that every metric is derived from. */
export const BASE_COUNTS = ['impressions', 'clicks', 'spend'] as const;
export type BaseCount = (typeof BASE_COUNTS)[number];

export const METRICS = ['impressions', 'clicks', 'spend', 'ctr', 'cpc', 'cpm', 'budget_spent_fraction'] as const;
export type Metric = (typeof METRICS)[number];

export function isMetric(name: string): name is Metric {
  return (METRICS as readonly string[]).includes(name);
}

export interface MetricInfo {
  unit: 'count' | 'usd' | 'fraction';
  /** Base counts it is computed from (the fields an insights read must return). */
  needs: readonly BaseCount[];
  /** A ratio whose divisor can be zero: insufficient data then, and worth a minimum-data guard. */
  ratio: boolean;
  levels: readonly Level[];
  /** Fixed window, when the metric only has one meaning. */
  onlyWindow?: 'lifetime';
  /**
   * How the metric is computed from the base counts of a window: a count as is, a ratio
   * (scale × numerator / denominator, unknown on a zero denominator), or spend over the lifetime
   * budget. The compiler and every chart read this one definition.
   */
  formula: { kind: 'count'; base: BaseCount } | { kind: 'ratio'; numerator: BaseCount; denominator: BaseCount; scale: number } | { kind: 'budget_share' };
  description: string;
}

export const METRIC_INFO: Record<Metric, MetricInfo> = {
  impressions: { unit: 'count', needs: ['impressions'], ratio: false, formula: { kind: 'count', base: 'impressions' }, levels: ['campaign', 'ad_group', 'ad'], description: 'Impressions in the window.' },
  clicks: { unit: 'count', needs: ['clicks'], ratio: false, formula: { kind: 'count', base: 'clicks' }, levels: ['campaign', 'ad_group', 'ad'], description: 'Clicks in the window.' },
  spend: { unit: 'usd', needs: ['spend'], ratio: false, formula: { kind: 'count', base: 'spend' }, levels: ['campaign', 'ad_group', 'ad'], description: 'Spend in the window, in USD.' },
  ctr: { unit: 'fraction', needs: ['clicks', 'impressions'], ratio: true, formula: { kind: 'ratio', numerator: 'clicks', denominator: 'impressions', scale: 1 }, levels: ['campaign', 'ad_group', 'ad'], description: 'Click-through rate, a fraction (0.01 = 1%): clicks / impressions.' },
  cpc: { unit: 'usd', needs: ['spend', 'clicks'], ratio: true, formula: { kind: 'ratio', numerator: 'spend', denominator: 'clicks', scale: 1 }, levels: ['campaign', 'ad_group', 'ad'], description: 'Cost per click in USD: spend / clicks.' },
  cpm: { unit: 'usd', needs: ['spend', 'impressions'], ratio: true, formula: { kind: 'ratio', numerator: 'spend', denominator: 'impressions', scale: 1000 }, levels: ['campaign', 'ad_group', 'ad'], description: 'Cost per thousand impressions in USD: spend / impressions × 1000.' },
  budget_spent_fraction: {
    unit: 'fraction',
    needs: ['spend'],
    ratio: false,
    levels: ['campaign'],
    onlyWindow: 'lifetime',
    formula: { kind: 'budget_share' },
    description: 'Lifetime spend / lifetime budget, a fraction (0.9 = 90%). Campaign level only; its window is always lifetime.',
  },
};

/** Base counts of one window (or one bucket of a series): spend in USD as insights send it. */
export type BaseTotals = Readonly<Record<BaseCount, number>>;

/**
 * A metric from base counts by its formula (the same definition the compiled rules use); null
 * when it is undefined (a ratio's zero denominator, no lifetime budget). No minimum-data guard:
 * that belongs to a rule, not to the metric.
 */
export function metricFromTotals(metric: Metric, totals: BaseTotals, lifetimeBudgetUsd: number | null = null): number | null {
  const formula = METRIC_INFO[metric].formula;
  switch (formula.kind) {
    case 'count':
      return totals[formula.base];
    case 'ratio': {
      const denominator = totals[formula.denominator];
      return denominator > 0 ? (totals[formula.numerator] / denominator) * formula.scale : null;
    }
    case 'budget_share':
      return lifetimeBudgetUsd !== null && lifetimeBudgetUsd > 0 ? totals.spend / lifetimeBudgetUsd : null;
  }
}

export const FIXED_WINDOWS = ['today', 'yesterday', 'last_3_days', 'last_7_days', 'last_14_days', 'last_30_days', 'this_month', 'lifetime'] as const;
export type FixedWindow = (typeof FIXED_WINDOWS)[number];
/** `last_N_hours`: the N complete hours before the current one. */
export const HOURS_WINDOW = /^last_([1-9]\d{0,3})_hours$/;
export type WindowName = FixedWindow | `last_${number}_hours`;
export const MAX_HOURS_WINDOW = 24 * 366;

export const WINDOW_DESCRIPTIONS: Record<FixedWindow | 'last_N_hours', string> = {
  today: 'From midnight today (rule timezone) to now.',
  yesterday: 'The whole of yesterday (rule timezone).',
  last_3_days: 'The 3 complete days before today (rule timezone).',
  last_7_days: 'The 7 complete days before today (rule timezone).',
  last_14_days: 'The 14 complete days before today (rule timezone).',
  last_30_days: 'The 30 complete days before today (rule timezone).',
  this_month: 'From midnight on the 1st of this month (rule timezone) to now.',
  lifetime: "From the campaign's start to now (read in ranges of at most 366 days).",
  last_N_hours: 'The N complete hours before the current hour, e.g. last_6_hours.',
};

export const NUMERIC_OPS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq', 'between', 'in', 'not_in'] as const;
export const OPS = [...NUMERIC_OPS, 'contains'] as const;
export type Op = (typeof OPS)[number];
export const COMPARE_OPS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

export const FIELDS = ['status', 'review_status', 'name', 'lifetime_budget_usd', 'max_bid_usd', 'start_time', 'end_time', 'campaign_status', 'ad_group_status'] as const;
export type Field = (typeof FIELDS)[number];

export interface FieldInfo {
  type: 'enum' | 'string' | 'usd' | 'time';
  values?: readonly string[];
  levels: readonly Level[];
  ops: readonly Op[];
  nullable: boolean;
  description: string;
  /** False when an entity listed through insights metadata does not carry it (its level is then listed through the API). */
  inInsightsListing?: false;
}

const ORDER_OPS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq', 'between'] as const;

export const FIELD_INFO: Record<Field, FieldInfo> = {
  status: { type: 'enum', values: ['active', 'paused', 'archived'], levels: ['campaign', 'ad_group', 'ad'], ops: ['eq', 'neq', 'in', 'not_in'], nullable: false, description: 'The entity status as read back (ad groups and ads read archived as paused).' },
  review_status: { type: 'enum', values: ['in_review', 'approved', 'rejected'], levels: ['campaign', 'ad'], ops: ['eq', 'neq', 'in', 'not_in'], nullable: false, description: 'The moderation verdict (campaigns; ads copy their campaign’s; ad groups have none).' },
  name: { type: 'string', levels: ['campaign', 'ad_group', 'ad'], ops: ['eq', 'neq', 'in', 'not_in', 'contains'], nullable: false, description: 'The entity name; contains is case-insensitive.' },
  lifetime_budget_usd: { type: 'usd', levels: ['campaign'], ops: ORDER_OPS, nullable: false, description: 'The campaign lifetime budget in USD (the API’s lifetime_spend_limit_micros / 1e6).' },
  max_bid_usd: { type: 'usd', levels: ['ad_group'], ops: ORDER_OPS, nullable: true, inInsightsListing: false, description: 'The ad group’s max bid in USD (bidding_config.max_bid_micros / 1e6; null when none is set).' },
  start_time: { type: 'time', levels: ['campaign', 'ad_group', 'ad'], ops: ORDER_OPS, nullable: false, description: 'The campaign’s start (ad groups and ads: their campaign’s): an ISO 8601 time, or now, now-3d, now+12h.' },
  end_time: { type: 'time', levels: ['campaign', 'ad_group', 'ad'], ops: ORDER_OPS, nullable: true, description: 'The campaign’s end (ad groups and ads: their campaign’s; null when open-ended): an ISO 8601 time, or now, now-3d, now+12h.' },
  campaign_status: { type: 'enum', values: ['active', 'paused', 'archived'], levels: ['ad_group', 'ad'], ops: ['eq', 'neq', 'in', 'not_in'], nullable: false, description: 'The status of the ad group’s or ad’s campaign: an ad cannot deliver while its campaign is paused.' },
  ad_group_status: { type: 'enum', values: ['active', 'paused'], levels: ['ad'], ops: ['eq', 'neq', 'in', 'not_in'], nullable: false, description: 'The status of the ad’s ad group (archived reads back as paused): an ad cannot deliver while its ad group is paused.' },
};
