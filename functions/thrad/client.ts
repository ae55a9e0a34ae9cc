// The Thrad Advertiser API client: every call an automation engine needs, with zod-validated
// responses, typed errors, bounded retries, a per-key request budget and key refresh on 401.
// Insights are encoded from the selected wire profile (wire.ts) and every insights answer is
// checked against its question (answer-guard.ts) before a row reaches the caller.
import { randomUUID } from 'node:crypto';
import type * as z from 'zod';
import { realSleep, systemClock, type Clock, type Sleep } from '../shared/clock';
import { keyFingerprint } from '../shared/secrets';
import { InsightsAnswerGuard, type InsightsQuestion } from './answer-guard';
import { RequestBudget, type BudgetSnapshot, type RequestKind } from './budget';
import {
  AuthenticationError,
  DeadlineExceededError,
  InvalidRequestError,
  MalformedResponseError,
  ThradApiError,
  UnsupportedQueryError,
} from './errors';
import type { ApiKeyProvider } from './keys';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
import {
  adAccountSchema,
  adGroupSchema,
  adSchema,
  campaignSchema,
  insightsRowSchemaFor,
  listEnvelope,
  uploadResultSchema,
  type Ad,
  type AdAccount,
  type AdGroup,
  type Campaign,
  type InsightsRowWire,
} from './schemas';
import { sendHttp, translateResponse, type FetchLike } from './transport';
import {
  DEFAULT_WIRE_PROFILE,
  LEVEL_COLLECTION,
  LEVEL_DEPTH,
  LEVEL_ID_FIELD,
  METADATA_FIELDS,
  READ_BACK_STATUS,
  WIRE,
  WIRE_PROFILES,
  metricFieldName,
  type AggregationLevel,
  type EntityStatus,
  type InsightsIdFilterField,
  type InsightsMetadataField,
  type InsightsMetric,
  type InsightsMetricFilterField,
  type Level,
  type ReviewStatus,
  type StatusAction,
  type SupplyMode,
  type TimeGranularity,
  type WireProfile,
  type WireProfileName,
} from './wire';

export const DEFAULT_BASE_URL = 'https://api.thrad.ai/v1';

/** Something that happened on the wire, for logs and metrics. Carries a key fingerprint, never the key. */
export interface ClientEvent {
  operation: string;
  attempt: number;
  httpStatus: number | null;
  code: string | null;
  durationMs: number;
  keyFingerprint: string;
  /** Set when the client will retry, after this many ms. */
  retryInMs?: number;
}

export interface ThradClientOptions {
  /** Base URL including `/v1`. */
  baseUrl?: string;
  keyProvider: ApiKeyProvider;
  /** The API's clock (the request budget counts in it). The sandbox's clock when following one. */
  clock?: Clock;
  /** Real time, for deadlines and per-request timeouts. */
  realClock?: Clock;
  sleep?: Sleep;
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Per-attempt timeout. */
  requestTimeoutMs?: number;
  /** Deadline used when a call passes none: now + this. */
  defaultDeadlineMs?: number;
  budget?: RequestBudget;
  /** Page size for list calls (1–500). */
  listPageSize?: number;
  /** Page size for insights calls (default: the largest the profile allows, so a read is usually one request). */
  insightsPageSize?: number;
  /** The insights wire shape to speak (default `reference`); a name or a profile object. */
  wireProfile?: WireProfileName | WireProfile;
  /**
   * Error codes that, on a status action, may mean "already in that state" (the entity is then
   * read to confirm). Documented: campaign pause → `campaign_not_running`.
   */
  alreadyInStateCodes?: Partial<Record<StatusAction, readonly string[]>>;
  fetch?: FetchLike;
  onEvent?: (event: ClientEvent) => void;
  userAgent?: string;
}

