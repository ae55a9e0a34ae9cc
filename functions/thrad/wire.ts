// Wire-level choices for the parts of the Thrad API the fact sheet could not read (§9), in one
// place. The client sends exactly these names and the sandbox implements exactly these, so a
// correction when the real names become known is a change here (or a client option), nowhere
// else. README § "Where the API docs are silent" lists them for users.

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

export const TIME_GRANULARITIES = ['hourly', 'daily', 'monthly', 'none'] as const;
export type TimeGranularity = (typeof TIME_GRANULARITIES)[number];

export const SUPPLIES = ['thrad', 'chatgpt'] as const;
export type Supply = (typeof SUPPLIES)[number];

/**
 * Supply isolation/split (name and values unknown, §4.1): `supply=combined` (default, both
 * supplies summed, as the API does by default), `thrad` or `chatgpt` (isolate one), `split`
 * (one row per supply, each row carrying `supply`).
 */
export const SUPPLY_MODES = ['combined', 'thrad', 'chatgpt', 'split'] as const;
export type SupplyMode = (typeof SUPPLY_MODES)[number];

export const WIRE = {
  /** List paging (documented for ads, assumed for campaigns and ad groups). */
  list: { limitMin: 1, limitMax: 500, limitDefault: 20 },
  insights: {
    /**
     * Time windows: repeated `time_ranges[]` holding JSON objects (OpenAI's name). Three types:
     * `{"type":"unix_range","start":<unix s>,"end":<unix s>}` (whole UTC hours),
     * `{"type":"date_range","since":"YYYY-MM-DD","until":"YYYY-MM-DD"}` (UTC days, inclusive),
     * `{"type":"preset","preset":"today"|"yesterday"|"last_7_days"|"last_30_days"}`.
     */
    timeRangesParam: 'time_ranges[]',
    /** Filters: repeated `filters[]` JSON `{"field","operator","value"}`. */
    filtersParam: 'filters[]',
    /** The three filter field kinds and their operators. */
    filterFields: ['campaign.id', 'ad_group.id', 'ad.id'] as const,
    filterOperators: ['equals', 'in'] as const,
    supplyParam: 'supply',
    /** Insights paging (unknown in the docs): `limit` 1–10000 (default 1000) and `after` = a row id. */
    limitMin: 1,
    limitMax: 10_000,
    limitDefault: 1_000,
    maxRangeSeconds: 366 * 86_400,
    hourlyMaxRangeSeconds: 25 * 3_600,
    /** Default window when none is given: the 30 UTC days ending with today. */
    defaultRangeDays: 30,
  },
  idempotencyHeader: 'Idempotency-Key',
  /** Documented limits (§5). */
  rateLimit: { requestsPerHour: 1_000, campaignCreatesPerHour: 60 },
} as const;

export type InsightsFilterField = (typeof WIRE.insights.filterFields)[number];
export type InsightsFilterOperator = (typeof WIRE.insights.filterOperators)[number];
