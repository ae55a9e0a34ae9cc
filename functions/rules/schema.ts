// The rule language's zod schema: the single source of truth for rule files, their TypeScript
// types and the generated rules/schema.json. Checks the schema cannot express as JSON Schema
// (schedule syntax, time zones, level/metric/op combinations, percent-looking fractions, ...)
// live in validate.ts, with messages of their own.
import * as z from 'zod';
import { thenSchema } from '../actions/registry';
import { LEVELS } from '../thrad/wire';
import { ruleIdSchema } from './ids';
import { COMPARE_OPS, FIELDS, FIXED_WINDOWS, HOURS_WINDOW, METRICS, OPS, WINDOW_DESCRIPTIONS } from './vocabulary';

export { RULE_ID } from './ids';

const ruleId = ruleIdSchema;

const windowName = z
  .union([z.enum(FIXED_WINDOWS), z.string().regex(HOURS_WINDOW)])
  .describe(`A window in the rule timezone. ${Object.entries(WINDOW_DESCRIPTIONS).map(([name, meaning]) => `${name}: ${meaning}`).join(' ')}`);

const scalar = z.union([z.string(), z.number(), z.null()]);
const leafValue = z.union([scalar, z.array(z.union([z.string(), z.number()]))]);

export const metricLeafSchema = z
  .strictObject({
    metric: z.enum(METRICS).describe('impressions, clicks, spend (USD), ctr (fraction), cpc (USD), cpm (USD), budget_spent_fraction (fraction, campaign level, lifetime).'),
    window: windowName.optional(),
    op: z.enum(OPS),
    value: leafValue.describe('A number; [min, max] for between; a list for in / not_in. Money in USD, ctr as a fraction (0.01 = 1%).'),
  })
  .describe('Compare a metric over a window with a value.');

export const compareLeafSchema = z
  .strictObject({
    metric: z.enum(METRICS),
    window: windowName.optional(),
    op: z.enum(COMPARE_OPS),
    compare_to: z.strictObject({
      metric: z.enum(METRICS),
      window: windowName.optional(),
      multiplier: z.number().positive().default(1).describe('The right side is multiplier × metric over window.'),
    }),
  })
  .describe('Compare a metric over a window with multiplier × another metric (or window), e.g. today’s cpc above 1.5 × the 7-day cpc.');

export const fieldLeafSchema = z
  .strictObject({
    field: z.enum(FIELDS).describe('status, review_status, name, lifetime_budget_usd (USD), start_time, end_time; max_bid_usd (USD, ad groups); campaign_status (ad group and ad rules), ad_group_status (ad rules).'),
    op: z.enum(OPS),
    value: leafValue.describe('A value of the field’s type; times as ISO 8601 or now / now-3d / now+12h; null for an open-ended end_time.'),
  })
  .describe('Compare an attribute of the entity with a value.');

export type MetricLeaf = z.infer<typeof metricLeafSchema>;
export type CompareLeaf = z.infer<typeof compareLeafSchema>;
export type FieldLeaf = z.infer<typeof fieldLeafSchema>;
export type Condition = MetricLeaf | CompareLeaf | FieldLeaf | { all: Condition[] } | { any: Condition[] } | { not: Condition };

const allNodeSchema = z.strictObject({
  get all(): z.ZodArray<z.ZodType<Condition>> {
    return z.array(conditionSchema).min(1).describe('Matches when every condition matches.');
  },
});
const anyNodeSchema = z.strictObject({
  get any(): z.ZodArray<z.ZodType<Condition>> {
    return z.array(conditionSchema).min(1).describe('Matches when at least one condition matches.');
  },
});
const notNodeSchema = z.strictObject({
  get not(): z.ZodType<Condition> {
    return conditionSchema;
  },
});