export interface CallOptions {
  /** Real-time Unix ms after which no attempt starts (e.g. the Lambda's remaining time). */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export interface StatusCallOptions extends CallOptions {
  /**
   * Sent as Idempotency-Key on every attempt of this logical call (the engine passes the decision
   * id): harmless where the API ignores it, and it ties retries and logs to one decision.
   */
  idempotencyKey?: string;
}

export interface ListOptions extends CallOptions {
  order?: 'asc' | 'desc';
  /** Stop after this many items (default: all). */
  maxItems?: number;
}

export interface StatusActionResult<T> {
  /** `changed`: the call succeeded. `already_in_state`: the API refused because the entity already was there. */
  outcome: 'changed' | 'already_in_state';
  entity: T;
  attempts: number;
  /** An earlier attempt failed in a way that may have reached the API (timeout, reset, 5xx, bad body). */
  earlierAttemptMayHaveApplied: boolean;
  /** `already_in_state`: the refusal's HTTP status and code (e.g. 400 campaign_not_running). */
  refusal?: { httpStatus: number; code: string };
}

export interface CampaignUpdate {
  name?: string;
  description?: string | null;
  /** The whole budget object (a partial one may replace the sub-fields it leaves out). */
  budget?: { lifetime_spend_limit_micros: number; [field: string]: unknown };
  start_time?: number;
  end_time?: number | null;
  targeting?: { locations: { include: { country_code: string }[] } };
}

export interface AdGroupUpdate {
  name?: string;
  status?: EntityStatus;
  context_hints?: string[];
  bidding_config?: { max_bid_micros: number | null };
}

export interface AdUpdate {
  name?: string;
  status?: EntityStatus;
}

export type InsightsScope = { level: 'ad_account' } | { level: Level; id: string };

export interface TimeRange {
  /** Unix seconds, inclusive. */
  startSeconds: number;
  /** Unix seconds, exclusive. */
  endSeconds: number;
}

/**
 * An insights filter as the client means it; the wire profile spells it. `equals` is `IN` with one
 * value in the reference profile. Metric filters (`campaign.clicks` greater than 100) exist only in
 * profiles that have them.
 */
export type InsightsFilter =
  | { field: InsightsIdFilterField; operator: 'in'; value: readonly string[] }
  | { field: InsightsIdFilterField; operator: 'equals'; value: string }
  | { field: InsightsMetricFilterField; operator: 'greater_than' | 'less_than'; value: number };

export interface InsightsQuery {
  scope: InsightsScope;
  aggregationLevel?: AggregationLevel;
  timeGranularity?: TimeGranularity;
  fields?: readonly InsightsMetric[];
  timeRanges?: readonly TimeRange[];
  supply?: SupplyMode;
  filters?: readonly InsightsFilter[];
  /**
   * Metadata to carry on every row (profiles with metadata fields only): fields of the aggregation
   * level or above it, e.g. `ad_status`, `ad_group_status`, `campaign_status` on ad rows.
   */
  metadata?: readonly InsightsMetadataField[];
  /** Add rows for the entities with no impressions in the range (`includes[]=zero_impression_items`). */
  includeZeroImpressionItems?: boolean;
  /** `limit` for this query (default: the client's insights page size), within the profile's bounds. */
  pageSize?: number;
}

type MetadataKindType = {
  text: string;
  status: EntityStatus;
  review_status: ReviewStatus;
  unix_seconds: number;
  unix_seconds_or_null: number | null;
  budget: number;
};

/**
 * Metadata on an insights row, present only when asked for: `campaign_status`, `ad_group_status`,
 * `ad_status` (as the resource reads back: archived ad groups and ads say `paused`),
 * `ad_review_status`, the names, `campaign_start_time_seconds` / `campaign_end_time_seconds` (Unix
 * seconds; end null = open-ended) and `lifetime_spend_limit_micros` (integer micros, converted
 * from the wire's unit, USD in the reference profile).
 */
export type InsightsRowMetadata = { [K in InsightsMetadataField]?: MetadataKindType[(typeof METADATA_FIELDS)[K]['kind']] };

/**
 * One insights row with units in its names: `spend_usd`, `cpc_usd`, `cpm_usd` (USD floats as the
 * API sends `spend`, `cpc`, `cpm`), `ctr_fraction` (the API's `ctr`). A metric not requested, or
 * a ratio whose divisor was zero, is null. Metadata fields appear only when asked for.
 */
export interface InsightsRow extends InsightsRowMetadata {
  rowId: string;
  startTime: number;
  endTime: number;
  readableTime: string | null;
  aggregationLevel: AggregationLevel;
  entityId: string;
  entityName: string | null;
  campaignId: string | null;
  adGroupId: string | null;
  supply: 'combined' | 'thrad' | 'chatgpt';
  impressions: number | null;
  clicks: number | null;
  spend_usd: number | null;
  ctr_fraction: number | null;
  cpc_usd: number | null;
  cpm_usd: number | null;
}

interface RequestSpec<T extends z.ZodType> {
  method: 'GET' | 'POST';
  path: string;
  query?: readonly (readonly [string, string])[];
  body?: unknown;
  schema: T;
  kind?: RequestKind;
  headers?: Record<string, string>;
}

interface CallResult<T> {
  value: T;
  attempts: number;
  earlierAttemptMayHaveApplied: boolean;
}

const DEFAULT_ALREADY_IN_STATE: Record<StatusAction, readonly string[]> = {
  activate: ['campaign_already_active'],
  pause: ['campaign_not_running'],
  archive: ['campaign_already_archived'],
};

const MAX_PAGES = 100_000;

export class ThradClient {
  readonly baseUrl: string;
  readonly budget: RequestBudget;
  /** The insights wire shape this client speaks. */
  readonly wireProfile: WireProfile;
  /** Effective insights page size (`limit`), within the profile's bounds: what a planner's cost model reads. */
  readonly insightsPageSize: number;
  /** Effective list page size. */
  readonly listPageSize: number;
  private readonly options: ThradClientOptions;
  private readonly insightsRowSchema: ReturnType<typeof insightsRowSchemaFor>;
  private readonly keys: ApiKeyProvider;
  private keyRefresh: Promise<string> | null = null;
  /**
   * The most requests one call can take from the budget: every attempt its retry policy allows,
   * and one more after a key refresh (a rotated key is a fresh start, not a failed attempt).
   */
  get mostRequestsPerCall(): number {
    return this.policy.maxAttempts + 1;
  }
  /** The API's clock (the sandbox's when following one): what "now" means for its data. */
  readonly clock: Clock;
  private readonly realClock: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly policy: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly defaultDeadlineMs: number;
  private readonly alreadyInState: Record<StatusAction, readonly string[]>;
  private readonly fetchImpl: FetchLike;
  private readonly onEvent: ((event: ClientEvent) => void) | undefined;
  private readonly userAgent: string;
  private lastKeyFingerprint: string | undefined;

