// Insights (fact sheet §4): exact aggregation of the delivery history over any scope,
// aggregation level, granularity, hour-aligned time ranges, filters and supply mode, with the
// documented limits and error codes, served in one wire profile (functions/thrad/wire.ts) at a
// time and strict about the other's shapes: an unknown parameter, a `limit` over the profile's
// maximum or an operator the profile does not spell is a 400, so a client speaking the wrong
// profile fails loudly. The reference profile adds metadata fields and zero-impression items.
import { instantsOf, isValidTimeZone, startOfLocalDay } from '../functions/shared/timezone';
import {
  LEVEL_DEPTH,
  METADATA_FIELDS,
  WIRE_PROFILES,
  type InsightsFilterOperator,
  type InsightsMetadataField,
  type TimeRangeType,
  type WireProfile,
} from '../functions/thrad/wire';
import type { Behaviour } from './behaviour';
import { addOverlap, DAY_S, HOUR_S, type SupplyName, type Totals } from './delivery';
import { ApiError, invalidValue } from './errors';
import type { Organization } from './organization';
import type { AdGroupRec, AdRec, CampaignRec, ListEnvelope, World } from './world';

export type ScopeLevel = 'ad_account' | 'campaign' | 'ad_group' | 'ad';
const METRICS = ['impressions', 'clicks', 'spend', 'ctr', 'cpc', 'cpm'] as const;
type Metric = (typeof METRICS)[number];
const GRANULARITIES = ['hourly', 'daily', 'monthly', 'none'] as const;
type Granularity = (typeof GRANULARITIES)[number];
type SupplyMode = 'combined' | 'thrad' | 'chatgpt' | 'split';
const FIVE_YEARS_S = 5 * 366 * DAY_S;

export interface Scope {
  level: ScopeLevel;
  id: string | null;
}

interface Window {
  start: number;
  end: number;
}

interface IdFilter {
  field: 'campaign' | 'ad_group' | 'ad';
  values: Set<string>;
}

interface MetricFilter {
  metric: Metric;
  above: boolean;
  value: number;
}

interface ParsedQuery {
  aggregation: ScopeLevel;
  granularity: Granularity;
  fields: Metric[];
  /** Metadata asked for: the client-side field and the key the row carries. */
  metadata: { field: InsightsMetadataField; wireKey: string }[];
  windows: Window[];
  filters: IdFilter[];
  metricFilters: MetricFilter[];
  supply: SupplyMode;
  includeZero: boolean;
  limit: number;
  after: string | undefined;
}

/** The profile a world serves, and its effective page bounds (a fixture may override them). */
export function servedWire(behaviour: Behaviour): { profile: WireProfile; limitMax: number; limitDefault: number } {
  const profile = WIRE_PROFILES[behaviour.wire_profile];
  return {
    profile,
    limitMax: behaviour.insights_max_limit ?? profile.insights.page.limitMax,
    limitDefault: behaviour.insights_default_limit ?? profile.insights.page.limitDefault,
  };
}

const insightsError = (code: string, param: string | null, message: string): ApiError => new ApiError(400, 'invalid_request_error', code, message, param);

const dayStart = (t: number): number => Math.floor(t / DAY_S) * DAY_S;

const RANGE_FIELDS: Record<TimeRangeType, string[]> = {
  unix_range: ['type', 'start', 'end'],
  hour_range: ['type', 'since', 'until', 'timezone'],
  date_range: ['type', 'since', 'until', 'timezone'],
  preset: ['type', 'preset'],
};

