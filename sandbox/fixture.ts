// The sandbox fixture: the world the sandbox starts from (clock, keys, account, billing,
// campaigns → ad groups → ads with delivery history and optional traffic models). Validated with
// zod; a bad fixture is rejected with the path of every problem and the sandbox does not start.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import { behaviourSchema } from './behaviour';
import { paramPath } from './errors';

const unix = z.number().int().nonnegative();
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD');
const isoHour = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}(:00(:00)?)?(Z|\+00:00)?$/, 'expected a UTC hour as YYYY-MM-DDTHH:00:00Z');
const fraction = z.number().min(0).max(1);

export const trafficModelSchema = z.strictObject({
  /** Mean impressions per hour across both supplies. */
  impressions_per_hour: z.number().nonnegative(),
  /** Mean click-through rate (a fraction). */
  ctr: fraction,
  /** Price per click in USD (spend = clicks × cpc); give this or `cpm_usd`. */
  cpc_usd: z.number().nonnegative().optional(),
  /** Price per thousand impressions in USD (spend = impressions × cpm / 1000). */
  cpm_usd: z.number().nonnegative().optional(),
  /** Share of impressions per supply; default 40% Thrad, 60% ChatGPT. */
  supply_split: z.strictObject({ thrad: fraction, chatgpt: fraction }).optional(),
  /** Relative noise (0–1) around the means, from the seeded generator. */
  noise: fraction.default(0.2),
  /** 24 multipliers, one per UTC hour of day; default flat. */
  hourly_profile: z.array(z.number().nonnegative()).length(24).optional(),
});
export type TrafficModel = z.infer<typeof trafficModelSchema>;

export const deliveryRowSchema = z
  .strictObject({
    /** A whole UTC day; spread evenly over its 24 hours (remainders to the earliest hours). */
    date: isoDate.optional(),
    /** One UTC hour. */
    hour: isoHour.optional(),
    impressions: z.number().int().nonnegative(),
    clicks: z.number().int().nonnegative(),
    spend_usd: z.number().nonnegative(),
    supply: z.enum(['thrad', 'chatgpt']).default('chatgpt'),
  })
  .refine((row) => (row.date === undefined) !== (row.hour === undefined), {
    message: 'give exactly one of "date" or "hour"',
  });
export type DeliveryRow = z.infer<typeof deliveryRowSchema>;

const creativeSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('chat_card'),
    title: z.string().optional(),
    body: z.string().optional(),
    file_id: z.string().optional(),
    cta_text: z.string().optional(),
    target_url: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('poll'),
    question: z.string(),
    options: z.array(z.string()).min(2).max(4),
    target_url: z.string().optional(),
  }),
]);

const status = z.enum(['active', 'paused', 'archived']);

const adSchema = z.strictObject({
  id: z.string().min(1).optional(),
  name: z.string().optional(),
  status: status.default('active'),
  creative: creativeSchema,
  created_at: unix.optional(),
  delivery: z.array(deliveryRowSchema).default([]),
  traffic: trafficModelSchema.optional(),
});

const adGroupSchema = z.strictObject({
  id: z.string().min(1).optional(),
  name: z.string().min(1),
  status: status.default('active'),
  context_hints: z.array(z.string()).default([]),
  bidding_config: z.strictObject({ max_bid_micros: z.number().int().min(1).max(100_000_000).nullable() }).optional(),
  created_at: unix.optional(),
  ads: z.array(adSchema).min(1),
});

const locationInput = z.union([
  z.string(),
  z.strictObject({ country_code: z.string().optional(), id: z.string().optional(), type: z.string().optional() }),
]);

const campaignSchema = z.strictObject({
  id: z.string().min(1).optional(),
  name: z.string().min(3).max(100),
  description: z.string().nullable().default(null),
  status: status.default('paused'),
  review_status: z.enum(['in_review', 'approved', 'rejected']).default('approved'),
  /** The sandbox gives its verdict by itself when the clock reaches created_at + after_seconds. */
  auto_review: z.strictObject({ after_seconds: z.number().int().nonnegative(), verdict: z.enum(['approved', 'rejected']).default('approved') }).optional(),
  start_time: unix.optional(),
  end_time: unix.nullable().default(null),
  budget: z.strictObject({ lifetime_spend_limit_micros: z.number().int().min(990_000) }),
  recurring_frequency: z.enum(['daily', 'weekly', 'monthly', 'quarterly', 'yearly']).default('monthly'),
  pricing_model: z.enum(['cpm', 'cpc']).default('cpm'),
  targeting: z.strictObject({ locations: z.strictObject({ include: z.array(locationInput) }) }).optional(),
  created_at: unix.optional(),
  /** Default traffic model for the campaign's ads that have none of their own. */
  traffic: trafficModelSchema.optional(),
  ad_groups: z.array(adGroupSchema).min(1),
});

