// Insights (fact sheet §4): exact aggregation of the delivery history over any scope,
// aggregation level, granularity, hour-aligned time ranges, filters and supply mode, with the
// documented limits and error codes and the choices of functions/thrad/wire.ts for the rest.
import { WIRE } from '../functions/thrad/wire';
import type { Behaviour } from './behaviour';
import { addOverlap, DAY_S, HOUR_S, type SupplyName, type Totals } from './delivery';
import { ApiError, invalidValue } from './errors';
import type { AdGroupRec, AdRec, CampaignRec, ListEnvelope, World } from './world';

export type ScopeLevel = 'ad_account' | 'campaign' | 'ad_group' | 'ad';
const LEVEL_ORDER: Record<ScopeLevel, number> = { ad_account: 0, campaign: 1, ad_group: 2, ad: 3 };
const METRICS = ['impressions', 'clicks', 'spend', 'ctr', 'cpc', 'cpm'] as const;
type Metric = (typeof METRICS)[number];
const GRANULARITIES = ['hourly', 'daily', 'monthly', 'none'] as const;
type Granularity = (typeof GRANULARITIES)[number];
type SupplyMode = 'combined' | 'thrad' | 'chatgpt' | 'split';

export interface Scope {
  level: ScopeLevel;
  id: string | null;
}

interface Window {
  start: number;
  end: number;
}

interface Filter {
  field: 'campaign.id' | 'ad_group.id' | 'ad.id';
  values: Set<string>;
}

interface ParsedQuery {
  aggregation: ScopeLevel;
  granularity: Granularity;
  fields: Metric[];
  windows: Window[];
  filters: Filter[];
  supply: SupplyMode;
  limit: number;
  after: string | undefined;
}

const ALLOWED_PARAMS = new Set(['aggregation_level', 'time_granularity', 'fields[]', WIRE.insights.timeRangesParam, WIRE.insights.filtersParam, WIRE.insights.supplyParam, 'limit', 'after']);

const insightsError = (code: string, param: string | null, message: string): ApiError => new ApiError(400, 'invalid_request_error', code, message, param);

const dayStart = (t: number): number => Math.floor(t / DAY_S) * DAY_S;