function localInstant(param: string, text: unknown, hasHour: boolean, timeZone: string): number {
  const match = typeof text === 'string' ? (hasHour ? /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/ : /^(\d{4})-(\d{2})-(\d{2})$/).exec(text) : null;
  if (!match) throw invalidValue(param, `${param} needs "since" and "until" as ${hasHour ? 'YYYY-MM-DDTHH' : 'YYYY-MM-DD'}.`);
  const [year, month, day, hour] = match.slice(1).map(Number) as [number, number, number, number | undefined];
  if (!hasHour) return startOfLocalDay(year, month, day, timeZone) / 1000;
  const instants = instantsOf(year, month, day, hour ?? 0, 0, timeZone);
  if (instants.length === 0) throw invalidValue(param, `${param}: ${String(text)} does not exist in ${timeZone} (a daylight-saving gap).`);
  return instants[0] / 1000;
}

function parseWindow(raw: string, index: number, now: number, behaviour: Behaviour, profile: WireProfile): Window {
  const param = `time_ranges[${index}]`;
  const types = profile.insights.timeRange.types;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidValue(param, `${param} must be a JSON object such as {"type":"unix_range","start":1767225600,"end":1767312000}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidValue(param, `${param} must be a JSON object.`);
  const obj = value as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== 'string' || !(types as readonly string[]).includes(type)) throw invalidValue(`${param}.type`, `${param}.type must be one of ${types.join(', ')}.`);
  const rangeType = type as TimeRangeType;
  const extra = Object.keys(obj).find((k) => !RANGE_FIELDS[rangeType].includes(k));
  if (extra !== undefined) throw invalidValue(`${param}.${extra}`, `Unrecognized field '${extra}' in a ${type} time range.`, 'unknown_parameter');
  let start: number;
  let end: number;
  switch (rangeType) {
    case 'unix_range':
      if (!Number.isInteger(obj.start) || !Number.isInteger(obj.end)) throw invalidValue(param, `${param} needs integer Unix seconds "start" and "end".`);
      start = obj.start as number;
      end = obj.end as number;
      if ((behaviour.require_hour_aligned_ranges || profile.insights.timeRange.wholeHours) && (start % HOUR_S !== 0 || end % HOUR_S !== 0)) {
        throw invalidValue(param, `${param} must start and end on whole UTC hours (multiples of 3600).`);
      }
      break;
    case 'hour_range':
    case 'date_range': {
      const timeZone = obj.timezone === undefined ? 'UTC' : obj.timezone;
      if (typeof timeZone !== 'string' || !isValidTimeZone(timeZone)) throw invalidValue(`${param}.timezone`, `${param}.timezone must be an IANA time zone such as America/New_York.`);
      const hourly = rangeType === 'hour_range';
      start = localInstant(param, obj.since, hourly, timeZone);
      // `until` is inclusive: the hour (or day) it names is part of the range.
      const last = localInstant(param, obj.until, hourly, timeZone);
      end = hourly ? last + HOUR_S : localInstant(param, nextDay(obj.until), false, timeZone);
      break;
    }
    case 'preset': {
      const today = dayStart(now);
      const presets: Record<string, Window> = {
        today: { start: today, end: today + DAY_S },
        yesterday: { start: today - DAY_S, end: today },
        last_7_days: { start: today - 7 * DAY_S, end: today },
        last_30_days: { start: today - 30 * DAY_S, end: today },
      };
      const preset = typeof obj.preset === 'string' ? presets[obj.preset] : undefined;
      if (!preset) throw invalidValue(`${param}.preset`, `${param}.preset must be one of ${Object.keys(presets).join(', ')}.`);
      ({ start, end } = preset);
      break;
    }
  }
  if (end <= start) throw insightsError('invalid_time_range', param, `${param}: end must be after start.`);
  if (end - start > profile.insights.timeRange.maxRangeSeconds) throw insightsError('range_too_wide', param, `${param} spans more than 366 days.`);
  if (behaviour.time_ranges_in_future === 'reject' && profile.insights.timeRange.endNotAfterNow && end > now) {
    throw invalidValue(param, `${param} ends after the current time; bounds must not be in the future (end at the last full hour).`);
  }
  if (profile.name === 'reference' && start < now - FIVE_YEARS_S) throw invalidValue(param, `${param} starts more than 5 years ago.`);
  return { start, end };
}

function nextDay(text: unknown): unknown {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return text;
  return new Date(Date.parse(`${text}T00:00:00Z`) + DAY_S * 1000).toISOString().slice(0, 10);
}

type ParsedFilter = { kind: 'id'; filter: IdFilter } | { kind: 'metric'; filter: MetricFilter };

function parseFilter(raw: string, index: number, profile: WireProfile): ParsedFilter {
  const param = `filters[${index}]`;
  const spec = profile.insights.filter;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidValue(param, `${param} must be a JSON object {"field","operator","value"}.`);
  }
  const obj = (value ?? {}) as Record<string, unknown>;
  const field = obj.field;
  const idField = (Object.entries(spec.idFields) as [keyof typeof spec.idFields, string][]).find(([, wire]) => wire === field)?.[0];
  const metricMatch = typeof field === 'string' && spec.metricFields ? /^(campaign|ad_group|ad)\.(impressions|clicks|spend|ctr|cpc|cpm)$/.exec(field) : null;
  if (idField === undefined && metricMatch === null) {
    const fields = [...Object.values(spec.idFields), ...(spec.metricFields ? ['{level}.{metric}'] : [])];
    throw insightsError('invalid_filter', `${param}.field`, `${param}.field must be one of ${fields.join(', ')}.`);
  }
  const operator = obj.operator;
  // Every client operator this profile spells as `operator`; the field kind picks which applies.
  const meanings = (Object.entries(spec.operators) as [InsightsFilterOperator, { wire: string; value: string } | null][]).filter(([, o]) => o !== null && o.wire === operator);
  const forField = meanings.filter(([meaning]) => (idField !== undefined ? meaning === 'in' || meaning === 'equals' : meaning === 'greater_than' || meaning === 'less_than'));
  const allowed = (Object.entries(spec.operators) as [InsightsFilterOperator, { wire: string } | null][])
    .filter(([meaning, o]) => o !== null && (idField !== undefined ? meaning === 'in' || meaning === 'equals' : meaning === 'greater_than' || meaning === 'less_than'))
    .map(([, o]) => (o as { wire: string }).wire);
  const chosen = forField[0];
  if (typeof operator !== 'string' || chosen === undefined) {
    throw insightsError('invalid_filter_operator', `${param}.operator`, `${param}.operator must be one of ${[...new Set(allowed)].join(', ')} for ${String(field)}.`);
  }
  const [meaning, wire] = chosen as [InsightsFilterOperator, { wire: string; value: string }];
  const v = obj.value;
  if (idField !== undefined) {
    const values = wire.value === 'string_array' ? (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null) : typeof v === 'string' ? [v] : null;
    if (values === null) throw invalidValue(`${param}.value`, `${param}.value must be ${wire.value === 'string_array' ? 'an array of ids' : 'an id'}.`);
    const level = idField === 'campaign.id' ? 'campaign' : idField === 'ad_group.id' ? 'ad_group' : 'ad';
    return { kind: 'id', filter: { field: level, values: new Set(values) } };
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidValue(`${param}.value`, `${param}.value must be a number.`);
  return { kind: 'metric', filter: { metric: (metricMatch as RegExpExecArray)[2] as Metric, above: meaning === 'greater_than', value: v } };
}

export function parseInsightsQuery(params: URLSearchParams, scope: Scope, now: number, behaviour: Behaviour): ParsedQuery {
  const { profile, limitMax, limitDefault } = servedWire(behaviour);
  const names = profile.insights.params;
  const allowed = new Set<string>([names.aggregationLevel, names.granularity, names.fields, names.timeRanges, names.filters, profile.insights.supply.param, names.limit, names.after]);
  if (names.includes !== null) allowed.add(names.includes);
  for (const key of params.keys()) {
    if (!allowed.has(key)) throw invalidValue(key, `Unrecognized query parameter: '${key}'.`, 'unknown_parameter');
  }
  const aggregationRaw = params.get(names.aggregationLevel) ?? scope.level;
  if (!(aggregationRaw in LEVEL_DEPTH)) throw invalidValue(names.aggregationLevel, 'aggregation_level must be one of ad_account, campaign, ad_group, ad.');
  const aggregation = aggregationRaw as ScopeLevel;
  if (LEVEL_DEPTH[aggregation] < LEVEL_DEPTH[scope.level]) {
    throw insightsError('aggregation_level_too_high', names.aggregationLevel, `aggregation_level ${aggregation} is above this endpoint's scope (${scope.level}).`);
  }
  const granularityRaw = params.get(names.granularity) ?? 'daily';
  if (!(GRANULARITIES as readonly string[]).includes(granularityRaw)) throw invalidValue(names.granularity, 'time_granularity must be one of hourly, daily, monthly, none.');
  const granularity = granularityRaw as Granularity;
  const fields: Metric[] = [];
  const metadata: ParsedQuery['metadata'] = [];
  const metadataByName = new Map(Object.entries(profile.insights.metadata?.fields ?? {}).map(([field, n]) => [n.canonical, { field: field as InsightsMetadataField, wireKey: n.wireKey }]));
  params.getAll(names.fields).forEach((raw, i) => {
    const meta = metadataByName.get(raw);
    if (meta) {
      if (LEVEL_DEPTH[METADATA_FIELDS[meta.field].level] > LEVEL_DEPTH[aggregation]) {
        throw invalidValue(`fields[${i}]`, `'${raw}' is below aggregation_level ${aggregation}.`);
      }
      if (!metadata.some((m) => m.field === meta.field)) metadata.push(meta);
      return;
    }
    // A dotted form such as `ad.impressions` is accepted and the prefix ignored (§4.2).
    const bare = raw.includes('.') ? raw.slice(raw.lastIndexOf('.') + 1) : raw;
    if (!(METRICS as readonly string[]).includes(bare)) {
      const known = [...METRICS, ...metadataByName.keys()];
      throw insightsError('unknown_field', `fields[${i}]`, `Unknown field '${raw}'. Fields: ${known.join(', ')}.`);
    }
    if (!fields.includes(bare as Metric)) fields.push(bare as Metric);
  });
  if (fields.length === 0 && metadata.length === 0) fields.push('impressions', 'clicks', 'spend');
  const today = dayStart(now);
  const defaultWindow = { start: today - (profile.insights.timeRange.defaultRangeDays - 1) * DAY_S, end: today + DAY_S };
  // An API that ignores the time-range parameter neither validates it nor honours it.
  const windowsRaw = behaviour.ignore_time_ranges ? [] : params.getAll(names.timeRanges);
  const windows = windowsRaw.length > 0 ? windowsRaw.map((raw, i) => parseWindow(raw, i, now, behaviour, profile)) : [defaultWindow];
  if (granularity === 'hourly') {
    windows.forEach((w, i) => {
      if (w.end - w.start > profile.insights.timeRange.hourlyMaxRangeSeconds) {
        throw insightsError('hourly_range_too_wide', `time_ranges[${i}]`, 'With time_granularity=hourly each time range may span at most 25 hours.');
      }
    });
  }
  const filters: IdFilter[] = [];
  const metricFilters: MetricFilter[] = [];
  params.getAll(names.filters).forEach((raw, i) => {
    const parsed = parseFilter(raw, i, profile);
    if (parsed.kind === 'id') filters.push(parsed.filter);
    else metricFilters.push(parsed.filter);
  });
  const supplyParam = profile.insights.supply.param;
  const supplyRaw = params.get(supplyParam) ?? 'combined';
  const supplyValues = Object.entries(profile.insights.supply.values);
  const supply = supplyRaw === 'combined' ? 'combined' : supplyValues.find(([, wire]) => wire === supplyRaw)?.[0];
  if (supply === undefined) throw invalidValue(supplyParam, `${supplyParam} must be one of combined, ${supplyValues.flatMap(([, w]) => (w === null ? [] : [w])).join(', ')}.`);
  let includeZero = false;
  if (names.includes !== null) {
    params.getAll(names.includes).forEach((raw, i) => {
      if (raw !== profile.insights.zeroImpressionItems) throw invalidValue(`includes[${i}]`, `includes[] takes ${profile.insights.zeroImpressionItems ?? 'nothing'}.`);
      includeZero = true;
    });
  }
  const limitRaw = params.get(names.limit);
  let limit = limitDefault;
  if (limitRaw !== null) {
    limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > limitMax) throw invalidValue(names.limit, `limit must be an integer from 1 to ${limitMax}.`);
  }
  return { aggregation, granularity, fields, metadata, windows, filters, metricFilters, supply: supply as SupplyMode, includeZero, limit, after: params.get(names.after) ?? undefined };
}

