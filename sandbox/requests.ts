// Request body schemas of the sandbox's /v1 endpoints. Strict: an unknown field is a 400 naming
// it (unless the fixture's behaviour says to ignore unknown fields).
import * as z from 'zod';
import type { Behaviour } from './behaviour';
import { fromZodIssues } from './errors';

const unix = z.number().int().nonnegative();
const status = z.enum(['active', 'paused', 'archived']);
const maxBid = z.number().int().min(1).max(100_000_000).nullable();

export const creativeInputSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('chat_card'),
    title: z.string().min(1).max(200).optional(),
    body: z.string().min(1).max(1_000).optional(),
    file_id: z.string().regex(/^uploads\/\d{4}\/\d{2}\/[0-9a-f]{32}\.(png|jpg|webp)$/, 'expected a file_id returned by /upload').optional(),
    cta_text: z.string().min(1).max(40).optional(),
    target_url: z.url({ protocol: /^https?$/ }).optional(),
  }),
  z.strictObject({
    type: z.literal('poll'),
    question: z.string().min(1).max(300),
    options: z.array(z.string().min(1).max(100)).min(2).max(4),
    target_url: z.url({ protocol: /^https?$/ }).optional(),
  }),
]);
export type CreativeInput = z.infer<typeof creativeInputSchema>;

export const adCreateSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  auto_generate: z.boolean().optional(),
  creative: creativeInputSchema,
});
export type AdCreate = z.infer<typeof adCreateSchema>;

export const adGroupCreateSchema = z.strictObject({
  name: z.string().min(1).max(200),
  context_hints: z.array(z.string().min(1).max(200)).max(50).optional(),
  bidding_config: z.strictObject({ max_bid_micros: maxBid }).optional(),
  ads: z.array(adCreateSchema).min(1),
});
export type AdGroupCreate = z.infer<typeof adGroupCreateSchema>;

const locationEntry = z.union([
  z.string(),
  z.strictObject({ country_code: z.string().optional(), id: z.string().optional(), type: z.string().optional() }),
]);
export const targetingInputSchema = z.strictObject({
  locations: z.strictObject({ include: z.array(locationEntry) }).optional(),
});
export type TargetingInput = z.infer<typeof targetingInputSchema>;

const frequency = z.enum(['daily', 'weekly', 'monthly', 'quarterly', 'yearly']);
const pricing = z.enum(['cpm', 'cpc']);
const budget = z.strictObject({ lifetime_spend_limit_micros: z.number().int().min(990_000).max(1_000_000_000_000) });

export const campaignCreateSchema = z.strictObject({
  ad_account_id: z.string().min(1).optional(),
  name: z.string().min(3).max(100),
  description: z.string().max(1_000).nullable().optional(),
  start_time: unix.optional(),
  end_time: unix.nullable().optional(),
  budget,
  recurring_frequency: frequency.optional(),
  pricing_model: pricing.optional(),
  targeting: targetingInputSchema.optional(),
  ad_groups: z.array(adGroupCreateSchema).min(1),
});
export type CampaignCreate = z.infer<typeof campaignCreateSchema>;

export const campaignUpdateSchema = z.strictObject({
  name: z.string().min(3).max(100).optional(),
  description: z.string().max(1_000).nullable().optional(),
  start_time: unix.optional(),
  end_time: unix.nullable().optional(),
  budget: budget.optional(),
  recurring_frequency: frequency.optional(),
  pricing_model: pricing.optional(),
  targeting: targetingInputSchema.optional(),
});
export type CampaignUpdate = z.infer<typeof campaignUpdateSchema>;

export const adGroupStandaloneCreateSchema = adGroupCreateSchema.extend({ campaign_id: z.string().min(1) });
export type AdGroupStandaloneCreate = z.infer<typeof adGroupStandaloneCreateSchema>;

export const adGroupUpdateSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  context_hints: z.array(z.string().min(1).max(200)).max(50).optional(),
  bidding_config: z.strictObject({ max_bid_micros: maxBid }).optional(),
  status: status.optional(),
});
export type AdGroupUpdate = z.infer<typeof adGroupUpdateSchema>;

export const adStandaloneCreateSchema = adCreateSchema.extend({ ad_group_id: z.string().min(1) });
export type AdStandaloneCreate = z.infer<typeof adStandaloneCreateSchema>;

export const adUpdateSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  status: status.optional(),
  creative: creativeInputSchema.optional(),
});
export type AdUpdate = z.infer<typeof adUpdateSchema>;

export const reviewSchema = z.strictObject({ review_status: z.enum(['approved', 'rejected', 'in_review']) });
export const clockSchema = z.union([
  z.strictObject({ now: unix }),
  z.strictObject({ advance_seconds: z.number().nonnegative() }),
  z.strictObject({ speed: z.number().nonnegative() }),
]);
export const faultKindSchema = z.enum(['http_500', 'http_503', 'http_429', 'timeout', 'reset', 'malformed_json']);
export const faultsSchema = z.strictObject({
  rate: z.number().min(0).max(1),
  kinds: z.array(faultKindSchema).min(1).optional(),
  seed: z.number().int().optional(),
  /** Before the request takes effect, after, or either at random (default) for requests that change state. */
  phase: z.enum(['before', 'after', 'random']).optional(),
  /** Only requests whose path matches this regular expression get faults. */
  path_pattern: z.string().optional(),
  retry_after_seconds: z.number().nonnegative().optional(),
  /** Inject at most this many faults, then serve normally (default: no limit). */
  limit: z.number().int().nonnegative().optional(),
  /** How long a `timeout` fault holds the request before closing the socket. */
  timeout_hold_ms: z.number().int().nonnegative().optional(),
});
export type FaultsConfig = z.infer<typeof faultsSchema>;
export const rotateSchema = z.strictObject({
  new_key: z.string().startsWith('ak_').min(8).optional(),
  /** The organization (its ad account id) whose key to rotate; required when there are several. */
  org: z.string().min(1).optional(),
});

/**
 * Parse a body; with `unknown_fields: ignore`, unknown keys are dropped instead of rejected.
 * Any failure becomes a 400 that names the field.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, behaviour: Pick<Behaviour, 'unknown_fields'>): z.infer<T> {
  let input = body;
  for (let round = 0; round < 20; round += 1) {
    const result = schema.safeParse(input);
    if (result.success) return result.data;
    const unknownOnly = result.error.issues.every((issue) => issue.code === 'unrecognized_keys');
    if (behaviour.unknown_fields === 'ignore' && unknownOnly) {
      input = dropKeys(input, result.error.issues);
      continue;
    }
    throw fromZodIssues(result.error.issues, input);
  }
  throw fromZodIssues([], input);
}

function dropKeys(input: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(input);
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    let target: unknown = copy;
    for (const part of issue.path) target = (target as Record<PropertyKey, unknown>)[part];
    for (const key of issue.keys) delete (target as Record<string, unknown>)[key];
  }
  return copy;
}