  constructor(options: ThradClientOptions) {
    this.options = options;
    this.wireProfile = typeof options.wireProfile === 'object' ? options.wireProfile : WIRE_PROFILES[options.wireProfile ?? DEFAULT_WIRE_PROFILE];
    this.insightsRowSchema = insightsRowSchemaFor(this.wireProfile);
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.keys = options.keyProvider;
    this.clock = options.clock ?? systemClock;
    this.realClock = options.realClock ?? systemClock;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.defaultDeadlineMs = options.defaultDeadlineMs ?? 60_000;
    this.budget = options.budget ?? new RequestBudget(this.clock);
    this.listPageSize = clampInt(options.listPageSize ?? WIRE.list.limitMax, WIRE.list.limitMin, WIRE.list.limitMax);
    const page = this.wireProfile.insights.page;
    this.insightsPageSize = clampInt(options.insightsPageSize ?? page.limitMax, page.limitMin, page.limitMax);
    this.alreadyInState = { ...DEFAULT_ALREADY_IN_STATE, ...options.alreadyInStateCodes };
    this.fetchImpl = options.fetch ?? fetch;
    this.onEvent = options.onEvent;
    this.userAgent = options.userAgent ?? 'thrad-autopilot/0.1';
  }

  /**
   * A client like this one (same key provider, clock, budget, fetch, profile) with some options
   * changed: e.g. a probe with page size 1 and no retries that still counts against this budget.
   */
  derive(overrides: Partial<Omit<ThradClientOptions, 'keyProvider'>>): ThradClient {
    return new ThradClient({ ...this.options, budget: this.budget, ...overrides });
  }

  // ---- budget -------------------------------------------------------------------------------

  /** The request budget of the key in use (fetching the key if none was used yet). */
  async budgetSnapshot(): Promise<BudgetSnapshot> {
    return this.budget.snapshot(await this.currentKeyFingerprint());
  }

  /** Refuse up front (typed `RequestBudgetExceededError`) when `needed` requests do not fit. */
  async ensureBudget(needed: number, operation?: string): Promise<void> {
    this.budget.ensure(await this.currentKeyFingerprint(), needed, operation);
  }