const apiKeySchema = z.union([
  z.string().startsWith('ak_'),
  z.strictObject({ key: z.string().startsWith('ak_'), expires_at: unix.nullable().default(null) }),
]);

export const fixtureSchema = z.strictObject({
  $schema: z.string().optional(),
  description: z.string().optional(),
  /** The sandbox clock's start (Unix seconds). Default: the current time. */
  now: unix.optional(),
  seed: z.number().int().optional(),
  /** Sandbox seconds per real second (0 = frozen). The CLI flag wins. */
  clock_speed: z.number().nonnegative().optional(),
  api_keys: z.array(apiKeySchema).min(1),
  account: z
    .strictObject({
      id: z.string().min(1),
      name: z.string().default(''),
      url: z.string().default(''),
      preview_url: z.string().optional(),
    }),
  billing: z.strictObject({ card_configured: z.boolean().default(true), declines: z.boolean().default(false) }).default({ card_configured: true, declines: false }),
  behaviour: behaviourSchema.partial().optional(),
  /** What `image_url` uploads fetch (the sandbox never goes to the network). */
  remote_images: z
    .record(z.string(), z.strictObject({ status: z.number().int().default(200), content_base64: z.string().optional(), redirect_to: z.string().optional() }))
    .default({}),
  campaigns: z.array(campaignSchema).default([]),
});

export type Fixture = z.infer<typeof fixtureSchema>;
export type FixtureInput = z.input<typeof fixtureSchema>;
export type FixtureCampaign = Fixture['campaigns'][number];

/** The demo world `npm start` and `npm run sandbox` use by default. */
export const DEMO_FIXTURE_PATH = resolve(__dirname, 'fixtures', 'demo.json');

export class FixtureError extends Error {
  constructor(readonly source: string, readonly problems: readonly string[]) {
    super(`Invalid sandbox fixture ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'FixtureError';
  }
}

/** Validate a parsed fixture: shape (zod) then cross-field rules (unique ids, one creative type per group). */
export function parseFixture(input: unknown, source = '(inline)'): Fixture {
  const result = fixtureSchema.safeParse(input);
  if (!result.success) {
    throw new FixtureError(
      source,
      result.error.issues.map((issue) => `${paramPath(issue.path) || '(root)'}: ${issue.message}`),
    );
  }
  const fixture = result.data;
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const claim = (id: string | undefined, path: string): void => {
    if (id === undefined) return;
    const previous = seen.get(id);
    if (previous) problems.push(`${path}.id: duplicate id "${id}" (also at ${previous})`);
    else seen.set(id, path);
  };
  fixture.campaigns.forEach((campaign, c) => {
    const cPath = `campaigns[${c}]`;
    claim(campaign.id, cPath);
    if (campaign.end_time !== null && campaign.start_time !== undefined && campaign.end_time <= campaign.start_time) {
      problems.push(`${cPath}.end_time: must be after start_time`);
    }
    campaign.ad_groups.forEach((group, g) => {
      const gPath = `${cPath}.ad_groups[${g}]`;
      claim(group.id, gPath);
      const types = new Set(group.ads.map((ad) => ad.creative.type));
      if (types.size > 1) problems.push(`${gPath}.ads: an ad group holds one creative type, found ${[...types].join(' and ')}`);
      group.ads.forEach((ad, a) => {
        claim(ad.id, `${gPath}.ads[${a}]`);
        const model = ad.traffic ?? campaign.traffic;
        if (model && model.cpc_usd === undefined && model.cpm_usd === undefined) {
          problems.push(`${gPath}.ads[${a}].traffic: give cpc_usd or cpm_usd`);
        }
      });
    });
  });
  if (problems.length > 0) throw new FixtureError(source, problems);
  return fixture;
}

export function loadFixtureFile(path: string): Fixture {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FixtureError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FixtureError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseFixture(json, path);
}
