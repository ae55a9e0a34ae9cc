// zod schemas for every Thrad response the client reads. Strict where the engine decides
// (ids, status, review_status, budget, times, metric values), tolerant elsewhere (values the
// docs could not pin down are strings, unknown extra fields are stripped), so an API addition
// does not stop automation while a wrong status or a missing budget never slips through.
import * as z from 'zod';
import { ENTITY_STATUSES, METADATA_FIELDS, REVIEW_STATUSES, type WireProfile } from './wire';

const id = z.string().min(1);
const unixSeconds = z.number().int().nonnegative();
const micros = z.number().int().nonnegative();

export const adAccountSchema = z.object({
  id,
  name: z.string(),
  url: z.string(),
  timezone: z.string(),
  currency_code: z.string(),
  preview_url: z.string().optional(),
});
export type AdAccount = z.infer<typeof adAccountSchema>;

export const locationSchema = z.object({
  id: z.string(),
  type: z.string(),
  country_code: z.string(),
});

export const campaignSchema = z.object({
  id,
  name: z.string(),
  description: z.string().nullable().default(null),
  status: z.enum(ENTITY_STATUSES),
  review_status: z.enum(REVIEW_STATUSES),
  start_time: unixSeconds,
  end_time: unixSeconds.nullable(),
  // Loose: sub-fields the sheet does not name are kept, so a budget change sends the whole object back.
  budget: z.looseObject({ lifetime_spend_limit_micros: micros }),
  recurring_frequency: z.string().optional(),
  pricing_model: z.string().optional(),
  targeting: z
    .object({ locations: z.object({ include: z.array(locationSchema) }).optional() })
    .optional(),
  created_at: unixSeconds,
  updated_at: unixSeconds,
});
export type Campaign = z.infer<typeof campaignSchema>;

export const adGroupSchema = z.object({
  id,
  campaign_id: id,
  name: z.string(),
  context_hints: z.array(z.string()).default([]),
  status: z.enum(ENTITY_STATUSES),
  bidding_config: z
    .object({ billing_event_type: z.string().optional(), max_bid_micros: micros.nullable() })
    .optional(),
  created_at: unixSeconds.optional(),
  updated_at: unixSeconds.optional(),
});
export type AdGroup = z.infer<typeof adGroupSchema>;

export const adSchema = z.object({
  id,
  ad_group_id: id,
  name: z.string(),
  status: z.enum(ENTITY_STATUSES),
  review_status: z.enum(REVIEW_STATUSES),
  creative: z.looseObject({ type: z.string() }),
  created_at: unixSeconds.optional(),
  updated_at: unixSeconds.optional(),
});
export type Ad = z.infer<typeof adSchema>;

export const listEnvelope = <T extends z.ZodType>(item: T) =>
  z.object({
    object: z.literal('list'),
    data: z.array(item),
    count: z.number().int().nonnegative().optional(),
    first_id: z.string().nullable().optional(),
    last_id: z.string().nullable().optional(),
    has_more: z.boolean(),
  });

export const uploadResultSchema = z.object({ file_id: z.string().min(1) });

const metricCount = z.number().int().nonnegative();
const metricUsd = z.number().nonnegative();

/** An insights row as sent by the API (units as documented: spend/cpc/cpm USD, ctr a fraction). */
export const insightsRowWireSchema = z.object({
  id: z.string().min(1),
  start_time: unixSeconds,
  end_time: unixSeconds,
  readable_time: z.string().optional(),
  timezone: z.string().optional(),
  supply: z.string().optional(),
  ad_account_id: z.string().optional(),
  campaign_id: z.string().optional(),
  campaign_name: z.string().optional(),
  ad_group_id: z.string().optional(),
  ad_group_name: z.string().optional(),
  ad_id: z.string().optional(),
  ad_name: z.string().optional(),
  impressions: metricCount.optional(),
  clicks: metricCount.optional(),
  spend: metricUsd.optional(),
  ctr: z.number().nonnegative().nullable().optional(),
  cpc: metricUsd.nullable().optional(),
  cpm: metricUsd.nullable().optional(),
});
export type InsightsRowWire = z.infer<typeof insightsRowWireSchema> & { metadata: Record<string, unknown> };

/** The zod type of each metadata kind, as the wire sends it (the budget in the profile's unit). */
const METADATA_KIND_SCHEMA = {
  text: z.string(),
  status: z.enum(ENTITY_STATUSES),
  review_status: z.enum(REVIEW_STATUSES),
  unix_seconds: unixSeconds,
  unix_seconds_or_null: unixSeconds.nullable(),
  budget: z.number().nonnegative(),
} as const;

/**
 * The row schema under a profile: the base row plus the profile's metadata keys, each strict in
 * its type (a metadata status the engine may act on is never a loose string). The metadata values
 * present are also gathered into `metadata`, keyed by wire key, for the answer guard and mapping.
 */
export function insightsRowSchemaFor(profile: WireProfile): z.ZodType<InsightsRowWire> {
  const shape: Record<string, z.ZodType> = {};
  for (const [field, names] of Object.entries(profile.insights.metadata?.fields ?? {})) {
    shape[names.wireKey] = METADATA_KIND_SCHEMA[METADATA_FIELDS[field as keyof typeof METADATA_FIELDS].kind].optional();
  }
  const keys = Object.keys(shape);
  // One object schema (base keys plus metadata keys) parses in one pass; zod cannot type a
  // shape built at run time, so the base row's type is restated.
  const row = insightsRowWireSchema.extend(shape) as unknown as z.ZodType<z.infer<typeof insightsRowWireSchema>>;
  return row.transform((parsed): InsightsRowWire => {
    const metadata: Record<string, unknown> = {};
    const loose = parsed as Record<string, unknown>;
    for (const key of keys) if (loose[key] !== undefined) metadata[key] = loose[key];
    // The parsed object is zod's own copy: adding to it in place saves a copy per row.
    return Object.assign(parsed, { metadata });
  });
}

/** The documented error body (§7). */
export const errorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string().nullable().optional(),
    param: z.string().nullable().optional(),
    code: z.string().nullable().optional(),
  }),
});