function parseWindow(raw: string, index: number, now: number, behaviour: Behaviour): Window {
  const param = `time_ranges[${index}]`;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidValue(param, `${param} must be a JSON object such as {"type":"unix_range","start":1767225600,"end":1767312000}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidValue(param, `${param} must be a JSON object.`);
  const obj = value as Record<string, unknown>;
  const allowed: Record<string, string[]> = { unix_range: ['type', 'start', 'end'], date_range: ['type', 'since', 'until'], preset: ['type', 'preset'] };
  const type = obj.type;
  if (typeof type !== 'string' || !(type in allowed)) throw invalidValue(`${param}.type`, `${param}.type must be one of unix_range, date_range, preset.`);
  const extra = Object.keys(obj).find((k) => !(allowed[type]).includes(k));
  if (extra !== undefined) throw invalidValue(`${param}.${extra}`, `Unrecognized field '${extra}' in a ${type} time range.`, 'unknown_parameter');
  let start: number;
  let end: number;
  if (type === 'unix_range') {
    if (!Number.isInteger(obj.start) || !Number.isInteger(obj.end)) throw invalidValue(param, `${param} needs integer Unix seconds "start" and "end".`);
    start = obj.start as number;
    end = obj.end as number;
    if (behaviour.require_hour_aligned_ranges && (start % HOUR_S !== 0 || end % HOUR_S !== 0)) {
      throw invalidValue(param, `${param} must start and end on whole UTC hours (multiples of 3600).`);
    }
  } else if (type === 'date_range') {
    const since = typeof obj.since === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(obj.since) ? Date.parse(`${obj.since}T00:00:00Z`) : NaN;
    const until = typeof obj.until === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(obj.until) ? Date.parse(`${obj.until}T00:00:00Z`) : NaN;
    if (Number.isNaN(since) || Number.isNaN(until)) throw invalidValue(param, `${param} needs "since" and "until" as YYYY-MM-DD.`);
    start = since / 1000;
    end = until / 1000 + DAY_S;
  } else {
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
  }
  if (end <= start) throw insightsError('invalid_time_range', param, `${param}: end must be after start.`);
  if (end - start > WIRE.insights.maxRangeSeconds) throw insightsError('range_too_wide', param, `${param} spans more than 366 days.`);
  return { start, end };
}

function parseFilter(raw: string, index: number): Filter {
  const param = `filters[${index}]`;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidValue(param, `${param} must be a JSON object {"field","operator","value"}.`);
  }
  const obj = (value ?? {}) as Record<string, unknown>;
  const field = obj.field;
  if (typeof field !== 'string' || !(WIRE.insights.filterFields as readonly string[]).includes(field)) {
    throw insightsError('invalid_filter', `${param}.field`, `${param}.field must be one of ${WIRE.insights.filterFields.join(', ')}.`);
  }
  const operator = obj.operator;
  if (typeof operator !== 'string' || !(WIRE.insights.filterOperators as readonly string[]).includes(operator)) {
    throw insightsError('invalid_filter_operator', `${param}.operator`, `${param}.operator must be one of ${WIRE.insights.filterOperators.join(', ')}.`);
  }
  const v = obj.value;
  const values = operator === 'in' ? (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v) : null) : typeof v === 'string' ? [v] : null;
  if (values === null) throw invalidValue(`${param}.value`, `${param}.value must be ${operator === 'in' ? 'an array of ids' : 'an id'}.`);
  return { field: field as Filter['field'], values: new Set(values) };
}

export function parseInsightsQuery(params: URLSearchParams, scope: Scope, now: number, behaviour: Behaviour): ParsedQuery {
  for (const key of params.keys()) {
    if (!ALLOWED_PARAMS.has(key)) throw invalidValue(key, `Unrecognized query parameter: '${key}'.`, 'unknown_parameter');
  }
  const aggregationRaw = params.get('aggregation_level') ?? scope.level;
  if (!(aggregationRaw in LEVEL_ORDER)) throw invalidValue('aggregation_level', 'aggregation_level must be one of ad_account, campaign, ad_group, ad.');
  const aggregation = aggregationRaw as ScopeLevel;
  if (LEVEL_ORDER[aggregation] < LEVEL_ORDER[scope.level]) {
    throw insightsError('aggregation_level_too_high', 'aggregation_level', `aggregation_level ${aggregation} is above this endpoint's scope (${scope.level}).`);
  }
  const granularityRaw = params.get('time_granularity') ?? 'daily';
  if (!(GRANULARITIES as readonly string[]).includes(granularityRaw)) throw invalidValue('time_granularity', 'time_granularity must be one of hourly, daily, monthly, none.');
  const granularity = granularityRaw as Granularity;
  const fieldsRaw = params.getAll('fields[]');
  const fields: Metric[] = [];
  fieldsRaw.forEach((raw, i) => {
    const bare = raw.includes('.') ? raw.slice(raw.lastIndexOf('.') + 1) : raw;
    if (!(METRICS as readonly string[]).includes(bare)) throw insightsError('unknown_field', `fields[${i}]`, `Unknown field '${raw}'. Fields: ${METRICS.join(', ')}.`);
    if (!fields.includes(bare as Metric)) fields.push(bare as Metric);
  });
  if (fields.length === 0) fields.push('impressions', 'clicks', 'spend');
  const windowsRaw = params.getAll(WIRE.insights.timeRangesParam);
  const today = dayStart(now);
  const windows = windowsRaw.length > 0
    ? windowsRaw.map((raw, i) => parseWindow(raw, i, now, behaviour))
    : [{ start: today - (WIRE.insights.defaultRangeDays - 1) * DAY_S, end: today + DAY_S }];
  if (granularity === 'hourly') {
    windows.forEach((w, i) => {
      if (w.end - w.start > WIRE.insights.hourlyMaxRangeSeconds) {
        throw insightsError('hourly_range_too_wide', `time_ranges[${i}]`, 'With time_granularity=hourly each time range may span at most 25 hours.');
      }
    });
  }
  const filters = params.getAll(WIRE.insights.filtersParam).map((raw, i) => parseFilter(raw, i));
  const supplyRaw = params.get(WIRE.insights.supplyParam) ?? 'combined';
  if (!['combined', 'thrad', 'chatgpt', 'split'].includes(supplyRaw)) throw invalidValue('supply', 'supply must be one of combined, thrad, chatgpt, split.');
  const limitRaw = params.get('limit');
  let limit = behaviour.insights_default_limit;
  if (limitRaw !== null) {
    limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > behaviour.insights_max_limit) throw invalidValue('limit', `limit must be an integer from 1 to ${behaviour.insights_max_limit}.`);
  }
  return { aggregation, granularity, fields, windows, filters, supply: supplyRaw as SupplyMode, limit, after: params.get('after') ?? undefined };
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
  const iso = new Date(start * 1000).toISOString();
  switch (granularity) {
    case 'none':
      return undefined;
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

type Row = Record<string, unknown> & { id: string; start_time: number; entity: string; supplyOrder: number };

/** Every row of a query (before paging), cached by world version. */
export class InsightsEngine {
  private readonly cache = new Map<string, Row[]>();

  constructor(private readonly world: World) {}

  query(scope: Scope, params: URLSearchParams): ListEnvelope<Record<string, unknown>> {
    const world = this.world;
    world.sync();
    const q = parseInsightsQuery(params, scope, world.nowSeconds(), world.behaviour);
    this.resolveScope(scope);
    const key = `${world.dataVersion}|${scope.level}|${scope.id ?? ''}|${JSON.stringify({ ...q, after: undefined, limit: undefined, filters: q.filters.map((f) => [f.field, [...f.values]]) })}`;
    let rows = this.cache.get(key);
    if (!rows) {
      rows = this.compute(scope, q);
      if (this.cache.size > 32) this.cache.clear();
      this.cache.set(key, rows);
    }
    let startIndex = 0;
    if (q.after !== undefined) {
      const i = rows.findIndex((row) => row.id === q.after);
      if (i < 0) throw invalidValue('after', `No such cursor: '${q.after}'.`);
      startIndex = i + 1;
    }
    const page = rows.slice(startIndex, startIndex + q.limit).map(({ entity: _e, supplyOrder: _s, ...row }) => row);
    return {
      object: 'list',
      data: page,
      count: page.length,
      first_id: (page[0]?.id) ?? null,
      last_id: (page[page.length - 1]?.id) ?? null,
      has_more: startIndex + q.limit < rows.length,
    };
  }

  private resolveScope(scope: Scope): void {
    if (scope.level === 'campaign') this.world.campaign(scope.id as string);
    if (scope.level === 'ad_group') this.world.adGroup(scope.id as string);
    if (scope.level === 'ad') this.world.ad(scope.id as string);
  }

  private adsInScope(scope: Scope, filters: Filter[]): AdContext[] {
    const world = this.world;
    const out: AdContext[] = [];
    const campaigns = scope.level === 'ad_account' ? [...world.campaigns.values()] : [world.campaigns.get(this.campaignIdOf(scope)) as CampaignRec];
    for (const campaign of campaigns) {
      for (const groupId of campaign.adGroupIds) {
        if (scope.level === 'ad_group' && groupId !== scope.id) continue;
        const group = world.adGroups.get(groupId) as AdGroupRec;
        for (const adId of group.adIds) {
          if (scope.level === 'ad' && adId !== scope.id) continue;
          const ad = world.ads.get(adId) as AdRec;
          const pass = filters.every((f) => f.values.has(f.field === 'campaign.id' ? campaign.id : f.field === 'ad_group.id' ? group.id : ad.id));
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

  private entityOf(ctx: AdContext, level: ScopeLevel): { id: string; fields: Record<string, unknown> } {
    switch (level) {
      case 'ad_account':
        return { id: this.world.account.id, fields: { ad_account_id: this.world.account.id, ad_account_name: this.world.account.name } };
      case 'campaign':
        return { id: ctx.campaign.id, fields: { campaign_id: ctx.campaign.id, campaign_name: ctx.campaign.name } };
      case 'ad_group':
        return { id: ctx.group.id, fields: { ad_group_id: ctx.group.id, ad_group_name: ctx.group.name, campaign_id: ctx.campaign.id } };
      case 'ad':
        return { id: ctx.ad.id, fields: { ad_id: ctx.ad.id, ad_name: ctx.ad.name, ad_group_id: ctx.group.id, campaign_id: ctx.campaign.id } };
    }
  }

  private compute(scope: Scope, q: ParsedQuery): Row[] {
    const ads = this.adsInScope(scope, q.filters);
    const acc = new Map<string, { bucket: Bucket; entity: { id: string; fields: Record<string, unknown> }; supply: SupplyName | 'combined'; totals: Totals }>();
    const slot = (bucket: Bucket, entity: { id: string; fields: Record<string, unknown> }, supply: SupplyName | 'combined'): Totals => {
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
      const entity = this.entityOf(ctx, q.aggregation);
      if (!this.world.behaviour.omit_empty_rows) {
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
      if (this.world.behaviour.omit_empty_rows && totals.impressions === 0 && totals.clicks === 0 && totals.spendMicros === 0) continue;
      const spendUsd = totals.spendMicros / 1_000_000;
      const metrics: Record<Metric, number | null> = {
        impressions: totals.impressions,
        clicks: totals.clicks,
        spend: spendUsd,
        ctr: totals.impressions > 0 ? totals.clicks / totals.impressions : zero,
        cpc: totals.clicks > 0 ? spendUsd / totals.clicks : zero,
        cpm: totals.impressions > 0 ? (spendUsd / totals.impressions) * 1000 : zero,
      };
      const row: Row = {
        id: `start=${bucket.start}:end=${bucket.end}:entity_id=${entity.id}${supply === 'combined' ? '' : `:supply=${supply}`}`,
        start_time: bucket.start,
        end_time: bucket.end,
        entity: entity.id,
        supplyOrder: supplyOrder[supply],
      };
      // Overlapping windows can yield the same bucket twice; a row id names it once.
      if (seenIds.has(row.id)) continue;
      seenIds.add(row.id);
      const readable = readableTime(bucket.start, q.granularity);
      if (readable !== undefined) row.readable_time = readable;
      row.timezone = 'UTC';
      if (supply !== 'combined') row.supply = supply;
      Object.assign(row, entity.fields);
      for (const field of q.fields) row[field] = metrics[field];
      rows.push(row);
    }
    rows.sort((a, b) => a.start_time - b.start_time || (a.end_time as number) - (b.end_time as number) || (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0) || a.supplyOrder - b.supplyOrder);
    return rows;
  }
}
