// The sandbox fixture: the world the sandbox starts from (clock, keys, account, billing,
// campaigns → ad groups → ads with delivery history and optional traffic models), for one
// organization at the top level or for several in `organizations`. Validated with zod; a bad
// fixture is rejected with the path of every problem and the sandbox does not start.
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
}).meta({ id: 'campaign' });

const apiKeySchema = z.union([
  z.string().startsWith('ak_'),
  z.strictObject({ key: z.string().startsWith('ak_'), expires_at: unix.nullable().default(null) }),
]);

// What one organization owns: its keys, its ad account, its billing and its campaigns. A fixture
// holds them at the top level (one organization) or in `organizations` (several).
const accountSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().default(''),
  url: z.string().default(''),
  preview_url: z.string().optional(),
}).meta({ id: 'account' });
const billingSchema = z
  .strictObject({ card_configured: z.boolean().default(true), declines: z.boolean().default(false) })
  .default({ card_configured: true, declines: false })
  .meta({ id: 'billing' });
const organizationFields = {
  api_keys: z.array(apiKeySchema.meta({ id: 'api_key' })).min(1),
  account: accountSchema,
  billing: billingSchema,
  campaigns: z.array(campaignSchema).default([]),
};
/** The keys a fixture holds either at its top level or inside each of its `organizations`. */
export const ORGANIZATION_KEYS = Object.keys(organizationFields) as (keyof typeof organizationFields)[];

// What the whole world shares, whatever the number of organizations.
const worldFields = {
  $schema: z.string().optional(),
  description: z.string().optional(),
  /** The sandbox clock's start (Unix seconds). Default: the current time. */
  now: unix.optional(),
  seed: z.number().int().optional(),
  /** Sandbox seconds per real second (0 = frozen). The CLI flag wins. */
  clock_speed: z.number().nonnegative().optional(),
};
const sharedFields = {
  behaviour: behaviourSchema.partial().meta({ id: 'behaviour' }).optional(),
  /** What `image_url` uploads fetch (the sandbox never goes to the network). */
  remote_images: z
    .record(z.string(), z.strictObject({ status: z.number().int().default(200), content_base64: z.string().optional(), redirect_to: z.string().optional() }))
    .default({}),
};

/** A world with one organization: its keys, account, billing and campaigns at the top level. */
export const fixtureSchema = z.strictObject({
  ...worldFields,
  api_keys: organizationFields.api_keys,
  account: organizationFields.account,
  billing: organizationFields.billing,
  ...sharedFields,
  campaigns: organizationFields.campaigns,
});

export const organizationSchema = z.strictObject(organizationFields).meta({ id: 'organization' });

/** A world with several organizations: each key serves its own organization only. */
export const multiOrgFixtureSchema = z.strictObject({
  ...worldFields,
  ...sharedFields,
  organizations: z.array(organizationSchema).min(1),
});

/** Either form, as the JSON Schema describes it. */
export const anyFixtureSchema = z.union([fixtureSchema, multiOrgFixtureSchema]);

export type Fixture = z.infer<typeof fixtureSchema>;
export type FixtureInput = z.input<typeof fixtureSchema>;
export type FixtureCampaign = Fixture['campaigns'][number];
export type FixtureOrganization = z.infer<typeof organizationSchema>;
export type FixtureOrganizationInput = z.input<typeof organizationSchema>;
export type MultiOrgFixture = z.infer<typeof multiOrgFixtureSchema>;
export type MultiOrgFixtureInput = z.input<typeof multiOrgFixtureSchema>;
export type AnyFixture = Fixture | MultiOrgFixture;
export type AnyFixtureInput = FixtureInput | MultiOrgFixtureInput;

export function isMultiOrgFixture(fixture: AnyFixture | AnyFixtureInput): fixture is MultiOrgFixture | MultiOrgFixtureInput {
  return 'organizations' in fixture;
}

/** A fixture's organizations in order: a single-organization fixture is one. */
export function organizationsOf(fixture: AnyFixture): FixtureOrganization[] {
  if (isMultiOrgFixture(fixture)) return fixture.organizations;
  return [{ api_keys: fixture.api_keys, account: fixture.account, billing: fixture.billing, campaigns: fixture.campaigns }];
}