  async currentKeyFingerprint(): Promise<string> {
    this.lastKeyFingerprint ??= keyFingerprint(await this.keys.getKey());
    return this.lastKeyFingerprint;
  }

  // ---- reads ---------------------------------------------------------------------------------

  async getAdAccount(options: CallOptions = {}): Promise<AdAccount> {
    return (await this.call({ method: 'GET', path: '/ad_account', schema: adAccountSchema }, options)).value;
  }

  listCampaigns(options: ListOptions = {}): Promise<Campaign[]> {
    return this.listAll('/campaigns', [], campaignSchema, options);
  }

  listAdGroups(campaignId: string, options: ListOptions = {}): Promise<AdGroup[]> {
    return this.listAll('/ad_groups', [['campaign_id', campaignId]], adGroupSchema, options);
  }

  listAds(adGroupId: string, options: ListOptions = {}): Promise<Ad[]> {
    return this.listAll('/ads', [['ad_group_id', adGroupId]], adSchema, options);
  }

  /** Pages of a list, as they arrive (for progress and bounded memory). */
  async *listPages<T extends z.ZodType>(path: string, filter: readonly (readonly [string, string])[], item: T, options: ListOptions = {}): AsyncGenerator<z.infer<T>[]> {
    const envelope = listEnvelope(item);
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const query: [string, string][] = [...filter.map(([k, v]) => [k, v] as [string, string]), ['limit', String(this.listPageSize)]];
      if (options.order) query.push(['order', options.order]);
      if (after !== undefined) query.push(['after', after]);
      const { value } = await this.call({ method: 'GET', path, query, schema: envelope }, options);
      yield value.data;
      if (!value.has_more) return;
      const next = value.last_id ?? undefined;
      if (next === undefined || next === after) {
        throw new MalformedResponseError(`Thrad API GET ${path} said has_more without a new last_id`, {
          httpStatus: 200, type: null, code: 'bad_cursor', param: null, operation: `GET ${path}`, issues: ['last_id: missing or repeated while has_more is true'],
        });
      }
      after = next;
    }
    throw new MalformedResponseError(`Thrad API GET ${path} kept paging past ${MAX_PAGES} pages`, {
      httpStatus: 200, type: null, code: 'too_many_pages', param: null, operation: `GET ${path}`, issues: [],
    });
  }

  private async listAll<T extends z.ZodType>(path: string, filter: readonly (readonly [string, string])[], item: T, options: ListOptions): Promise<z.infer<T>[]> {
    const all: z.infer<T>[] = [];
    for await (const page of this.listPages(path, filter, item, options)) {
      for (const entry of page) {
        all.push(entry);
        if (options.maxItems !== undefined && all.length >= options.maxItems) return all;
      }
    }
    return all;
  }

  async getCampaign(id: string, options: CallOptions = {}): Promise<Campaign> {
    return (await this.call({ method: 'GET', path: `/campaigns/${enc(id)}`, schema: campaignSchema }, options)).value;
  }

  async getAdGroup(id: string, options: CallOptions = {}): Promise<AdGroup> {
    return (await this.call({ method: 'GET', path: `/ad_groups/${enc(id)}`, schema: adGroupSchema }, options)).value;
  }

  async getAd(id: string, options: CallOptions = {}): Promise<Ad> {
    return (await this.call({ method: 'GET', path: `/ads/${enc(id)}`, schema: adSchema }, options)).value;
  }