interface Bucket {
  window: number;
  start: number;
  end: number;
}

function bucketOf(t: number, w: Window, granularity: Granularity): { start: number; end: number } {
  let start: number;
  let end: number;
  switch (granularity) {
    case 'none':
      return { start: w.start, end: w.end };
    case 'hourly':
      start = Math.floor(t / HOUR_S) * HOUR_S;
      end = start + HOUR_S;
      break;
    case 'daily':
      start = dayStart(t);
      end = start + DAY_S;
      break;
    case 'monthly': {
      const d = new Date(t * 1000);
      start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
      end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
      break;
    }
  }
  return { start: Math.max(start, w.start), end: Math.min(end, w.end) };
}

function readableTime(start: number, granularity: Granularity): string | undefined {
  if (granularity === 'none') return undefined;
  const iso = new Date(start * 1000).toISOString();
  switch (granularity) {
    case 'hourly':
      return `${iso.slice(0, 13)}:00:00Z`;
    case 'daily':
      return iso.slice(0, 10);
    case 'monthly':
      return iso.slice(0, 7);
  }
}

interface AdContext {
  ad: AdRec;
  group: AdGroupRec;
  campaign: CampaignRec;
}

/**
 * One row of an answer as computed: its bucket, entity and metrics. What a row says of its entity
 * (names, and the metadata fields: statuses, times, budget) is read from the live entity when the
 * row is sent, so a cached row set stays right across status changes and renames.
 */