/** The demo world `npm start` and `npm run sandbox` use by default. */
export const DEMO_FIXTURE_PATH = resolve(__dirname, 'fixtures', 'demo.json');

export class FixtureError extends Error {
  constructor(readonly source: string, readonly problems: readonly string[]) {
    super(`Invalid sandbox fixture ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'FixtureError';
  }
}

/**
 * Validate a single-organization fixture: shape (zod) then cross-field rules (unique ids, one
 * creative type per group). A fixture with `organizations` is refused here: use parseAnyFixture.
 */
export function parseFixture(input: unknown, source = '(inline)'): Fixture {
  if (isRecord(input) && VALIDATED.has(input) && !('organizations' in input)) return input as Fixture;
  if (isRecord(input) && 'organizations' in input) {
    throw new FixtureError(source, ['organizations: expected a fixture with one organization here (top-level api_keys, account, campaigns); a fixture with "organizations" runs in the sandbox (npm run sandbox)']);
  }
  const fixture = shapeOf(fixtureSchema, input, source);
  const problems = checkOrganizations(organizationsOf(fixture), (o) => (o === 0 ? '' : `organizations[${o}].`));
  if (problems.length > 0) throw new FixtureError(source, problems);
  VALIDATED.add(fixture);
  return fixture;
}

/**
 * Validate a fixture of either form. With `organizations`, the top level may not also hold an
 * organization's keys (api_keys, account, billing, campaigns); no key, account id or entity id
 * may appear in two places.
 */
export function parseAnyFixture(input: unknown, source = '(inline)'): AnyFixture {
  if (isRecord(input) && VALIDATED.has(input)) return input as AnyFixture;
  if (!isRecord(input) || !('organizations' in input)) return parseFixture(input, source);
  const mixed = ORGANIZATION_KEYS.filter((key) => key in input);
  if (mixed.length > 0) {
    throw new FixtureError(
      source,
      mixed.map((key) => `${key}: a fixture with "organizations" holds ${key} inside each organization (organizations[i].${key}), not also at the top level`),
    );
  }
  const fixture = shapeOf(multiOrgFixtureSchema, input, source);
  const problems = checkOrganizations(fixture.organizations, (o) => `organizations[${o}].`);
  if (problems.length > 0) throw new FixtureError(source, problems);
  VALIDATED.add(fixture);
  return fixture;
}

const worldPartSchema = multiOrgFixtureSchema.omit({ organizations: true });

/** A world's shared fields: everything of a fixture but its organizations. */
export type WorldHead = z.infer<typeof worldPartSchema>;

/**
 * A world to load in parts: its shared fields, and its organizations as they come (validated one
 * at a time, and each dropped once loaded), for worlds too large to hold twice (the generator's).
 */
export interface WorldSource {
  head: WorldHead;
  organizations: Iterable<FixtureOrganization>;
}

export function isWorldSource(value: unknown): value is WorldSource {
  return isRecord(value) && 'head' in value && 'organizations' in value && !Array.isArray(value.organizations);
}

/** Validate a world's shared fields (a fixture with organizations, without them). */
export function parseWorldHead(input: unknown, source = '(inline)'): WorldHead {
  return shapeOf(worldPartSchema, input, source);
}

/**
 * Validate organizations one at a time, lazily: each is checked against the schema and against
 * those before it (ids, keys and account ids unique) as it is taken. The first problem throws.
 */
export function* parseOrganizations(inputs: Iterable<unknown>, source = '(inline)'): Generator<FixtureOrganization> {
  const checker = new OrganizationChecker((o) => `organizations[${o}].`);
  let index = 0;
  for (const input of inputs) {
    const result = organizationSchema.safeParse(input);
    if (!result.success) throw new FixtureError(source, issueLines(result.error.issues, ['organizations', index]));
    const problems = checker.check(result.data, index);
    if (problems.length > 0) throw new FixtureError(source, problems);
    yield result.data;
    index += 1;
  }
  if (index === 0) throw new FixtureError(source, ['organizations: give at least one organization']);
}

/** The whole fixture of a world source whose parts were validated (by parseWorldHead / parseOrganizations). */
export function collectFixture(source: WorldSource): MultiOrgFixture {
  const fixture: MultiOrgFixture = { ...source.head, organizations: [...source.organizations] };
  VALIDATED.add(fixture);
  return fixture;
}

/**
 * Fixtures this module validated. Validating one again returns it as it is, so a large world is
 * not copied twice (generateFixture, then startSandbox); treat a parsed fixture as read-only.
 */
const VALIDATED = new WeakSet<object>();

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function issueLines(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return issues.map((issue) => `${paramPath([...prefix, ...issue.path]) || '(root)'}: ${issue.message}`);
}

function shapeOf<S extends z.ZodType>(schema: S, input: unknown, source: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new FixtureError(source, issueLines(result.error.issues));
  return result.data;
}

/**
 * Cross-field rules over the organizations of a world, one organization at a time: ids unique
 * across the whole world (the API's ids are global), each key and each account id in one
 * organization only, end after start, one creative type per ad group, a price on every traffic
 * model. `prefix(o)` is the path of organization o ('' for a single-organization fixture). Keys
 * are named by path, never printed.
 */
class OrganizationChecker {
  private readonly ids = new Map<string, string>();
  private readonly keyOwners = new Map<string, number>();
  private readonly accountOwners = new Map<string, number>();

  constructor(private readonly prefix: (o: number) => string) {}

  check(organization: FixtureOrganization, o: number): string[] {
    const problems: string[] = [];
    const p = this.prefix(o);
    const claim = (id: string | undefined, path: () => string): void => {
      if (id === undefined) return;
      const previous = this.ids.get(id);
      if (previous !== undefined) problems.push(`${path()}.id: duplicate id "${id}" (also at ${previous})`);
      else this.ids.set(id, path());
    };
    organization.api_keys.forEach((entry, k) => {
      const key = typeof entry === 'string' ? entry : entry.key;
      const owner = this.keyOwners.get(key);
      // A key listed twice in one organization is harmless; in two, it could not name one.
      if (owner !== undefined && owner !== o) problems.push(`${p}api_keys[${k}]: this key already belongs to ${this.prefix(owner).replace(/\.$/, '') || 'another organization'}; each key serves one organization`);
      else this.keyOwners.set(key, o);
    });
    const accountOwner = this.accountOwners.get(organization.account.id);
    if (accountOwner !== undefined) problems.push(`${p}account.id: duplicate account id "${organization.account.id}" (also at ${this.prefix(accountOwner)}account.id)`);
    else this.accountOwners.set(organization.account.id, o);
    organization.campaigns.forEach((campaign, c) => {
      const cPath = `${p}campaigns[${c}]`;
      claim(campaign.id, () => cPath);
      if (campaign.end_time !== null && campaign.start_time !== undefined && campaign.end_time <= campaign.start_time) {
        problems.push(`${cPath}.end_time: must be after start_time`);
      }
      campaign.ad_groups.forEach((group, g) => {
        const gPath = (): string => `${cPath}.ad_groups[${g}]`;
        claim(group.id, gPath);
        const first = group.ads[0]?.creative.type;
        if (group.ads.some((ad) => ad.creative.type !== first)) {
          const types = new Set(group.ads.map((ad) => ad.creative.type));
          problems.push(`${gPath()}.ads: an ad group holds one creative type, found ${[...types].join(' and ')}`);
        }
        group.ads.forEach((ad, a) => {
          claim(ad.id, () => `${gPath()}.ads[${a}]`);
          const model = ad.traffic ?? campaign.traffic;
          if (model && model.cpc_usd === undefined && model.cpm_usd === undefined) {
            problems.push(`${gPath()}.ads[${a}].traffic: give cpc_usd or cpm_usd`);
          }
        });
      });
    });
    return problems;
  }
}

/** Every cross-field problem of a whole world's organizations. */
function checkOrganizations(organizations: readonly FixtureOrganization[], prefix: (o: number) => string): string[] {
  const checker = new OrganizationChecker(prefix);
  return organizations.flatMap((organization, o) => checker.check(organization, o));
}

/** Read and validate a single-organization fixture file. */
export function loadFixtureFile(path: string): Fixture {
  return parseFixture(readJson(path), path);
}

/** Read and validate a fixture file of either form. */
export function loadAnyFixtureFile(path: string): AnyFixture {
  return parseAnyFixture(readJson(path), path);
}

function readJson(path: string): unknown {
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
  return json;
}