  /** Read one entity of any level (its status is what the engine compares). */
  getEntity(level: Level, id: string, options: CallOptions = {}): Promise<Campaign | AdGroup | Ad> {
    switch (level) {
      case 'campaign':
        return this.getCampaign(id, options);
      case 'ad_group':
        return this.getAdGroup(id, options);
      case 'ad':
        return this.getAd(id, options);
    }
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * `/activate`, `/pause` or `/archive` on any level. A refusal whose code may mean "already in
   * that state" (campaign pause → `campaign_not_running`) is confirmed by reading the entity and
   * reported as `already_in_state` when it is there; otherwise the refusal is thrown.
   */
  async setStatus(level: 'campaign', id: string, action: StatusAction, options?: StatusCallOptions): Promise<StatusActionResult<Campaign>>;
  async setStatus(level: 'ad_group', id: string, action: StatusAction, options?: StatusCallOptions): Promise<StatusActionResult<AdGroup>>;
  async setStatus(level: 'ad', id: string, action: StatusAction, options?: StatusCallOptions): Promise<StatusActionResult<Ad>>;
  async setStatus(level: Level, id: string, action: StatusAction, options?: StatusCallOptions): Promise<StatusActionResult<Campaign | AdGroup | Ad>>;
  async setStatus(level: Level, id: string, action: StatusAction, options: StatusCallOptions = {}): Promise<StatusActionResult<Campaign | AdGroup | Ad>> {
    const schema = level === 'campaign' ? campaignSchema : level === 'ad_group' ? adGroupSchema : adSchema;
    const path = `/${LEVEL_COLLECTION[level]}/${enc(id)}/${action}`;
    const headers = options.idempotencyKey ? { [WIRE.idempotencyHeader]: options.idempotencyKey } : undefined;
    let attemptsSoFar = 0;
    let ambiguous = false;
    try {
      const result = await this.call({ method: 'POST', path, body: {}, schema, headers }, options, (attempts, mayHaveApplied) => {
        attemptsSoFar = attempts;
        ambiguous = mayHaveApplied;
      });
      return { outcome: 'changed', entity: result.value, attempts: result.attempts, earlierAttemptMayHaveApplied: result.earlierAttemptMayHaveApplied };
    } catch (error) {
      if (!(error instanceof InvalidRequestError) || !this.alreadyInState[action].includes(error.code)) throw error;
      let entity: Campaign | AdGroup | Ad;
      try {
        entity = await this.getEntity(level, id, options);
      } catch (readError) {
        // The refusal could not be confirmed; if an earlier attempt was ambiguous, so is the call.
        if (readError instanceof ThradApiError) readError.mayHaveApplied = ambiguous;
        throw readError;
      }
      if (entity.status !== READ_BACK_STATUS[level][action]) throw error;
      return { outcome: 'already_in_state', entity, attempts: attemptsSoFar, earlierAttemptMayHaveApplied: ambiguous, refusal: { httpStatus: error.httpStatus ?? 400, code: error.code } };
    }
  }

  async updateCampaign(id: string, update: CampaignUpdate, options: CallOptions = {}): Promise<Campaign> {
    return (await this.call({ method: 'POST', path: `/campaigns/${enc(id)}`, body: update, schema: campaignSchema }, options)).value;
  }

  async updateAdGroup(id: string, update: AdGroupUpdate, options: CallOptions = {}): Promise<AdGroup> {
    return (await this.call({ method: 'POST', path: `/ad_groups/${enc(id)}`, body: update, schema: adGroupSchema }, options)).value;
  }

  async updateAd(id: string, update: AdUpdate, options: CallOptions = {}): Promise<Ad> {
    return (await this.call({ method: 'POST', path: `/ads/${enc(id)}`, body: update, schema: adSchema }, options)).value;
  }

  /**
   * Nested campaign create. Always sends an Idempotency-Key (one per logical create, reused by
   * retries), so a retried create can never charge the deposit twice.
   */
  async createCampaign(body: Record<string, unknown>, options: CallOptions & { idempotencyKey?: string } = {}): Promise<Campaign> {
    const headers = { [WIRE.idempotencyHeader]: options.idempotencyKey ?? randomUUID() };
    return (await this.call({ method: 'POST', path: '/campaigns', body, schema: campaignSchema, kind: 'campaign_create', headers }, options)).value;
  }

  /** `POST /upload` with an image URL (JSON) or raw bytes (multipart). */
  async upload(source: { imageUrl: string } | { bytes: Uint8Array; filename?: string }, options: CallOptions = {}): Promise<string> {
    if ('imageUrl' in source) {
      return (await this.call({ method: 'POST', path: '/upload', body: { image_url: source.imageUrl }, schema: uploadResultSchema }, options)).value.file_id;
    }
    const boundary = `----thrad${randomUUID().replace(/-/g, '')}`;
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${(source.filename ?? 'image').replace(/"/g, '')}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const body = Buffer.concat([head, Buffer.from(source.bytes), tail]);
    const headers = { 'Content-Type': `multipart/form-data; boundary=${boundary}` };
    return (await this.call({ method: 'POST', path: '/upload', body: new Uint8Array(body), schema: uploadResultSchema, headers }, options)).value.file_id;
  }

  // ---- insights ------------------------------------------------------------------------------

  /** All rows of an insights query (paged with `limit`/`after`), mapped to unit-named fields. */
  async insights(query: InsightsQuery, options: CallOptions = {}): Promise<InsightsRow[]> {
    const rows: InsightsRow[] = [];
    for await (const page of this.insightsPages(query, options)) rows.push(...page);
    return rows;
  }

  /**
   * Pages of an insights query as they arrive. Each page is checked against the question
   * (`AnswerMismatchError` when it answers another: a range, level, scope or supply not asked for,
   * a field missing, a page longer than `limit`, cursors that disagree with `has_more`).
   */
  async *insightsPages(query: InsightsQuery, options: CallOptions = {}): AsyncGenerator<InsightsRow[]> {
    const path = query.scope.level === 'ad_account' ? '/ad_account/insights' : `/${LEVEL_COLLECTION[query.scope.level]}/${enc(query.scope.id)}/insights`;
    const operation = `GET ${path}`;
    const { query: base, question } = this.encodeInsights(query, operation);
    const guard = new InsightsAnswerGuard(question);
    const envelope = listEnvelope(this.insightsRowSchema);
    const after = this.wireProfile.insights.params.after;
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const pageQuery = cursor === undefined ? base : [...base, [after, cursor] as [string, string]];
      const { value } = await this.call({ method: 'GET', path, query: pageQuery, schema: envelope }, options);
      guard.checkPage(value, cursor);
      yield value.data.map((row) => mapInsightsRow(row, question.aggregationLevel, operation, this.wireProfile));
      if (!value.has_more) return;
      cursor = value.last_id ?? undefined;
    }
    throw new MalformedResponseError(`Thrad API ${operation} kept paging past ${MAX_PAGES} pages`, {
      httpStatus: 200, type: null, code: 'too_many_pages', param: null, operation, issues: [],
    });
  }

  /** The query string of an insights query under the wire profile, and the question the guard checks. */
  private encodeInsights(query: InsightsQuery, operation: string): { query: [string, string][]; question: InsightsQuestion } {
    const profile = this.wireProfile;
    const w = profile.insights;
    const p = w.params;
    const unsupported = (what: string, param: string | null): never => {
      throw new UnsupportedQueryError(`The ${profile.name} wire profile cannot ask for ${what} (${operation}); nothing was sent`, { operation, wireProfile: profile.name, param });
    };
    const level: AggregationLevel = query.aggregationLevel ?? query.scope.level;
    const out: [string, string][] = [[p.aggregationLevel, level]];
    if (query.timeGranularity) out.push([p.granularity, query.timeGranularity]);
    const metrics = query.fields ?? [];
    for (const metric of metrics) out.push([p.fields, metricFieldName(profile, level, metric)]);
    const metadata: { wireKey: string; canonical: string }[] = [];
    for (const field of query.metadata ?? []) {
      const names = w.metadata?.fields[field];
      if (!names) return unsupported(`the metadata field ${field}`, p.fields);
      const fieldLevel = METADATA_FIELDS[field].level;
      if (LEVEL_DEPTH[fieldLevel] > LEVEL_DEPTH[level]) return unsupported(`${names.canonical} on ${level} rows (it is below that level)`, p.fields);
      out.push([p.fields, names.canonical]);
      metadata.push(names);
    }
    const ranges = query.timeRanges ?? [];
    for (const range of ranges) out.push([p.timeRanges, JSON.stringify({ type: 'unix_range', start: range.startSeconds, end: range.endSeconds })]);
    const idFilters: InsightsQuestion['idFilters'][number][] = [];
    for (const filter of query.filters ?? []) {
      const spelling = w.filter.operators[filter.operator];
      if (!spelling) return unsupported(`the filter operator ${filter.operator}`, p.filters);
      switch (filter.operator) {
        case 'greater_than':
        case 'less_than':
          if (!w.filter.metricFields) return unsupported(`a filter on the metric ${filter.field}`, p.filters);
          out.push([p.filters, JSON.stringify({ field: filter.field, operator: spelling.wire, value: filter.value })]);
          break;
        case 'in':
        case 'equals': {
          const values = filter.operator === 'in' ? [...filter.value] : [filter.value];
          const wireValue = spelling.value === 'string' ? values[0] : values;
          out.push([p.filters, JSON.stringify({ field: w.filter.idFields[filter.field], operator: spelling.wire, value: wireValue })]);
          idFilters.push({ field: filter.field, values, wire: spelling.wire });
          break;
        }
      }
    }
    const supply = query.supply ?? 'combined';
    const supplyValue = w.supply.values[supply];
    if (supplyValue !== null) out.push([w.supply.param, supplyValue]);
    if (query.includeZeroImpressionItems) {
      if (p.includes === null || w.zeroImpressionItems === null) return unsupported('zero-impression items', null);
      out.push([p.includes, w.zeroImpressionItems]);
    }
    const limit = clampInt(query.pageSize ?? this.insightsPageSize, w.page.limitMin, w.page.limitMax);
    out.push([p.limit, String(limit)]);
    const scope = query.scope.level === 'ad_account' ? { level: 'ad_account' as const, id: null } : { level: query.scope.level, id: query.scope.id };
    return {
      query: out,
      question: {
        operation,
        scope,
        aggregationLevel: level,
        granularity: query.timeGranularity ?? 'daily',
        ranges,
        supply,
        idFilters,
        metrics,
        metadata,
        limit,
        params: { timeRanges: p.timeRanges, aggregationLevel: p.aggregationLevel, supply: w.supply.param, filters: p.filters, fields: p.fields, limit: p.limit, after: p.after },
      },
    };
  }

  // ---- the request loop ------------------------------------------------------------------------

  /**
   * The key to use after `staleKey` was refused: the current one if another request already
   * refreshed it, else one refresh shared by every request refused meanwhile (concurrent reads
   * refused together by a rotation refresh the secret once, not once each).
   */
  private async keyAfter(staleKey: string): Promise<string> {
    const current = await this.keys.getKey();
    if (current !== staleKey) return current;
    this.keyRefresh ??= this.keys.refresh().finally(() => {
      this.keyRefresh = null;
    });
    return this.keyRefresh;
  }

  private async call<T extends z.ZodType>(
    spec: RequestSpec<T>,
    options: CallOptions,
    progress?: (attempts: number, mayHaveApplied: boolean) => void,
  ): Promise<CallResult<z.infer<T>>> {
    const deadlineMs = options.deadlineMs ?? this.realClock.nowMs() + this.defaultDeadlineMs;
    const operation = `${spec.method} ${spec.path}`;
    const url = this.buildUrl(spec.path, spec.query);
    const bodyIsBytes = spec.body instanceof Uint8Array;
    const body = spec.body === undefined ? undefined : bodyIsBytes ? (spec.body as Uint8Array) : JSON.stringify(spec.body);
    let refreshedKey = false;
    let mayHaveApplied = false;
    let lastError: ThradApiError | undefined;
    for (let attempt = 1; ; attempt += 1) {
      const key = await this.keys.getKey();
      const fingerprint = keyFingerprint(key);
      this.lastKeyFingerprint = fingerprint;
      const remainingMs = deadlineMs - this.realClock.nowMs();
      if (remainingMs < this.policy.minAttemptMs) {
        throw lastError ?? new DeadlineExceededError(`No time left before the deadline for Thrad API ${operation}`, { operation });
      }
      this.budget.take(fingerprint, spec.kind ?? 'general', operation);
      const headers: Record<string, string> = {
        Authorization: `Bearer ${key}`,
        Accept: 'application/json',
        'User-Agent': this.userAgent,
        ...spec.headers,
      };
      if (body !== undefined && !bodyIsBytes) headers['Content-Type'] = 'application/json';
      const started = this.realClock.nowMs();
      try {
        const response = await sendHttp(this.fetchImpl, { method: spec.method, url, headers, body }, Math.min(this.requestTimeoutMs, remainingMs), operation, options.signal);
        const value = translateResponse(response, spec.schema, operation, this.realClock.nowMs());
        this.emit({ operation, attempt, httpStatus: response.status, code: null, durationMs: this.realClock.nowMs() - started, keyFingerprint: fingerprint });
        return { value, attempts: attempt, earlierAttemptMayHaveApplied: mayHaveApplied };
      } catch (caught) {
        if (!(caught instanceof ThradApiError)) throw caught;
        const error = caught;
        lastError = error;
        progress?.(attempt, mayHaveApplied);
        const event: ClientEvent = { operation, attempt, httpStatus: error.httpStatus, code: error.code, durationMs: this.realClock.nowMs() - started, keyFingerprint: fingerprint };
        if (error instanceof AuthenticationError && error.code === 'invalid_api_key' && !refreshedKey) {
          refreshedKey = true;
          const fresh = await this.keyAfter(key);
          if (fresh !== key) {
            this.emit({ ...event, retryInMs: 0 });
            attempt -= 1; // a rotated key is a fresh start, not a failed attempt
            continue;
          }
        }
        const ambiguous = error.retryable && error.httpStatus !== 429;
        if (!error.retryable || attempt >= this.policy.maxAttempts) {
          this.emit(event);
          error.mayHaveApplied = mayHaveApplied || ambiguous;
          throw error;
        }
        const delayMs = backoffDelayMs(error, attempt, this.policy, this.random);
        if (this.realClock.nowMs() + delayMs + this.policy.minAttemptMs > deadlineMs) {
          this.emit(event);
          error.mayHaveApplied = mayHaveApplied || ambiguous;
          throw error;
        }
        this.emit({ ...event, retryInMs: delayMs });
        // A 429 was refused before any work; anything else transient may have been applied.
        if (error.httpStatus !== 429) mayHaveApplied = true;
        await this.sleep(delayMs, options.signal);
      }
    }
  }

  private buildUrl(path: string, query?: readonly (readonly [string, string])[]): string {
    const search = new URLSearchParams();
    for (const [k, v] of query ?? []) search.append(k, v);
    const qs = search.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  private emit(event: ClientEvent): void {
    this.onEvent?.(event);
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

function clampInt(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(value)));
}

/** Wire row → unit-named row; the entity id comes from the aggregation level's id field. */
export function mapInsightsRow(row: InsightsRowWire, level: AggregationLevel, operation: string, profile: WireProfile = WIRE_PROFILES[DEFAULT_WIRE_PROFILE]): InsightsRow {
  const entityId = row[LEVEL_ID_FIELD[level]] ?? (level === 'ad_account' ? entityIdFromRowId(row.id) : undefined);
  if (entityId === undefined) {
    throw new MalformedResponseError(`Thrad API ${operation} returned a ${level} row without ${LEVEL_ID_FIELD[level]}`, {
      httpStatus: 200, type: null, code: 'unexpected_shape', param: null, operation, issues: [`data[].${LEVEL_ID_FIELD[level]}: missing`],
    });
  }
  const nameField = level === 'campaign' ? row.campaign_name : level === 'ad_group' ? row.ad_group_name : level === 'ad' ? row.ad_name : undefined;
  const supply = row.supply === 'thrad' || row.supply === 'chatgpt' ? row.supply : 'combined';
  const mapped: InsightsRow = {
    rowId: row.id,
    startTime: row.start_time,
    endTime: row.end_time,
    readableTime: row.readable_time ?? null,
    aggregationLevel: level,
    entityId,
    entityName: nameField ?? null,
    campaignId: row.campaign_id ?? null,
    adGroupId: row.ad_group_id ?? null,
    supply,
    impressions: row.impressions ?? null,
    clicks: row.clicks ?? null,
    spend_usd: row.spend ?? null,
    ctr_fraction: row.ctr ?? null,
    cpc_usd: row.cpc ?? null,
    cpm_usd: row.cpm ?? null,
  };
  const metadata = profile.insights.metadata;
  if (!metadata) return mapped;
  // Values were validated per kind by the profile's row schema; only the budget changes unit.
  const extras: Record<string, unknown> = {};
  for (const [field, names] of Object.entries(metadata.fields)) {
    if (!(names.wireKey in row.metadata)) continue;
    const value = row.metadata[names.wireKey];
    extras[field] = field === 'lifetime_spend_limit_micros' && metadata.budgetWireUnit === 'usd' && typeof value === 'number' ? Math.round(value * 1_000_000) : value;
  }
  return Object.assign(mapped, extras as InsightsRowMetadata);
}

function entityIdFromRowId(rowId: string): string | undefined {
  const match = /entity_id=([^:]+)/.exec(rowId);
  return match?.[1];
}
