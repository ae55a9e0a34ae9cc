// Wire-level choices for the parts of the Thrad API the fact sheet could not read (§9), in one
// place. Everything that is a guess about insights (parameter names and encodings, page sizes,
// filter spelling, the supply parameter, metadata fields) lives in a *wire profile*: one object
// per plausible API shape, selected without a code change (env THRAD_WIRE_PROFILE, CDK context
// `wireProfile`). The client encodes from the selected profile and the sandbox serves either one,
// strictly, so a wrong guess fails loudly (a typed 400) instead of quietly reading the wrong data.
// README § "Where the API docs are silent" lists the choices and why they are still guesses.
import { UnknownWireProfileError } from './errors';

/** Status values a resource can have, and the moderation verdicts (fact sheet §3). */
export const ENTITY_STATUSES = ['active', 'paused', 'archived'] as const;
export type EntityStatus = (typeof ENTITY_STATUSES)[number];

export const REVIEW_STATUSES = ['in_review', 'approved', 'rejected'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export const STATUS_ACTIONS = ['activate', 'pause', 'archive'] as const;
export type StatusAction = (typeof STATUS_ACTIONS)[number];

export const LEVELS = ['campaign', 'ad_group', 'ad'] as const;
export type Level = (typeof LEVELS)[number];

/** Path segment of each level's collection. */
export const LEVEL_COLLECTION: Record<Level, 'campaigns' | 'ad_groups' | 'ads'> = {
  campaign: 'campaigns',
  ad_group: 'ad_groups',
  ad: 'ads',
};

/**
 * The status a status action leaves an entity in *as read back*. Ad groups and ads have no
 * separate archived state: archiving reads back as `paused` (fact sheet §2.8, §2.9).
 */
export const READ_BACK_STATUS: Record<Level, Record<StatusAction, EntityStatus>> = {
  campaign: { activate: 'active', pause: 'paused', archive: 'archived' },
  ad_group: { activate: 'active', pause: 'paused', archive: 'paused' },
  ad: { activate: 'active', pause: 'paused', archive: 'paused' },
};

export const INSIGHTS_METRICS = ['impressions', 'clicks', 'spend', 'ctr', 'cpc', 'cpm'] as const;
export type InsightsMetric = (typeof INSIGHTS_METRICS)[number];

export const AGGREGATION_LEVELS = ['ad_account', 'campaign', 'ad_group', 'ad'] as const;
export type AggregationLevel = (typeof AGGREGATION_LEVELS)[number];

/** Depth of each aggregation level: a row at one level never carries a deeper level's id. */
export const LEVEL_DEPTH: Record<AggregationLevel, number> = { ad_account: 0, campaign: 1, ad_group: 2, ad: 3 };

/** The id field a row at each level carries (`campaign.id` → `campaign_id` on the wire). */
export const LEVEL_ID_FIELD: Record<AggregationLevel, 'ad_account_id' | 'campaign_id' | 'ad_group_id' | 'ad_id'> = {
  ad_account: 'ad_account_id',
  campaign: 'campaign_id',
  ad_group: 'ad_group_id',
  ad: 'ad_id',
};

export const TIME_GRANULARITIES = ['hourly', 'daily', 'monthly', 'none'] as const;
export type TimeGranularity = (typeof TIME_GRANULARITIES)[number];

export const SUPPLIES = ['thrad', 'chatgpt'] as const;
export type Supply = (typeof SUPPLIES)[number];

/**
 * What an insights read asks of supply (the API sums both by default, §4.1): `combined`,
 * `thrad` or `chatgpt` (isolate one), `split` (one row per supply, each row carrying `supply`).
 */
export const SUPPLY_MODES = ['combined', 'thrad', 'chatgpt', 'split'] as const;
export type SupplyMode = (typeof SUPPLY_MODES)[number];

/** Filter fields the client can name: the three entity ids, and (where a profile allows) `{level}.{metric}`. */
export const INSIGHTS_ID_FILTER_FIELDS = ['campaign.id', 'ad_group.id', 'ad.id'] as const;
export type InsightsIdFilterField = (typeof INSIGHTS_ID_FILTER_FIELDS)[number];
export type InsightsMetricFilterField = `${Level}.${InsightsMetric}`;
/** Kept for callers that only filter by id. */
export type InsightsFilterField = InsightsIdFilterField;

/** Filter operators as the client means them; each profile spells them (or cannot) on the wire. */
export const INSIGHTS_FILTER_OPERATORS = ['in', 'equals', 'greater_than', 'less_than'] as const;
export type InsightsFilterOperator = (typeof INSIGHTS_FILTER_OPERATORS)[number];

/** Which id field each id filter constrains on a row. */
export const ID_FILTER_ROW_FIELD: Record<InsightsIdFilterField, 'campaign_id' | 'ad_group_id' | 'ad_id'> = {
  'campaign.id': 'campaign_id',
  'ad_group.id': 'ad_group_id',
  'ad.id': 'ad_id',
};

/**
 * Metadata an insights row can carry when asked for (OpenAI's reference, Appendix A), keyed by
 * the name the client's rows use. Units are in the names: times are Unix seconds, the budget is
 * integer micros like the campaign object's `budget.lifetime_spend_limit_micros` (the wire sends
 * it as USD like every insights money value, see `budgetWireUnit`).
 */
export const METADATA_FIELDS = {
  campaign_name: { level: 'campaign', kind: 'text' },
  campaign_status: { level: 'campaign', kind: 'status' },
  campaign_start_time_seconds: { level: 'campaign', kind: 'unix_seconds' },
  campaign_end_time_seconds: { level: 'campaign', kind: 'unix_seconds_or_null' },
  lifetime_spend_limit_micros: { level: 'campaign', kind: 'budget' },
  ad_group_name: { level: 'ad_group', kind: 'text' },
  ad_group_status: { level: 'ad_group', kind: 'status' },
  ad_name: { level: 'ad', kind: 'text' },
  ad_status: { level: 'ad', kind: 'status' },
  ad_review_status: { level: 'ad', kind: 'review_status' },
} as const satisfies Record<string, { level: Level; kind: 'text' | 'status' | 'review_status' | 'unix_seconds' | 'unix_seconds_or_null' | 'budget' }>;
export type InsightsMetadataField = keyof typeof METADATA_FIELDS;
export const INSIGHTS_METADATA_FIELDS = Object.keys(METADATA_FIELDS) as InsightsMetadataField[];

export const WIRE_PROFILE_NAMES = ['reference', 'legacy'] as const;
export type WireProfileName = (typeof WIRE_PROFILE_NAMES)[number];
export const DEFAULT_WIRE_PROFILE: WireProfileName = 'reference';
/** The environment variable that selects a profile (the CDK context `wireProfile` sets it on AWS). */
export const WIRE_PROFILE_ENV = 'THRAD_WIRE_PROFILE';

export type TimeRangeType = 'unix_range' | 'hour_range' | 'date_range' | 'preset';

export interface WireFilterOperator {
  /** The operator as sent. */
  wire: string;
  /** How the value is sent: an array of strings, one string, or a number. */
  value: 'string_array' | 'string' | 'number';
}

/** Every guessed insights wire choice, for one plausible shape of the API. */
export interface WireProfile {
  readonly name: WireProfileName;
  /** One line for help texts and doctor. */
  readonly summary: string;
  readonly insights: {
    /** Query parameter names. `includes` is null when the profile has no includes[] parameter. */
    readonly params: {
      readonly aggregationLevel: string;
      readonly granularity: string;
      readonly fields: string;
      readonly timeRanges: string;
      readonly filters: string;
      readonly supply: string;
      readonly limit: string;
      readonly after: string;
      readonly includes: string | null;
    };
    readonly timeRange: {
      /** Window types the API accepts (the client sends `unix_range`). */
      readonly types: readonly TimeRangeType[];
      /** Bounds must be whole UTC hours. */
      readonly wholeHours: boolean;
      /** Bounds must not be after the current time (the reference); see `closedRange`. */
      readonly endNotAfterNow: boolean;
      readonly maxRangeSeconds: number;
      readonly hourlyMaxRangeSeconds: number;
      /** Window the API answers with when none is given: the 30 UTC days ending with today. */
      readonly defaultRangeDays: number;
      /**
       * How far back a range may start (the reference: within 5 years); null when the profile
       * knows no limit. Lifetime reads start no earlier; an entity created before that has no
       * whole lifetime to read (its lifetime metrics are insufficient data, never a partial sum).
       */
      readonly maxLookbackSeconds: number | null;
    };
    /** How a metric is named in `fields[]`: `{level}.{metric}` (canonical) or bare (`spend`). Metric keys come back bare either way. */
    readonly fieldNames: 'canonical' | 'bare';
    readonly filter: {
      /** Wire name of each id filter field. */
      readonly idFields: Readonly<Record<InsightsIdFilterField, string>>;
      /** Whether `{level}.{metric}` filter fields exist. */
      readonly metricFields: boolean;
      /** Wire spelling per client operator; null = the profile cannot express it. */
      readonly operators: Readonly<Record<InsightsFilterOperator, WireFilterOperator | null>>;
    };
    /** Supply isolate/split: the parameter and the value per mode (null = send nothing). */
    readonly supply: { readonly param: string; readonly values: Readonly<Record<SupplyMode, string | null>> };
    /** `limit` bounds and the API's default page size. */
    readonly page: { readonly limitMin: number; readonly limitMax: number; readonly limitDefault: number };
    /**
     * Metadata fields: the canonical name sent in `fields[]` and the flat key the row carries.
     * Null when the profile has none.
     */
    readonly metadata: {
      readonly fields: Readonly<Record<InsightsMetadataField, { readonly canonical: string; readonly wireKey: string }>>;
      /** The unit of `lifetime_spend_limit_micros` on the wire (converted to micros in the row). */
      readonly budgetWireUnit: 'usd' | 'micros';
    } | null;
    /** The `includes[]` value that adds entities with no impressions; null when unsupported. */
    readonly zeroImpressionItems: string | null;
  };
}

const REFERENCE_METADATA: NonNullable<WireProfile['insights']['metadata']>['fields'] = {
  campaign_name: { canonical: 'campaign.name', wireKey: 'campaign_name' },
  campaign_status: { canonical: 'campaign.status', wireKey: 'campaign_status' },
  campaign_start_time_seconds: { canonical: 'campaign.start_time', wireKey: 'campaign_start_time' },
  campaign_end_time_seconds: { canonical: 'campaign.end_time', wireKey: 'campaign_end_time' },
  lifetime_spend_limit_micros: { canonical: 'campaign.budget.lifetime', wireKey: 'campaign_budget_lifetime' },
  ad_group_name: { canonical: 'ad_group.name', wireKey: 'ad_group_name' },
  ad_group_status: { canonical: 'ad_group.status', wireKey: 'ad_group_status' },
  ad_name: { canonical: 'ad.name', wireKey: 'ad_name' },
  ad_status: { canonical: 'ad.status', wireKey: 'ad_status' },
  ad_review_status: { canonical: 'ad.review_status', wireKey: 'ad_review_status' },
};

const COMMON_PARAMS = {
  aggregationLevel: 'aggregation_level',
  granularity: 'time_granularity',
  fields: 'fields[]',
  timeRanges: 'time_ranges[]',
  filters: 'filters[]',
  supply: 'supply',
  limit: 'limit',
  after: 'after',
} as const;

const COMMON_RANGE = { wholeHours: true, maxRangeSeconds: 366 * 86_400, hourlyMaxRangeSeconds: 25 * 3_600, defaultRangeDays: 30 } as const;

/**
 * The profiles. `reference` follows OpenAI's insights reference (Appendix A), which Thrad says it
 * mirrors; `legacy` is exactly what this project sent before that reference was read.
 */
export const WIRE_PROFILES: Readonly<Record<WireProfileName, WireProfile>> = {
  reference: {
    name: 'reference',
    summary: 'OpenAI Ads API insights reference: limit ≤ 2000, uppercase IN/GREATER_THAN/LESS_THAN, canonical fields[], metadata fields, includes[]=zero_impression_items',
    insights: {
      params: { ...COMMON_PARAMS, includes: 'includes[]' },
      timeRange: { ...COMMON_RANGE, types: ['unix_range', 'hour_range', 'date_range'], endNotAfterNow: true, maxLookbackSeconds: 5 * 365 * 86_400 },
      fieldNames: 'canonical',
      filter: {
        idFields: { 'campaign.id': 'campaign.id', 'ad_group.id': 'ad_group.id', 'ad.id': 'ad.id' },
        metricFields: true,
        operators: {
          in: { wire: 'IN', value: 'string_array' },
          // The reference has no equality operator of its own: IN with one value.
          equals: { wire: 'IN', value: 'string_array' },
          greater_than: { wire: 'GREATER_THAN', value: 'number' },
          less_than: { wire: 'LESS_THAN', value: 'number' },
        },
      },
      supply: { param: 'supply', values: { combined: null, thrad: 'thrad', chatgpt: 'chatgpt', split: 'split' } },
      page: { limitMin: 1, limitMax: 2_000, limitDefault: 20 },
      metadata: { fields: REFERENCE_METADATA, budgetWireUnit: 'usd' },
      zeroImpressionItems: 'zero_impression_items',
    },
  },
  legacy: {
    name: 'legacy',
    summary: 'the choices made before the reference was read: limit ≤ 10000, lowercase in/equals, bare fields[], no metadata fields',
    insights: {
      params: { ...COMMON_PARAMS, includes: null },
      timeRange: { ...COMMON_RANGE, types: ['unix_range', 'date_range', 'preset'], endNotAfterNow: false, maxLookbackSeconds: null },
      fieldNames: 'bare',
      filter: {
        idFields: { 'campaign.id': 'campaign.id', 'ad_group.id': 'ad_group.id', 'ad.id': 'ad.id' },
        metricFields: false,
        operators: {
          in: { wire: 'in', value: 'string_array' },
          equals: { wire: 'equals', value: 'string' },
          greater_than: null,
          less_than: null,
        },
      },
      supply: { param: 'supply', values: { combined: null, thrad: 'thrad', chatgpt: 'chatgpt', split: 'split' } },
      page: { limitMin: 1, limitMax: 10_000, limitDefault: 1_000 },
      metadata: null,
      zeroImpressionItems: null,
    },
  },
};

export function isWireProfileName(value: string): value is WireProfileName {
  return (WIRE_PROFILE_NAMES as readonly string[]).includes(value);
}

/** The profile a setting names (unset or blank: the default); null for an unknown name. */
export function wireProfileNamed(value: string | undefined): WireProfile | null {
  const name = value?.trim() || DEFAULT_WIRE_PROFILE;
  return isWireProfileName(name) ? WIRE_PROFILES[name] : null;
}

/** The profile a setting names, or a typed error listing the known names. */
export function resolveWireProfile(value: string | undefined): WireProfile {
  const profile = wireProfileNamed(value);
  if (!profile) throw new UnknownWireProfileError(value ?? '', WIRE_PROFILE_NAMES);
  return profile;
}

/** The wire spelling of a filter operator, for the sandbox and error messages. */
export function wireOperators(profile: WireProfile): string[] {
  const out = new Set<string>();
  for (const op of Object.values(profile.insights.filter.operators)) if (op) out.add(op.wire);
  return [...out];
}

/** The `fields[]` value for a metric at a level, in the profile's naming. */
export function metricFieldName(profile: WireProfile, level: AggregationLevel, metric: InsightsMetric): string {
  return profile.insights.fieldNames === 'canonical' ? `${level}.${metric}` : metric;
}

const HOUR_SECONDS = 3_600;

/**
 * A range the API accepts under the profile: bounds on whole hours, and (where the profile says
 * bounds must not be in the future) an end in the current, incomplete hour moved back to the last
 * full hour. `clamped` says whether the end moved, so a record can say so. An empty result
 * (`endSeconds <= startSeconds`) means there is nothing closed to read yet.
 */
export function closedRange(
  profile: WireProfile,
  range: { startSeconds: number; endSeconds: number },
  nowSeconds: number,
): { startSeconds: number; endSeconds: number; clamped: boolean } {
  const startSeconds = Math.floor(range.startSeconds / HOUR_SECONDS) * HOUR_SECONDS;
  let endSeconds = Math.ceil(range.endSeconds / HOUR_SECONDS) * HOUR_SECONDS;
  let clamped = false;
  const lastFullHour = Math.floor(nowSeconds / HOUR_SECONDS) * HOUR_SECONDS;
  if (profile.insights.timeRange.endNotAfterNow && endSeconds > lastFullHour) {
    endSeconds = lastFullHour;
    clamped = true;
  }
  return { startSeconds, endSeconds, clamped };
}

/** Wire-level facts that are documented, or the same in every profile. */
export const WIRE = {
  /** List paging (documented for ads, assumed for campaigns and ad groups). */
  list: { limitMin: 1, limitMax: 500, limitDefault: 20 },
  idempotencyHeader: 'Idempotency-Key',
  /** Documented limits (§5). */
  rateLimit: { requestsPerHour: 1_000, campaignCreatesPerHour: 60 },
} as const;