export const conditionSchema: z.ZodType<Condition> = z
  .union([allNodeSchema, anyNodeSchema, notNodeSchema, compareLeafSchema, metricLeafSchema, fieldLeafSchema])
  .meta({ id: 'Condition', description: 'A condition: all / any / not of conditions, or a metric, metric-vs-metric or field leaf.' });

const durationPattern = /^(forever|[1-9]\d*(m|h|d))$/;

/** The rule's action: one member per entry of the action registry (functions/actions). */
export const actionSchema = thenSchema;

export const guardsSchema = z.strictObject({
  cooldown: z
    .string()
    .regex(durationPattern, 'expected a duration such as 30m, 6h, 2d, or forever')
    .optional()
    .describe('After this rule acted on an entity, leave that entity alone for this long (30m, 6h, 2d, forever).'),
  max_actions_per_run: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Blast-radius limit: when more entities than this would be acted on in one run, act on none and report why.'),
  min_data: z
    .strictObject({
      impressions: z.number().int().min(0).optional(),
      clicks: z.number().int().min(0).optional(),
      spend: z.number().min(0).optional().describe('USD'),
    })
    .optional()
    .describe('A ratio metric (ctr, cpc, cpm) decides only when its window holds at least this much data; otherwise insufficient data.'),
  approval_expires: z
    .string()
    .regex(/^[1-9]\d*(m|h|d)$/, 'expected a duration such as 30m, 24h or 2d')
    .optional()
    .describe('Approval mode: how long a proposal waits for a person before it expires (default 24h).'),
});

export const scheduleSchema = z.strictObject({
  expression: z
    .string()
    .describe('EventBridge syntax: rate(15 minutes), rate(1 hour), rate(2 days), or cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 22 * * ? *).'),
  timezone: z.string().default('UTC').describe('IANA time zone the schedule and the windows are computed in, e.g. America/New_York.'),
});

export const scopeSchema = z.strictObject({
  ids: z.array(z.string().min(1)).min(1).optional().describe('Only these entity ids.'),
  exclude_ids: z.array(z.string().min(1)).min(1).optional().describe('Never these entity ids.'),
  name_contains: z.string().min(1).optional().describe('Only entities whose name contains this (case-insensitive).'),
  name_matches: z.string().min(1).optional().describe('Only entities whose name matches this regular expression.'),
  campaign_ids: z.array(z.string().min(1)).min(1).optional().describe('Ad group and ad levels: only under these campaigns (also limits the lists read).'),
});

export const ruleSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: ruleId.describe('Unique across all rule files.'),
    description: z.string().max(500).optional(),
    enabled: z.boolean().default(true),
    mode: z.enum(['live', 'dry_run', 'approval']).describe('live acts; dry_run records what it would have done and calls nothing; approval records a proposal (awaiting_approval) that acts only when a person approves it (thrad-rules approve).'),
    schedule: scheduleSchema,
    level: z.enum(LEVELS).describe('campaign, ad_group or ad.'),
    scope: scopeSchema.optional(),
    when: conditionSchema,
    then: actionSchema,
    guards: guardsSchema.default({}),
    priority: z.number().int().min(0).max(1000).default(0).describe('When rules disagree on an entity, the higher priority wins, in one run and across runs: an activation never reverses a pause held by a rule of higher or equal priority (unless it names that rule in only_if_paused_by). On a tie in one run, pause and archive win over activate, then the rule id decides.'),
  })
  .meta({ id: 'Rule', description: 'A Thrad autopilot rule.' });

export type Rule = z.infer<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type Schedule = z.infer<typeof scheduleSchema>;
export type Guards = z.infer<typeof guardsSchema>;

export const ruleFileSchema = z.union([ruleSchema, z.array(ruleSchema).min(1)]).describe('One rule, or an array of rules.');

/** The JSON Schema editors use (rules/schema.json). */
export function rulesJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ruleFileSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://thrad-autopilot.example/rules/schema.json',
    title: 'Thrad autopilot rule file',
  };
}