interface Row {
  id: string;
  start_time: number;
  end_time: number;
  readable_time: string | undefined;
  supply: SupplyName | 'combined';
  supplyOrder: number;
  entity: Entity;
  metrics: Record<Metric, number | null>;
}

interface Entity {
  id: string;
  /** One ad under the entity: where its names and metadata (and its parents') are read. */
  ctx: AdContext;
}

/** A query's rows, and what they depend on: the organization's entity set and (unless every window had ended) its delivery. */
interface CachedRows {
  rows: Row[];
  structureVersion: number;
  dataVersion: number;
  /** Every window ended at or before the hour delivery was generated into: later generation cannot change these rows. */
  closed: boolean;
}

const CACHE_ENTRIES = 1024;

/** The value of each metadata field for an entity (the budget in micros; sent in the profile's unit). */
const METADATA_VALUE: Record<InsightsMetadataField, (ctx: AdContext) => unknown> = {
  campaign_name: (c) => c.campaign.name,
  campaign_status: (c) => c.campaign.status,
  campaign_start_time_seconds: (c) => c.campaign.start_time,
  campaign_end_time_seconds: (c) => c.campaign.end_time,
  lifetime_spend_limit_micros: (c) => c.campaign.budget_micros,
  ad_group_name: (c) => c.group.name,
  ad_group_status: (c) => c.group.status,
  ad_name: (c) => c.ad.name,
  ad_status: (c) => c.ad.status,
  ad_review_status: (c) => c.campaign.review_status,
};

/**
 * Every row of a query (before paging), cached by the organization's data version. A query reads
 * one organization (the key's): its account scope is that organization's campaigns, and an
 * entity of another organization is not found. It costs O(that organization's entities).
 */
export class InsightsEngine {
  private readonly cache = new Map<string, CachedRows>();

  constructor(private readonly world: World) {}

  /** Forget every cached row set (the next query of each computes it again); how many there were. */
  clearCache(): number {
    const entries = this.cache.size;
    this.cache.clear();
    return entries;
  }

  query(scope: Scope, params: URLSearchParams, org: Organization): ListEnvelope<Record<string, unknown>> {
    const world = this.world;
    world.sync(org);
    const q = parseInsightsQuery(params, scope, world.nowSeconds(), world.behaviour);
    this.resolveScope(scope, org);
    const key = `${org.index}|${JSON.stringify(world.behaviour)}|${scope.level}|${scope.id ?? ''}|${JSON.stringify({ ...q, after: undefined, limit: undefined, filters: q.filters.map((f) => [f.field, [...f.values]]) })}`;
    const rows = this.rowsOf(key, scope, q, org);
    let startIndex = 0;
    if (q.after !== undefined) {
      const i = rows.findIndex((row) => row.id === q.after);
      if (i < 0) throw invalidValue('after', `No such cursor: '${q.after}'.`);
      startIndex = i + 1;
    }
    const budgetInUsd = servedWire(world.behaviour).profile.insights.metadata?.budgetWireUnit === 'usd';
    const page = rows.slice(startIndex, startIndex + q.limit).map((row) => this.render(row, q, org, budgetInUsd));
    return {
      object: 'list',
      data: page,
      count: page.length,
      first_id: (page[0]?.id as string | undefined) ?? null,
      last_id: (page[page.length - 1]?.id as string | undefined) ?? null,
      has_more: startIndex + q.limit < rows.length,
    };
  }

  /**
   * The rows of a query, computed or cached. A cached set serves while the organization's
   * entities are the same and either no delivery was generated since or every window of the
   * query had already ended (generation only adds to the current hour), so a rule that asks
   * again for a closed range is answered without summing the history again.
   */
  private rowsOf(key: string, scope: Scope, q: ParsedQuery, org: Organization): Row[] {
    const hit = this.cache.get(key);
    if (hit && hit.structureVersion === org.structureVersion && (hit.closed || hit.dataVersion === org.dataVersion)) {
      // Most recently used last: the oldest entry is the first to go.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit.rows;
    }
    const rows = this.compute(scope, q, org);
    const generatedFrom = Math.floor(org.materializedUntil / HOUR_S) * HOUR_S;
    this.cache.delete(key);
    this.cache.set(key, { rows, structureVersion: org.structureVersion, dataVersion: org.dataVersion, closed: q.windows.every((w) => w.end <= generatedFrom) });
    if (this.cache.size > CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return rows;
  }

  /** A row as sent: its bucket and metrics, with its entity's names and metadata read now. */
  private render(row: Row, q: ParsedQuery, org: Organization, budgetInUsd: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = { id: row.id, start_time: row.start_time, end_time: row.end_time };
    if (row.readable_time !== undefined) out.readable_time = row.readable_time;
    out.timezone = 'UTC';
    if (row.supply !== 'combined') out.supply = row.supply;
    Object.assign(out, entityFields(row.entity.ctx, q.aggregation, org));
    for (const meta of q.metadata) {
      const value = METADATA_VALUE[meta.field](row.entity.ctx);
      out[meta.wireKey] = meta.field === 'lifetime_spend_limit_micros' && budgetInUsd ? (value as number) / 1_000_000 : value;
    }
    for (const field of q.fields) out[field] = row.metrics[field];
    return out;
  }

  private resolveScope(scope: Scope, org: Organization): void {
    if (scope.level === 'campaign') this.world.campaign(scope.id as string, null, org);
    if (scope.level === 'ad_group') this.world.adGroup(scope.id as string, null, org);
    if (scope.level === 'ad') this.world.ad(scope.id as string, null, org);
  }

  private adsInScope(scope: Scope, filters: IdFilter[], org: Organization): AdContext[] {
    const world = this.world;
    const out: AdContext[] = [];
    const campaigns = scope.level === 'ad_account' ? [...org.campaigns.values()] : [world.campaigns.get(this.campaignIdOf(scope)) as CampaignRec];
    for (const campaign of campaigns) {
      for (const groupId of campaign.adGroupIds) {
        if (scope.level === 'ad_group' && groupId !== scope.id) continue;
        const group = world.adGroups.get(groupId) as AdGroupRec;
        for (const adId of group.adIds) {
          if (scope.level === 'ad' && adId !== scope.id) continue;
          const ad = world.ads.get(adId) as AdRec;
          const pass = filters.every((f) => f.values.has(f.field === 'campaign' ? campaign.id : f.field === 'ad_group' ? group.id : ad.id));
          if (pass) out.push({ ad, group, campaign });
        }
      }
    }
    return out;
  }

  private campaignIdOf(scope: Scope): string {
    if (scope.level === 'campaign') return scope.id as string;
    if (scope.level === 'ad_group') return this.world.adGroup(scope.id as string).campaign_id;
    const ad = this.world.ad(scope.id as string);
    return this.world.adGroup(ad.ad_group_id).campaign_id;
  }

  private entityOf(ctx: AdContext, level: ScopeLevel, org: Organization): Entity {
    switch (level) {
      case 'ad_account':
        return { id: org.account.id, ctx };
      case 'campaign':
        return { id: ctx.campaign.id, ctx };
      case 'ad_group':
        return { id: ctx.group.id, ctx };
      case 'ad':
        return { id: ctx.ad.id, ctx };
    }
  }

  private compute(scope: Scope, q: ParsedQuery, org: Organization): Row[] {
    const ads = this.adsInScope(scope, q.filters, org);
    const acc = new Map<string, { bucket: Bucket; entity: Entity; supply: SupplyName | 'combined'; totals: Totals }>();
    const slot = (bucket: Bucket, entity: Entity, supply: SupplyName | 'combined'): Totals => {
      const k = `${bucket.window}|${bucket.start}|${entity.id}|${supply}`;
      let entry = acc.get(k);
      if (!entry) {
        entry = { bucket, entity, supply, totals: { impressions: 0, clicks: 0, spendMicros: 0 } };
        acc.set(k, entry);
      }
      return entry.totals;
    };
    const supplies: (SupplyName | 'combined')[] = q.supply === 'split' ? ['thrad', 'chatgpt'] : q.supply === 'combined' ? ['combined'] : [q.supply];
    for (const ctx of ads) {
      const entity = this.entityOf(ctx, q.aggregation, org);
      // Zero rows: every bucket of every entity in scope, delivered or not.
      const keepEmpty = !this.world.behaviour.omit_empty_rows || q.includeZero;
      if (keepEmpty) {
        q.windows.forEach((w, wi) => {
          for (let t = w.start; t < w.end; ) {
            const b = bucketOf(t, w, q.granularity);
            for (const s of supplies) slot({ window: wi, ...b }, entity, s);
            t = b.end;
          }
        });
      }
      const spans = ctx.ad.delivery.spans;
      q.windows.forEach((w, wi) => {
        // Without granularity the window is one bucket: its totals per supply are looked up once per ad, not once per span.
        const whole: Partial<Record<SupplyName | 'combined', Totals>> | null = q.granularity === 'none' ? {} : null;
        for (let i = ctx.ad.delivery.firstCandidate(w.start); i < spans.length; i += 1) {
          const span = spans[i];
          if (span.start >= w.end) break;
          const supply: SupplyName | 'combined' = q.supply === 'combined' ? 'combined' : span.supply;
          if (q.supply !== 'combined' && q.supply !== 'split' && span.supply !== q.supply) continue;
          const a = Math.max(span.start, w.start);
          const b = Math.min(span.start + span.hours * HOUR_S, w.end);
          if (b <= a) continue;
          if (q.granularity === 'hourly') {
            for (let h = Math.floor(a / HOUR_S) * HOUR_S; h < b; h += HOUR_S) {
              const bucket = bucketOf(h, w, 'hourly');
              addOverlap(span, bucket.start, bucket.end, slot({ window: wi, ...bucket }, entity, supply));
            }
          } else if (whole) {
            addOverlap(span, a, b, (whole[supply] ??= slot({ window: wi, start: w.start, end: w.end }, entity, supply)));
          } else {
            const bucket = bucketOf(a, w, q.granularity);
            addOverlap(span, a, b, slot({ window: wi, ...bucket }, entity, supply));
          }
        }
      });
    }
    const zero = this.world.behaviour.zero_divisor === 'zero' ? 0 : null;
    const supplyOrder = { combined: 0, thrad: 1, chatgpt: 2 } as const;
    const rows: Row[] = [];
    const seenIds = new Set<string>();
    for (const { bucket, entity, supply, totals } of acc.values()) {
      if (this.world.behaviour.omit_empty_rows && !q.includeZero && totals.impressions === 0 && totals.clicks === 0 && totals.spendMicros === 0) continue;
      const spendUsd = totals.spendMicros / 1_000_000;
      const metrics: Record<Metric, number | null> = {
        impressions: totals.impressions,
        clicks: totals.clicks,
        spend: spendUsd,
        ctr: totals.impressions > 0 ? totals.clicks / totals.impressions : zero,
        cpc: totals.clicks > 0 ? spendUsd / totals.clicks : zero,
        cpm: totals.impressions > 0 ? (spendUsd / totals.impressions) * 1000 : zero,
      };
      if (!q.metricFilters.every((f) => passes(metrics[f.metric], f))) continue;
      const id = `start=${bucket.start}:end=${bucket.end}:entity_id=${entity.id}${supply === 'combined' ? '' : `:supply=${supply}`}`;
      // Overlapping windows can yield the same bucket twice; a row id names it once.
      if (seenIds.has(id)) continue;
      seenIds.add(id);
      const row: Row = { id, start_time: bucket.start, end_time: bucket.end, readable_time: readableTime(bucket.start, q.granularity), supply, supplyOrder: supplyOrder[supply], entity, metrics };
      rows.push(row);
    }
    rows.sort((a, b) => a.start_time - b.start_time || a.end_time - b.end_time || (a.entity.id < b.entity.id ? -1 : a.entity.id > b.entity.id ? 1 : 0) || a.supplyOrder - b.supplyOrder);
    return rows;
  }
}

/** What a row says of its entity at an aggregation level: ids and names, as they are now. */
function entityFields(ctx: AdContext, level: ScopeLevel, org: Organization): Record<string, unknown> {
  switch (level) {
    case 'ad_account':
      return { ad_account_id: org.account.id, ad_account_name: org.account.name };
    case 'campaign':
      return { campaign_id: ctx.campaign.id, campaign_name: ctx.campaign.name };
    case 'ad_group':
      return { ad_group_id: ctx.group.id, ad_group_name: ctx.group.name, campaign_id: ctx.campaign.id };
    case 'ad':
      return { ad_id: ctx.ad.id, ad_name: ctx.ad.name, ad_group_id: ctx.group.id, campaign_id: ctx.campaign.id };
  }
}

function passes(value: number | null, filter: MetricFilter): boolean {
  if (value === null) return false;
  return filter.above ? value > filter.value : value < filter.value;
}
